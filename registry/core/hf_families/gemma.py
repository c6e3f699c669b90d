"""Gemma-3 and Gemma-4 (Google): sliding and full attention layers, per-layer-type geometry, KV shared across
layers, per-layer input embeddings and the MoE block.

transformers 5.25's Gemma3TextConfig / modeling_gemma3.py: ``layer_types`` (default: every
``sliding_window_pattern``-th layer full, 6), per-head q and k norms, four norms per layer, a tied head.

Gemma4TextConfig / modeling_gemma4.py: ``layer_types`` (default 5 sliding : 1 full; the last layer is
always full); full layers take ``global_head_dim`` (default 512) and, with ``attention_k_eq_v``,
``num_global_key_value_heads`` (``per_layer_config``, as transformers writes it, replaces both); with
``attention_k_eq_v`` full layers have no V projection; the last ``num_kv_shared_layers`` layers read the keys
and values of the last earlier layer of their type (no K, V or k_norm: SharedKVAttentionLayer), and with
``use_double_wide_mlp`` their MLP is twice as wide; ``hidden_size_per_layer_input`` (default 256; 0: none)
adds per-layer input embeddings; ``enable_moe_block`` adds routed experts beside the dense MLP, with three
more norms. v_norm, the router's input norm and ``layer_scalar`` (a buffer) have no parameters.
The gemma3 and gemma4 wrappers are imported as their text_config.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import Arch, Dims, _attention, _feedforward, _Reader, expert_specs, norm_layer, register_arch
from registry.core.hf_families.common import ATTENTION_BIAS, layer_kinds, refuse_null, sliding_window
from registry.core.issues import Code
from registry.core.validation import _show

SLIDING, FULL = "sliding_attention", "full_attention"
# Keys of a Gemma-4 per_layer_config entry the model reads per layer; any other is refused.
_PER_LAYER_KEYS = ("head_dim", "num_key_value_heads")


def _windows(r: _Reader, kinds: list[str]) -> list[int | None]:
    """Each layer's sliding window (None: full attention), as the configuration class leaves it."""
    window = sliding_window(r, kinds)
    if window is not None and r.value("use_bidirectional_attention") in (True, "all"):
        window = window // 2 + 1  # transformers: exclusive bounds for bidirectional sliding attention
    return [window if kind == SLIDING else None for kind in kinds]


def _heads_divide_hidden(r: _Reader, dims: Dims) -> None:
    """Gemma3TextConfig refuses a hidden size that the heads do not divide (whatever head_dim is)."""
    if dims.hidden_size % dims.num_heads:
        r.error(
            "num_attention_heads",
            Code.CONTRADICTION,
            f"expected a divisor of the hidden size ({dims.hidden_size}), got {dims.num_heads}",
        )


def _gemma3_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, ("head_dim", "num_key_value_heads"))
    _heads_divide_hidden(r, dims)
    if r.value("layer_types") is None:  # the pattern is read only without layer_types
        refuse_null(r, ("sliding_window_pattern",))
    pattern = r.integer("sliding_window_pattern") or 6
    kinds = layer_kinds(r, layers, [SLIDING if (i + 1) % pattern else FULL for i in range(layers)], (SLIDING, FULL))
    attention = _attention(r, h, dims.num_heads, layers, _windows(r, kinds))
    if r.errors:
        return None
    return [*attention, *_feedforward(r, h, [False] * layers), norm_layer(r, 4 * layers + 1, h)]


register_arch(
    "gemma3_text",
    Arch(
        # num_key_value_heads defaults to Gemma-3-4B's 4: required (a gemma3 wrapper's text_config may omit it).
        kv_heads_required=True,
        head_dim_default=256,
        defaults={
            "max_position_embeddings": 131_072,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "sliding_window": 4096,
            "use_bidirectional_attention": False,
        },
        **ATTENTION_BIAS,
        qk_norm="per_head",
        layers=_gemma3_layers,
        # Gemma-3's attention reads head_dim and num_key_value_heads from the model's config alone.
        fixed={"per_layer_config": None},
    ),
    classes=("Gemma3ForCausalLM",),
)
# Google's gemma-3-4b/12b/27b config.json leave these to Gemma3TextConfig (27B: vocab_size; 4B: the heads too).
register_arch(
    "gemma3",
    Arch(
        text_model="gemma3_text",
        text_defaults={"vocab_size": 262_208, "num_attention_heads": 8, "num_key_value_heads": 4},
    ),
    classes=("Gemma3ForConditionalGeneration",),
)


# ---- Gemma-4 ------------------------------------------------------------------------------------


def _gemma4_kinds(r: _Reader, layers: int) -> list[str]:
    kinds = layer_kinds(r, layers, [SLIDING if (i + 1) % 6 else FULL for i in range(layers)], (SLIDING, FULL))
    return [*kinds[:-1], FULL]  # transformers forces the last layer to full attention


def _shared_layers(r: _Reader, kinds: list[str]) -> list[bool]:
    """Whether each layer reads an earlier layer's keys and values (num_kv_shared_layers, the last ones)."""
    layers = len(kinds)
    shared = r.integer("num_kv_shared_layers", minimum=0) or 0
    if shared > layers:
        r.error(
            "num_kv_shared_layers",
            Code.CONTRADICTION,
            f"expected at most num_hidden_layers ({layers}) layers sharing keys and values, got {shared}",
        )
        return [False] * layers
    first = layers - shared
    if 0 < first < layers and set(kinds[:first]) != set(kinds):
        r.error(
            "num_kv_shared_layers",
            Code.CONTRADICTION,
            f"the last {shared} layers read the keys and values of an earlier layer of their type, but the first "
            f"{first} layers do not have every type of layer_types",
        )
    return [i >= first for i in range(layers)]


def _per_layer_config(r: _Reader, layers: int) -> dict[int, dict[str, Any]] | None:
    """A per_layer_config given in the config.json (as transformers 5.25 writes it): overrides by layer index.

    None when the key is absent: the overrides are then global_head_dim and num_global_key_value_heads.
    """
    given, value = r.raw("per_layer_config")
    if not given:
        return None
    if value is None:
        return {}  # transformers: no overrides at all (global_head_dim is not read)
    if not isinstance(value, dict):
        r.error("per_layer_config", Code.INVALID_VALUE, f"expected an object of layer overrides, got {_show(value)}")
        return {}
    out: dict[int, dict[str, Any]] = {}
    for key, overrides in value.items():
        index = int(key) if isinstance(key, str) and key.isdigit() else None
        loc = f"per_layer_config.{key}"
        if index is None or index >= layers or not isinstance(overrides, dict):
            r.error(loc, Code.INVALID_VALUE, f"expected a layer index below {layers} mapped to an object of overrides")
            continue
        for name, v in overrides.items():
            if name not in _PER_LAYER_KEYS:
                r.error(
                    f"{loc}.{name}",
                    Code.UNSUPPORTED_KEY,
                    f"a per-layer {name} is not counted by the importer (supported: {', '.join(_PER_LAYER_KEYS)}); "
                    "write this config by hand",
                )
            elif type(v) is not int or v < 1:
                r.error(f"{loc}.{name}", Code.INVALID_VALUE, f"expected a positive integer, got {_show(v)}")
        out[index] = {k: v for k, v in overrides.items() if k in _PER_LAYER_KEYS and type(v) is int and v > 0}
    return out


def _geometry(r: _Reader, kinds: list[str]) -> list[tuple[int, int]] | None:
    """Each layer's (head_dim, key/value heads), uniform within a layer type as transformers requires."""
    head_dim = r.integer("head_dim")
    kv_heads = r.dimension("num_key_value_heads")
    overrides = _per_layer_config(r, len(kinds))
    if overrides is None:
        refuse_null(r, ("global_head_dim",))
        full: dict[str, Any] = {"head_dim": r.integer("global_head_dim")}
        # Read only with attention_k_eq_v (null: the sliding layers' number).
        global_kv = r.integer("num_global_key_value_heads") if r.flag("attention_k_eq_v") else None
        if global_kv is not None:
            full["num_key_value_heads"] = global_kv
        overrides = {i: full for i, kind in enumerate(kinds) if kind == FULL}
    if head_dim is None or kv_heads is None or r.errors:
        return None
    geometry = [
        (overrides.get(i, {}).get("head_dim", head_dim), overrides.get(i, {}).get("num_key_value_heads", kv_heads))
        for i in range(len(kinds))
    ]
    for kind in (SLIDING, FULL):
        if len({g for g, k in zip(geometry, kinds, strict=True) if k == kind}) > 1:
            r.error(
                "per_layer_config",
                Code.CONTRADICTION,
                f"expected one head_dim and num_key_value_heads for all {kind} layers (transformers' rotary "
                "embedding is per layer type)",
            )
            return None
    return geometry


def _attention_specs(
    r: _Reader, dims: Dims, geometry: tuple[int, int], window: int | None, shared: bool, k_eq_v: bool
) -> tuple[str, dict[str, Any]]:
    heads, (head_dim, kv_heads) = dims.num_heads, geometry
    specs: dict[str, Any] = {"hidden_size": dims.hidden_size, "num_heads": heads}
    if shared:
        class_name = "SharedKVAttentionLayer"
    elif kv_heads == heads:
        class_name = "AttentionLayer"
    else:
        class_name = "GroupedQueryAttentionLayer"
        specs["num_kv_heads"] = kv_heads
    specs["head_dim"] = head_dim
    if window is not None:
        specs["sliding_window"] = window
    if r.flag("attention_bias"):
        specs["qkv_bias"] = specs["output_bias"] = True
    specs["qk_norm"] = "per_head"
    if shared:
        specs["kv_shared"] = True
    elif k_eq_v:
        specs["k_eq_v"] = True
    return class_name, specs


def _gemma4_attention(
    r: _Reader, dims: Dims, kinds: list[str], shared: list[bool], geometry: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    windows = _windows(r, kinds)
    k_eq_v = r.flag("attention_k_eq_v")
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, kind in enumerate(kinds):
        groups.setdefault((kind, shared[i]), []).append(i)
    for i, (_, kv) in enumerate(geometry):
        if kv is not None and dims.num_heads % kv:
            r.error(
                "num_global_key_value_heads" if kinds[i] == FULL else "num_key_value_heads",
                Code.CONTRADICTION,
                f"expected a divisor of num_attention_heads ({dims.num_heads}), got {kv}",
            )
            return []
    out = []
    for (kind, is_shared), indices in groups.items():
        first = indices[0]
        class_name, specs = _attention_specs(
            r, dims, geometry[first], windows[first], is_shared, k_eq_v and kind == FULL
        )
        name = "attention" if len(groups) == 1 else f"attention_{'sliding' if kind == SLIDING else 'full'}"
        out.append(
            {
                "name": name + "_kv_shared" * is_shared,
                "class": class_name,
                "count": len(indices),
                "specs": {"layer_idx": first, **specs},
            }
        )
    return out


def _gemma4_feedforward(r: _Reader, dims: Dims, shared: list[bool]) -> list[dict[str, Any]]:
    """The dense MLP of each layer (twice as wide on KV-shared layers with use_double_wide_mlp), with the
    routed experts beside it when enable_moe_block is set."""
    h = dims.hidden_size
    inner = r.dimension("intermediate_size")
    double = r.flag("use_double_wide_mlp")
    moe: dict[str, Any] | None = None
    if r.flag("enable_moe_block"):
        moe = expert_specs(r, h, "moe_intermediate_size", per_token_key="top_k_experts")
    if inner is None or r.errors:
        return []
    widths: dict[int, list[int]] = {}
    for i, is_shared in enumerate(shared):
        widths.setdefault(inner * (2 if double and is_shared else 1), []).append(i)
    out = []
    for width, indices in widths.items():
        name = "feedforward" if len(widths) == 1 else ("feedforward_double_wide" if width != inner else "feedforward")
        if moe is None:
            specs = {"layer_idx": indices[0], "hidden_size": h, "intermediate_size": width}
            out.append({"name": name, "class": "GatedMLPLayer", "count": len(indices), "specs": specs})
        else:
            specs = {"layer_idx": indices[0], **moe, "shared_expert_intermediate_size": width}
            out.append({"name": name, "class": "ScaledRouterMoELayer", "count": len(indices), "specs": specs})
    return out


def _per_layer_inputs(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """Per-layer input embeddings (PLE): the packed table and each layer's input branch."""
    refuse_null(r, ("hidden_size_per_layer_input",))
    width = r.integer("hidden_size_per_layer_input", minimum=0)
    if not width:
        return []
    refuse_null(r, ("vocab_size_per_layer_input",))
    vocab = r.integer("vocab_size_per_layer_input")
    if vocab is None:
        return []
    table = {"vocab_size_per_layer_input": vocab, "num_hidden_layers": dims.num_layers}
    table["hidden_size_per_layer_input"] = width
    branch = {"hidden_size": dims.hidden_size, "hidden_size_per_layer_input": width}
    return [
        {"name": "per_layer_embedding", "class": "PerLayerEmbeddingLayer", "count": 1, "specs": table},
        {"name": "per_layer_input", "class": "PerLayerInputLayer", "count": dims.num_layers, "specs": branch},
    ]


def _gemma4_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    refuse_null(r, ("head_dim", "num_key_value_heads", "sliding_window", "num_kv_shared_layers"))
    kinds = _gemma4_kinds(r, dims.num_layers)
    shared = _shared_layers(r, kinds)
    geometry = _geometry(r, kinds)
    if geometry is None:
        return None
    attention = _gemma4_attention(r, dims, kinds, shared, geometry)
    feedforward = _gemma4_feedforward(r, dims, shared)
    per_layer = _per_layer_inputs(r, dims)
    if r.errors:
        return None
    norms = (4 + 3 * r.flag("enable_moe_block")) * dims.num_layers + 1
    return [*attention, *feedforward, *per_layer, norm_layer(r, norms, dims.hidden_size)]


def _gemma4_notes(r: _Reader) -> list[str]:
    notes = []
    if r.integer("num_kv_shared_layers", minimum=0):
        notes.append(
            "The last num_kv_shared_layers layers read the keys and values of an earlier layer of their type: "
            "they cache nothing and have no K or V projection."
        )
    if r.flag("enable_moe_block"):
        notes.append(
            "Each MoE layer's dense MLP runs beside its experts for every token (shared_expert_intermediate_size)."
        )
    return notes


register_arch(
    "gemma4_text",
    Arch(
        # num_key_value_heads defaults to a default model's 4: required.
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 131_072,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "head_dim": 256,
            "global_head_dim": 512,
            "sliding_window": 512,
            "attention_k_eq_v": False,
            "num_kv_shared_layers": 0,
            "use_double_wide_mlp": False,
            "enable_moe_block": False,
            "hidden_size_per_layer_input": 256,
            "vocab_size_per_layer_input": 262_144,
        },
        layers=_gemma4_layers,
        notes=_gemma4_notes,
    ),
    classes=("Gemma4ForCausalLM",),
)
register_arch("gemma4", Arch(text_model="gemma4_text"), classes=("Gemma4ForConditionalGeneration",))
