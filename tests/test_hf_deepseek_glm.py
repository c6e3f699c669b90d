"""DeepSeek (V2, V3.2, V4), Kimi (K2, K2.5) and GLM (4.5/4.6, 5): real config.json files counted exactly, the
sparse-attention and compressed-attention classes' caches, and each model_type's rules and refusals. No database,
no oracle (tests/test_hf_oracle.py checks the same files and the sweeps against transformers itself)."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.hf import Code
from tests.conftest import converted, hub_config, layer_named, refusals, validated

# transformers 5.25 on the meta device (tied tensors once; routed experts k of E for the active count).
REAL = {
    "deepseek-ai/DeepSeek-V2-Lite": (15_706_484_224, 2_661_150_208),
    "deepseek-ai/DeepSeek-V3.2-Exp": (671_877_929_216, 38_403_807_488),
    "deepseek-ai/DeepSeek-V4-Flash": (284_332_230_231, 13_799_622_231),
    "moonshotai/Kimi-K2-Instruct": (1_026_408_209_408, 32_861_477_888),
    "moonshotai/Kimi-K2.5": (1_026_408_209_408, 32_861_477_888),
    "zai-org/GLM-4.5-Air": (106_852_245_504, 13_424_123_904),
    "zai-org/GLM-4.6": (352_797_814_784, 33_632_251_904),
    "zai-org/GLM-5": (743_911_199_232, 41_784_709_632),
}
# The model cards' figures in billions (total, active, and what the card leaves out of the active count: the
# embedding, or the embedding and the output head). DeepSeek-V3.2's 685B and GLM-4.6's 355B include the
# multi-token-prediction layer that transformers does not build; the 671B and 353B here do not.
PUBLISHED = {
    "deepseek-ai/DeepSeek-V2-Lite": (15.7, 2.4, "embedding"),
    "deepseek-ai/DeepSeek-V3.2-Exp": (671.9, None, ""),
    "deepseek-ai/DeepSeek-V4-Flash": (284.3, 13.0, ""),
    "moonshotai/Kimi-K2-Instruct": (1026.4, 32.0, ""),
    "zai-org/GLM-4.5-Air": (106.9, 12.0, "both"),
    "zai-org/GLM-5": (743.9, 40.0, "both"),
}


@pytest.mark.parametrize("hf_id", sorted(REAL))
def test_real_config_counts_exactly(hf_id: str) -> None:
    validation = validated(hub_config(hf_id), hf_id)
    assert not validation.warnings, [i.as_dict() for i in validation.warnings]
    assert (validation.config.total_params, validation.config.active_params) == REAL[hf_id]


@pytest.mark.parametrize("hf_id", sorted(PUBLISHED))
def test_real_config_matches_the_published_figures(hf_id: str) -> None:
    total, active = REAL[hf_id]
    published_total, published_active, without = PUBLISHED[hf_id]
    assert round(total / 1e9, 1) == published_total
    if published_active is not None:
        doc = converted(hub_config(hf_id), hf_id)
        embedding = layer_named(doc, "embedding")["specs"]
        table = embedding["vocab_size"] * embedding["hidden_size"]
        active -= table * {"": 0, "embedding": 1, "both": 2}[without]
        assert active / 1e9 == pytest.approx(published_active, rel=0.07)


def test_kimi_k2_is_read_as_deepseek_v3_by_its_architectures_class() -> None:
    doc = converted(hub_config("moonshotai/Kimi-K2-Instruct"))
    assert "model_type kimi_k2 is not one transformers knows; imported as deepseek_v3" in doc["validation_notes"]
    assert layer_named(doc, "feedforward_moe")["specs"]["num_experts"] == 384
    del_arch = {k: v for k, v in hub_config("moonshotai/Kimi-K2-Instruct").items() if k != "architectures"}
    assert refusals(del_arch) == [("config.model_type", Code.UNSUPPORTED_MODEL_TYPE)]


def test_kimi_k25_imports_its_text_config_read_as_deepseek_v3() -> None:
    doc = converted(hub_config("moonshotai/Kimi-K2.5"))
    notes = doc["validation_notes"]
    assert "kimi_k25 reads its text_config's model_type kimi_k2 as deepseek_v3" in notes
    assert "vision (or audio) tower and the projector are not counted" in notes
    assert "compressed-tensors" in notes


def test_sparse_attention_indexer_is_a_layer_type_with_its_own_cache() -> None:
    doc = converted(hub_config("deepseek-ai/DeepSeek-V3.2-Exp"))
    indexer = layer_named(doc, "indexer")
    assert indexer["class"] == "SparseAttentionIndexerLayer" and indexer["count"] == 61
    specs = indexer["specs"]
    assert specs == {
        "layer_idx": 0,
        "hidden_size": 7168,
        "q_lora_rank": 1536,
        "index_n_heads": 64,
        "index_head_dim": 128,
    }
    cls = catalogue.get("SparseAttentionIndexerLayer")
    # wq_b 1536·64·128 + wk 7168·128 + LayerNorm 2·128 + weights_proj 7168·64
    assert cls.parameter_count(specs) == 12_582_912 + 917_504 + 256 + 458_752
    assert cls.kv_elements(specs) == 128 and cls.cache_rule(specs) == "per_token"
    # The MLA latent stays on the attention: 512 + 64 per token.
    mla = layer_named(doc, "attention")
    assert catalogue.get(mla["class"]).kv_elements(mla["specs"]) == 576


def test_glm5_shared_layers_have_no_indexer() -> None:
    config = hub_config("zai-org/GLM-5")
    assert layer_named(converted(config), "indexer")["count"] == 78
    pattern = ["full", "shared", "shared", "full"] * 19 + ["full", "shared"]
    shared = converted({**config, "indexer_types": pattern})
    assert layer_named(shared, "indexer")["count"] == pattern.count("full") == 39
    assert layer_named(converted({**config, "index_topk_pattern": "FSSF" * 19 + "FS"}), "indexer")["count"] == 39
    # every 4th layer from layer 1 (index_skip_topk_offset 2): layers 0, 1, 5, 9, ...
    freq = converted({**config, "index_topk_freq": 4})
    assert layer_named(freq, "indexer")["count"] == 1 + len(range(1, 78, 4))
    assert layer_named(freq, "indexer")["specs"]["layer_idx"] == 0


def test_deepseek_v4_compressed_attention_layer_types_and_caches() -> None:
    doc = converted(hub_config("deepseek-ai/DeepSeek-V4-Flash"))
    counts = {lt["name"]: (lt["class"], lt["count"]) for lt in doc["layer_types"]}
    assert counts["attention"] == ("DeepseekV4AttentionLayer", 43)
    assert counts["compressor_csa"] == ("KVCompressorLayer", 21)
    assert counts["indexer_csa"] == ("CompressedSparseIndexerLayer", 21)
    assert counts["compressor_hca"] == ("KVCompressorLayer", 20)
    assert counts["hyper_connection"] == ("HyperConnectionLayer", 86)
    assert counts["hyper_connection_head"] == ("HyperConnectionHeadLayer", 1)
    attention = layer_named(doc, "attention")["specs"]
    assert catalogue.get("DeepseekV4AttentionLayer").cache_rule(attention) == "window 128"
    assert catalogue.get("DeepseekV4AttentionLayer").kv_elements(attention) == 512  # one key = value head
    csa, hca = layer_named(doc, "compressor_csa")["specs"], layer_named(doc, "compressor_hca")["specs"]
    compressor = catalogue.get("KVCompressorLayer")
    assert (compressor.kv_elements(csa), compressor.kv_elements(hca)) == (512 // 4, 512 // 128)
    # the open window's keys and gates: 2 series and the previous window's first one (CSA), 1 series (HCA)
    assert (compressor.state_elements(csa), compressor.state_elements(hca)) == (2 * 4 * 512 * 3, 2 * 128 * 512)
    assert compressor.cache_rule(csa) == "per_token + state per sequence"
    index = layer_named(doc, "indexer_csa")["specs"]
    assert catalogue.get("CompressedSparseIndexerLayer").kv_elements(index) == 128 // 4
    # kv/gate 2·(2·4096·128 + 4·128) + norm 128 + q_b 1024·64·128 + weights_proj 4096·64
    assert (
        catalogue.get("CompressedSparseIndexerLayer").parameter_count(index)
        == 2 * (2 * 4096 * 128 + 4 * 128) + 128 + 1024 * 64 * 128 + 4096 * 64
    )
    moe = layer_named(doc, "feedforward")["specs"]
    assert moe["shared_expert_intermediate_size"] == 2048 and moe["num_experts_per_tok"] == 6


def test_deepseek_v4_layer_schedules() -> None:
    config = {k: v for k, v in hub_config("deepseek-ai/DeepSeek-V4-Flash").items() if k != "compress_ratios"}
    default = {lt["name"]: lt["count"] for lt in converted(config)["layer_types"]}
    # no schedule: two HCA layers, then HCA and CSA alternating
    assert (default["compressor_hca"], default["compressor_csa"]) == (2 + 21, 20)
    sliding = converted({**config, "layer_types": ["sliding_attention"] * 43})
    assert {lt["name"] for lt in sliding["layer_types"]}.isdisjoint({"compressor_csa", "compressor_hca"})
    rates = converted(
        {**config, "compress_rates": {"compressed_sparse_attention": 8, "heavily_compressed_attention": 64}}
    )
    assert layer_named(rates, "compressor_hca")["specs"]["compress_rate"] == 64
    legacy = converted({**config, "compress_rate_csa": 2})
    assert layer_named(legacy, "indexer_csa")["specs"]["compress_rate"] == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"compress_ratios": [0, 4, 3] + [0] * 40}, [("config.compress_ratios[2]", Code.INVALID_VALUE)]),
        ({"compress_ratios": [0, 4]}, [("config.compress_ratios", Code.INVALID_VALUE)]),
        ({"compress_rates": {"compressed_sparse_attention": 4}}, [("config.compress_rates", Code.INVALID_VALUE)]),
        ({"layer_types": ["full_attention"] * 43}, [("config.layer_types[0]", Code.INVALID_VALUE)]),
        ({"o_groups": None}, [("config.o_groups", Code.MISSING_DIMENSION)]),
        ({"hc_mult": None}, [("config.hc_mult", Code.MISSING_DIMENSION)]),
        ({"sliding_window": None}, [("config.sliding_window", Code.INVALID_VALUE)]),
    ],
)
def test_deepseek_v4_refusals(change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert refusals({**hub_config("deepseek-ai/DeepSeek-V4-Flash"), **change}) == expected


def test_deepseek_v32_and_glm5_need_the_query_latent_and_the_indexer_dimensions() -> None:
    for hf_id in ("deepseek-ai/DeepSeek-V3.2-Exp", "zai-org/GLM-5"):
        config = hub_config(hf_id)
        assert refusals({**config, "q_lora_rank": None}) == [("config.q_lora_rank", Code.INVALID_VALUE)]
        without = {k: v for k, v in config.items() if k != "index_n_heads"}
        assert refusals(without) == [("config.index_n_heads", Code.MISSING_DIMENSION)]
    assert refusals({**hub_config("zai-org/GLM-5"), "indexer_types": ["full"] * 77 + ["half"]}) == [
        ("config.indexer_types[77]", Code.INVALID_VALUE)
    ]


def test_mlp_layer_types_set_the_dense_and_moe_layers() -> None:
    config = hub_config("deepseek-ai/DeepSeek-V3.2-Exp")
    doc = converted({**config, "mlp_layer_types": ["dense", "sparse"] * 30 + ["sparse"]})
    assert (layer_named(doc, "feedforward_dense")["count"], layer_named(doc, "feedforward_moe")["count"]) == (30, 31)
    assert refusals({**config, "mlp_layer_types": ["dense", "moe"] + ["sparse"] * 59}) == [
        ("config.mlp_layer_types[1]", Code.INVALID_VALUE)
    ]


def test_deepseek_v2_lite_and_its_biases() -> None:
    config = hub_config("deepseek-ai/DeepSeek-V2-Lite")
    doc = converted(config)
    assert "q_lora_rank" not in layer_named(doc, "attention")["specs"]  # null: queries projected directly
    assert layer_named(doc, "feedforward_moe")["specs"]["shared_expert_intermediate_size"] == 2 * 1408
    biased = converted({**config, "mlp_bias": True, "n_shared_experts": 0})
    moe = layer_named(biased, "feedforward_moe")["specs"]
    assert (moe["shared_expert_intermediate_size"], moe["mlp_bias"]) == (0, True)
    assert layer_named(biased, "feedforward_dense")["specs"]["mlp_bias"] is True
    assert refusals({**config, "num_attention_heads": 15}) == [("config.num_attention_heads", Code.CONTRADICTION)]


def test_glm4_moe_qk_norm_and_biases() -> None:
    doc = converted(hub_config("zai-org/GLM-4.6"))
    attention = layer_named(doc, "attention")["specs"]
    assert attention["qk_norm"] == "per_head" and attention["qkv_bias"] is True and "output_bias" not in attention
    assert attention["head_dim"] == 128 and attention["num_kv_heads"] == 8
    assert "qk_norm" not in layer_named(converted(hub_config("zai-org/GLM-4.5-Air")), "attention")["specs"]
    # Glm4MoeConfig defaults the KV heads to GLM-4.5's 8: an absent value would be a guess.
    without = {k: v for k, v in hub_config("zai-org/GLM-4.6").items() if k != "num_key_value_heads"}
    assert refusals(without) == [("config.num_key_value_heads", Code.MISSING_DIMENSION)]


def test_mtp_layers_are_noted_not_counted() -> None:
    for hf_id in ("deepseek-ai/DeepSeek-V3.2-Exp", "zai-org/GLM-5", "zai-org/GLM-4.6", "deepseek-ai/DeepSeek-V4-Flash"):
        notes = converted(hub_config(hf_id))["validation_notes"]
        assert "The 1 multi-token-prediction layer(s) (num_nextn_predict_layers) are not counted" in notes
        assert "e_score_correction_bias is a buffer" in notes
