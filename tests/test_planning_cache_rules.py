"""Planning's cache rules for the 2026 architectures: windows, chunks, shared KV, per-sequence states.

Every byte count here is computed by hand from the definitions (elements × dtype bytes × layers × tokens).
"""

from __future__ import annotations

from typing import Any

from registry.core import validate_config
from registry.core.hf import convert
from registry.core.planning import Deployment, plan_config
from tests.conftest import hub_config

BF16 = 2  # bytes


def imported(hf_id: str) -> dict[str, Any]:
    """The registry document importhf makes of a config.json under tests/data/hf."""
    conversion = convert(hub_config(hf_id), hf_id)
    assert not conversion.errors, conversion.errors
    assert validate_config(conversion.document).ok
    return conversion.document


def planned(document: dict[str, Any], **deployment: Any) -> dict[str, Any]:
    result = plan_config(document, Deployment(**deployment))
    assert result.ok, result.errors
    return result.as_dict()


def rules(plan: dict[str, Any]) -> dict[str, str]:
    return {row["name"]: row["cache_rule"] for row in plan["layer_types"]}


# ---- gpt-oss-120b: 18 full layers, 18 sliding layers of 128 tokens ---------------------------------------------

FULL_PER_TOKEN = 18 * 2 * 8 * 64 * BF16  # 18 layers × K and V × 8 KV heads × head_dim 64 × 2 bytes


def test_gpt_oss_full_layers_grow_and_sliding_layers_hold_128_tokens():
    """The issue's figure: 36,864 bytes per token for the full layers, plus 18 sliding layers of at most 128."""
    assert FULL_PER_TOKEN == 36_864
    document = imported("openai/gpt-oss-120b")
    for context in (1, 100, 128, 129, 4096, 131_072):
        plan = planned(document, context=context)
        expected = FULL_PER_TOKEN * context + FULL_PER_TOKEN * min(context, 128)
        assert plan["device"]["kv_cache_bytes"] == expected
    kv = plan["kv_cache"]
    assert kv["bytes_per_token"] == 2 * FULL_PER_TOKEN
    assert kv["bytes_per_token_beyond_windows"] == FULL_PER_TOKEN
    assert kv["state_bytes_per_sequence"] == 0
    assert rules(plan) == {
        "attention_sliding": "window 128",
        "attention_full": "per_token",
        "feedforward": "none",
        "norm": "none",
        "embedding": "none",
        "lm_head": "none",
    }


def test_gpt_oss_max_context_is_set_by_the_full_layers():
    """On a device that holds the weights, max_context is what the full layers' 36,864 bytes a token allow,
    after the sliding layers' fixed 128 tokens."""
    document = imported("openai/gpt-oss-120b")
    plan = planned(document, context=1, device_memory=300 * 10**9, utilization=1.0)
    weights = plan["device"]["weight_bytes"]
    sliding = FULL_PER_TOKEN * 128
    expected = (300 * 10**9 - weights - sliding) // FULL_PER_TOKEN
    assert plan["fit"]["max_context"] == expected


def test_gpt_oss_tp_splits_kv_heads():
    """tp=8 leaves one KV head per rank: an eighth of the cache on each device."""
    document = imported("openai/gpt-oss-120b")
    plan = planned(document, context=4096, tp=8)
    assert plan["device"]["kv_cache_bytes"] == (FULL_PER_TOKEN * 4096 + FULL_PER_TOKEN * 128) // 8


# ---- a Gated DeltaNet hybrid: three linear-attention layers to one full-attention layer -------------------------

GDN = {
    "hidden_size": 2048,
    "linear_num_key_heads": 16,
    "linear_num_value_heads": 32,
    "linear_key_head_dim": 128,
    "linear_value_head_dim": 128,
    "linear_conv_kernel_dim": 4,
    "state_dtype": "float32",
}
HYBRID = {
    "model_id": "test_hybrid",
    "hf_model_id": "test/hybrid",
    "name": "hybrid",
    "hidden_size": 2048,
    "num_layers": 4,
    "vocab_size": 1000,
    "layer_types": [
        {"name": "linear_attention", "class": "GatedDeltaNetLayer", "count": 3, "specs": GDN},
        {
            "name": "attention_full",
            "class": "GroupedQueryAttentionLayer",
            "count": 1,
            "specs": {"hidden_size": 2048, "num_heads": 16, "num_kv_heads": 2, "head_dim": 256},
        },
        {
            "name": "mlp",
            "class": "GatedMLPLayer",
            "count": 4,
            "specs": {"hidden_size": 2048, "intermediate_size": 6144},
        },
        {"name": "norm", "class": "NormLayer", "count": 9, "specs": {"hidden_size": 2048, "has_bias": False}},
        {
            "name": "embedding",
            "class": "EmbeddingLayer",
            "count": 1,
            "specs": {"vocab_size": 1000, "hidden_size": 2048},
        },
        {"name": "lm_head", "class": "OutputHeadLayer", "count": 1, "specs": {"vocab_size": 1000, "hidden_size": 2048}},
    ],
}
# One GDN layer, one sequence: the convolution window (kernel − 1 steps of Q, K and V channels) in bf16, and the
# recurrent state (value heads × key dim × value dim) in float32.
CONV_BYTES = (4 - 1) * (2 * 16 * 128 + 32 * 128) * BF16
STATE_BYTES = 32 * 128 * 128 * 4
PER_SEQUENCE = 3 * (CONV_BYTES + STATE_BYTES)
FULL_TOKEN = 2 * 2 * 256 * BF16  # the one full layer: K and V of 2 KV heads of 256


def test_hybrid_state_per_sequence_does_not_grow_with_the_context():
    """The linear layers' states count once per sequence, in their own dtype; only the full layer grows."""
    assert (CONV_BYTES, STATE_BYTES, PER_SEQUENCE, FULL_TOKEN) == (49_152, 2_097_152, 6_438_912, 2_048)
    for context, batch in ((1, 1), (4096, 1), (262_144, 1), (4096, 8)):
        plan = planned(HYBRID, context=context, batch=batch)
        assert plan["device"]["kv_cache_bytes"] == batch * (FULL_TOKEN * context + PER_SEQUENCE)
    assert plan["kv_cache"]["state_bytes_per_sequence"] == PER_SEQUENCE
    assert plan["kv_cache"]["bytes_per_token"] == plan["kv_cache"]["bytes_per_token_beyond_windows"] == FULL_TOKEN
    assert rules(plan)["linear_attention"] == "state per sequence"
    assert rules(plan)["attention_full"] == "per_token"
    linear = next(row for row in plan["layer_types"] if row["name"] == "linear_attention")
    assert (linear["kv_cache_bytes_per_token"], linear["state_bytes_per_sequence"]) == (0, PER_SEQUENCE)


def test_hybrid_max_context_is_limited_only_by_its_full_attention_layer():
    """max_context: what is left after the weights and the states, over the full layer's bytes per token."""
    plan = planned(HYBRID, context=1, batch=2, device_memory=10**9, utilization=1.0)
    weights = plan["device"]["weight_bytes"]
    expected = (10**9 - weights - 2 * PER_SEQUENCE) // (2 * FULL_TOKEN)
    assert plan["fit"]["max_context"] == expected


def test_hybrid_without_full_attention_sets_no_context_limit():
    """Linear attention alone: the cache never grows, max_context is null and a note says why."""
    document = {**HYBRID, "layer_types": [lt for lt in HYBRID["layer_types"] if lt["name"] != "attention_full"]}
    plan = planned(document, context=1, device_memory=10**9)
    assert plan["fit"]["max_context"] is None
    assert any("every layer's cache is bounded" in note for note in plan["notes"])


def test_tp_splits_linear_attention_heads_and_refuses_one_that_does_not_divide_them():
    """tp=4 holds a quarter of each state; tp=3 divides neither head count, and the error names the spec."""
    plan = planned(HYBRID, context=1024, tp=2)
    full = 2 * 1 * 256 * BF16 * 1024  # K and V of one KV head of the two per rank
    assert plan["device"]["kv_cache_bytes"] == full + PER_SEQUENCE // 2
    result = plan_config(HYBRID, Deployment(tp=3))
    messages = [issue.msg for issue in result.errors]
    assert any("linear_num_key_heads (16)" in m and "linear_attention" in m for m in messages), messages
    assert any("linear_num_value_heads (32)" in m for m in messages), messages


def test_state_dtype_auto_follows_the_cache_dtype():
    """Without state_dtype the recurrent state takes kv_dtype: fp8 halves it against bf16."""
    specs = {k: v for k, v in GDN.items() if k != "state_dtype"}
    document = {**HYBRID, "layer_types": [{**HYBRID["layer_types"][0], "specs": specs}, *HYBRID["layer_types"][1:]]}
    bf16 = planned(document, context=1)["kv_cache"]["state_bytes_per_sequence"]
    fp8 = planned(document, context=1, kv_dtype="fp8")["kv_cache"]["state_bytes_per_sequence"]
    assert bf16 == 3 * (CONV_BYTES + 32 * 128 * 128 * BF16) == 2 * fp8


def test_deepseek_v32_caches_the_mla_latent_and_the_indexer_key_per_token():
    """61 layers × (latent 512 + rope 64) and 61 indexer keys of 128, in bf16, on every tensor-parallel rank."""
    document = imported("deepseek-ai/DeepSeek-V3.2-Exp")
    per_token = 61 * (512 + 64) * BF16 + 61 * 128 * BF16
    assert per_token == 85_888
    for tp in (1, 8):
        plan = planned(document, context=1000, tp=tp)
        kv = plan["kv_cache"]
        assert kv["bytes_per_token"] == kv["bytes_per_token_per_device"] == per_token
        assert plan["device"]["kv_cache_bytes"] == 1000 * per_token
    assert rules(plan)["indexer"] == rules(plan)["attention"] == "per_token"


def test_a_class_declares_which_spec_divides_which():
    """Cross-spec rules live with the class: a Gated DeltaNet layer's key heads divide its value heads, a Mamba-2
    layer's groups its heads; validation names the spec that does not."""
    from registry.core import validate_config as validate

    bad = {**HYBRID, "layer_types": [{**HYBRID["layer_types"][0], "specs": {**GDN, "linear_num_key_heads": 12}}]}
    bad["layer_types"] += HYBRID["layer_types"][1:]
    errors = [(i.loc, i.code) for i in validate(bad).errors]
    assert errors == [("layer_types[0].specs.linear_num_key_heads", "heads_not_divisible")]
    mamba2 = {
        "hidden_size": 2048,
        "mamba_num_heads": 32,
        "mamba_head_dim": 64,
        "ssm_state_size": 128,
        "n_groups": 3,
        "conv_kernel": 4,
    }
    document = {**HYBRID, "layer_types": [{"name": "mamba", "class": "Mamba2Layer", "count": 3, "specs": mamba2}]}
    document["layer_types"] += HYBRID["layer_types"][1:]
    assert [(i.loc, i.code) for i in validate(document).errors] == [
        ("layer_types[0].specs.n_groups", "heads_not_divisible")
    ]
    assert validate(
        {
            **document,
            "layer_types": [
                {**document["layer_types"][0], "specs": {**mamba2, "n_groups": 8}},
                *document["layer_types"][1:],
            ],
        }
    ).ok
