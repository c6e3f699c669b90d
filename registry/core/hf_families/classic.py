"""The 2025 llama-like families with twists: GLM-4, Phi-3.5-MoE, OLMoE, OLMo-3, Granite (dense and MoE),
SmolLM3, Command-R (cohere, cohere2), StarCoder2, Falcon, GPT-NeoX (Pythia) and ERNIE-4.5 (dense and MoE).

Each model_type is one ``register_arch`` entry. Most are the core decoder (``hf._decoder``) with a few specs
patched in: biases under a key of the family's own (``use_bias``, falcon's ``bias``), per-layer sliding windows
and NoPE layers (``no_rope``), Command-R's query/key norms. Falcon and GPT-NeoX fuse Q, K and V into one
projection whose width depends on their switches, and ERNIE-4.5-MoE places its experts by start, end and
interval: each has a builder of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.core import catalogue
from registry.core.catalogue import LayerKind
from registry.core.hf import (
    Arch,
    Dims,
    _attention,
    _decoder,
    _feedforward,
    _insert_after,
    _Reader,
    mtp_note,
    norm_layer,
    register_arch,
    renamed,
)
from registry.core.hf_families.common import ATTENTION_BIAS, refuse_null
from registry.core.issues import Code
from registry.core.validation import _show

LayerTypes = list[dict[str, Any]]
Builder = Callable[[_Reader, Dims], LayerTypes | None]
# One decoder layer's attention: its sliding window (None: full) and whether it has no rotary embedding.
LayerAttention = tuple[int | None, bool]
SLIDING, FULL = "sliding_attention", "full_attention"


def _key(name: str) -> Callable[[Any], bool]:
    """An Arch bias rule reading one key of the flags ``hf`` passes it."""
    return lambda c: bool(c.get(name))


# ---- checks and readers ------------------------------------------------------------------------------------------


def _truthy(r: _Reader, key: str) -> bool:
    """A switch transformers tests for truth: null is false there, whatever the default."""
    given, value = r.raw(key)
    if given and value is None:
        return False
    return r.flag(key)


def _index(r: _Reader, key: str) -> int | None:
    """An integer that may be negative or zero (a layer index)."""
    value = r.value(key)
    if type(value) is not int:
        r.error(key, Code.INVALID_VALUE, f"expected an integer, got {_show(value)}")
        return None
    return value


def _layer_kinds(r: _Reader, layers: int, default: Callable[[int], str]) -> list[str]:
    """``layer_types`` as given (sliding or full attention per layer), else the configuration class's pattern."""
    explicit = r.value("layer_types")
    if explicit is None:
        return [default(i) for i in range(layers)]
    if not isinstance(explicit, list) or len(explicit) != layers:
        r.error("layer_types", Code.INVALID_VALUE, f"expected a list of {layers} layer types, got {_show(explicit)}")
        return [FULL] * layers
    for i, kind in enumerate(explicit):
        if kind not in (SLIDING, FULL):
            r.error(f"layer_types[{i}]", Code.INVALID_VALUE, f"expected {SLIDING!r} or {FULL!r}, got {_show(kind)}")
    return [kind if kind in (SLIDING, FULL) else FULL for kind in explicit]


# ---- layer patterns: (window, no_rope) per decoder layer -------------------------------------------------------


def _olmo3_pattern(r: _Reader, layers: int) -> list[LayerAttention]:
    """Every fourth layer full, the others sliding (unless layer_types says otherwise); all with rotary."""
    kinds = _layer_kinds(r, layers, lambda i: SLIDING if (i + 1) % 4 else FULL)
    window = r.integer("sliding_window") if SLIDING in kinds else None
    return [(window if kind == SLIDING else None, False) for kind in kinds]


def _cohere2_pattern(r: _Reader, layers: int) -> list[LayerAttention]:
    """Sliding layers with rotary, full layers without it (Command-R7B): only a windowed layer applies RoPE."""
    # sliding_window_pattern (a keyword the configuration class pops) only shapes a default layer_types.
    every = r.integer("sliding_window_pattern", default=4) if r.value("layer_types") is None else None
    kinds = _layer_kinds(r, layers, lambda i: SLIDING if (i + 1) % (every or 4) else FULL)
    window = r.integer("sliding_window") if SLIDING in kinds else None
    return [(w, w is None) for w in (window if kind == SLIDING else None for kind in kinds)]


def _smollm3_pattern(r: _Reader, layers: int) -> list[LayerAttention]:
    """NoPE on every no_rope_layer_interval-th layer (no_rope_layers: 1 uses RoPE); sliding only if enabled."""
    uses_rope = r.value("no_rope_layers")
    if uses_rope is None:
        every = r.integer("no_rope_layer_interval") or 4
        uses_rope = [int((i + 1) % every != 0) for i in range(layers)]
    elif (
        not isinstance(uses_rope, list)
        or len(uses_rope) != layers
        or not all(type(v) in (int, bool) for v in uses_rope)
    ):
        r.error("no_rope_layers", Code.INVALID_VALUE, f"expected a list of {layers} 0/1 flags, got {_show(uses_rope)}")
        uses_rope = [1] * layers
    if not r.flag("use_sliding_window"):  # the switch is off: neither the window nor layer_types is read
        return [(None, not rope) for rope in uses_rope]
    window = r.integer("sliding_window")
    kinds = _layer_kinds(r, layers, lambda i: SLIDING if window is not None and not uses_rope[i] else FULL)
    return [(window if kind == SLIDING else None, not rope) for kind, rope in zip(kinds, uses_rope, strict=True)]


def _split_attention(layer_types: LayerTypes, pattern: list[LayerAttention]) -> LayerTypes:
    """The decoder's one attention type split into a type per (window, no_rope) of ``pattern``."""
    at = next(i for i, lt in enumerate(layer_types) if _kind(lt) is LayerKind.ATTENTION)
    base = layer_types[at]
    groups: dict[LayerAttention, list[int]] = {}
    for i, key in enumerate(pattern):
        groups.setdefault(key, []).append(i)
    split = []
    for (window, nope), indices in groups.items():
        specs = {**base["specs"], "layer_idx": indices[0]}
        if window is not None:
            specs = _insert_after(specs, "head_dim", "sliding_window", window)
        if nope:
            specs["no_rope"] = True
        name = "attention"
        if len(groups) > 1:
            name += ("_sliding" if window is not None else "_full") + ("_nope" if nope else "")
        split.append({**base, "name": name, "count": len(indices), "specs": specs})
    return layer_types[:at] + split + layer_types[at + 1 :]


def _kind(layer_type: dict[str, Any]) -> LayerKind | None:
    layer_class = catalogue.get(layer_type["class"])
    return layer_class.kind if layer_class is not None else None


# ---- builders ------------------------------------------------------------------------------------------------------


def _patched(
    *,
    attention: Callable[[_Reader], dict[str, Any]] | None = None,
    mlp: Callable[[_Reader], dict[str, Any]] | None = None,
    pattern: Callable[[_Reader, int], list[LayerAttention]] | None = None,
    null_head_dim: bool = False,
) -> Builder:
    """The core decoder with specs added to its attention (``attention``) and MLPs (``mlp``), its attention split
    by a per-layer ``pattern``; ``null_head_dim``: whether transformers builds a null head_dim."""

    def build(r: _Reader, dims: Dims) -> LayerTypes | None:
        if not null_head_dim:
            refuse_null(r, ("head_dim",))  # the modeling file reads config.head_dim as given
        layer_types = _decoder(r, dims)
        for layer_type in layer_types:
            kind = _kind(layer_type)
            dense = layer_type["class"] in ("MLPLayer", "GatedMLPLayer")
            extra = attention if kind is LayerKind.ATTENTION else mlp if dense else None
            if extra is not None:
                layer_type["specs"].update(extra(r))
        if pattern is not None and not r.errors:
            layer_types = _split_attention(layer_types, pattern(r, dims.num_layers))
        return layer_types

    return build


def _use_bias_attention(r: _Reader) -> dict[str, Any]:
    return {"qkv_bias": True, "output_bias": True} if r.flag("use_bias") else {}


def _use_bias_mlp(r: _Reader) -> dict[str, Any]:
    return {"mlp_bias": True} if r.flag("use_bias") else {}


def _cohere_qk_norm(r: _Reader) -> dict[str, Any]:
    # LayerNorm weights of shape (heads, head_dim) and (kv_heads, head_dim): one per head, the widths of Q and K.
    return {"qk_norm": "across_heads"} if r.flag("use_qk_norm") else {}


def _olmoe(r: _Reader, dims: Dims) -> LayerTypes | None:
    """OLMoE: its q_norm is hidden_size wide and its k_norm (hidden_size // heads) · kv_heads, which are the Q and
    K widths only when head_dim is hidden_size // heads; another head_dim builds norms the format cannot write."""
    given, value = r.raw("head_dim")
    if given and value != dims.hidden_size // dims.num_heads:
        r.error(
            "head_dim",
            Code.UNSUPPORTED_KEY,
            f"head_dim={_show(value)} with hidden_size // num_attention_heads = "
            f"{dims.hidden_size // dims.num_heads}: OLMoE's query and key norms stay that wide, which the "
            "importer does not count; write this config by hand",
        )
        return None
    return _decoder(r, dims)


def _mha(r: _Reader, dims: Dims, kv_heads: int, *, bias: bool, nope: bool = False) -> dict[str, Any] | None:
    """A fused-QKV attention (GPT-NeoX, Falcon): head_dim is hidden_size // heads, whatever the config says."""
    h, heads = dims.hidden_size, dims.num_heads
    if h % heads:
        r.error("num_attention_heads", Code.CONTRADICTION, f"expected a divisor of hidden_size ({h}), got {heads}")
        return None
    if heads % kv_heads:
        r.error("num_kv_heads", Code.CONTRADICTION, f"expected a divisor of num_attention_heads ({heads})")
        return None
    specs: dict[str, Any] = {"layer_idx": 0, "hidden_size": h, "num_heads": heads}
    if kv_heads != heads:
        specs["num_kv_heads"] = kv_heads
    specs["head_dim"] = h // heads
    if bias:
        specs |= {"qkv_bias": True, "output_bias": True}
    if nope:
        specs["no_rope"] = True
    name = "GroupedQueryAttentionLayer" if kv_heads != heads else "AttentionLayer"
    return {"name": "attention", "class": name, "count": dims.num_layers, "specs": specs}


def _mlp(dims: Dims, inner: int | None, *, bias: bool) -> dict[str, Any]:
    specs: dict[str, Any] = {"layer_idx": 0, "hidden_size": dims.hidden_size, "intermediate_size": inner}
    if bias:
        specs["mlp_bias"] = True
    return {"name": "feedforward", "class": "MLPLayer", "count": dims.num_layers, "specs": specs}


def _gpt_neox(r: _Reader, dims: Dims) -> LayerTypes | None:
    """GPT-NeoX (Pythia): fused multi-head QKV, a 2-projection MLP with biases, two LayerNorms per layer;
    partial rotary and the parallel residual change no count."""
    attention = _mha(r, dims, dims.num_heads, bias=r.flag("attention_bias"))
    inner = r.dimension("intermediate_size")
    if attention is None or inner is None:
        return None
    return [attention, _mlp(dims, inner, bias=True), norm_layer(r, 2 * dims.num_layers + 1, dims.hidden_size)]


def _falcon(r: _Reader, dims: Dims) -> LayerTypes | None:
    """Falcon: one KV head (multi_query), num_kv_heads (new_decoder_architecture) or all heads; ALiBi instead of
    rotary with alibi; a 4h (ffn_hidden_size) 2-projection MLP; one or two LayerNorms per layer."""
    if r.raw("head_dim")[0]:
        r.error(
            "head_dim",
            Code.UNSUPPORTED_KEY,
            "falcon's head_dim is hidden_size // num_attention_heads: "
            "transformers cannot build a config that gives one",
        )
        return None
    new = _truthy(r, "new_decoder_architecture")
    heads = dims.num_heads
    # new_decoder_architecture reads num_kv_heads; otherwise multi_query means one KV head, and no switch all heads.
    kv_heads = (r.integer("num_kv_heads") or heads) if new else (1 if _truthy(r, "multi_query") else heads)
    bias = _truthy(r, "bias")
    attention = _mha(r, dims, kv_heads, bias=bias, nope=_truthy(r, "alibi"))
    inner = r.integer("ffn_hidden_size") or 4 * dims.hidden_size
    if attention is None:
        return None
    norms_in_parallel = r.value("num_ln_in_parallel_attn")
    if norms_in_parallel is None and new:
        norms_in_parallel = 2
    per_layer = 2 if not _truthy(r, "parallel_attn") or norms_in_parallel == 2 else 1
    norms = norm_layer(r, per_layer * dims.num_layers + 1, dims.hidden_size)
    return [attention, _mlp(dims, inner, bias=bias), norms]


def _ernie_moe_layers(r: _Reader, layers: int) -> list[bool]:
    """Experts in layer i when (i + 1) % moe_layer_interval == 0 and start <= i <= end (end -1: the last layer)."""
    start, end = _index(r, "moe_layer_start_index"), _index(r, "moe_layer_end_index")
    interval = r.integer("moe_layer_interval")
    if start is None or end is None or interval is None:
        return [False] * layers
    end = layers - 1 if end == -1 else end
    return [(i + 1) % interval == 0 and start <= i <= end for i in range(layers)]


def _ernie4_5_moe(r: _Reader, dims: Dims) -> LayerTypes | None:
    """ERNIE-4.5-MoE: dense and MoE layers by start, end and interval; the shared experts are one gated MLP
    moe_num_shared_experts · moe_intermediate_size wide; the router's e_score_correction_bias is a parameter
    (with requires_grad false), counted as the router's bias."""
    refuse_null(r, ("head_dim",))  # the modeling file reads config.head_dim as given
    h, layers = dims.hidden_size, dims.num_layers
    moe_layers = _ernie_moe_layers(r, layers)
    bias = r.flag("use_bias")
    shared = r.integer("moe_num_shared_experts", minimum=0) if any(moe_layers) else 0
    if bias and shared:
        r.error(
            "use_bias",
            Code.UNSUPPORTED_KEY,
            "use_bias=true puts biases on the shared experts, which the importer does not count; write this "
            "config by hand",
        )
    if r.errors:
        return None
    layer_types = _attention(r, h, dims.num_heads, layers, [None] * layers)
    layer_types += _feedforward(r, h, moe_layers)
    for layer_type in layer_types:
        specs = layer_type["specs"]
        if layer_type["class"] == "MoELayer":
            if shared and specs["moe_intermediate_size"]:
                specs["shared_expert_intermediate_size"] = shared * specs["moe_intermediate_size"]
            specs["router_bias"] = True
        elif bias:
            specs.update(_use_bias_mlp(r) if layer_type["class"] == "GatedMLPLayer" else _use_bias_attention(r))
    layer_types.append(norm_layer(r, 2 * layers + 1, h))
    return layer_types


def _alibi_notes(r: _Reader) -> list[str]:
    if not _truthy(r, "alibi"):
        return []
    return ["alibi: the attention uses ALiBi position biases (no parameters) instead of rotary embeddings."]


# ---- the entries ---------------------------------------------------------------------------------------------------

register_arch(
    "glm4",
    Arch(
        kv_heads_required=True,
        defaults={"max_position_embeddings": 131072, "tie_word_embeddings": False, "attention_bias": True},
        head_dim_default=128,
        qkv_bias=_key("attention_bias"),  # o_proj has no bias
        norms_per_layer=4,  # input, post-attention, post-self-attention and post-MLP RMSNorms
        layers=_patched(),
    ),
    classes=("Glm4ForCausalLM",),
)
register_arch(
    "phimoe",
    Arch(
        keys={"num_experts": "num_local_experts"},
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "sliding_window": None,
            "attention_bias": False,
            "lm_head_bias": False,
        },
        **ATTENTION_BIAS,
        head_bias="lm_head_bias",
        norm_bias=True,  # LayerNorms
        moe="mixtral",
        sliding="all",
        layers=_patched(),
    ),
    classes=("PhimoeForCausalLM",),
)
register_arch(
    "olmoe",
    Arch(
        aliases={"num_experts": ("num_local_experts",)},
        defaults={"max_position_embeddings": 4096, "tie_word_embeddings": False, "attention_bias": False},
        **ATTENTION_BIAS,
        qk_norm="across_heads",
        moe="mixtral",
        layers=_olmoe,
    ),
    classes=("OlmoeForCausalLM",),
)
register_arch(
    "olmo3",
    Arch(
        defaults={
            "max_position_embeddings": 2048,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "sliding_window": 4096,
        },
        **ATTENTION_BIAS,
        qk_norm="across_heads",
        layers=_patched(pattern=_olmo3_pattern),  # post-attention and post-feedforward norms: two per layer
    ),
    classes=("Olmo3ForCausalLM",),
)
_GRANITE_DEFAULTS = {"max_position_embeddings": 2048, "tie_word_embeddings": False, "attention_bias": False}
register_arch(
    "granite",
    Arch(
        defaults={**_GRANITE_DEFAULTS, "mlp_bias": False},
        **ATTENTION_BIAS,
        mlp_bias=_key("mlp_bias"),
        layers=_patched(),
    ),
    classes=("GraniteForCausalLM",),
)
register_arch(
    "granitemoe",
    Arch(
        keys={"num_experts": "num_local_experts"},
        defaults=_GRANITE_DEFAULTS,
        **ATTENTION_BIAS,
        moe="mixtral",
        layers=_patched(),
    ),
    classes=("GraniteMoeForCausalLM",),
)
register_arch(
    "smollm3",
    Arch(
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 32768,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "mlp_bias": False,
            "use_sliding_window": False,
            "sliding_window": None,
            "no_rope_layer_interval": 4,
        },
        **ATTENTION_BIAS,
        mlp_bias=_key("mlp_bias"),
        layers=_patched(pattern=_smollm3_pattern),
    ),
    classes=("SmolLM3ForCausalLM",),
)
_COHERE_DEFAULTS = {"max_position_embeddings": 8192, "tie_word_embeddings": True, "attention_bias": False}
register_arch(
    "cohere",
    Arch(
        defaults={**_COHERE_DEFAULTS, "use_qk_norm": False},
        **ATTENTION_BIAS,
        norms_per_layer=1,  # one norm before the parallel attention and MLP
        layers=_patched(attention=_cohere_qk_norm),
    ),
    classes=("CohereForCausalLM",),
)
register_arch(
    "cohere2",
    Arch(
        defaults={**_COHERE_DEFAULTS, "sliding_window": 4096},
        **ATTENTION_BIAS,
        norms_per_layer=1,
        layers=_patched(pattern=_cohere2_pattern),
    ),
    classes=("Cohere2ForCausalLM",),
)
register_arch(
    "starcoder2",
    Arch(
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 4096,
            "tie_word_embeddings": True,
            "use_bias": True,
            "sliding_window": None,
        },
        gated_mlp=False,
        norm_bias=True,
        sliding="all",
        layers=_patched(attention=_use_bias_attention, mlp=_use_bias_mlp, null_head_dim=True),
    ),
    classes=("Starcoder2ForCausalLM",),
)
register_arch(
    "falcon",
    Arch(
        aliases={"hidden_size": ("n_embed",)},
        defaults={
            "max_position_embeddings": 2048,
            "tie_word_embeddings": True,
            "new_decoder_architecture": False,
            "multi_query": True,
            "parallel_attn": True,
            "bias": False,
            "alibi": False,
        },
        norm_bias=True,
        layers=_falcon,
        notes=_alibi_notes,
    ),
    classes=("FalconForCausalLM",),
)
register_arch(
    "gpt_neox",
    Arch(
        defaults={"max_position_embeddings": 2048, "tie_word_embeddings": False, "attention_bias": True},
        reads_head_dim=False,
        norm_bias=True,
        layers=_gpt_neox,
    ),
    classes=("GPTNeoXForCausalLM",),
)
register_arch(
    "ernie4_5",
    Arch(
        kv_heads_required=True,
        defaults={"max_position_embeddings": 131072, "tie_word_embeddings": True, "use_bias": False},
        head_dim_default=128,
        layers=_patched(attention=_use_bias_attention, mlp=_use_bias_mlp, null_head_dim=True),
    ),
    classes=("Ernie4_5ForCausalLM",),
)
register_arch(
    "ernie4_5_moe",
    Arch(
        **renamed(num_experts="moe_num_experts", num_experts_per_tok="moe_k"),
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": True,
            "use_bias": False,
            "moe_num_shared_experts": 2,
            "moe_layer_start_index": 1,
            "moe_layer_end_index": -1,
            "moe_layer_interval": 1,
        },
        head_bias="use_bias",
        layers=_ernie4_5_moe,
        notes=mtp_note,
    ),
    classes=("Ernie4_5_MoeForCausalLM",),
)
