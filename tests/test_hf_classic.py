"""The 2025 llama-like families (registry/core/hf_families/classic.py): real config.json files counted exactly,
and the rules and refusals of each model_type. No database, no oracle (tests/test_hf_oracle.py checks the
same files and each family's sweep against transformers itself)."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.hf import Code
from tests.conftest import converted, hub_config, hub_counts, layer_named, param_counts, refusals
from tests.hf_sweeps import small

# transformers 5.25 on the meta device (tied tensors once; routed experts k of E for the active count), then the
# model card's figures in billions as it rounds them (None: the card gives none).
REAL = {
    "zai-org/GLM-4-9B-0414": (9_400_279_040, None, None, None),
    "microsoft/Phi-3.5-MoE-instruct": (41_873_153_344, 6_640_999_744, 41.9, 6.6),
    "allenai/OLMoE-1B-7B-0924": (6_919_161_856, 1_282_017_280, 6.9, 1.3),
    "allenai/Olmo-3-7B-Instruct": (7_298_011_136, None, None, None),
    "ibm-granite/granite-3.3-8b-instruct": (8_170_864_640, None, 8.2, None),
    "ibm-granite/granite-3.0-3b-a800m-instruct": (3_298_793_472, 882_874_368, 3.3, None),
    "HuggingFaceTB/SmolLM3-3B": (3_075_098_624, None, 3.1, None),
    "CohereForAI/c4ai-command-r-v01": (34_980_831_232, None, 35.0, None),
    "CohereForAI/c4ai-command-r-plus": (103_810_674_688, None, 103.8, None),
    "CohereLabs/c4ai-command-r7b-12-2024": (8_028_033_024, None, 8.0, None),
    "bigcode/starcoder2-7b": (7_173_923_840, None, 7.2, None),
    "tiiuae/falcon-7b": (6_921_720_704, None, None, None),
    "EleutherAI/pythia-1b": (1_011_781_632, None, None, None),
    "baidu/ERNIE-4.5-0.3B-PT": (360_748_032, None, 0.4, None),
    "baidu/ERNIE-4.5-21B-A3B-PT": (21_825_437_888, 3_352_150_208, 21.8, 3.4),
}
PUBLISHED = sorted(hf_id for hf_id, row in REAL.items() if row[2] is not None)
PYTHIA_1B = 1_011_781_632  # the Pythia paper's table, exact


# ---- the real configs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hf_id", sorted(REAL))
def test_real_config_counts_what_transformers_builds(hf_id: str) -> None:
    assert hub_counts(hf_id) == REAL[hf_id][:2]


@pytest.mark.parametrize("hf_id", PUBLISHED)
def test_real_config_matches_the_published_figure(hf_id: str) -> None:
    total, active, published_total, published_active = REAL[hf_id]
    assert round(total / 1e9, 1) == published_total
    if published_active is not None:
        assert round(active / 1e9, 1) == published_active


def test_pythia_1b_is_the_papers_count() -> None:
    assert param_counts(hub_config("EleutherAI/pythia-1b"))[0] == PYTHIA_1B


def test_olmo3_alternates_three_sliding_layers_and_one_full() -> None:
    doc = converted(hub_config("allenai/Olmo-3-7B-Instruct"))
    sliding, full = layer_named(doc, "attention_sliding"), layer_named(doc, "attention_full")
    assert (sliding["count"], sliding["specs"]["sliding_window"], full["count"]) == (24, 4096, 8)
    assert "sliding_window" not in full["specs"] and full["specs"]["layer_idx"] == 3
    assert sliding["specs"]["qk_norm"] == "across_heads"


def test_command_r7b_global_layers_have_no_rope() -> None:
    doc = converted(hub_config("CohereLabs/c4ai-command-r7b-12-2024"))
    assert layer_named(doc, "attention_sliding")["count"] == 24
    full = layer_named(doc, "attention_full_nope")
    assert (full["count"], full["specs"]["no_rope"], full["specs"]["layer_idx"]) == (8, True, 3)
    assert layer_named(doc, "norm")["count"] == 33  # one norm per layer, and the final one


def test_smollm3_every_fourth_layer_is_nope() -> None:
    doc = converted(hub_config("HuggingFaceTB/SmolLM3-3B"))
    assert (layer_named(doc, "attention_full")["count"], layer_named(doc, "attention_full_nope")["count"]) == (27, 9)


def test_command_r_plus_norms_queries_and_keys_per_head() -> None:
    attention = layer_named(converted(hub_config("CohereForAI/c4ai-command-r-plus")), "attention")
    # LayerNorm weights (96, 128) and (8, 128): the widths of Q and K.
    assert attention["specs"]["qk_norm"] == "across_heads"


def test_phi35_moe_has_layernorm_biases_and_a_head_bias() -> None:
    doc = converted(hub_config("microsoft/Phi-3.5-MoE-instruct"))
    assert layer_named(doc, "lm_head")["specs"]["lm_head_bias"] is True
    assert layer_named(doc, "norm")["specs"]["has_bias"] is True
    assert layer_named(doc, "attention")["specs"]["sliding_window"] == 131072


def test_ernie_moe_layers_shared_experts_and_router_bias() -> None:
    doc = converted(hub_config("baidu/ERNIE-4.5-21B-A3B-PT"))
    moe = layer_named(doc, "feedforward_moe")
    assert (layer_named(doc, "feedforward_dense")["count"], moe["count"], moe["specs"]["layer_idx"]) == (1, 27, 1)
    assert moe["specs"]["shared_expert_intermediate_size"] == 2 * 1536
    assert moe["specs"]["router_bias"] is True  # e_score_correction_bias: a parameter (requires_grad false)
    assert "multi-token-prediction" in doc["validation_notes"]


def test_falcon_7b_is_multi_query_with_one_norm_per_layer() -> None:
    doc = converted(hub_config("tiiuae/falcon-7b"))
    assert layer_named(doc, "attention")["specs"]["num_kv_heads"] == 1
    assert layer_named(doc, "norm")["count"] == 33
    assert layer_named(doc, "feedforward")["specs"]["intermediate_size"] == 4 * 4544


def test_the_head_bias_is_counted_even_when_the_head_is_tied() -> None:
    head = catalogue.get("OutputHeadLayer")
    specs = {"vocab_size": 10, "hidden_size": 4, "tie_word_embeddings": True, "lm_head_bias": True}
    assert head.parameter_count(specs) == 10
    assert head.parameter_count({**specs, "tie_word_embeddings": False}) == 50


# ---- rules -----------------------------------------------------------------------------------------------------------


def test_falcon_switches_set_the_key_value_heads_and_norms() -> None:
    new = converted(small("falcon", new_decoder_architecture=True, num_kv_heads=2))
    assert (layer_named(new, "attention")["specs"]["num_kv_heads"], layer_named(new, "norm")["count"]) == (2, 9)
    mha = converted(small("falcon", multi_query=False, parallel_attn=False, alibi=True))
    assert layer_named(mha, "attention")["class"] == "AttentionLayer"
    assert layer_named(mha, "attention")["specs"]["no_rope"] is True and "ALiBi" in mha["validation_notes"]
    assert layer_named(mha, "norm")["count"] == 9


def test_falcon_reads_n_embed_as_hidden_size() -> None:
    config = small("falcon")
    config["n_embed"] = config.pop("hidden_size")
    assert converted(config)["hidden_size"] == 64


def test_gpt_neox_ignores_head_dim_and_key_value_heads() -> None:
    assert param_counts(small("gpt_neox", head_dim=8, num_key_value_heads=1)) == param_counts(small("gpt_neox"))


def test_smollm3_sliding_layers_only_when_enabled() -> None:
    off = converted(small("smollm3", sliding_window=64))
    assert [lt["name"] for lt in off["layer_types"][:2]] == ["attention_full", "attention_full_nope"]
    on = converted(small("smollm3", sliding_window=64, use_sliding_window=True))
    assert layer_named(on, "attention_sliding_nope")["specs"]["sliding_window"] == 64  # NoPE layers slide


def test_a_disabled_sliding_window_is_not_read() -> None:
    assert not refusals(small("smollm3", use_sliding_window=False, sliding_window="none"))


def test_ernie_moe_without_moe_layers_needs_no_expert_keys() -> None:
    doc = converted(small("ernie4_5_moe", moe_layer_start_index=9))
    assert layer_named(doc, "feedforward")["class"] == "GatedMLPLayer"


# ---- refusals --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (small("olmoe", num_experts=4, num_experts_per_tok=2, head_dim=8), ("config.head_dim", Code.UNSUPPORTED_KEY)),
        (small("falcon", head_dim=16), ("config.head_dim", Code.UNSUPPORTED_KEY)),
        (small("granite", head_dim=None), ("config.head_dim", Code.INVALID_VALUE)),
        (small("cohere2", head_dim=None), ("config.head_dim", Code.INVALID_VALUE)),
        (
            small("ernie4_5_moe", moe_num_experts=4, moe_k=2, moe_intermediate_size=8, use_bias=True),
            ("config.use_bias", Code.UNSUPPORTED_KEY),
        ),
        (small("ernie4_5_moe", moe_k=2, moe_intermediate_size=8), ("config.moe_num_experts", Code.MISSING_DIMENSION)),
        (small("smollm3", no_rope_layers=[1, 0]), ("config.no_rope_layers", Code.INVALID_VALUE)),
        (
            small("olmo3", layer_types=["full_attention"] * 3 + ["global"]),
            ("config.layer_types[3]", Code.INVALID_VALUE),
        ),
        (small("falcon", new_decoder_architecture=True, num_kv_heads=3), ("config.num_kv_heads", Code.CONTRADICTION)),
        (small("starcoder2", num_key_value_heads=3), ("config.num_key_value_heads", Code.CONTRADICTION)),
    ],
)
def test_refusals_name_their_key(config: dict[str, Any], expected: tuple[str, str]) -> None:
    assert refusals(config) == [expected]


def test_kv_heads_are_required_where_the_default_is_a_default_models() -> None:
    for model_type in ("glm4", "phimoe", "smollm3", "starcoder2", "ernie4_5", "ernie4_5_moe"):
        config = small(model_type)
        del config["num_key_value_heads"]
        assert ("config.num_key_value_heads", Code.MISSING_DIMENSION) in refusals(config), model_type
