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
    plan = planned(document, context=1, device_memory=str(300 * 10**9), utilization=1.0)
    weights = plan["device"]["weight_bytes"]
    sliding = FULL_PER_TOKEN * 128
    expected = (300 * 10**9 - weights - sliding) // FULL_PER_TOKEN
    assert plan["fit"]["max_context"] == expected


def test_gpt_oss_tp_splits_kv_heads():
    """tp=8 leaves one KV head per rank: an eighth of the cache on each device."""
    document = imported("openai/gpt-oss-120b")
    plan = planned(document, context=4096, tp=8)
    assert plan["device"]["kv_cache_bytes"] == (FULL_PER_TOKEN * 4096 + FULL_PER_TOKEN * 128) // 8
