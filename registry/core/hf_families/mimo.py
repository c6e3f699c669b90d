"""Xiaomi MiMo-V2-Flash (mimo_v2_flash).

transformers 5.25's modeling_mimo_v2_flash.py: attention with Q/K heads of ``head_dim`` and value heads of
``v_head_dim`` (the output projection has no bias); ``sliding_attention`` layers have twice the KV heads and a
learned sink per query head; ``layer_types`` defaults to full attention on layer 0 and every 6th layer,
``mlp_layer_types`` to a dense first layer (``intermediate_size``) then MoE layers of ``n_routed_experts``
experts of width ``moe_intermediate_size`` with no shared expert; the router's ``e_score_correction_bias``
is a buffer. The checkpoint's legacy keys (``hybrid_layer_pattern``, ``moe_layer_freq``, ``swa_*``) are not
read by transformers: one that describes another model than the one transformers builds is refused.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import ROUTER_BIAS_NOTE, Arch, Dims, _head_dim, _Reader, expert_specs, norm_layer, register_arch
from registry.core.hf_families.common import DENSE, SPARSE, feedforward, kinds, notes_and_mtp
from registry.core.hf_families.minimax import flags, kv_heads, refuse_unless
from registry.core.issues import Code

FULL, SLIDING = "full_attention", "sliding_attention"


def _split(name: str, indices: list[int], specs: dict[str, Any]) -> list[dict[str, Any]]:
    if not indices:
        return []
    return [
        {
            "name": name,
            "class": "SplitHeadAttentionLayer",
            "count": len(indices),
            "specs": {"layer_idx": indices[0], **specs},
        }
    ]


def _legacy(r: _Reader, heads: int, kv: int, d: int, vd: int) -> None:
    """Refuse the checkpoint's own keys where they describe another attention than transformers builds."""
    for key, built in (
        ("swa_num_attention_heads", heads),
        ("swa_num_key_value_heads", 2 * kv),
        ("swa_head_dim", d),
        ("swa_v_head_dim", vd),
    ):
        given = r.config.get(key)
        refuse_unless(r, key, given is None or given == built, f"transformers builds sliding layers with {built}")
    refuse_unless(
        r,
        "add_full_attention_sink_bias",
        not r.config.get("add_full_attention_sink_bias"),
        "transformers builds sinks in sliding layers only",
    )
    refuse_unless(
        r,
        "add_swa_attention_sink_bias",
        r.config.get("add_swa_attention_sink_bias") in (None, True),
        "transformers builds sinks in every sliding layer",
    )
    refuse_unless(r, "n_shared_experts", not r.config.get("n_shared_experts"), "transformers builds no shared expert")


def _layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers, heads = dims.hidden_size, dims.num_layers, dims.num_heads
    default = [FULL if i == 0 or not (i + 1) % 6 else SLIDING for i in range(layers)]
    attn_kinds = kinds(r, "layer_types", layers, default, (FULL, SLIDING))
    pattern = flags(r, "hybrid_layer_pattern", layers)
    refuse_unless(
        r,
        "hybrid_layer_pattern",
        pattern is None or pattern == [k == SLIDING for k in attn_kinds],
        "transformers reads layer_types (default: full attention on layer 0 and every 6th), not this pattern",
    )
    mlp_kinds = kinds(r, "mlp_layer_types", layers, [DENSE] + [SPARSE] * (layers - 1), (SPARSE, DENSE))
    freq = flags(r, "moe_layer_freq", layers)
    refuse_unless(
        r,
        "moe_layer_freq",
        freq is None or freq == [k == SPARSE for k in mlp_kinds],
        "transformers reads mlp_layer_types (default: a dense first layer), not this list",
    )
    d, kv, vd = _head_dim(r, h, heads), kv_heads(r, heads), r.integer("v_head_dim")
    if d is None or kv is None or vd is None:
        return None
    _legacy(r, heads, kv, d, vd)
    if SLIDING in attn_kinds and heads % (2 * kv):
        r.error(
            "num_key_value_heads",
            Code.CONTRADICTION,
            f"expected sliding layers' 2 · num_key_value_heads ({2 * kv}) to divide num_attention_heads ({heads})",
        )
        return None
    # SGLang's sliding_window_size counts the previous tokens; transformers' window adds the query.
    size = r.integer("sliding_window_size", minimum=0)
    window = size + 1 if size is not None else r.integer("sliding_window")
    full = [i for i, k in enumerate(attn_kinds) if k == FULL]
    sliding = [i for i, k in enumerate(attn_kinds) if k == SLIDING]
    mixed = bool(full and sliding)
    specs: dict[str, Any] = {"hidden_size": h, "num_heads": heads, "num_kv_heads": kv, "head_dim": d, "v_head_dim": vd}
    bias = {"qkv_bias": True} if r.flag("attention_bias") else {}
    out = _split("attention_full" if mixed else "attention", full, {**specs, **bias})
    sliding_specs = {**specs, "num_kv_heads": 2 * kv}
    if window is not None:
        sliding_specs["sliding_window"] = window
    out += _split(
        "attention_sliding" if mixed else "attention", sliding, {**sliding_specs, **bias, "attention_sinks": True}
    )
    out += feedforward(r, h, mlp_kinds, "intermediate_size", lambda: expert_specs(r, h, "moe_intermediate_size"))
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


register_arch(
    "mimo_v2_flash",
    Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts",)},
        kv_heads_required=True,
        head_dim_default=192,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "v_head_dim": 128,
            "sliding_window": 129,
        },
        layers=_layers,
        notes=notes_and_mtp(
            "Sliding layers' learned sinks (one per query head) are counted and cache nothing.",
            ROUTER_BIAS_NOTE,
            "The checkpoint's multi-token-prediction layers (model.mtp) are not counted: transformers does not "
            "build them.",
            keys=("num_nextn_predict_layers",),
        ),
    ),
    classes=("MiMoV2FlashForCausalLM",),
)
