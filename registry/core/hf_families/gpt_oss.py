"""gpt-oss (OpenAI): attention with learned sinks and biases, alternating sliding/full layers, biased MoE.

transformers 5.25's GptOssConfig and modeling_gpt_oss.py: every layer is a mixture of
``num_local_experts`` gated experts of width ``intermediate_size`` with biases on both projections
and a biased router; attention has q/k/v/o biases (``attention_bias``, default true) and one sink
logit per query head; ``layer_types`` (default: sliding on even layers) picks each layer's mask.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import Arch, Dims, _attention, _moe_specs, _Reader, norm_layer, register_arch
from registry.core.validation import Code, _show

SLIDING, FULL = "sliding_attention", "full_attention"


def layer_kinds(r: _Reader, layers: int, default: list[str], allowed: tuple[str, ...]) -> list[str]:
    """Each layer's ``layer_types`` entry, or ``default`` when the key is absent or null.

    transformers requires one entry per layer; a kind the model has no mask for is refused by name.
    """
    given = r.value("layer_types")
    if given is None:
        return default
    if not isinstance(given, list) or len(given) != layers:
        r.error("layer_types", Code.INVALID_VALUE, f"expected a list of {layers} layer types, got {_show(given)}")
        return default
    for i, kind in enumerate(given):
        if kind not in allowed:
            wanted = " or ".join(repr(a) for a in allowed)
            r.error(f"layer_types[{i}]", Code.UNSUPPORTED_KEY, f"expected {wanted}, got {_show(kind)}")
    return [kind if kind in allowed else default[i] for i, kind in enumerate(given)]


def refuse_null(r: _Reader, keys: tuple[str, ...]) -> None:
    """Keys the configuration class types as integers: transformers 5.25 refuses null for them."""
    for key in keys:
        given, value = r.raw(key)
        if given and value is None:
            r.error(
                key,
                Code.INVALID_VALUE,
                f"expected an integer: transformers' {r.model_type} configuration refuses null (omit the key for "
                "its default)",
            )


def _windows(r: _Reader, layers: int) -> list[int | None]:
    """The sliding window of each layer (None: full attention)."""
    kinds = layer_kinds(r, layers, [SLIDING if (i + 1) % 2 else FULL for i in range(layers)], (SLIDING, FULL))
    if SLIDING not in kinds:
        return [None] * layers  # no sliding layer reads the window
    window = r.integer("sliding_window")
    if window is None:
        r.error(
            "sliding_window",
            Code.CONTRADICTION,
            "expected a window: layer_types has sliding_attention layers, which transformers cannot build without one",
        )
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


def _notes(r: _Reader) -> list[str]:
    return [
        "Each attention layer's learned sinks (one logit per query head) are parameters and cache nothing; "
        "the experts and the router carry biases (counted)."
    ]


register_arch(
    "gpt_oss",
    Arch(
        keys={"num_experts": "num_local_experts"},
        aliases={"num_local_experts": ("num_experts",)},
        # num_key_value_heads defaults to the 120b's 8 (null: num_attention_heads): required.
        kv_heads_required=True,
        head_dim_default=64,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "attention_bias": True,
            "sliding_window": 128,
        },
        qkv_bias=lambda c: c["attention_bias"],
        output_bias=lambda c: c["attention_bias"],
        moe="mixtral",  # experts are intermediate_size wide, in every layer
        layers=_layers,
        notes=_notes,
    ),
    classes=("GptOssForCausalLM",),
)
