"""Gemma-3 and Gemma-4 imported from their real config.json files: exact counts, layer types, cache rules
and refusals.

The counts are transformers 5.25's (tests/test_hf_oracle.py builds each file on the meta device).
"""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.planning import Deployment, plan_config
from tests.conftest import converted, hub_config, hub_counts, layers_by_name, param_counts, refusals
from tests.hf_sweeps import small

# Hub id: (total, active), as transformers builds the text model (active None: no routed experts).
COUNTS = {
    "google/gemma-3-1b-it": (999_885_952, None),
    "google/gemma-3-4b-it": (3_880_263_168, None),
    "google/gemma-3-27b-it": (27_009_346_304, None),
    "google/gemma-4-31B": (30_697_345_280, None),
    "google/gemma-4-26B-A4B": (25_233_141_760, 3_822_530_560),
    "google/gemma-4-E2B-it": (4_628_569_344, None),
}


@pytest.mark.parametrize("hf_id", sorted(COUNTS))
def test_real_config_counts_exactly_what_transformers_builds(hf_id: str) -> None:
    assert hub_counts(hf_id) == COUNTS[hf_id]


def test_counts_are_the_published_figures() -> None:
    """Google's model cards: Gemma-3 1B 999,885,952 (4B and 27B count their vision tower too: 4.3B, 27.4B with
    its 0.4B); Gemma-4 31B 30.7B; 26B A4B 25.2B total, 3.8B active;
    E2B 2.3B effective (without the per-layer embedding table: 262,144 × 35 layers × 256)."""
    assert COUNTS["google/gemma-3-1b-it"][0] == 999_885_952
    assert round(COUNTS["google/gemma-3-4b-it"][0] / 1e9, 1) == 3.9
    assert round(COUNTS["google/gemma-3-27b-it"][0] / 1e9, 1) == 27.0
    assert round(COUNTS["google/gemma-4-31B"][0] / 1e9, 1) == 30.7
    total, active = COUNTS["google/gemma-4-26B-A4B"]
    assert (round(total / 1e9, 1), round(active / 1e9, 1)) == (25.2, 3.8)
    assert round((COUNTS["google/gemma-4-E2B-it"][0] - 262_144 * 35 * 256) / 1e9, 1) == 2.3


def test_gemma3_27b_text_config_leaves_vocab_size_to_the_class() -> None:
    document = converted(hub_config("google/gemma-3-27b-it"))
    assert document["vocab_size"] == 262_208
    assert "omits vocab_size 262208" in document["validation_notes"]
    assert "vision" in document["validation_notes"]
    layers = layers_by_name(document)
    sliding, full = layers["attention_sliding"], layers["attention_full"]
    assert (sliding["count"], full["count"], full["specs"]["layer_idx"]) == (52, 10, 5)
    assert sliding["specs"]["sliding_window"] == 1024 and "sliding_window" not in full["specs"]
    assert sliding["specs"]["qk_norm"] == "per_head" and sliding["specs"]["head_dim"] == 128
    assert layers["norm"]["count"] == 4 * 62 + 1
    assert layers["lm_head"]["specs"]["tie_word_embeddings"]


def test_gemma3_4b_text_config_leaves_the_heads_to_the_class_too() -> None:
    """8 heads of 4 key/value heads, head_dim 256: Gemma3TextConfig's defaults, which Google's file relies on."""
    document = converted(hub_config("google/gemma-3-4b-it"))
    assert "omits vocab_size 262208, num_attention_heads 8, num_key_value_heads 4" in document["validation_notes"]
    specs = layers_by_name(document)["attention_full"]["specs"]
    assert (specs["num_heads"], specs["num_kv_heads"], specs["head_dim"]) == (8, 4, 256)


def test_gemma4_global_layers_have_their_own_geometry_and_share_k_with_v() -> None:
    layers = layers_by_name(converted(hub_config("google/gemma-4-31B")))
    sliding, full = layers["attention_sliding"]["specs"], layers["attention_full"]["specs"]
    assert (sliding["num_kv_heads"], sliding["head_dim"], sliding["sliding_window"]) == (16, 256, 1024)
    assert (full["num_kv_heads"], full["head_dim"], full["k_eq_v"]) == (4, 512, True)
    assert "k_eq_v" not in sliding


def test_gemma4_moe_block_keeps_the_dense_mlp_beside_the_experts() -> None:
    layers = layers_by_name(converted(hub_config("google/gemma-4-26B-A4B")))
    moe = layers["feedforward"]
    assert moe["class"] == "ScaledRouterMoELayer" and moe["count"] == 30
    specs = moe["specs"]
    assert (specs["num_experts"], specs["num_experts_per_tok"], specs["moe_intermediate_size"]) == (128, 8, 704)
    assert specs["shared_expert_intermediate_size"] == 2112
    assert layers["norm"]["count"] == 7 * 30 + 1  # four norms, three more around the experts, the final norm
    # Router: 2816 · 128 weights, a 2816-wide input scale and 128 per-expert scales.
    moe_class = catalogue.get("ScaledRouterMoELayer")
    assert moe_class is not None
    experts = 128 * 3 * 2816 * 704
    assert moe_class.parameter_count(specs) == experts + 2816 * 128 + 2816 + 128 + 3 * 2816 * 2112


def test_gemma4_e2b_shares_kv_doubles_mlps_and_has_per_layer_inputs() -> None:
    layers = layers_by_name(converted(hub_config("google/gemma-4-E2B-it")))
    assert {n: lt["count"] for n, lt in layers.items() if n.startswith("attention")} == {
        "attention_sliding": 12,
        "attention_full": 3,
        "attention_sliding_kv_shared": 16,
        "attention_full_kv_shared": 4,
    }
    shared = layers["attention_full_kv_shared"]
    assert shared["class"] == "SharedKVAttentionLayer" and shared["specs"]["kv_shared"]
    assert shared["specs"]["head_dim"] == 512 and shared["specs"]["layer_idx"] == 19
    # Only Q, the output projection and the query norm: 2 · 1536 · 8 · 512 + 512.
    shared_class = catalogue.get("SharedKVAttentionLayer")
    assert shared_class is not None
    assert shared_class.parameter_count(shared["specs"]) == 2 * 1536 * 8 * 512 + 512
    assert (layers["feedforward"]["count"], layers["feedforward_double_wide"]["count"]) == (15, 20)
    assert layers["feedforward_double_wide"]["specs"]["intermediate_size"] == 2 * 6144
    table, branch = layers["per_layer_embedding"], layers["per_layer_input"]
    assert table["specs"] == {
        "vocab_size_per_layer_input": 262_144,
        "num_hidden_layers": 35,
        "hidden_size_per_layer_input": 256,
    }
    assert branch["count"] == 35


def test_gemma4_cache_rules_per_layer_type() -> None:
    """31B in bf16 at 4,096 tokens: 10 full layers × 2 × 4 KV heads × 512 × 2 bytes = 81,920 bytes per token,
    plus 50 sliding layers holding 1,024 tokens of 2 × 16 × 256 × 2 bytes each."""
    plan = plan_config(converted(hub_config("google/gemma-4-31B")), Deployment(context=4096)).as_dict()
    rules = {lt["name"]: lt["cache_rule"] for lt in plan["layer_types"]}
    assert (rules["attention_sliding"], rules["attention_full"]) == ("window 1024", "per_token")
    assert plan["kv_cache"]["bytes_per_token_beyond_windows"] == 81_920
    assert plan["device"]["kv_cache_bytes"] == 81_920 * 4096 + 50 * 1024 * 2 * 16 * 256 * 2


def test_gemma4_kv_shared_layers_cache_nothing() -> None:
    """E2B in bf16 at 4,096 tokens: 3 full layers × 2 × 1 × 512 × 2 bytes per token, 12 sliding layers holding
    512 tokens of 2 × 1 × 256 × 2 bytes; the 20 KV-shared layers add nothing."""
    plan = plan_config(converted(hub_config("google/gemma-4-E2B-it")), Deployment(context=4096)).as_dict()
    rules = {lt["name"]: lt["cache_rule"] for lt in plan["layer_types"]}
    assert rules["attention_sliding_kv_shared"] == rules["attention_full_kv_shared"] == "shared"
    assert plan["kv_cache"]["bytes_per_token_beyond_windows"] == 3 * 2 * 512 * 2
    assert plan["device"]["kv_cache_bytes"] == 3 * 2 * 512 * 2 * 4096 + 12 * 512 * 2 * 256 * 2


# ---- small configs: defaults, switches and refusals ----------------------------------------------

GEMMA3 = small("gemma3_text", num_hidden_layers=7)
GEMMA4 = {**GEMMA3, "model_type": "gemma4_text", "num_hidden_layers": 6, "hidden_size_per_layer_input": 0}
GEMMA4_MOE = {**GEMMA4, "enable_moe_block": True, "num_experts": 4, "top_k_experts": 2, "moe_intermediate_size": 24}


def test_gemma3_default_pattern_is_one_full_layer_in_six_and_sliding_window_pattern_changes_it() -> None:
    layers = layers_by_name(converted(GEMMA3))
    assert (layers["attention_sliding"]["count"], layers["attention_full"]["count"]) == (6, 1)
    assert layers["attention_sliding"]["specs"]["sliding_window"] == 4096
    assert layers["attention_full"]["specs"]["head_dim"] == 256
    layers = layers_by_name(converted({**GEMMA3, "sliding_window_pattern": 2}))
    assert (layers["attention_sliding"]["count"], layers["attention_full"]["count"]) == (4, 3)


def test_gemma3_bidirectional_attention_halves_the_window_as_transformers_does() -> None:
    layers = layers_by_name(converted({**GEMMA3, "sliding_window": 512, "use_bidirectional_attention": True}))
    assert layers["attention_sliding"]["specs"]["sliding_window"] == 257


def test_gemma3_text_alone_must_give_its_dimensions() -> None:
    """The class defaults apply to a gemma3 wrapper's text_config (as Google publishes them), not to a bare
    gemma3_text config.json."""
    config = {k: v for k, v in GEMMA3.items() if k != "vocab_size"}
    assert refusals(config) == [("config.vocab_size", "missing_dimension")]
    wrapped = {"model_type": "gemma3", "text_config": {k: v for k, v in config.items() if k != "model_type"}}
    assert converted(wrapped)["vocab_size"] == 262_208


def test_gemma3_heads_must_divide_the_hidden_size() -> None:
    assert refusals({**GEMMA3, "num_attention_heads": 5, "num_key_value_heads": 1}) == [
        ("config.num_attention_heads", "contradictory_values")
    ]


@pytest.mark.parametrize("base", [GEMMA3, GEMMA4], ids=["gemma3_text", "gemma4_text"])
@pytest.mark.parametrize("key", ["head_dim", "num_key_value_heads"])
def test_null_where_transformers_requires_an_integer_is_refused(base: dict[str, Any], key: str) -> None:
    assert refusals({**base, key: None}) == [(f"config.{key}", "invalid_value")]


def test_gemma4_defaults_are_the_configuration_class_ones() -> None:
    """Absent: head_dim 256, global_head_dim 512 on full layers, window 512, per-layer inputs 256 wide over
    262,144 tokens; the last layer is full whatever layer_types says."""
    config = {k: v for k, v in GEMMA4.items() if k != "hidden_size_per_layer_input"}
    config["layer_types"] = ["sliding_attention"] * 6
    layers = layers_by_name(converted(config))
    assert (layers["attention_sliding"]["count"], layers["attention_full"]["specs"]["layer_idx"]) == (5, 5)
    assert layers["attention_sliding"]["specs"]["sliding_window"] == 512
    assert (layers["attention_sliding"]["specs"]["head_dim"], layers["attention_full"]["specs"]["head_dim"]) == (
        256,
        512,
    )
    assert layers["per_layer_embedding"]["specs"]["vocab_size_per_layer_input"] == 262_144
    assert layers["per_layer_input"]["specs"]["hidden_size_per_layer_input"] == 256


def test_gemma4_global_kv_heads_are_read_only_with_k_eq_v() -> None:
    """num_global_key_value_heads is an override of attention_k_eq_v's layers: off, it is not read."""
    full = layers_by_name(converted({**GEMMA4, "num_global_key_value_heads": 0}))["attention_full"]["specs"]
    assert full["num_kv_heads"] == 2 and "k_eq_v" not in full
    assert refusals({**GEMMA4, "attention_k_eq_v": True, "num_global_key_value_heads": 0}) == [
        ("config.num_global_key_value_heads", "invalid_value")
    ]
    full = layers_by_name(converted({**GEMMA4, "attention_k_eq_v": True, "num_global_key_value_heads": 4}))[
        "attention_full"
    ]
    assert full["class"] == "AttentionLayer" and full["specs"]["k_eq_v"]


def test_gemma4_per_layer_config_replaces_the_global_keys() -> None:
    """As transformers 5.25 writes a config: zero-padded layer indices; global_head_dim is then not read."""
    overrides = {"head_dim": 48, "num_key_value_heads": 4}
    config = {**GEMMA4, "global_head_dim": None, "per_layer_config": {"05": overrides}}
    full = layers_by_name(converted(config))["attention_full"]["specs"]
    assert (full["head_dim"], full["num_heads"]) == (48, 4) and "num_kv_heads" not in full
    sliding = layers_by_name(converted({**GEMMA4, "per_layer_config": None}))["attention_sliding"]["specs"]
    assert (
        sliding["head_dim"]
        == layers_by_name(converted({**GEMMA4, "per_layer_config": None}))["attention_full"]["specs"]["head_dim"]
    )


def test_gemma4_per_layer_config_refusals() -> None:
    assert refusals({**GEMMA4, "per_layer_config": {"5": {"intermediate_size": 32}}}) == [
        ("config.per_layer_config.5.intermediate_size", "unsupported_architecture_key")
    ]
    assert refusals({**GEMMA4, "per_layer_config": {"6": {"head_dim": 32}}}) == [
        ("config.per_layer_config.6", "invalid_value")
    ]
    # Layers of one type with different geometry: transformers' rotary embedding refuses it.
    assert refusals({**GEMMA4, "per_layer_config": {"0": {"head_dim": 32}}}) == [
        ("config.per_layer_config", "contradictory_values")
    ]


def test_gemma4_kv_shared_layers_need_every_layer_type_before_them() -> None:
    assert refusals({**GEMMA4, "num_kv_shared_layers": 1}) == [("config.num_kv_shared_layers", "contradictory_values")]
    assert refusals({**GEMMA4, "num_kv_shared_layers": 7}) == [("config.num_kv_shared_layers", "contradictory_values")]
    everything = layers_by_name(converted({**GEMMA4, "num_kv_shared_layers": 6}))
    assert {n for n in everything if n.startswith("attention")} == {
        "attention_sliding_kv_shared",
        "attention_full_kv_shared",
    }


def test_gemma4_moe_keys_are_read_only_with_the_moe_block() -> None:
    assert param_counts({**GEMMA4, "num_experts": 0, "top_k_experts": None})[0] == param_counts(GEMMA4)[0]
    config = {k: v for k, v in GEMMA4_MOE.items() if k != "num_experts"}
    assert refusals(config) == [("config.num_experts", "missing_dimension")]
    assert refusals({**GEMMA4_MOE, "top_k_experts": 5}) == [("config.top_k_experts", "contradictory_values")]


def test_gemma4_per_layer_inputs_off_read_no_vocabulary() -> None:
    assert "per_layer_embedding" not in layers_by_name(converted({**GEMMA4, "vocab_size_per_layer_input": None}))
    assert refusals({**GEMMA4, "hidden_size_per_layer_input": None}) == [
        ("config.hidden_size_per_layer_input", "invalid_value")
    ]


def test_new_classes_are_in_the_catalogue_with_their_cache_rules() -> None:
    shared = catalogue.get("SharedKVAttentionLayer")
    table = catalogue.get("PerLayerEmbeddingLayer")
    branch = catalogue.get("PerLayerInputLayer")
    assert shared is not None and table is not None and branch is not None
    assert shared.cache_rule({"hidden_size": 8, "num_heads": 2, "head_dim": 4, "kv_shared": True}) == "shared"
    assert shared.kv_elements is None and table.kind is catalogue.LayerKind.POSITION_EMBEDDING
    assert branch.kind is catalogue.LayerKind.NORM
    assert (
        table.parameter_count(
            {"vocab_size_per_layer_input": 10, "num_hidden_layers": 3, "hidden_size_per_layer_input": 4}
        )
        == 124
    )
    assert branch.parameter_count({"hidden_size": 8, "hidden_size_per_layer_input": 4}) == 3 * 8 * 4 + 8


def test_gemma3_refuses_what_its_attention_does_not_read() -> None:
    """Gemma-3's attention reads one head_dim for all layers: a per_layer_config is not counted; the pattern
    is an integer when it is read (no layer_types)."""
    assert refusals({**GEMMA3, "per_layer_config": {"1": {"head_dim": 8}}}) == [
        ("config.per_layer_config", "unsupported_architecture_key")
    ]
    assert refusals({**GEMMA3, "sliding_window_pattern": None}) == [("config.sliding_window_pattern", "invalid_value")]
    assert converted({**GEMMA3, "sliding_window_pattern": None, "layer_types": ["full_attention"] * 7})
