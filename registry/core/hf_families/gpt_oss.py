"""gpt-oss (OpenAI): attention with learned sinks and biases, alternating sliding/full layers, biased MoE.

transformers 5.25's GptOssConfig and modeling_gpt_oss.py: every layer is a mixture of
``num_local_experts`` gated experts of width ``intermediate_size`` with biases on both projections
and a biased router; attention has q/k/v/o biases (``attention_bias``, default true) and one sink
logit per query head; ``layer_types`` (default: sliding on even layers) picks each layer's mask.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import Arch, Dims, _attention, _moe_specs, _Reader, norm_layer, register_arch, renamed
from registry.core.hf_families.common import ATTENTION_BIAS, fixed_notes, layer_kinds, refuse_null, sliding_window

SLIDING, FULL = "sliding_attention", "full_attention"


def _windows(r: _Reader, layers: int) -> list[int | None]:
    """The sliding window of each layer (None: full attention)."""
    kinds = layer_kinds(r, layers, [SLIDING if (i + 1) % 2 else FULL for i in range(layers)], (SLIDING, FULL))
    window = sliding_window(r, kinds)
    return [window if kind == SLIDING else None for kind in kinds]


def _layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    h, layers = dims.hidden_size, dims.num_layers
    refuse_null(r, ("head_dim", "num_key_value_heads"))
    attention = _attention(r, h, dims.num_heads, layers, _windows(r, layers))
    for layer_type in attention:
        layer_type["specs"]["attention_sinks"] = True
    moe = {"layer_idx": 0, **_moe_specs(r, h), "router_bias": True, "expert_bias": True}
    return [
        *attention,
        {"name": "feedforward", "class": "MoELayer", "count": layers, "specs": moe},
        norm_layer(r, 2 * layers + 1, h),
    ]


register_arch(
    "gpt_oss",
    Arch(
        **renamed(num_experts="num_local_experts"),
        # num_key_value_heads defaults to the 120b's 8 (null: num_attention_heads): required.
        kv_heads_required=True,
        head_dim_default=64,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "attention_bias": True,
            "sliding_window": 128,
        },
        **ATTENTION_BIAS,
        moe="mixtral",  # experts are intermediate_size wide, in every layer
        layers=_layers,
        notes=fixed_notes(
            "Each attention layer's learned sinks (one logit per query head) are parameters and cache nothing; "
            "the experts and the router carry biases (counted)."
        ),
    ),
    classes=("GptOssForCausalLM",),
)
