"""Linear attention: Gated DeltaNet (Qwen3-Next, Qwen3.5) and Kimi Delta Attention (Kimi-Linear).

Both take attention's place in a decoder layer and cache no keys and values: each sequence holds a short
convolution window (kernel − 1 steps of the convolved channels, in the cache's dtype) and a recurrent state
(one key-dim × value-dim matrix per value head, in ``state_dtype``), whatever the context length.
Tensor parallelism splits the heads as vLLM does: every head count must divide by tp.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.core.catalogue import (
    HIDDEN_SIZE,
    STATE_DTYPE,
    Shard,
    Spec,
    SpecKind,
    _conv_window,
    mixer_class,
    register,
)

LINEAR_NUM_KEY_HEADS = Spec(
    "linear_num_key_heads", SpecKind.POSITIVE_INT, "Key (and query) heads of a Gated DeltaNet layer."
)
LINEAR_NUM_VALUE_HEADS = Spec(
    "linear_num_value_heads",
    SpecKind.POSITIVE_INT,
    "Value heads of a Gated DeltaNet layer (a multiple of its key heads): one recurrent state each.",
)
LINEAR_KEY_HEAD_DIM = Spec("linear_key_head_dim", SpecKind.POSITIVE_INT, "Width of one Gated DeltaNet key head.")
LINEAR_VALUE_HEAD_DIM = Spec("linear_value_head_dim", SpecKind.POSITIVE_INT, "Width of one Gated DeltaNet value head.")
LINEAR_CONV_KERNEL_DIM = Spec(
    "linear_conv_kernel_dim",
    SpecKind.POSITIVE_INT,
    "Kernel size of a linear attention layer's short depthwise convolution over its Q, K and V channels.",
)
LINEAR_NUM_HEADS = Spec(
    "linear_num_heads", SpecKind.POSITIVE_INT, "Heads of a Kimi Delta Attention layer (queries, keys and values)."
)
LINEAR_HEAD_DIM = Spec(
    "linear_head_dim", SpecKind.POSITIVE_INT, "Width of one Kimi Delta Attention head (keys and values)."
)


def _gdn_widths(s: Mapping[str, Any]) -> tuple[Any, Any]:
    """The key width (all key heads) and value width (all value heads)."""
    return (
        s["linear_num_key_heads"] * s["linear_key_head_dim"],
        s["linear_num_value_heads"] * s["linear_value_head_dim"],
    )


def _gated_delta_net(s: Mapping[str, Any]) -> Any:
    h, value_heads = s["hidden_size"], s["linear_num_value_heads"]
    key, value = _gdn_widths(s)
    conv_channels = 2 * key + value
    return (
        h * (2 * key + 2 * value)  # in_proj_qkvz
        + h * 2 * value_heads  # in_proj_ba
        + conv_channels * s["linear_conv_kernel_dim"]  # depthwise conv1d, no bias
        + 2 * value_heads  # dt_bias, A_log
        + s["linear_value_head_dim"]  # gated RMSNorm over one value head
        + value * h  # out_proj
    )


def _gdn_conv_state(s: Mapping[str, Any]) -> Any:
    key, value = _gdn_widths(s)
    return _conv_window(s["linear_conv_kernel_dim"], 2 * key + value)


register(
    mixer_class(
        name="GatedDeltaNetLayer",
        divisors=(("linear_num_value_heads", "linear_num_key_heads"),),
        description=(
            "Gated DeltaNet linear attention (Qwen3-Next, Qwen3.5): Q, K, V, the output gate z, the write "
            "strength b and the decay a projected from the input, a short depthwise convolution over Q, K and V, "
            "a per-head decay (A_log, dt_bias), a gated RMSNorm over each value head, and an output projection. "
            "Caches a convolution window and a recurrent state per sequence, nothing per token."
        ),
        required=(
            HIDDEN_SIZE,
            LINEAR_NUM_KEY_HEADS,
            LINEAR_NUM_VALUE_HEADS,
            LINEAR_KEY_HEAD_DIM,
            LINEAR_VALUE_HEAD_DIM,
            LINEAR_CONV_KERNEL_DIM,
        ),
        optional=(STATE_DTYPE,),
        shards=(Shard("linear_num_key_heads", "tp"), Shard("linear_num_value_heads", "tp")),
        state_elements=_gdn_conv_state,
        recurrent_state_elements=lambda s: (
            s["linear_num_value_heads"] * s["linear_key_head_dim"] * s["linear_value_head_dim"]
        ),
        formula=_gated_delta_net,
        formula_text=(
            "with key = linear_num_key_heads · linear_key_head_dim and value = linear_num_value_heads · "
            "linear_value_head_dim: hidden_size · (2 · key + 2 · value) (Q, K, V and z projections) + "
            "hidden_size · 2 · linear_num_value_heads (b and a projections) + (2 · key + value) · "
            "linear_conv_kernel_dim (depthwise convolution) + 2 · linear_num_value_heads (A_log, dt_bias) + "
            "linear_value_head_dim (gated norm) + value · hidden_size (output projection); per sequence, "
            "(linear_conv_kernel_dim − 1) · (2 · key + value) convolution elements and linear_num_value_heads · "
            "linear_key_head_dim · linear_value_head_dim recurrent-state elements (in state_dtype)"
        ),
    )
)


def _kimi_delta_attention(s: Mapping[str, Any]) -> Any:
    h, heads, d = s["hidden_size"], s["linear_num_heads"], s["linear_head_dim"]
    width = heads * d
    return (
        3 * h * width  # q, k, v projections
        + 3 * width * s["linear_conv_kernel_dim"]  # depthwise convolutions over q, k, v, no bias
        + 2 * (h * d + d * width)  # low-rank forget gate (f_a, f_b) and output gate (g_a, g_b)
        + width  # dt_bias, per channel
        + heads  # A_log, per head
        + h * heads  # b projection
        + d  # gated RMSNorm over one head
        + width * h  # output projection
    )


register(
    mixer_class(
        name="KimiDeltaAttentionLayer",
        description=(
            "Kimi Delta Attention linear attention (Kimi-Linear): Gated DeltaNet with a per-channel decay. Q, K "
            "and V projections, short depthwise convolutions over them, a low-rank forget gate (f_a, f_b, "
            "dt_bias per channel, A_log per head), a write strength b, a low-rank output gate (g_a, g_b) into a "
            "gated RMSNorm over each head, and an output projection. Caches a convolution window and a "
            "recurrent state per sequence, nothing per token."
        ),
        required=(HIDDEN_SIZE, LINEAR_NUM_HEADS, LINEAR_HEAD_DIM, LINEAR_CONV_KERNEL_DIM),
        optional=(STATE_DTYPE,),
        shards=(Shard("linear_num_heads", "tp"),),
        state_elements=lambda s: _conv_window(
            s["linear_conv_kernel_dim"], 3 * s["linear_num_heads"] * s["linear_head_dim"]
        ),
        recurrent_state_elements=lambda s: s["linear_num_heads"] * s["linear_head_dim"] * s["linear_head_dim"],
        formula=_kimi_delta_attention,
        formula_text=(
            "with width = linear_num_heads · linear_head_dim: 4 · hidden_size · width (Q, K, V and output "
            "projections) + 3 · width · linear_conv_kernel_dim (depthwise convolutions) + 2 · (hidden_size · "
            "linear_head_dim + linear_head_dim · width) (low-rank forget and output gates) + width (dt_bias) + "
            "linear_num_heads (A_log) + hidden_size · linear_num_heads (b projection) + linear_head_dim (gated "
            "norm); per sequence, 3 · (linear_conv_kernel_dim − 1) · width convolution elements and "
            "linear_num_heads · linear_head_dim² recurrent-state elements (in state_dtype)"
        ),
    )
)
