"""gpt-oss and Llama-4 imported from their real config.json files: exact counts, cache rules and refusals.

The counts are transformers 5.25's (tests/test_hf_oracle.py builds each file on the meta device).
"""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.planning import Deployment, plan_config
from tests.conftest import converted, hub_config, hub_counts, layer_named, refusals
from tests.hf_sweeps.gpt_oss import SMALL as GPT_OSS
from tests.hf_sweeps.llama4 import SMALL as LLAMA4

# Hub id: (total, active), as transformers builds the text model.
COUNTS = {
    "openai/gpt-oss-120b": (116_829_156_672, 5_711_982_912),
    "openai/gpt-oss-20b": (20_914_757_184, 4_187_440_704),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": (107_769_861_120, 17_172_894_720),
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (400_711_848_960, 17_184_691_200),
}


@pytest.mark.parametrize("hf_id", sorted(COUNTS))
def test_real_config_counts_exactly_what_transformers_builds(hf_id: str) -> None:
    assert hub_counts(hf_id) == COUNTS[hf_id]


def test_gpt_oss_120b_is_the_published_count() -> None:
    """OpenAI's model card: 116,829,156,672 parameters, 5,711,982,912 active per token."""
    assert COUNTS["openai/gpt-oss-120b"] == (116_829_156_672, 5_711_982_912)


def test_gpt_oss_20b_is_the_published_count() -> None:
    """Published: 20.9B total, 3.6B active, the active count without the input embedding."""
    total, active = COUNTS["openai/gpt-oss-20b"]
    assert round(total / 1e9, 1) == 20.9
    assert round((active - 201088 * 2880) / 1e9, 1) == 3.6


def test_llama4_counts_are_the_published_figures() -> None:
    """Published: Scout 109B total, Maverick 400B, 17B active each. The totals are the whole model's: the
    vision tower and projector, not counted here, hold 871,932,416 parameters in transformers' build of each."""
    scout, scout_active = COUNTS["meta-llama/Llama-4-Scout-17B-16E-Instruct"]
    maverick, maverick_active = COUNTS["meta-llama/Llama-4-Maverick-17B-128E-Instruct"]
    assert round((scout + 871_932_416) / 1e9) == 109
    assert maverick // 10**9 == 400  # 400.7B in the text model alone
    assert round(scout_active / 1e9) == round(maverick_active / 1e9) == 17


def test_gpt_oss_layers_have_sinks_biases_and_alternate_sliding_and_full() -> None:
    document = converted(hub_config("openai/gpt-oss-120b"))
    sliding, full = layer_named(document, "attention_sliding"), layer_named(document, "attention_full")
    assert (sliding["count"], full["count"]) == (18, 18)
    assert sliding["specs"]["sliding_window"] == 128 and "sliding_window" not in full["specs"]
    for layer in (sliding, full):
        assert layer["specs"]["attention_sinks"] and layer["specs"]["qkv_bias"] and layer["specs"]["output_bias"]
    moe = layer_named(document, "feedforward")["specs"]
    assert moe["router_bias"] and moe["expert_bias"] and moe["moe_intermediate_size"] == 2880
    assert "quantization_config (mxfp4)" in document["validation_notes"]


def test_gpt_oss_cache_is_full_layers_per_token_and_sliding_layers_one_window() -> None:
    """bf16: 18 full layers × 2 × 8 KV heads × 64 × 2 bytes = 36,864 bytes per token, plus 18 sliding layers
    holding at most 128 tokens each."""
    document = converted(hub_config("openai/gpt-oss-120b"))
    plan = plan_config(document, Deployment(context=1000)).as_dict()
    rules = {lt["name"]: lt["cache_rule"] for lt in plan["layer_types"]}
    assert rules["attention_sliding"] == "window 128" and rules["attention_full"] == "per_token"
    assert plan["kv_cache"]["bytes_per_token_beyond_windows"] == 36_864
    assert plan["device"]["kv_cache_bytes"] == 36_864 * 1000 + 18 * 128 * 2 * 8 * 64 * 2


def test_llama4_layers_are_chunked_rope_and_full_nope_with_interleaved_moe() -> None:
    document = converted(hub_config("meta-llama/Llama-4-Maverick-17B-128E-Instruct"))
    chunked, nope = layer_named(document, "attention_chunked"), layer_named(document, "attention_full_nope")
    assert (chunked["count"], nope["count"]) == (36, 12)
    assert chunked["specs"]["attention_chunk_size"] == 8192 and "no_rope" not in chunked["specs"]
    assert nope["specs"]["no_rope"] and "attention_chunk_size" not in nope["specs"]
    moe, dense = layer_named(document, "feedforward_moe"), layer_named(document, "feedforward_dense")
    assert (moe["count"], moe["specs"]["layer_idx"], dense["count"], dense["specs"]["layer_idx"]) == (24, 1, 24, 0)
    assert moe["specs"]["shared_expert_intermediate_size"] == moe["specs"]["moe_intermediate_size"] == 8192
    assert dense["specs"]["intermediate_size"] == 16384
    assert "vision" in document["validation_notes"]


def test_llama4_cache_holds_one_chunk_on_chunked_layers() -> None:
    """bf16 at 20,000 tokens: 36 chunked layers hold 8,192 tokens, 12 NoPE layers all of them; 2 × 8 × 128 × 2
    bytes per token per layer."""
    document = converted(hub_config("meta-llama/Llama-4-Scout-17B-16E-Instruct"))
    plan = plan_config(document, Deployment(context=20_000)).as_dict()
    rules = {lt["name"]: lt["cache_rule"] for lt in plan["layer_types"]}
    assert rules == {
        "attention_chunked": "chunk 8192",
        "attention_full_nope": "per_token",
        "feedforward": "none",
        "norm": "none",
        "embedding": "none",
        "lm_head": "none",
    }
    per_layer_token = 2 * 8 * 128 * 2
    assert plan["device"]["kv_cache_bytes"] == 36 * 8192 * per_layer_token + 12 * 20_000 * per_layer_token


def test_catalogue_cache_rules_follow_the_emitted_specs() -> None:
    gqa = catalogue.get("GroupedQueryAttentionLayer")
    assert gqa is not None
    base = {"hidden_size": 64, "num_heads": 4, "num_kv_heads": 2, "head_dim": 16}
    assert gqa.cache_rule({**base, "sliding_window": 128, "attention_sinks": True}) == "window 128"
    assert gqa.cache_rule({**base, "attention_chunk_size": 8192}) == "chunk 8192"
    assert gqa.cache_rule({**base, "no_rope": True}) == "per_token"


# ---- small configs (GPT_OSS and LLAMA4: the sweeps' fixed ones): defaults, switches and refusals -------


def test_gpt_oss_defaults_are_the_configuration_class_ones() -> None:
    """Absent: head_dim 64, attention_bias true, window 128 on even layers, the architectures class maps."""
    document = converted({**GPT_OSS, "model_type": "gpt_oss_custom", "architectures": ["GptOssForCausalLM"]})
    sliding = layer_named(document, "attention_sliding")
    assert (sliding["count"], sliding["specs"]["layer_idx"], sliding["specs"]["sliding_window"]) == (2, 0, 128)
    assert sliding["specs"]["head_dim"] == 64 and sliding["specs"]["qkv_bias"]
    assert "imported as gpt_oss" in document["validation_notes"]


def test_gpt_oss_without_sliding_layers_does_not_read_the_window() -> None:
    document = converted({**GPT_OSS, "layer_types": ["full_attention"] * 4, "sliding_window": None})
    assert document["layer_types"][0]["name"] == "attention"
    assert "sliding_window" not in document["layer_types"][0]["specs"]


def test_gpt_oss_sliding_layers_need_a_window() -> None:
    assert refusals({**GPT_OSS, "sliding_window": None}) == [("config.sliding_window", "contradictory_values")]


def test_gpt_oss_layer_types_must_name_each_layer_a_mask_it_has() -> None:
    assert refusals({**GPT_OSS, "layer_types": ["full_attention"] * 3}) == [("config.layer_types", "invalid_value")]
    kinds = ["full_attention", "chunked_attention", "full_attention", "sliding_attention"]
    assert refusals({**GPT_OSS, "layer_types": kinds}) == [("config.layer_types[1]", "unsupported_architecture_key")]


@pytest.mark.parametrize("base", [GPT_OSS, LLAMA4], ids=["gpt_oss", "llama4_text"])
@pytest.mark.parametrize("key", ["head_dim", "num_key_value_heads"])
def test_null_where_transformers_requires_an_integer_is_refused(base: dict[str, Any], key: str) -> None:
    assert refusals({**base, key: None}) == [(f"config.{key}", "invalid_value")]


@pytest.mark.parametrize("base", [GPT_OSS, LLAMA4], ids=["gpt_oss", "llama4_text"])
def test_key_value_heads_are_a_dimension(base: dict[str, Any]) -> None:
    """The configuration class's default is its flagship's 8: an absent value is not guessed."""
    config = {k: v for k, v in base.items() if k != "num_key_value_heads"}
    assert refusals(config) == [("config.num_key_value_heads", "missing_dimension")]


def test_llama4_defaults_chunk_rope_layers_and_put_nope_every_fourth_layer() -> None:
    document = converted(LLAMA4)
    chunked, nope = layer_named(document, "attention_chunked"), layer_named(document, "attention_full_nope")
    assert (chunked["count"], chunked["specs"]["attention_chunk_size"], chunked["specs"]["head_dim"]) == (3, 8192, 128)
    assert (nope["count"], nope["specs"]["layer_idx"]) == (1, 3)
    assert layer_named(document, "feedforward")["count"] == 4


def test_llama4_null_chunk_size_makes_every_layer_full() -> None:
    document = converted({**LLAMA4, "attention_chunk_size": None})
    assert {lt["name"] for lt in document["layer_types"] if lt["class"] == "GroupedQueryAttentionLayer"} == {
        "attention_full",
        "attention_full_nope",
    }
    kinds = ["chunked_attention", "full_attention", "full_attention", "full_attention"]
    assert refusals({**LLAMA4, "attention_chunk_size": None, "layer_types": kinds}) == [
        ("config.attention_chunk_size", "contradictory_values")
    ]


def test_llama4_dense_width_is_read_only_where_a_layer_is_dense() -> None:
    all_moe = {k: v for k, v in LLAMA4.items() if k != "intermediate_size_mlp"}
    assert converted(all_moe)["layer_types"][2]["class"] == "MoELayer"
    assert refusals({**all_moe, "interleave_moe_layer_step": 2}) == [
        ("config.intermediate_size_mlp", "missing_dimension")
    ]
    document = converted({**LLAMA4, "moe_layers": [2, 9]})  # an index past the last layer is not read
    assert (layer_named(document, "feedforward_moe")["count"], layer_named(document, "feedforward_dense")["count"]) == (
        1,
        3,
    )


def test_llama4_no_rope_layers_need_one_entry_per_layer() -> None:
    assert refusals({**LLAMA4, "no_rope_layers": [1, 0, 1]}) == [("config.no_rope_layers", "invalid_value")]
    assert refusals({**LLAMA4, "no_rope_layers": [1, 0, 1, 1, 0]}) == [("config.no_rope_layers", "invalid_value")]
    document = converted({**LLAMA4, "no_rope_layers": []})  # empty: the interval's pattern, as transformers
    assert layer_named(document, "attention_full_nope")["count"] == 1


def test_llama4_wrapper_tie_does_not_reach_the_text_model() -> None:
    """Llama4ForCausalLM ties by its text_config alone: the wrapper's tie_word_embeddings is not inherited."""
    wrapper = {"model_type": "llama4", "tie_word_embeddings": True, "text_config": LLAMA4}
    assert layer_named(converted(wrapper), "lm_head")["specs"]["tie_word_embeddings"] is False
    tied = {**wrapper, "text_config": {**LLAMA4, "tie_word_embeddings": True}}
    assert layer_named(converted(tied), "lm_head")["specs"]["tie_word_embeddings"] is True
