"""State-space and hybrid families: mamba, mamba2, nemotron_h, jamba, falcon_h1, granitemoehybrid, lfm2.

Each follows transformers 5.25's configuration class and modeling file for that model_type: which layers
hold a Mamba (v1 or 2) mixer, attention, a short convolution, an MLP or experts, and the keys each reads.
The mixers' counts are the catalogue's MambaLayer, Mamba2Layer and ShortConvLayer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.core.catalogue import STATE_DTYPE
from registry.core.hf import (
    ROUTER_BIAS_NOTE,
    Arch,
    Dims,
    _attention,
    _moe_specs,
    _Reader,
    expert_specs,
    norm_layer,
    register_arch,
)
from registry.core.hf_families.common import (
    ATTENTION_BIAS,
    DENSE,
    SPARSE,
    feedforward,
    fixed_notes,
    notes_and_mtp,
    refuse_null,
)
from registry.core.issues import Code
from registry.core.validation import _show

MAMBA, ATTENTION, MLP, MOE, CONV = "linear_attention", "full_attention", "mlp", "moe", "conv"
# Names transformers remaps when it reads a layer_types list (configuration_utils._LEGACY_LAYER_TYPE_REMAP).
_LEGACY = {"mamba": MAMBA, "attention": ATTENTION}
_NEMOTRON_PATTERN = {"M": MAMBA, "*": ATTENTION, "-": MLP, "E": MOE}


# ---- shared readers ------------------------------------------------------------------------------


def _time_step_rank(r: _Reader, key: str, h: int) -> int | None:
    """Mamba's dt rank: an integer, or 'auto' (the default) for ceil(hidden_size / 16)."""
    given, value = r.raw(key)
    if not given or value is None or value == "auto":
        return -(-h // 16)
    return r._positive(key, value)


def _state_dtype(r: _Reader, key: str) -> str | None:
    """The recurrent state's dtype from ``key`` (e.g. mamba_ssm_cache_dtype), one of STATE_DTYPE's choices."""
    value = r.value(key)
    if value not in STATE_DTYPE.choices:
        wanted = ", ".join(STATE_DTYPE.choices)
        r.error(key, Code.INVALID_VALUE, f"expected one of {wanted}, got {_show(value)}")
        return None
    dtype: str = value
    return dtype


def _kinds(
    r: _Reader, key: str, layers: int, allowed: tuple[str, ...], otherwise: Callable[[], list[str] | None]
) -> list[str] | None:
    """A per-layer list of kinds (legacy names remapped as transformers does), one per decoder layer;
    ``otherwise()`` when the key is absent or null."""
    given, listed = r.raw(key)
    if not given or listed is None:
        return otherwise()
    if not isinstance(listed, list):
        r.error(key, Code.INVALID_VALUE, f"expected a list of {layers} layer types, got {_show(listed)}")
        return None
    kinds = [_LEGACY.get(k, k) if isinstance(k, str) else k for k in listed]
    for i, kind in enumerate(kinds):
        if kind not in allowed:
            wanted = " or ".join(repr(a) for a in allowed)
            r.error(f"{key}[{i}]", Code.UNSUPPORTED_KEY, f"expected {wanted}, got {_show(listed[i])}")
    if len(kinds) != layers:
        r.error(
            key,
            Code.CONTRADICTION,
            f"expected one layer type per layer (num_hidden_layers is {layers}), got {len(kinds)}",
        )
    return None if r.errors else kinds


def _indices(kinds: list[str], kind: str) -> list[int]:
    return [i for i, k in enumerate(kinds) if k == kind]


def _attention_layers(r: _Reader, h: int, indices: list[int], *, heads: int | None = None) -> list[dict[str, Any]]:
    """The attention layer type at ``indices`` (hf._attention's specs: head_dim, KV heads, biases, qk_norm)."""
    if not indices:
        return []
    if heads is None:
        heads = r.dimension("num_attention_heads")
        if heads is None:
            return []
    out = _attention(r, h, heads, len(indices), [None] * len(indices))
    for layer in out:
        layer["specs"]["layer_idx"] = indices[0]
    return out


# A Mamba-2 mixer's heads, head width, state size, groups and convolution kernel.
Mamba2Shape = tuple[int, int, int, int, int]


def mamba2_layer(
    indices: list[int],
    h: int,
    shape: Mamba2Shape,
    *,
    proj_bias: bool,
    conv_bias: bool,
    out_bias: bool | None = None,
    gated_norm: bool = True,
    state_dtype: str = "auto",
) -> dict[str, Any]:
    """The Mamba2Layer type at ``indices``: ``proj_bias`` on in_proj and (unless ``out_bias`` says otherwise)
    out_proj; options written only where they differ from the class's defaults."""
    heads, head_dim, state, groups, kernel = shape
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h, "mamba_num_heads": heads}
    specs |= {"mamba_head_dim": head_dim, "ssm_state_size": state, "n_groups": groups, "conv_kernel": kernel}
    specs |= _options(
        use_conv_bias=(conv_bias, True),
        in_proj_bias=(proj_bias, False),
        out_proj_bias=(proj_bias if out_bias is None else out_bias, False),
        gated_norm=(gated_norm, True),
        state_dtype=(state_dtype, "auto"),
    )
    return {"name": "mamba", "class": "Mamba2Layer", "count": len(indices), "specs": specs}


def mamba_layer(
    indices: list[int],
    h: int,
    inner: int,
    state: int,
    kernel: int,
    rank: int,
    *,
    proj_bias: bool,
    conv_bias: bool,
    dt_bc_norms: bool = False,
) -> dict[str, Any]:
    """The MambaLayer (v1) type at ``indices``."""
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h, "mamba_intermediate_size": inner}
    specs |= {"ssm_state_size": state, "conv_kernel": kernel, "time_step_rank": rank}
    specs |= _options(
        use_conv_bias=(conv_bias, True),
        in_proj_bias=(proj_bias, False),
        out_proj_bias=(proj_bias, False),
        dt_bc_norms=(dt_bc_norms, False),
    )
    return {"name": "mamba", "class": "MambaLayer", "count": len(indices), "specs": specs}


def _options(**given: tuple[Any, Any]) -> dict[str, Any]:
    """The specs whose value (each pair's first) differs from the layer class's default (its second)."""
    return {key: value for key, (value, default) in given.items() if value != default}


def _mlp(name: str, indices: list[int], h: int, inner: int | None, *, gated: bool, bias: bool) -> dict[str, Any]:
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h, "intermediate_size": inner}
    if bias:
        specs["mlp_bias"] = True
    return {"name": name, "class": "GatedMLPLayer" if gated else "MLPLayer", "count": len(indices), "specs": specs}


def _mamba2_heads(r: _Reader, inner: int, heads_key: str, head_dim_key: str) -> tuple[int, int] | None:
    """Heads and head width of a mixer whose head width may be 'auto' (inner // heads), checked as transformers
    checks them (falcon_h1, granitemoehybrid)."""
    heads = r.dimension(heads_key)
    if heads is None:
        return None
    given, head_dim = r.raw(head_dim_key)
    if inner % heads:
        r.error(heads_key, Code.CONTRADICTION, f"expected a divisor of the Mamba inner width ({inner}), got {heads}")
        return None
    if not given or head_dim == "auto":
        return heads, inner // heads
    head_dim = r._positive(head_dim_key, head_dim)
    if head_dim is not None and head_dim * heads != inner:
        r.error(
            head_dim_key,
            Code.CONTRADICTION,
            f"expected {head_dim_key} · {heads_key} to equal the Mamba inner width ({inner}), got {head_dim} · {heads}",
        )
        return None
    return None if head_dim is None else (heads, head_dim)


# ---- mamba, mamba2 -------------------------------------------------------------------------------


def _mamba(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    # MambaConfig sets intermediate_size to expand · hidden_size, and then a config.json's own
    # intermediate_size (an attribute it keeps) overwrites it.
    refuse_null(r, ("intermediate_size",))
    given, _ = r.raw("intermediate_size")
    expand = r.integer("expand")
    inner = r.integer("intermediate_size") if given else None if expand is None else expand * h
    state, kernel = r.integer("state_size"), r.integer("conv_kernel")
    rank = _time_step_rank(r, "time_step_rank", h)
    if inner is None or state is None or kernel is None or rank is None:
        return None
    bias, conv_bias = r.flag("use_bias"), r.flag("use_conv_bias")
    mixer = mamba_layer(list(range(layers)), h, inner, state, kernel, rank, proj_bias=bias, conv_bias=conv_bias)
    return [mixer, norm_layer(r, layers + 1, h)]


def _mamba2(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    heads, head_dim, expand = r.dimension("num_heads"), r.integer("head_dim"), r.integer("expand")
    state, groups, kernel = r.integer("state_size"), r.integer("n_groups"), r.integer("conv_kernel")
    if heads is None or head_dim is None or expand is None or state is None or groups is None or kernel is None:
        return None
    if expand * h != heads * head_dim:
        r.error(
            "num_heads",
            Code.CONTRADICTION,
            f"expected num_heads · head_dim ({heads} · {head_dim}) to equal expand · hidden_size ({expand} · {h}), "
            "as transformers requires",
        )
        return None
    shape = (heads, head_dim, state, groups, kernel)
    mixer = mamba2_layer(list(range(layers)), h, shape, proj_bias=r.flag("use_bias"), conv_bias=r.flag("use_conv_bias"))
    return [mixer, norm_layer(r, layers + 1, h)]


# The mixer keys of mamba and mamba2, with both configuration classes' defaults.
_MAMBA_DEFAULTS = {"expand": 2, "conv_kernel": 4, "use_bias": False, "use_conv_bias": True}
register_arch(
    "mamba",
    Arch(
        requires_heads=False,
        defaults={"tie_word_embeddings": True, "state_size": 16, **_MAMBA_DEFAULTS},
        layers=_mamba,
    ),
    classes=("MambaForCausalLM",),
)
register_arch(
    "mamba2",
    Arch(
        requires_heads=False,
        defaults={"tie_word_embeddings": False, "head_dim": 64, "state_size": 128, "n_groups": 8, **_MAMBA_DEFAULTS},
        layers=_mamba2,
    ),
    classes=("Mamba2ForCausalLM",),
)


# ---- nemotron_h ----------------------------------------------------------------------------------


def _nemotron_pattern(r: _Reader, layers: int) -> list[str] | None:
    """The layer kinds by hybrid_override_pattern's characters (read without layers_block_type)."""
    given, pattern = r.raw("hybrid_override_pattern")
    if not given or pattern is None:
        r.error(
            "hybrid_override_pattern",
            Code.MISSING_DIMENSION,
            "'hybrid_override_pattern' (or layers_block_type) is required: it says which layers are Mamba, "
            "attention, MLP or MoE",
        )
        return None
    if not isinstance(pattern, str) or any(c not in _NEMOTRON_PATTERN for c in pattern):
        r.error(
            "hybrid_override_pattern",
            Code.INVALID_VALUE,
            f"expected a string of M (Mamba), * (attention), - (MLP) and E (MoE), got {_show(pattern)}",
        )
        return None
    if len(pattern) != layers:
        r.error(
            "num_hidden_layers",
            Code.CONTRADICTION,
            f"expected the length of hybrid_override_pattern ({len(pattern)}; transformers builds that many layers), "
            f"got {layers}",
        )
        return None
    return [_NEMOTRON_PATTERN[c] for c in pattern]


def _nemotron_moe(r: _Reader, h: int, indices: list[int]) -> dict[str, Any]:
    moe = expert_specs(r, h, "moe_intermediate_size", experts_key="n_routed_experts")
    specs: dict[str, Any] = {"layer_idx": indices[0], **moe}
    # The shared expert is always built; a width of 0 falls back to intermediate_size (NemotronHMLP).
    shared = r.dimension("moe_shared_expert_intermediate_size", minimum=0)
    specs["shared_expert_intermediate_size"] = shared or r.dimension("intermediate_size")
    specs["gated_experts"] = False
    given, latent = r.raw("moe_latent_size")
    if given and latent is not None:
        specs["moe_latent_size"] = r._positive("moe_latent_size", latent)
    if r.flag("mlp_bias"):
        specs["mlp_bias"] = True
    return {"name": "moe", "class": "MoELayer", "count": len(indices), "specs": specs}


def _nemotron_h(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, ("num_key_value_heads",))
    # layers_block_type (or its alias layer_types) when given, else hybrid_override_pattern.
    kinds = _kinds(r, "layers_block_type", layers, (MAMBA, ATTENTION, MLP, MOE), lambda: _nemotron_pattern(r, layers))
    if kinds is None:
        return None
    out: list[dict[str, Any]] = []
    mamba = _indices(kinds, MAMBA)
    if mamba:
        heads, head_dim = r.dimension("mamba_num_heads"), r.dimension("mamba_head_dim")
        state, groups, kernel = r.integer("ssm_state_size"), r.integer("n_groups"), r.integer("conv_kernel")
        dtype = _state_dtype(r, "mamba_ssm_cache_dtype")
        if heads is None or head_dim is None or state is None or groups is None or kernel is None or dtype is None:
            return None
        out.append(
            mamba2_layer(
                mamba,
                h,
                (heads, head_dim, state, groups, kernel),
                proj_bias=r.flag("use_bias"),
                conv_bias=r.flag("use_conv_bias"),
                state_dtype=dtype,
            )
        )
    out += _attention_layers(r, h, _indices(kinds, ATTENTION))
    mlp = _indices(kinds, MLP)
    if mlp:
        out.append(_mlp("mlp", mlp, h, r.dimension("intermediate_size"), gated=False, bias=r.flag("mlp_bias")))
    moe = _indices(kinds, MOE)
    if moe:
        out.append(_nemotron_moe(r, h, moe))
    out.append(norm_layer(r, layers + 1, h))  # one norm per block, and the final one
    return out


register_arch(
    "nemotron_h",
    Arch(
        requires_heads=False,
        kv_heads_required=True,
        head_dim_default=128,
        # NemotronHForCausalLM has no tied weights: the importer reads the head's tie from a key no config has.
        keys={"tie_word_embeddings": "(nemotron_h never ties)"},
        aliases={
            "layers_block_type": ("layer_types",),
            "n_groups": ("mamba_n_groups",),
            "conv_kernel": ("mamba_d_conv",),
            "use_conv_bias": ("mamba_conv_bias",),
            "n_routed_experts": ("num_local_experts",),
        },
        defaults={
            "max_position_embeddings": 4096,
            "tie_word_embeddings": False,
            "ssm_state_size": 128,
            "n_groups": 8,
            "conv_kernel": 4,
            "use_conv_bias": True,
            "use_bias": False,
            "mlp_bias": False,
            "mamba_ssm_cache_dtype": "float32",
        },
        layers=_nemotron_h,
        notes=notes_and_mtp(
            "Each Nemotron-H block is one mixer (Mamba-2, attention, MLP or MoE) with one norm; "
            "NemotronHForCausalLM never ties its head to the embedding (tie_word_embeddings is not read).",
            ROUTER_BIAS_NOTE,
        ),
    ),
    classes=("NemotronHForCausalLM",),
)


# ---- jamba ---------------------------------------------------------------------------------------


def _every(r: _Reader, layers: int, period_key: str, offset_key: str) -> list[bool] | None:
    """Layers i with i % period == offset; transformers requires offset < period."""
    period, offset = r.integer(period_key), r.integer(offset_key, minimum=0)
    if period is None or offset is None:
        return None
    if offset >= period:
        r.error(offset_key, Code.CONTRADICTION, f"expected less than {period_key} ({period}), got {offset}")
        return None
    return [i % period == offset for i in range(layers)]


def _jamba(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, ("num_key_value_heads",))
    attention = _every(r, layers, "attn_layer_period", "attn_layer_offset")
    expert_layers = _every(r, layers, "expert_layer_period", "expert_layer_offset")
    if attention is None or expert_layers is None:
        return None
    expand, state, kernel = r.integer("mamba_expand"), r.integer("mamba_d_state"), r.integer("mamba_d_conv")
    rank = _time_step_rank(r, "mamba_dt_rank", h)
    if expand is None or state is None or kernel is None or rank is None:
        return None
    out: list[dict[str, Any]] = []
    mamba = [i for i, a in enumerate(attention) if not a]
    if mamba:
        out.append(
            mamba_layer(
                mamba,
                h,
                expand * h,
                state,
                kernel,
                rank,
                conv_bias=r.flag("mamba_conv_bias"),
                proj_bias=r.flag("mamba_proj_bias"),
                dt_bc_norms=True,
            )
        )
    out += _attention_layers(r, h, [i for i, a in enumerate(attention) if a])
    experts = r.dimension("num_experts")
    if experts is None:
        return None
    mlp_kinds = [SPARSE if e and experts > 1 else DENSE for e in expert_layers]  # one expert builds a dense MLP
    out += feedforward(r, h, mlp_kinds, "intermediate_size", lambda: _moe_specs(r, h))
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


register_arch(
    "jamba",
    Arch(
        requires_heads=False,
        kv_heads_required=True,
        aliases={"num_experts": ("num_local_experts",)},
        defaults={
            "max_position_embeddings": 262144,
            "tie_word_embeddings": False,
            "expert_layer_period": 2,
            "expert_layer_offset": 1,
            "attn_layer_period": 8,
            "attn_layer_offset": 4,
            "mamba_d_state": 16,
            "mamba_d_conv": 4,
            "mamba_expand": 2,
            "mamba_conv_bias": True,
            "mamba_proj_bias": False,
        },
        moe="mixtral",  # experts of width intermediate_size
        layers=_jamba,
    ),
    classes=("JambaForCausalLM",),
)


# ---- falcon_h1 -----------------------------------------------------------------------------------

# The mamba_-prefixed Mamba-2 keys of falcon_h1 and granitemoehybrid, with both configuration classes' defaults.
_PREFIXED_MAMBA_DEFAULTS = {
    "mamba_n_groups": 1,
    "mamba_d_state": 256,
    "mamba_d_conv": 4,
    "mamba_expand": 2,
    "mamba_conv_bias": True,
    "mamba_proj_bias": False,
}


def _prefixed_mamba2(r: _Reader, inner: int) -> tuple[int, int, int, int, int] | None:
    """The mamba_-prefixed Mamba-2 mixer's heads, head width, state size, groups and kernel (``inner`` wide)."""
    heads = _mamba2_heads(r, inner, "mamba_n_heads", "mamba_d_head")
    state, groups, kernel = r.integer("mamba_d_state"), r.integer("mamba_n_groups"), r.integer("mamba_d_conv")
    if heads is None or state is None or groups is None or kernel is None:
        return None
    return (*heads, state, groups, kernel)


_FALCON_NOT_NULL = (*_PREFIXED_MAMBA_DEFAULTS, "mamba_rms_norm", "projectors_bias", "mamba_d_head")


def _falcon_h1(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, _FALCON_NOT_NULL)
    given, d_ssm = r.raw("mamba_d_ssm")
    expand = r.integer("mamba_expand")
    if given and d_ssm is None:  # null: expand · hidden_size; absent: the class's 1024
        inner = None if expand is None else expand * h
    else:
        inner = r._positive("mamba_d_ssm", d_ssm) if given else 1024
    if inner is None:
        return None
    geometry = _prefixed_mamba2(r, inner)
    if geometry is None:
        return None
    all_layers = list(range(layers))
    out = _attention_layers(r, h, all_layers, heads=dims.num_heads)
    out.append(
        mamba2_layer(
            all_layers,
            h,
            geometry,
            conv_bias=r.flag("mamba_conv_bias"),
            proj_bias=r.flag("mamba_proj_bias"),
            out_bias=r.flag("projectors_bias"),
            gated_norm=r.flag("mamba_rms_norm"),
        )
    )
    out.append(
        _mlp("feedforward", all_layers, h, r.dimension("intermediate_size"), gated=True, bias=r.flag("mlp_bias"))
    )
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


register_arch(
    "falcon_h1",
    Arch(
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 8192,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "mlp_bias": False,
            **_PREFIXED_MAMBA_DEFAULTS,
            "mamba_rms_norm": False,
            "projectors_bias": False,
        },
        **ATTENTION_BIAS,
        layers=_falcon_h1,
        notes=fixed_notes(
            "Every Falcon-H1 layer runs attention and a Mamba-2 mixer side by side, then an MLP; the µP multipliers "
            "are scalars and the mixers' mup_vector a buffer, not parameters."
        ),
    ),
    classes=("FalconH1ForCausalLM",),
)


# ---- granitemoehybrid ----------------------------------------------------------------------------

_GRANITE_NOT_NULL = (*_PREFIXED_MAMBA_DEFAULTS, "mamba_d_head")


def _granite_ffn(r: _Reader, h: int, layers: int) -> list[dict[str, Any]]:
    """Every layer: a shared gated MLP (shared_intermediate_size), inside the MoE when there are experts."""
    experts = r.dimension("num_local_experts", minimum=0)
    shared = r.dimension("shared_intermediate_size", minimum=0)
    if experts is None or shared is None:
        return []
    if experts:
        specs = {"layer_idx": 0, **expert_specs(r, h, "intermediate_size"), "shared_expert_intermediate_size": shared}
        return [{"name": "feedforward", "class": "MoELayer", "count": layers, "specs": specs}]
    if not shared:
        return []  # a shared MLP of no width: nothing to count
    return [_mlp("feedforward", list(range(layers)), h, shared, gated=True, bias=False)]


def _granitemoehybrid(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, _GRANITE_NOT_NULL)
    kinds = _kinds(r, "layer_types", layers, (MAMBA, ATTENTION), lambda: [MAMBA] * layers)
    expand = r.integer("mamba_expand")
    if kinds is None or expand is None:
        return None
    out: list[dict[str, Any]] = []
    mamba = _indices(kinds, MAMBA)
    if mamba:
        geometry = _prefixed_mamba2(r, expand * h)
        if geometry is None:
            return None
        out.append(
            mamba2_layer(mamba, h, geometry, proj_bias=r.flag("mamba_proj_bias"), conv_bias=r.flag("mamba_conv_bias"))
        )
    out += _attention_layers(r, h, _indices(kinds, ATTENTION))
    out += _granite_ffn(r, h, layers)
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


register_arch(
    "granitemoehybrid",
    Arch(
        requires_heads=False,
        aliases={"layer_types": ("layers_block_type",)},
        keys={"num_experts": "num_local_experts"},
        defaults={
            "max_position_embeddings": 2048,
            "tie_word_embeddings": False,
            "attention_bias": False,
            **_PREFIXED_MAMBA_DEFAULTS,
        },
        **ATTENTION_BIAS,
        layers=_granitemoehybrid,
    ),
    classes=("GraniteMoeHybridForCausalLM",),
)


# ---- lfm2 ----------------------------------------------------------------------------------------


def _lfm2_full_attention(r: _Reader, layers: int) -> list[str] | None:
    """full_attn_idxs (attention there, convolutions elsewhere) when given, else all attention."""
    given, idxs = r.raw("full_attn_idxs")
    if not given or idxs is None:
        return [ATTENTION] * layers
    if not isinstance(idxs, list) or not all(type(i) is int for i in idxs):
        r.error("full_attn_idxs", Code.INVALID_VALUE, f"expected a list of layer indices, got {_show(idxs)}")
        return None
    return [ATTENTION if i in idxs else CONV for i in range(layers)]


def _lfm2_inner(r: _Reader) -> int | None:
    """Lfm2MLP's width: intermediate_size (block_ff_dim), adjusted to 2/3, the multiplier and multiple_of."""
    inner = r.dimension("intermediate_size")
    if inner is None:
        return None
    if not r.flag("block_auto_adjust_ff_dim"):
        return inner
    inner = int(2 * inner / 3)
    multiplier = r.value("block_ffn_dim_multiplier")
    if isinstance(multiplier, bool) or not isinstance(multiplier, int | float):
        r.error("block_ffn_dim_multiplier", Code.INVALID_VALUE, f"expected a number, got {_show(multiplier)}")
        return None
    multiple = r.integer("block_multiple_of")
    if multiple is None:
        return None
    inner = int(multiplier * inner)
    inner = multiple * ((inner + multiple - 1) // multiple)
    if inner < 1:
        r.error("intermediate_size", Code.INVALID_VALUE, "the adjusted MLP width is 0: transformers builds no MLP")
        return None
    return inner


def _lfm2(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    kinds = _kinds(r, "layer_types", layers, (CONV, ATTENTION), lambda: _lfm2_full_attention(r, layers))
    inner = _lfm2_inner(r)
    kernel = r.integer("conv_L_cache")
    if kinds is None or inner is None or kernel is None:
        return None
    out: list[dict[str, Any]] = []
    conv = _indices(kinds, CONV)
    if conv:
        specs: dict[str, Any] = {"layer_idx": conv[0], "hidden_size": h, "conv_kernel": kernel}
        if r.flag("conv_bias"):
            specs["conv_bias"] = True
        out.append({"name": "conv", "class": "ShortConvLayer", "count": len(conv), "specs": specs})
    out += _attention_layers(r, h, _indices(kinds, ATTENTION))
    out.append(_mlp("feedforward", list(range(layers)), h, inner, gated=True, bias=False))
    out.append(norm_layer(r, 2 * layers + 1, h))  # operator and ffn norms, and the final embedding_norm
    return out


register_arch(
    "lfm2",
    Arch(
        requires_heads=False,
        kv_heads_required=True,
        aliases={"intermediate_size": ("block_ff_dim",), "tie_word_embeddings": ("tie_embedding",)},
        defaults={
            "max_position_embeddings": 128_000,
            "tie_word_embeddings": True,
            "conv_bias": False,
            "conv_L_cache": 3,
            "block_multiple_of": 256,
            "block_ffn_dim_multiplier": 1.0,
            "block_auto_adjust_ff_dim": True,
        },
        qk_norm="per_head",
        layers=_lfm2,
    ),
    classes=("Lfm2ForCausalLM",),
)
