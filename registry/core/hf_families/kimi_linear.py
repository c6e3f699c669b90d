"""Kimi-Linear (Moonshot AI): Kimi Delta Attention interleaved with latent attention, DeepSeek-style MoE.

transformers 5.25's KimiLinearConfig and modeling_kimi_linear.py: each layer is multi-head latent attention
(``full_attention``: DeepSeek-V2's MLA, no RoPE) or Kimi Delta Attention (``linear_attention``), by
``layer_types``, else ``linear_attn_config``'s 1-based ``full_attn_layers`` and ``kda_layers`` (read only
together), else full attention on every fourth layer from layer 4 (0-based). The delta attention's heads, head
width and convolution kernel are ``linear_attn_config``'s ``num_heads``, ``head_dim`` and
``short_conv_kernel_size`` over the top-level ``linear_num_heads``, ``linear_head_dim`` and
``linear_conv_kernel_dim``. A layer's MLP is ``mlp_layer_types`` (dense or sparse), else dense for the first
``first_k_dense_replace`` layers; the MoE has ``num_shared_experts`` · ``moe_intermediate_size`` of shared
expert and a router whose ``e_score_correction_bias`` is a buffer. Kimi-K3's extensions (latent MoE, gated
MLA, attention residuals, full-rank gates) are not built by this class and are refused by name.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import (
    ROUTER_BIAS_NOTE,
    Arch,
    Dims,
    _Reader,
    expert_specs,
    latent_specs,
    mtp_note,
    norm_layer,
    register_arch,
)
from registry.core.hf_families.common import layer_kinds, nested_object, nested_or_top
from registry.core.hf_families.qwen import state_dtype
from registry.core.issues import Code
from registry.core.validation import _show

FULL, LINEAR = "full_attention", "linear_attention"
DENSE, SPARSE = "dense", "sparse"
_UNTIED = "tie_word_embeddings (never read by kimi_linear)"
# linear_attn_config's keys and the top-level keys they take the place of.
_LINEAR_KEYS = {
    "num_heads": "linear_num_heads",
    "head_dim": "linear_head_dim",
    "short_conv_kernel_size": "linear_conv_kernel_dim",
}
# Kimi-K3's keys: modules transformers 5.25's kimi_linear does not build (set: refused; their off value: fine).
_K3_KEYS = {
    "routed_expert_hidden_size": None,
    "latent_moe_use_norm": False,
    "mla_use_output_gate": False,
    "attn_res_block_size": None,
}


def _linear_value(r: _Reader, nested: dict[str, Any], key: str, *, required: bool) -> int | None:
    """``linear_attn_config[key]`` when given, else the top-level key it takes the place of."""
    return nested_or_top(r, "linear_attn_config", nested, key, _LINEAR_KEYS[key], required=required)


def _layer_numbers(r: _Reader, nested: dict[str, Any], key: str, layers: int) -> list[int] | None:
    value = nested[key]
    if not isinstance(value, list) or not all(type(i) is int and 1 <= i <= layers for i in value):
        r.error(
            f"linear_attn_config.{key}",
            Code.INVALID_VALUE,
            f"expected a list of 1-based layer numbers (1 to {layers}), got {_show(value)}",
        )
        return None
    return value


def _attention_kinds(r: _Reader, nested: dict[str, Any], layers: int) -> list[str]:
    default = [FULL if i and i % 4 == 0 else LINEAR for i in range(layers)]
    if r.value("layer_types") is not None:
        return layer_kinds(r, layers, default, (FULL, LINEAR))
    given = [k for k in ("full_attn_layers", "kda_layers") if k in nested]
    if not given:
        return default
    if len(given) == 1:
        r.error(
            f"linear_attn_config.{given[0]}",
            Code.CONTRADICTION,
            "expected both full_attn_layers and kda_layers: transformers reads them only together (and takes its "
            "default pattern otherwise), vLLM reads kda_layers alone",
        )
        return default
    full = _layer_numbers(r, nested, "full_attn_layers", layers)
    kda = _layer_numbers(r, nested, "kda_layers", layers)
    if full is None or kda is None:
        return default
    if sorted(full + kda) != list(range(1, layers + 1)):
        r.error(
            "linear_attn_config.kda_layers",
            Code.CONTRADICTION,
            f"expected full_attn_layers and kda_layers to name each layer 1 to {layers} once, got {_show(full)} "
            f"and {_show(kda)}",
        )
    return [FULL if i + 1 in full else LINEAR for i in range(layers)]


def _mlp_kinds(r: _Reader, layers: int) -> list[str]:
    given = r.value("mlp_layer_types")
    if given is None:
        first_dense = r.integer("first_k_dense_replace", minimum=0)
        first_dense = 1 if first_dense is None else first_dense
        return [DENSE if i < first_dense else SPARSE for i in range(layers)]
    if not isinstance(given, list) or len(given) != layers or any(k not in (DENSE, SPARSE) for k in given):
        r.error("mlp_layer_types", Code.INVALID_VALUE, f"expected {layers} of 'dense' or 'sparse', got {_show(given)}")
        return [DENSE] * layers
    return given


def _latent_attention(r: _Reader, h: int, indices: list[int]) -> dict[str, Any]:
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h, "num_heads": r.dimension("num_attention_heads")}
    specs |= latent_specs(r, r.value("q_lora_rank"))  # null or absent: queries projected directly
    return {"name": "full_attention", "class": "MultiHeadLatentAttentionLayer", "count": len(indices), "specs": specs}


def _delta_attention(r: _Reader, h: int, nested: dict[str, Any], indices: list[int]) -> dict[str, Any]:
    specs: dict[str, Any] = {
        "layer_idx": indices[0],
        "hidden_size": h,
        "linear_num_heads": _linear_value(r, nested, "num_heads", required=True),
        "linear_head_dim": _linear_value(r, nested, "head_dim", required=True),
        "linear_conv_kernel_dim": _linear_value(r, nested, "short_conv_kernel_size", required=False),
        **state_dtype(r),
    }
    return {"name": "linear_attention", "class": "KimiDeltaAttentionLayer", "count": len(indices), "specs": specs}


def _moe(r: _Reader, h: int, indices: list[int]) -> dict[str, Any]:
    moe = expert_specs(r, h, "moe_intermediate_size", per_token_key="num_experts_per_token")
    specs: dict[str, Any] = {"layer_idx": indices[0], **moe}
    inner = moe["moe_intermediate_size"]
    shared = r.integer("num_shared_experts", minimum=0)
    if shared and inner:
        specs["shared_expert_intermediate_size"] = shared * inner
    return {"name": "feedforward_moe", "class": "MoELayer", "count": len(indices), "specs": specs}


def _refuse_k3(r: _Reader, nested: dict[str, Any]) -> None:
    for key, off in _K3_KEYS.items():
        value = r.config.get(key)
        if value is not None and value != off:
            r.error(
                key,
                Code.UNSUPPORTED_KEY,
                f"{key}={_show(value)} is Kimi-K3's: transformers 5.25's kimi_linear does not build it, and the "
                "importer does not count it; write this config by hand",
            )
    if nested.get("use_full_rank_gate"):
        r.error(
            "linear_attn_config.use_full_rank_gate",
            Code.UNSUPPORTED_KEY,
            "full-rank delta-attention gates are Kimi-K3's: transformers 5.25's kimi_linear builds low-rank ones",
        )


def _layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    h, layers = dims.hidden_size, dims.num_layers
    nested = nested_object(r, "linear_attn_config")
    _refuse_k3(r, nested)
    kinds = _attention_kinds(r, nested, layers)
    mlps = _mlp_kinds(r, layers)
    full = [i for i, k in enumerate(kinds) if k == FULL]
    linear = [i for i, k in enumerate(kinds) if k == LINEAR]
    dense = [i for i, k in enumerate(mlps) if k == DENSE]
    sparse = [i for i, k in enumerate(mlps) if k == SPARSE]
    out: list[dict[str, Any]] = []
    if full:
        out.append(_latent_attention(r, h, full))
    if linear:
        out.append(_delta_attention(r, h, nested, linear))
    if dense:
        specs = {"layer_idx": dense[0], "hidden_size": h, "intermediate_size": r.dimension("intermediate_size")}
        out.append({"name": "feedforward_dense", "class": "GatedMLPLayer", "count": len(dense), "specs": specs})
    if sparse:
        out.append(_moe(r, h, sparse))
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


def _notes(r: _Reader) -> list[str]:
    notes = [
        "The full-attention layers are latent attention without RoPE (mla_use_nope).",
        ROUTER_BIAS_NOTE,
    ]
    if r.config.get("tie_word_embeddings") is True:
        notes.append(
            "tie_word_embeddings is true, but transformers' KimiLinearForCausalLM never ties its head: lm_head is "
            "counted."
        )
    return notes + mtp_note(r)


register_arch(
    "kimi_linear",
    Arch(
        keys={
            "max_position_embeddings": "model_max_length",
            # KimiLinearForCausalLM ties nothing (its _tied_weights_keys is empty): the key is not read.
            "tie_word_embeddings": _UNTIED,
        },
        aliases={
            "model_max_length": ("max_position_embeddings",),
            "num_experts": ("num_local_experts",),
            "num_experts_per_token": ("num_experts_per_tok",),
            "num_shared_experts": ("n_shared_experts",),
        },
        defaults={
            "model_max_length": 1048576,
            _UNTIED: False,
            "attention_bias": False,
            "linear_conv_kernel_dim": 4,
            "num_shared_experts": 1,
            "moe_layer_freq": 1,
        },
        requires_heads=False,  # read where latent attention layers exist
        layers=_layers,
        notes=_notes,
        fixed={"moe_layer_freq": 1},
    ),
    classes=("KimiLinearForCausalLM",),
)
