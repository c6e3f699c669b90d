"""The architectures beyond Llama's shape: each catalogue feature's exact count, and inputs breaking its rules."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import Code, catalogue, dumps, format_params, validate_config
from tests.conftest import fixture_document, hand_parameter_count, issues, moe_config, small_config

# Positions of the layer types in small_config().
ATTN, MLP, NORM, EMB, HEAD = 0, 1, 2, 3, 4


def count(class_name: str, **specs: Any) -> int:
    return catalogue.get(class_name).parameter_count(specs)


def with_layer(index: int, **changes: Any) -> dict[str, Any]:
    """small_config() with layer type ``index`` changed (``specs`` merged into its specs)."""
    doc = small_config()
    specs = changes.pop("specs", {})
    doc["layer_types"][index].update(changes)
    doc["layer_types"][index]["specs"].update(specs)
    return doc


GQA = {"hidden_size": 3584, "num_heads": 28, "num_kv_heads": 4, "head_dim": 128}


# ---- attention -----------------------------------------------------------------------------------------


def test_qkv_bias_adds_the_q_k_and_v_widths():
    """Qwen2's q, k and v biases: H·d + 2·KV·d (3584 + 2·512) on top of the projections."""
    plain = count("GroupedQueryAttentionLayer", **GQA)
    assert count("GroupedQueryAttentionLayer", **GQA, qkv_bias=True) - plain == 3584 + 2 * 512
    assert count("GroupedQueryAttentionLayer", **GQA, qkv_bias=True) == 29364736  # one Qwen2.5-7B layer


def test_output_bias_adds_the_hidden_size():
    """GPT-2's attention: 4·h² weights, 3h qkv bias, h output bias = 2,362,368 for h 768."""
    gpt2 = {"hidden_size": 768, "num_heads": 12, "head_dim": 64}
    assert count("AttentionLayer", **gpt2, qkv_bias=True, output_bias=True) == 768 * 2304 + 2304 + 768 * 768 + 768
    assert count("AttentionLayer", **gpt2, output_bias=True) - count("AttentionLayer", **gpt2) == 768


def test_qk_norm_per_head_adds_two_head_dims():
    """Qwen3's q_norm and k_norm are RMSNorm(head_dim): 2·d."""
    specs = {"hidden_size": 4096, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128}
    assert (
        count("GroupedQueryAttentionLayer", **specs, qk_norm="per_head") - count("GroupedQueryAttentionLayer", **specs)
        == 2 * 128
    )


def test_qk_norm_across_heads_adds_the_q_and_k_widths():
    """OLMo-2's q_norm and k_norm span the whole projections: H·d + KV·d."""
    specs = {"hidden_size": 4096, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128}
    extra = count("GroupedQueryAttentionLayer", **specs, qk_norm="across_heads") - count(
        "GroupedQueryAttentionLayer", **specs
    )
    assert extra == 32 * 128 + 8 * 128
    assert count("AttentionLayer", hidden_size=64, num_heads=4, head_dim=16, qk_norm="across_heads") == (
        4 * 64 * 64 + 2 * 64
    )
    assert count("GroupedQueryAttentionLayer", **specs, qk_norm="none") == count("GroupedQueryAttentionLayer", **specs)


@pytest.mark.parametrize(("value", "code"), [("both", Code.INVALID_CHOICE), (1, Code.INVALID_CHOICE)])
def test_rejects_a_qk_norm_that_is_not_a_choice(value, code):
    """qk_norm is one of none, per_head, across_heads."""
    result = validate_config(with_layer(ATTN, specs={"qk_norm": value}))
    assert issues(result) == [(f"layer_types[{ATTN}].specs.qk_norm", code)]
    assert "'none', 'per_head', 'across_heads'" in result.errors[0].msg


@pytest.mark.parametrize("spec", ["qkv_bias", "output_bias", "mlp_bias", "tie_word_embeddings"])
def test_rejects_a_flag_that_is_not_a_boolean(spec):
    """Flags are JSON booleans: 1 is not_a_boolean at the spec."""
    index = {"qkv_bias": ATTN, "output_bias": ATTN, "mlp_bias": MLP, "tie_word_embeddings": HEAD}[spec]
    result = validate_config(with_layer(index, specs={spec: 1}))
    assert issues(result) == [(f"layer_types[{index}].specs.{spec}", Code.NOT_A_BOOLEAN)]


# ---- MLP, norms, embeddings ------------------------------------------------------------------------------


def test_mlp_bias_on_a_two_projection_mlp_adds_i_plus_h():
    """GPT-2's MLP: 2·h·I + I + h = 4,722,432 for h 768, I 3072."""
    assert count("MLPLayer", hidden_size=768, intermediate_size=3072, mlp_bias=True) == 4722432
    assert count("MLPLayer", hidden_size=768, intermediate_size=3072) == 2 * 768 * 3072


def test_mlp_bias_on_a_gated_mlp_adds_two_i_plus_h():
    """Llama's mlp_bias on gate, up and down: 2·I + h."""
    plain = count("GatedMLPLayer", hidden_size=64, intermediate_size=256)
    assert count("GatedMLPLayer", hidden_size=64, intermediate_size=256, mlp_bias=True) - plain == 2 * 256 + 64


def test_a_norm_without_weights_has_no_parameters():
    """OLMo-1B's non-affine LayerNorm: 0 parameters, and a config of such norms stays valid."""
    assert count("NormLayer", hidden_size=2048, has_bias=False, elementwise_affine=False) == 0
    assert count("NormLayer", hidden_size=2048, has_bias=False, elementwise_affine=True) == 2048
    result = validate_config(with_layer(NORM, specs={"elementwise_affine": False}))
    assert result.ok, result.errors
    assert result.config.layer_types[NORM].parameter_count == 0


def test_rejects_a_bias_on_a_norm_without_weights():
    """has_bias with elementwise_affine false contradicts itself."""
    result = validate_config(with_layer(NORM, specs={"elementwise_affine": False, "has_bias": True}))
    assert issues(result) == [(f"layer_types[{NORM}].specs.has_bias", Code.BIAS_WITHOUT_WEIGHTS)]


def test_learned_position_embeddings_count_positions_times_hidden():
    """GPT-2's wpe: 1024 · 768."""
    assert count("PositionEmbeddingLayer", max_position_embeddings=1024, hidden_size=768) == 786432


def test_rejects_a_position_embedding_of_another_width():
    """A position embedding's hidden_size is the config's."""
    doc = small_config()
    doc["layer_types"].append(
        {"name": "wpe", "class": "PositionEmbeddingLayer", "count": 1, "specs": {"max_position_embeddings": 8}}
    )
    result = validate_config(doc)
    assert issues(result) == [("layer_types[5].specs.hidden_size", Code.REQUIRED)]
    doc["layer_types"][5]["specs"]["hidden_size"] = 32
    assert issues(validate_config(doc)) == [("layer_types[5].specs.hidden_size", Code.HIDDEN_SIZE_MISMATCH)]


# ---- output heads ------------------------------------------------------------------------------------------


def test_a_tied_head_counts_nothing_and_stays_in_the_breakdown():
    """tie_word_embeddings true: 0 parameters of its own, the layer type still in the document."""
    result = validate_config(small_config())
    head = result.config.layer_types[HEAD]
    assert (head.name, head.class_name, head.parameter_count) == ("lm_head", "OutputHeadLayer", 0)
    layers = result.config.layer_types
    assert result.config.total_params == sum(lt.count * hand_parameter_count(lt.class_name, lt.specs) for lt in layers)
    assert result.config.to_document()["layer_types"][HEAD]["specs"]["tie_word_embeddings"] is True


def test_an_untied_head_counts_vocab_times_hidden():
    """tie_word_embeddings false (or absent): V·h."""
    assert count("OutputHeadLayer", vocab_size=1000, hidden_size=64) == 64000
    assert count("OutputHeadLayer", vocab_size=1000, hidden_size=64, tie_word_embeddings=False) == 64000
    result = validate_config(with_layer(HEAD, specs={"tie_word_embeddings": False}))
    assert result.config.total_params == validate_config(small_config()).config.total_params + 64000


def test_rejects_a_tied_head_without_an_embedding():
    """A tied head needs an EmbeddingLayer to share weights with."""
    doc = small_config()
    del doc["layer_types"][EMB]
    result = validate_config(doc)
    assert issues(result) == [("layer_types[3].specs.tie_word_embeddings", Code.TIED_WITHOUT_EMBEDDING)]


def test_warns_when_there_is_no_output_head():
    """Neither an OutputHeadLayer nor a second embedding: a warning (forgotten or tied?)."""
    doc = small_config()
    del doc["layer_types"][HEAD]
    result = validate_config(doc)
    assert result.ok
    assert [(w.loc, w.code) for w in result.warnings] == [("layer_types", Code.NO_OUTPUT_HEAD)]


def test_an_untied_head_written_as_a_second_embedding_is_a_head():
    """The seed fixtures' convention (two EmbeddingLayers) draws no warning."""
    for model_id in ("mistralai_Mistral-7B-v0.1", "meta-llama_Llama-3.3-70B-Instruct"):
        assert validate_config(fixture_document(model_id)).warnings == []


# ---- mixture of experts ----------------------------------------------------------------------------------------

MIXTRAL_MOE = {"hidden_size": 4096, "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 14336}
DEEPSEEK_MOE = {
    "hidden_size": 7168,
    "num_experts": 256,
    "num_experts_per_tok": 8,
    "moe_intermediate_size": 2048,
    "shared_expert_intermediate_size": 2048,
}


def test_moe_counts_experts_and_router():
    """Mixtral's block: 8 experts of 3·h·I and a router h·E = 1,409,318,912."""
    assert count("MoELayer", **MIXTRAL_MOE) == 8 * 3 * 4096 * 14336 + 4096 * 8 == 1409318912
    assert catalogue.get("MoELayer").active_parameter_count(MIXTRAL_MOE) == 2 * 3 * 4096 * 14336 + 4096 * 8


def test_moe_with_a_shared_expert_counts_it_fully_in_active():
    """DeepSeek-V3's block: 256 routed, one shared expert of 2048, router 7168·256."""
    assert count("MoELayer", **DEEPSEEK_MOE) == 11320164352
    active = catalogue.get("MoELayer").active_parameter_count(DEEPSEEK_MOE)
    assert active == 8 * 3 * 7168 * 2048 + 3 * 7168 * 2048 + 7168 * 256


def test_moe_router_bias_and_shared_expert_gate():
    """A router bias adds E; Qwen2-MoE's shared-expert gate adds h."""
    specs = {**MIXTRAL_MOE, "shared_expert_intermediate_size": 128}
    assert count("MoELayer", **specs, router_bias=True) - count("MoELayer", **specs) == 8
    assert count("MoELayer", **specs, shared_expert_gate=True) - count("MoELayer", **specs) == 4096


def test_a_config_with_experts_gets_active_params():
    """active_params = total − routed experts not used: (E − k) · 3·h·I per MoE layer."""
    result = validate_config(moe_config())
    config = result.config
    assert config.total_params - config.active_params == 2 * (4 - 2) * 3 * 64 * 32
    document = config.to_document()
    assert list(document)[6:10] == [
        "total_params",
        "total_params_formatted",
        "active_params",
        "active_params_formatted",
    ]
    assert document["active_params_formatted"] == format_params(config.active_params) == "114.0K"
    assert validate_config(document).ok  # the derived values it writes are accepted back
    assert "active_params" not in validate_config(small_config()).config.to_document()


def test_rejects_a_wrong_active_params_unless_recomputed():
    """A stale active_params is active_params_mismatch; with recompute it is replaced and reported."""
    doc = validate_config(moe_config()).config.to_document()
    doc["active_params"] += 1
    assert issues(validate_config(doc)) == [("active_params", Code.ACTIVE_PARAMS_MISMATCH)]
    result = validate_config(doc, recompute=True)
    assert result.ok and [i.code for i in result.recomputed] == [Code.ACTIVE_PARAMS_MISMATCH]


def test_rejects_active_params_on_a_dense_config():
    """A dense config has no active_params: every parameter is active."""
    result = validate_config(small_config(active_params=5))
    assert issues(result) == [("active_params", Code.ACTIVE_PARAMS_WITHOUT_EXPERTS)]


def test_rejects_more_experts_per_token_than_experts():
    """k > E contradicts itself."""
    result = validate_config(moe_config(num_experts_per_tok=5))
    assert issues(result) == [(f"layer_types[{MLP}].specs.num_experts_per_tok", Code.EXPERTS_PER_TOKEN)]


def test_rejects_a_shared_expert_gate_without_a_shared_expert():
    """The gate scales the shared expert: none, no gate."""
    result = validate_config(moe_config(shared_expert_gate=True))
    assert issues(result) == [(f"layer_types[{MLP}].specs.shared_expert_gate", Code.SHARED_GATE_WITHOUT_SHARED_EXPERT)]


def test_rejects_a_moe_without_its_expert_count():
    """num_experts is required, named at its place."""
    doc = moe_config()
    del doc["layer_types"][MLP]["specs"]["num_experts"]
    assert issues(validate_config(doc)) == [(f"layer_types[{MLP}].specs.num_experts", Code.REQUIRED)]


# ---- multi-head latent attention ------------------------------------------------------------------------------------

MLA = {
    "hidden_size": 7168,
    "num_heads": 128,
    "q_lora_rank": 1536,
    "kv_lora_rank": 512,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
}


def test_mla_counts_latents_norms_and_projections():
    """DeepSeek-V3's attention: 187,107,328 per layer, worked out projection by projection."""
    q = 7168 * 1536 + 1536 + 1536 * 128 * 192
    kv = 7168 * (512 + 64) + 512 + 512 * 128 * (128 + 128)
    out = 128 * 128 * 7168
    assert count("MultiHeadLatentAttentionLayer", **MLA) == q + kv + out == 187107328


def test_mla_without_q_lora_projects_queries_directly():
    """q_lora_rank absent (DeepSeek-V2-Lite): one h → H·(nope+rope) projection, no query latent norm."""
    specs = {k: v for k, v in MLA.items() if k != "q_lora_rank"}
    kv_and_out = 7168 * 576 + 512 + 512 * 128 * 256 + 128 * 128 * 7168
    assert count("MultiHeadLatentAttentionLayer", **specs) == 7168 * 128 * 192 + kv_and_out


def test_mla_attention_bias():
    """attention_bias: on the query and key/value down-projections and the output."""
    extra = count("MultiHeadLatentAttentionLayer", **MLA, attention_bias=True) - count(
        "MultiHeadLatentAttentionLayer", **MLA
    )
    assert extra == 1536 + 512 + 64 + 7168


def test_rejects_an_mla_layer_without_its_latent_rank():
    """kv_lora_rank is required; a q_lora_rank of 0 is not a rank (leave it out for none)."""
    doc = small_config()
    specs = {**MLA, "hidden_size": 64, "q_lora_rank": 0}
    del specs["kv_lora_rank"]
    doc["layer_types"][ATTN] = {
        "name": "attention",
        "class": "MultiHeadLatentAttentionLayer",
        "count": 2,
        "specs": specs,
    }
    assert issues(validate_config(doc)) == [
        (f"layer_types[{ATTN}].specs.kv_lora_rank", Code.REQUIRED),
        (f"layer_types[{ATTN}].specs.q_lora_rank", Code.NOT_POSITIVE),
    ]


# ---- stacks, context length ----------------------------------------------------------------------------------------


def test_layer_types_of_one_kind_add_up_to_num_layers():
    """DeepSeek-V3's 3 dense + 58 MoE feed-forward layers make 61: no warning; 3 + 57 warns once."""
    document = fixture_document("deepseek-ai_DeepSeek-V3")
    assert validate_config(document).warnings == []
    document["layer_types"][2]["count"] = 57
    del document["published_total_params"], document["published_total_params_source"]  # one warning at a time
    result = validate_config(document, recompute=True)
    assert [(w.loc, w.code) for w in result.warnings] == [("layer_types[1].count", Code.COUNT_NOT_NUM_LAYERS)]
    assert "3 (feedforward_dense) + 57 (feedforward_moe) = 60" in result.warnings[0].msg


def test_sliding_and_global_attention_layer_types_add_up():
    """Gemma-2's 13 sliding-window and 13 global attention layer types make its 26 layers."""
    document = fixture_document("google_gemma-2-2b")
    names = [(lt["name"], lt["count"], lt["specs"].get("sliding_window")) for lt in document["layer_types"][:2]]
    assert names == [("attention_sliding", 13, 4096), ("attention_full", 13, None)]
    assert validate_config(document).warnings == []


def test_context_length_is_kept_and_checked():
    """max_position_embeddings: optional, a positive integer, written after vocab_size."""
    result = validate_config(small_config(max_position_embeddings=4096))
    assert list(result.config.to_document())[5:7] == ["vocab_size", "max_position_embeddings"]
    assert issues(validate_config(small_config(max_position_embeddings=0))) == [
        ("max_position_embeddings", Code.NOT_POSITIVE)
    ]
    assert "max_position_embeddings" not in dumps(validate_config(small_config()).config.to_document())
