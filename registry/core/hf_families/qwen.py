"""Qwen3-Next, Qwen3.5 (dense and MoE) and the Qwen3-VL text models.

transformers 5.25's configuration and modeling files:

- qwen3_next (Qwen3NextConfig): ``layer_types`` (default: full attention every ``full_attention_interval``-th
  layer, Gated DeltaNet elsewhere); full attention has a Q projection twice as wide (the sigmoid output gate),
  per-head q/k norms and ``attention_bias`` on all four projections; the MLP is a MoE with a gated shared expert
  unless ``mlp_only_layers`` / ``decoder_sparse_step`` / ``num_experts: 0`` make the layer dense.
- qwen3_5_text / qwen3_5_moe_text: the same mixers; every layer dense (qwen3_5) or MoE (qwen3_5_moe). Their
  repos are the multimodal wrappers qwen3_5 / qwen3_5_moe, imported as their text_config.
- qwen3_vl_text / qwen3_vl_moe_text: Qwen3 decoders (per-head q/k norms; qwen3_vl_moe's experts with no
  shared expert), inside the wrappers qwen3_vl / qwen3_vl_moe.

transformers always builds the output gate (``attn_output_gate`` is not read): a config turning it off is
refused. ``mamba_ssm_dtype`` gives the recurrent state's dtype; the MTP layers (``mtp_num_hidden_layers``)
are not built by transformers and not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.core.hf import (
    Arch,
    Dims,
    _attention,
    _feedforward,
    _moe_layers,
    _Reader,
    mtp_note,
    norm_layer,
    register_arch,
)
from registry.core.hf_families.common import ATTENTION_BIAS, layer_kinds, refuse_null
from registry.core.issues import Code
from registry.core.validation import _show

FULL, LINEAR = "full_attention", "linear_attention"
# mamba_ssm_dtype values and the state_dtype spec they give (auto: the cache's dtype, no spec).
_STATE_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16", "auto": None}


def _hybrid_kinds(r: _Reader, layers: int) -> list[str]:
    """Each layer's mixer: ``layer_types``, else full attention every ``full_attention_interval``-th layer."""
    interval = r.integer("full_attention_interval") or 1
    default = [FULL if (i + 1) % interval == 0 else LINEAR for i in range(layers)]
    return layer_kinds(r, layers, default, (FULL, LINEAR))


def state_dtype(r: _Reader) -> dict[str, str]:
    """The ``state_dtype`` spec of ``mamba_ssm_dtype``, when the config gives one other than auto."""
    value = r.value("mamba_ssm_dtype")
    if value is None:
        return {}
    if value not in _STATE_DTYPES:
        choices = ", ".join(repr(k) for k in _STATE_DTYPES)
        r.error("mamba_ssm_dtype", Code.INVALID_VALUE, f"expected one of {choices}, got {_show(value)}")
        return {}
    dtype = _STATE_DTYPES[value]
    return {} if dtype is None else {"state_dtype": dtype}


def _gated_delta_net(r: _Reader, h: int, indices: list[int]) -> dict[str, Any]:
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h}
    for key in ("linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim"):
        specs[key] = r.dimension(key)
    specs["linear_conv_kernel_dim"] = r.integer("linear_conv_kernel_dim")
    key_heads, value_heads = specs["linear_num_key_heads"], specs["linear_num_value_heads"]
    if key_heads and value_heads and value_heads % key_heads:
        r.error(
            "linear_num_value_heads",
            Code.CONTRADICTION,
            f"expected a multiple of linear_num_key_heads ({key_heads}): each key head serves "
            f"linear_num_value_heads // linear_num_key_heads value heads, got {value_heads}",
        )
    specs |= state_dtype(r)
    return {"name": "linear_attention", "class": "GatedDeltaNetLayer", "count": len(indices), "specs": specs}


def _gated_attention(r: _Reader, dims: Dims, indices: list[int]) -> list[dict[str, Any]]:
    """The full-attention layers: per-head q/k norms and the elementwise output gate (Q twice as wide)."""
    out = _attention(r, dims.hidden_size, dims.num_heads, len(indices), [None] * len(indices))
    for layer_type in out:
        layer_type["name"] = "full_attention"
        layer_type["specs"]["layer_idx"] = indices[0]
        layer_type["specs"]["output_gate"] = "elementwise"
    return out


def _shared_expert(r: _Reader, feedforward: list[dict[str, Any]]) -> None:
    """Qwen-MoE's shared expert (its width may be 0: transformers builds it) and its sigmoid gate."""
    for layer_type in feedforward:
        if layer_type["class"] == "MoELayer":
            layer_type["specs"]["shared_expert_intermediate_size"] = r.dimension(
                "shared_expert_intermediate_size", minimum=0
            )
            layer_type["specs"]["shared_expert_gate"] = True


def _hybrid(mlp: str) -> Callable[[_Reader, Dims], list[dict[str, Any]]]:
    """The decoder of Gated DeltaNet / gated attention hybrids; ``mlp``: qwen_moe (Qwen3-Next's rule),
    dense (every layer) or moe (every layer)."""

    def build(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
        h, layers = dims.hidden_size, dims.num_layers
        refuse_null(r, ("head_dim", "num_key_value_heads"))
        kinds = _hybrid_kinds(r, layers)
        full = [i for i, kind in enumerate(kinds) if kind == FULL]
        linear = [i for i, kind in enumerate(kinds) if kind == LINEAR]
        out: list[dict[str, Any]] = []
        if full:
            out += _gated_attention(r, dims, full)
        if linear:
            out.append(_gated_delta_net(r, h, linear))
        moe_layers = _moe_layers(r, layers) if mlp == "qwen_moe" else [mlp == "moe"] * layers
        feedforward = _feedforward(r, h, moe_layers)
        _shared_expert(r, feedforward)
        out += feedforward
        out.append(norm_layer(r, 2 * layers + 1, h))
        return out

    return build


def _wrapper_without_text_config(r: _Reader, dims: Dims) -> None:
    r.error(
        "text_config",
        Code.MISSING_DIMENSION,
        f"a {r.model_type} config.json gives its text model in text_config (transformers reads no other key for it)",
    )
    return None


_HYBRID_DEFAULTS = {
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "linear_conv_kernel_dim": 4,
    "full_attention_interval": 4,
    "attn_output_gate": True,
}


def _hybrid_arch(mlp: str, defaults: dict[str, Any]) -> Arch:
    return Arch(
        # num_key_value_heads defaults to a default model's 2 (null is not accepted): required.
        kv_heads_required=True,
        head_dim_default=256,
        defaults={**_HYBRID_DEFAULTS, **defaults},
        **ATTENTION_BIAS,
        qk_norm="per_head",
        moe="qwen_moe",
        layers=_hybrid(mlp),
        notes=mtp_note,
        fixed={"attn_output_gate": True},
    )


register_arch(
    "qwen3_next",
    _hybrid_arch("qwen_moe", {"decoder_sparse_step": 1, "mlp_only_layers": []}),
    classes=("Qwen3NextForCausalLM",),
)
register_arch("qwen3_5_text", _hybrid_arch("dense", {}), classes=("Qwen3_5ForCausalLM",))
register_arch("qwen3_5_moe_text", _hybrid_arch("moe", {}), classes=("Qwen3_5MoeForCausalLM",))

_QWEN3_VL_TEXT = {
    "max_position_embeddings": 128000,
    # The wrapper's tie_word_embeddings (default false) is the one its model reads.
    "tie_word_embeddings": False,
    "attention_bias": False,
}
register_arch(
    "qwen3_vl_text",
    Arch(
        kv_heads_required=True,  # defaults to a default model's 32 (null: num_attention_heads)
        head_dim_default=128,
        defaults=_QWEN3_VL_TEXT,
        **ATTENTION_BIAS,
        qk_norm="per_head",
    ),
)
register_arch(
    "qwen3_vl_moe_text",
    Arch(
        kv_heads_required=True,  # defaults to a default model's 16 (null: num_attention_heads)
        aliases={"num_experts": ("num_local_experts",)},
        defaults={**_QWEN3_VL_TEXT, "decoder_sparse_step": 1, "mlp_only_layers": []},
        **ATTENTION_BIAS,
        qk_norm="per_head",
        moe="qwen_moe",
    ),
)

for _wrapper, _text, _class in (
    ("qwen3_5", "qwen3_5_text", "Qwen3_5ForConditionalGeneration"),
    ("qwen3_5_moe", "qwen3_5_moe_text", "Qwen3_5MoeForConditionalGeneration"),
    ("qwen3_vl", "qwen3_vl_text", "Qwen3VLForConditionalGeneration"),
    ("qwen3_vl_moe", "qwen3_vl_moe_text", "Qwen3VLMoeForConditionalGeneration"),
):
    register_arch(_wrapper, Arch(text_model=_text, layers=_wrapper_without_text_config), classes=(_class,))
