"""StepFun Step-3.7 (step3p7) and its text model (step3p5, Step-3.5-Flash's decoder).

transformers 5.25's modeling_step3p7.py: GQA with per-head Q/K norms and a sigmoid gate on each head's
output (``g_proj``: one value per head, or per channel when ``gating`` is neither true nor "per-head");
``sliding_attention`` layers take ``num_sliding_attention_heads`` query heads (legacy:
``attention_other_setting``); ``mlp_layer_types`` (legacy: ``moe_layers_enum``; default: MoE from layer 3)
picks a dense MLP or an MoE of ``n_routed_experts`` experts of width ``moe_intermediate_size`` plus one
shared expert (``share_expert_dim``); the router's ``e_score_correction_bias`` is a buffer. Per-layer lists
padded with the ``num_nextn_predict_layers`` MTP layers are trimmed; those layers are not built.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import ROUTER_BIAS_NOTE, Arch, Dims, _head_dim, _Reader, expert_specs, norm_layer, register_arch
from registry.core.hf_families.common import DENSE, SPARSE, feedforward, kinds, notes_and_mtp
from registry.core.hf_families.minimax import attention, kv_heads, refuse_unless
from registry.core.issues import Code
from registry.core.validation import _show

FULL, SLIDING = "full_attention", "sliding_attention"


def _trimmed(r: _Reader, key: str, layers: int, mtp: int) -> Any:
    """A per-layer list as transformers keeps it: the MTP layers' trailing entries dropped."""
    value = r.value(key)
    if mtp and isinstance(value, list) and len(value) == layers + mtp:
        return value[:layers]
    return value


def _listed(r: _Reader, key: str, value: Any, layers: int, default: list[str], allowed: tuple[str, ...]) -> list[str]:
    if value is None:
        return default
    proxy = _Reader({key: value}, r.model_type, r.arch)
    out = kinds(proxy, key, layers, default, allowed)
    r.errors.extend(i for i in proxy.errors if i not in r.errors)
    return out


def _moe_enum(r: _Reader, padded: int, layers: int) -> list[str]:
    """``moe_layers_enum`` (indices, a list or a comma-separated string), else MoE from layer 3 on."""
    given = r.config.get("moe_layers_enum")
    if given is None:
        moe = set(range(3, layers))
    else:
        items = given.split(",") if isinstance(given, str) else given
        try:
            moe = {int(i) for i in items if str(i).strip()}
        except (TypeError, ValueError):
            r.error("moe_layers_enum", Code.INVALID_VALUE, f"expected layer indices, got {_show(given)}")
            moe = set()
    return [SPARSE if i in moe else DENSE for i in range(padded)][:layers]


def _sliding_heads(r: _Reader, heads: int, d: int | None, kv: int | None) -> int | None:
    given = r.value("num_sliding_attention_heads")
    if given is not None:
        return r.integer("num_sliding_attention_heads")
    other = r.config.get("attention_other_setting")
    if not other:
        return heads
    if not isinstance(other, dict):
        r.error("attention_other_setting", Code.INVALID_VALUE, f"expected an object, got {_show(other)}")
        return None
    for key, ours in (("num_attention_groups", kv), ("num_key_value_heads", kv), ("head_dim", d)):
        refuse_unless(
            r,
            "attention_other_setting",
            key not in other or other[key] == ours,
            f"its {key} ({_show(other.get(key))}) differs from the model's ({ours}), which transformers builds in "
            "every layer",
        )
    value = other.get("num_attention_heads", heads)
    if type(value) is not int or value < 1:
        r.error("attention_other_setting", Code.INVALID_VALUE, f"expected num_attention_heads >= 1, got {_show(value)}")
        return None
    return value


def _layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers, heads = dims.hidden_size, dims.num_layers, dims.num_heads
    # Only this key trims the padded lists (num_mtp_layers is set after transformers trims them).
    mtp = r.integer("num_nextn_predict_layers", minimum=0) or 0
    attn_kinds = _listed(
        r, "layer_types", _trimmed(r, "layer_types", layers, mtp), layers, [FULL] * layers, (FULL, SLIDING)
    )
    mlp_value = _trimmed(r, "mlp_layer_types", layers, mtp)
    if mlp_value is None:
        mlp_kinds = _moe_enum(r, layers + mtp, layers)
    else:
        mlp_kinds = _listed(r, "mlp_layer_types", mlp_value, layers, [SPARSE] * layers, (SPARSE, DENSE))
    refuse_unless(r, "use_qk_norm", r.config.get("use_qk_norm") in (None, True), "transformers always builds Q/K norms")
    refuse_unless(
        r,
        "use_head_wise_attn_gate",
        r.config.get("use_head_wise_attn_gate") in (None, True),
        "transformers always builds the attention output gate",
    )
    # g_proj has no bias whatever attention_bias says: the gate's width is not the Q projection's.
    refuse_unless(r, "attention_bias", not r.flag("attention_bias"), "the output gate's projection has no bias")
    mlp_bias = r.flag("mlp_bias")
    refuse_unless(
        r, "mlp_bias", not (mlp_bias and SPARSE in mlp_kinds), "the shared expert's biases are not counted by MoELayer"
    )
    gating = r.config.get("gating", True)
    gate = "headwise" if gating is True or gating == "per-head" else "elementwise"
    d, kv = _head_dim(r, h, heads), kv_heads(r, heads)
    sliding_heads = _sliding_heads(r, heads, d, kv)
    window = r.integer("sliding_window") if SLIDING in attn_kinds else None
    if d is None or kv is None or sliding_heads is None:
        return None
    if sliding_heads % kv:
        r.error(
            "num_sliding_attention_heads",
            Code.CONTRADICTION,
            f"expected a multiple of num_key_value_heads ({kv}), got {sliding_heads}",
        )
        return None
    full = [i for i, k in enumerate(attn_kinds) if k == FULL]
    sliding = [i for i, k in enumerate(attn_kinds) if k == SLIDING]
    mixed = bool(full and sliding)
    extras: dict[str, Any] = {"qk_norm": "per_head", "output_gate": gate}
    out = attention("attention_full" if mixed else "attention", full, h, heads, kv, d, **extras)
    window_spec = {"sliding_window": window} if window is not None else {}
    out += attention(
        "attention_sliding" if mixed else "attention", sliding, h, sliding_heads, kv, d, **window_spec, **extras
    )

    def moe() -> dict[str, Any]:
        shared = r.dimension("share_expert_dim", minimum=0)
        return {**expert_specs(r, h, "moe_intermediate_size"), "shared_expert_intermediate_size": shared}

    out += feedforward(r, h, mlp_kinds, "intermediate_size", moe)
    if mlp_bias and out and out[-1]["class"] == "GatedMLPLayer":
        out[-1]["specs"]["mlp_bias"] = True
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


_TEXT = Arch(
    keys={"num_experts": "n_routed_experts"},
    aliases={
        # num_local_experts is also a field of its own there: it does not reach n_routed_experts.
        "n_routed_experts": ("moe_num_experts",),
        "num_experts_per_tok": ("moe_top_k",),
        "num_key_value_heads": ("num_attention_groups",),
        "share_expert_dim": ("share_expert_dims",),
    },
    kv_heads_required=True,
    head_dim_default=128,
    defaults={
        "max_position_embeddings": 128000,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
        "num_nextn_predict_layers": 0,
    },
    layers=_layers,
    notes=notes_and_mtp(
        "Each head's output gate (g_proj) is counted.",
        ROUTER_BIAS_NOTE,
        keys=("num_nextn_predict_layers", "num_mtp_layers"),
    ),
)
register_arch("step3p5", _TEXT, classes=("Step3p5ForCausalLM",))
register_arch("step3p7", Arch(text_model="step3p5"), classes=("Step3p7ForConditionalGeneration",))
