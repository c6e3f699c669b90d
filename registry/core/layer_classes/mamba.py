"""State-space and convolution sequence mixers: Mamba (v1), Mamba-2 and LFM2's short convolution.

Each takes attention's place in a decoder layer (kind attention) and caches a per-sequence state that does
not grow with the context: the convolution's last conv_kernel − 1 inputs (in the cache's dtype) and, for
Mamba, the recurrent SSM state (in ``state_dtype``). Tensor parallelism splits them as vLLM does.
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
    _flag,
    mixer_class,
    register,
)

SSM_STATE_SIZE = Spec(
    "ssm_state_size",
    SpecKind.POSITIVE_INT,
    "State size N of the selective scan: per inner channel (Mamba) or per head channel (Mamba-2).",
)
CONV_KERNEL = Spec(
    "conv_kernel",
    SpecKind.POSITIVE_INT,
    "Width of the depthwise causal convolution; its cache holds the last conv_kernel − 1 inputs.",
)
USE_CONV_BIAS = Spec("use_conv_bias", SpecKind.BOOL, "A bias on the convolution, one per channel.", default=True)
IN_PROJ_BIAS = Spec("in_proj_bias", SpecKind.BOOL, "A bias on the mixer's input projection.", default=False)
OUT_PROJ_BIAS = Spec("out_proj_bias", SpecKind.BOOL, "A bias on the mixer's output projection.", default=False)
MAMBA_INTERMEDIATE_SIZE = Spec(
    "mamba_intermediate_size", SpecKind.POSITIVE_INT, "Inner width of a Mamba (v1) mixer: expand · hidden_size."
)
TIME_STEP_RANK = Spec(
    "time_step_rank", SpecKind.POSITIVE_INT, "Rank of Mamba's dt projection (ceil(hidden_size / 16) for 'auto')."
)
DT_BC_NORMS = Spec(
    "dt_bc_norms",
    SpecKind.BOOL,
    "RMSNorms on dt, B and C inside the mixer (Jamba): time_step_rank + 2 · ssm_state_size weights.",
    default=False,
)
MAMBA_NUM_HEADS = Spec(
    "mamba_num_heads", SpecKind.POSITIVE_INT, "Heads of a Mamba-2 mixer (tensor parallelism splits them)."
)
MAMBA_HEAD_DIM = Spec(
    "mamba_head_dim",
    SpecKind.POSITIVE_INT,
    "Width of one Mamba-2 head; the mixer's inner width is mamba_num_heads · mamba_head_dim.",
)
N_GROUPS = Spec(
    "n_groups",
    SpecKind.POSITIVE_INT,
    "Groups of Mamba-2's B and C projections (heads share them), also the gated norm's groups.",
)
GATED_NORM = Spec(
    "gated_norm",
    SpecKind.BOOL,
    "Mamba-2's gated RMSNorm over the inner width before out_proj (mamba_num_heads · mamba_head_dim weights); "
    "false without one (Falcon-H1 mamba_rms_norm false).",
    default=True,
)
CONV_BIAS = Spec(
    "conv_bias",
    SpecKind.BOOL,
    "Biases on the short convolution and its input and output projections (LFM2 conv_bias).",
    default=False,
)
# The channels one device holds of a short convolution (tp splits hidden_size's channels, not the model width).
LOCAL_CHANNELS = "local_channels"


def _mamba(s: Mapping[str, Any]) -> Any:
    h, inner, n, rank = s["hidden_size"], s["mamba_intermediate_size"], s["ssm_state_size"], s["time_step_rank"]
    return (
        (h + _flag(s, IN_PROJ_BIAS)) * 2 * inner  # in_proj: x and the gate z
        + inner * (s["conv_kernel"] + _flag(s, USE_CONV_BIAS))  # depthwise conv1d
        + inner * (rank + 2 * n)  # x_proj: dt, B, C
        + (rank + 1) * inner  # dt_proj and its bias
        + inner * n  # A_log
        + inner  # D
        + inner * h  # out_proj
        + _flag(s, OUT_PROJ_BIAS) * h
        + _flag(s, DT_BC_NORMS) * (rank + 2 * n)
    )


register(
    mixer_class(
        name="MambaLayer",
        description=(
            "Mamba (v1) selective state-space mixer (Mamba, Jamba): in_proj, depthwise conv1d, x_proj, dt_proj, "
            "A_log, D and out_proj over an inner width of expand · hidden_size."
        ),
        required=(HIDDEN_SIZE, MAMBA_INTERMEDIATE_SIZE, SSM_STATE_SIZE, CONV_KERNEL, TIME_STEP_RANK),
        optional=(USE_CONV_BIAS, IN_PROJ_BIAS, OUT_PROJ_BIAS, DT_BC_NORMS, STATE_DTYPE),
        # vLLM splits the inner channels; x_proj's dt, B and C outputs stay whole on every rank.
        shards=(Shard("mamba_intermediate_size", "tp"),),
        state_elements=lambda s: _conv_window(s["conv_kernel"], s["mamba_intermediate_size"]),
        recurrent_state_elements=lambda s: s["mamba_intermediate_size"] * s["ssm_state_size"],
        formula=_mamba,
        formula_text=(
            "2 · hidden_size · mamba_intermediate_size (in_proj) + mamba_intermediate_size · conv_kernel (conv1d)"
            " + mamba_intermediate_size · (time_step_rank + 2 · ssm_state_size) (x_proj)"
            " + (time_step_rank + 1) · mamba_intermediate_size (dt_proj and its bias)"
            " + mamba_intermediate_size · (ssm_state_size + 1) (A_log, D)"
            " + mamba_intermediate_size · hidden_size (out_proj)"
            " + with use_conv_bias, mamba_intermediate_size + with in_proj_bias, 2 · mamba_intermediate_size"
            " + with out_proj_bias, hidden_size + with dt_bc_norms, time_step_rank + 2 · ssm_state_size"
        ),
    )
)


def _conv_dim(s: Mapping[str, Any]) -> Any:
    """Channels of Mamba-2's convolution: x (the inner width), B and C (n_groups · state each)."""
    return s["mamba_num_heads"] * s["mamba_head_dim"] + 2 * s["n_groups"] * s["ssm_state_size"]


def _mamba2(s: Mapping[str, Any]) -> Any:
    h, heads = s["hidden_size"], s["mamba_num_heads"]
    inner, conv = heads * s["mamba_head_dim"], _conv_dim(s)
    return (
        (h + _flag(s, IN_PROJ_BIAS)) * (inner + conv + heads)  # in_proj: z, x·B·C, dt
        + conv * (s["conv_kernel"] + _flag(s, USE_CONV_BIAS))
        + 3 * heads  # dt_bias, A_log, D
        + _flag(s, GATED_NORM) * inner
        + inner * h  # out_proj
        + _flag(s, OUT_PROJ_BIAS) * h
    )


register(
    mixer_class(
        name="Mamba2Layer",
        divisors=(("mamba_num_heads", "n_groups"),),
        description=(
            "Mamba-2 state-space mixer (Mamba-2, Nemotron-H, Falcon-H1, Granite-4.0-H): in_proj to z, x, B, C "
            "and dt, a depthwise conv1d over x, B and C, per-head dt_bias, A_log and D, a gated RMSNorm and "
            "out_proj."
        ),
        required=(HIDDEN_SIZE, MAMBA_NUM_HEADS, MAMBA_HEAD_DIM, SSM_STATE_SIZE, N_GROUPS, CONV_KERNEL),
        optional=(USE_CONV_BIAS, IN_PROJ_BIAS, OUT_PROJ_BIAS, GATED_NORM, STATE_DTYPE),
        # vLLM: tp must divide the heads; it splits the groups when it divides them, else each rank keeps
        # the one group its heads read (tp a multiple of n_groups), as for KV heads.
        shards=(Shard("mamba_num_heads", "tp"), Shard("n_groups", "tp", "kv_heads")),
        state_elements=lambda s: _conv_window(s["conv_kernel"], _conv_dim(s)),
        recurrent_state_elements=lambda s: s["mamba_num_heads"] * s["mamba_head_dim"] * s["ssm_state_size"],
        formula=_mamba2,
        formula_text=(
            "with I = mamba_num_heads · mamba_head_dim and C = I + 2 · n_groups · ssm_state_size: "
            "hidden_size · (I + C + mamba_num_heads) (in_proj) + C · conv_kernel (conv1d)"
            " + 3 · mamba_num_heads (dt_bias, A_log, D) + I (gated norm) + I · hidden_size (out_proj)"
            " + with use_conv_bias, C + with in_proj_bias, I + C + mamba_num_heads + with out_proj_bias, "
            "hidden_size; gated_norm false: no I"
        ),
    )
)


def _short_conv(s: Mapping[str, Any]) -> Any:
    h = s["hidden_size"]
    channels = s.get(LOCAL_CHANNELS, h)
    bias = _flag(s, CONV_BIAS)
    return (h + bias) * 3 * channels + channels * (s["conv_kernel"] + bias) + channels * h + bias * h


register(
    mixer_class(
        name="ShortConvLayer",
        description=(
            "LFM2's gated short convolution: in_proj to B, C and x (3 · hidden_size), a depthwise causal conv1d "
            "over B · x, the C gate and out_proj."
        ),
        required=(HIDDEN_SIZE, CONV_KERNEL),
        optional=(CONV_BIAS,),
        shards=(Shard("hidden_size", "tp", into=LOCAL_CHANNELS),),
        state_elements=lambda s: _conv_window(s["conv_kernel"], s.get(LOCAL_CHANNELS, s["hidden_size"])),
        formula=_short_conv,
        formula_text=(
            "3 · hidden_size² (in_proj) + hidden_size · conv_kernel (conv1d) + hidden_size² (out_proj)"
            " + with conv_bias, 5 · hidden_size (the three biases)"
        ),
    )
)
