"""Llama-4 (Meta): chunked RoPE attention and NoPE global layers, interleaved MoE and dense layers.

transformers 5.25's Llama4TextConfig and modeling_llama4.py: a layer is MoE when its index is in
``moe_layers`` (default: every ``interleave_moe_layer_step``-th layer), else a gated MLP of width
``intermediate_size_mlp``. The MoE has ``num_local_experts`` fused experts and one shared expert, all
``intermediate_size`` wide, and a router without bias. ``no_rope_layers`` (1: RoPE, 0: NoPE; default
a NoPE layer every ``no_rope_layer_interval``) and ``layer_types`` (default: chunked attention on the
RoPE layers when ``attention_chunk_size`` is set) shape attention; the qk L2 norm has no parameters.
The llama4 wrapper (Llama4ForConditionalGeneration) is imported as its text_config.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import Arch, Dims, _attention, _moe_specs, _Reader, norm_layer, register_arch
from registry.core.hf_families.common import ATTENTION_BIAS, fixed_notes, layer_kinds, refuse_null
from registry.core.issues import Code
from registry.core.validation import _show

CHUNKED, FULL = "chunked_attention", "full_attention"


def _index_list(r: _Reader, key: str) -> list[int] | None:
    """A list of integers, or None when absent or null (and after an error)."""
    value = r.value(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(type(i) is int for i in value):
        r.error(key, Code.INVALID_VALUE, f"expected a list of integers, got {_show(value)}")
        return None
    return value


def _rope_layers(r: _Reader, layers: int) -> list[bool]:
    """Whether each layer applies RoPE (no_rope_layers: 1 RoPE, 0 NoPE; empty or absent: by interval).

    Without layer_types, transformers derives one layer type per entry: there must be exactly one per layer;
    with layer_types, entries past the last layer are not read.
    """
    given = _index_list(r, "no_rope_layers")
    if given:  # transformers: an empty list also takes the interval's pattern
        exact = r.value("layer_types") is None
        if len(given) < layers or (exact and len(given) != layers) or any(v not in (0, 1) for v in given):
            wanted = "exactly" if exact else "at least"
            r.error(
                "no_rope_layers",
                Code.INVALID_VALUE,
                f"expected {wanted} {layers} entries of 0 (NoPE) or 1 (RoPE), got {_show(given)}",
            )
        else:
            return [bool(v) for v in given[:layers]]
    interval = r.integer("no_rope_layer_interval") or 1
    return [(i + 1) % interval != 0 for i in range(layers)]


def _moe_layers(r: _Reader, layers: int) -> list[bool]:
    listed = _index_list(r, "moe_layers")
    if listed is None:
        step = r.integer("interleave_moe_layer_step") or 1
        listed = list(range(step - 1, layers, step))
    moe = set(listed)
    return [i in moe for i in range(layers)]


def _attention_types(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """Attention grouped by (chunked, NoPE): Llama-4's chunked RoPE layers and full NoPE layers."""
    layers = dims.num_layers
    rope = _rope_layers(r, layers)
    given, chunk = r.raw("attention_chunk_size")  # null: no chunking (not the default)
    if not given:
        chunk = r.arch.defaults["attention_chunk_size"]
    kinds = layer_kinds(r, layers, [CHUNKED if use and chunk is not None else FULL for use in rope], (CHUNKED, FULL))
    if CHUNKED in kinds:
        if chunk is not None:
            chunk = r._positive("attention_chunk_size", chunk)
        else:
            r.error(
                "attention_chunk_size",
                Code.CONTRADICTION,
                "expected a chunk size: layer_types has chunked_attention layers, which transformers cannot "
                "build without one",
            )
    base = _attention(r, dims.hidden_size, dims.num_heads, layers, [None] * layers)
    if not base:
        return []
    groups: dict[tuple[bool, bool], list[int]] = {}
    for i in range(layers):
        groups.setdefault((kinds[i] == CHUNKED, not rope[i]), []).append(i)
    out = []
    for (chunked, nope), indices in groups.items():
        specs = {**base[0]["specs"], "layer_idx": indices[0]}
        if chunked:
            specs["attention_chunk_size"] = chunk
        if nope:
            specs["no_rope"] = True
        name = "attention" if len(groups) == 1 else f"attention_{'chunked' if chunked else 'full'}{'_nope' * nope}"
        out.append({"name": name, "class": base[0]["class"], "count": len(indices), "specs": specs})
    return out


def _feedforward_types(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    h, moe = dims.hidden_size, _moe_layers(r, dims.num_layers)
    sparse = [i for i, m in enumerate(moe) if m]
    dense = [i for i, m in enumerate(moe) if not m]
    out = []
    if sparse:
        specs = {"layer_idx": sparse[0], **_moe_specs(r, h)}
        specs["shared_expert_intermediate_size"] = specs["moe_intermediate_size"]
        name = "feedforward_moe" if dense else "feedforward"
        out.append({"name": name, "class": "MoELayer", "count": len(sparse), "specs": specs})
    if dense:
        specs = {"layer_idx": dense[0], "hidden_size": h, "intermediate_size": r.dimension("intermediate_size_mlp")}
        name = "feedforward_dense" if sparse else "feedforward"
        out.append({"name": name, "class": "GatedMLPLayer", "count": len(dense), "specs": specs})
    return out


def _layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    refuse_null(r, ("head_dim", "num_key_value_heads"))
    return [
        *_attention_types(r, dims),
        *_feedforward_types(r, dims),
        norm_layer(r, 2 * dims.num_layers + 1, dims.hidden_size),
    ]


register_arch(
    "llama4_text",
    Arch(
        keys={"num_experts": "num_local_experts"},
        # num_key_value_heads defaults to Scout's 8 (null: num_attention_heads): required.
        kv_heads_required=True,
        head_dim_default=128,
        defaults={
            "max_position_embeddings": 4096 * 32,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "attention_chunk_size": 8192,
            "no_rope_layer_interval": 4,
            "interleave_moe_layer_step": 1,
        },
        **ATTENTION_BIAS,
        moe="mixtral",  # routed (and shared) experts are intermediate_size wide
        layers=_layers,
        notes=fixed_notes(
            "Chunked-attention layers cache at most one chunk (attention_chunk_size) of keys and values; NoPE layers "
            "attend globally. The qk L2 norm (use_qk_norm) has no parameters."
        ),
    ),
    classes=("Llama4ForCausalLM",),
)
# The wrapper's tie_word_embeddings does not reach its text model: Llama4ForCausalLM ties by text_config alone.
register_arch(
    "llama4",
    Arch(text_model="llama4_text", text_defaults={"tie_word_embeddings": False}),
    classes=("Llama4ForConditionalGeneration",),
)
