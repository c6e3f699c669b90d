"""MiniMax-M2/M3, Step-3.7 and MiMo-V2-Flash imports: exact counts (transformers 5.25's) and their refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from registry.core import catalogue
from registry.core.validation import Code
from tests.conftest import converted, hub_config, hub_counts, layer_named, layers_by_name, param_counts, refusals

# transformers 5.25's counts (tests/test_hf_oracle.py) and the published figures.
REAL = {
    # Published: 230B total, 10B active (without the 1.23B of embedding and head).
    "MiniMaxAI/MiniMax-M2": (228_689_748_992, 11_030_537_216),
    # Published: 309B total, 15B active.
    "XiaomiMiMo/MiMo-V2-Flash": (308_778_768_832, 15_445_924_288),
    # The text model; published for its decoder (Step-3.5-Flash): 196B total, 11B active.
    "stepfun-ai/Step-3.7-Flash": (196_956_118_272, 11_987_311_872),
}
PUBLISHED = {
    "MiniMaxAI/MiniMax-M2": (230e9, 10e9 + 1.23e9),
    "XiaomiMiMo/MiMo-V2-Flash": (309e9, 15e9),
    "stepfun-ai/Step-3.7-Flash": (196e9, 11e9 + 1.06e9),
}


@pytest.mark.parametrize("hub_id", sorted(REAL))
def test_real_config_counts_what_transformers_builds(hub_id: str) -> None:
    assert hub_counts(hub_id) == REAL[hub_id]


@pytest.mark.parametrize("hub_id", sorted(REAL))
def test_real_config_is_near_its_published_figures(hub_id: str) -> None:
    total, active = REAL[hub_id]
    published_total, published_active = PUBLISHED[hub_id]
    assert abs(total - published_total) / published_total < 0.01
    assert abs(active - published_active) / published_active < 0.05  # figures rounded to the billion


def test_minimax_m2_norms_span_the_projections_and_notes_mtp() -> None:
    document = converted(hub_config("MiniMaxAI/MiniMax-M2"), "MiniMaxAI/MiniMax-M2")
    assert layer_named(document, "attention")["specs"]["qk_norm"] == "across_heads"
    assert "3 multi-token-prediction layer(s) (num_mtp_modules)" in document["validation_notes"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("attn_type_list", [0] + [1] * 61),
        ("shared_intermediate_size", 1024),
        ("use_qk_norm", False),
        ("qk_norm_type", "per_head"),
    ],
)
def test_minimax_m2_refuses_what_transformers_does_not_build(key: str, value: Any) -> None:
    config = hub_config("MiniMaxAI/MiniMax-M2") | {key: value}
    assert refusals(config) == [(f"config.{key}", Code.UNSUPPORTED_KEY)]


def test_mimo_sliding_layers_double_kv_heads_with_sinks_and_window() -> None:
    sliding = layer_named(converted(hub_config("XiaomiMiMo/MiMo-V2-Flash")), "attention_sliding")
    assert sliding["class"] == "SplitHeadAttentionLayer"
    assert sliding["count"] == 39  # full attention on layer 0 and every 6th
    # sliding_window_size 128 (previous tokens) is transformers' window 129 (with the query).
    assert sliding["specs"] | {"layer_idx": 1} == {
        "layer_idx": 1,
        "hidden_size": 4096,
        "num_heads": 64,
        "num_kv_heads": 8,
        "head_dim": 192,
        "v_head_dim": 128,
        "sliding_window": 129,
        "attention_sinks": True,
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hybrid_layer_pattern", [1] * 48),
        ("moe_layer_freq", [1] * 48),
        ("swa_num_key_value_heads", 4),
        ("swa_head_dim", 128),
        ("add_full_attention_sink_bias", True),
        ("add_swa_attention_sink_bias", False),
        ("n_shared_experts", 1),
    ],
)
def test_mimo_refuses_legacy_keys_describing_another_model(key: str, value: Any) -> None:
    config = hub_config("XiaomiMiMo/MiMo-V2-Flash") | {key: value}
    assert refusals(config) == [(f"config.{key}", Code.UNSUPPORTED_KEY)]


def test_mimo_layer_types_replace_the_legacy_pattern() -> None:
    config = hub_config("XiaomiMiMo/MiMo-V2-Flash")
    del config["hybrid_layer_pattern"]
    config["layer_types"] = ["full_attention"] * 48
    document = converted(config)
    assert document["layer_types"][0]["name"] == "attention"


def _step_text(**keys: Any) -> dict[str, Any]:
    config = hub_config("stepfun-ai/Step-3.7-Flash")
    config["text_config"] |= keys
    return config


def test_step_sliding_layers_take_their_own_head_count_and_a_head_gate() -> None:
    document = converted(hub_config("stepfun-ai/Step-3.7-Flash"))
    by_name = layers_by_name(document)
    assert by_name["attention_full"]["count"] == 12
    assert by_name["attention_sliding"]["count"] == 33
    assert by_name["attention_sliding"]["specs"]["num_heads"] == 96
    assert by_name["attention_sliding"]["specs"]["sliding_window"] == 512
    assert by_name["attention_full"]["specs"]["output_gate"] == "headwise"
    assert by_name["feedforward_dense"]["count"] == 3
    assert by_name["feedforward_moe"]["specs"]["shared_expert_intermediate_size"] == 1280
    assert "vision (or audio) tower" in document["validation_notes"]


def test_step_gating_false_gates_each_channel() -> None:
    document = converted(_step_text(gating=False))
    assert {t["specs"].get("output_gate") for t in document["layer_types"] if "attention" in t["name"]} == {
        "elementwise"
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [("attention_bias", True), ("use_head_wise_attn_gate", False), ("use_qk_norm", False), ("mlp_bias", True)],
)
def test_step_refuses_what_transformers_builds_otherwise(key: str, value: Any) -> None:
    assert refusals(_step_text(**{key: value})) == [(f"config.{key}", Code.UNSUPPORTED_KEY)]


def test_step_refuses_an_other_setting_transformers_ignores() -> None:
    config = hub_config("stepfun-ai/Step-3.7-Flash")
    config["text_config"]["attention_other_setting"]["num_attention_groups"] = 4
    assert refusals(config) == [("config.attention_other_setting", Code.UNSUPPORTED_KEY)]


def _m3(**keys: Any) -> dict[str, Any]:
    text = {
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "vocab_size": 300,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "intermediate_size": 24,
        "dense_intermediate_size": 96,
        "shared_intermediate_size": 32,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "index_n_heads": 2,
        "index_head_dim": 8,
        "layer_types": ["full_attention", "minimax_m3_sparse", "minimax_m3_sparse", "full_attention"],
        "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
    } | keys
    return {"model_type": "minimax_m3_vl", "text_config": text}


def _hand_m3() -> tuple[int, int]:
    """MiniMax-M3's small config counted by hand from modeling_minimax_m3_vl.py."""
    h, heads, kv, d = 64, 4, 2, 16
    attention = h * heads * d + 2 * h * kv * d + heads * d * h + 2 * d  # q, k, v, o, per-head q/k norms
    indexer = h * 2 * 8 + h * 8 + 2 * 8  # its q (2 heads of 8), k (8), q/k norms
    dense = 3 * h * 96
    routed, router, shared = 4 * 3 * h * 24, 4 * h, 3 * h * 32
    embedding = 2 * 300 * h
    norms = (2 * 4 + 1) * h
    total = 4 * attention + 2 * indexer + dense + 3 * (routed + router + shared) + embedding + norms
    return total, total - 3 * 2 * 3 * h * 24


def test_minimax_m3_counts_indexers_dense_and_shared_experts() -> None:
    assert param_counts(_m3()) == _hand_m3()


def test_minimax_m3_legacy_sparse_config_wins_over_flat_keys() -> None:
    legacy = _m3(
        layer_types=None,
        mlp_layer_types=None,
        index_n_heads=7,
        index_head_dim=4,
        moe_layer_freq=[0, 1, 1, 1],
        sparse_attention_config={
            "sparse_attention_freq": [0, 1, 1, 0],
            "sparse_num_index_heads": 2,
            "sparse_index_dim": 8,
            "sparse_disable_index_value": [0, 1, 1, 0],
        },
    )
    assert param_counts(legacy) == _hand_m3()


def test_minimax_m3_text_config_is_read_as_the_m3_text_model_whatever_it_names() -> None:
    config = _m3()
    config["text_config"]["model_type"] = "minimax_m2"
    assert param_counts(config) == _hand_m3()


def test_minimax_m3_refuses_an_indexer_value_path() -> None:
    config = _m3(sparse_attention_config={"sparse_disable_index_value": [0, 0, 1, 0]})
    assert refusals(config) == [("config.sparse_attention_config", Code.UNSUPPORTED_KEY)]


def test_minimax_m3_requires_the_indexer_dimensions() -> None:
    config = _m3()
    del config["text_config"]["index_head_dim"]
    assert refusals(config) == [("config.index_head_dim", Code.MISSING_DIMENSION)]


def test_block_sparse_attention_caches_the_indexer_key() -> None:
    cls = catalogue.get("BlockSparseAttentionLayer")
    specs = {
        "hidden_size": 64,
        "num_heads": 4,
        "num_kv_heads": 2,
        "head_dim": 16,
        "sparse_index_heads": 2,
        "sparse_index_head_dim": 8,
    }
    assert cls.kv_elements(specs) == 2 * 2 * 16 + 8
    assert cls.cache_rule(specs) == "per_token"


def test_split_head_attention_caches_keys_and_narrower_values() -> None:
    cls = catalogue.get("SplitHeadAttentionLayer")
    specs = {"hidden_size": 4096, "num_heads": 64, "num_kv_heads": 8, "head_dim": 192, "v_head_dim": 128}
    assert cls.kv_elements(specs) == 8 * (192 + 128)
    assert cls.cache_rule({**specs, "sliding_window": 129}) == "window 129"
    with_sinks = copy.deepcopy(specs) | {"attention_sinks": True}
    assert cls.parameter_count(with_sinks) - cls.parameter_count(specs) == 64
