"""State-space and hybrid families (mamba, mamba2, nemotron_h, jamba, falcon_h1, granitemoehybrid, lfm2):
the real config.json files count exactly what transformers 5.25 builds, and the mixers' cache and shard rules."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.planning import Deployment, plan_config
from registry.core.validation import Code
from tests.conftest import converted, hub_config, hub_counts, layer_named, layers_by_name, refusals

# Hub id: (total, active per token or None), as transformers 5.25 builds them (tests/test_hf_oracle.py).
REAL = {
    # Published: 31.6B total, ~3.6B active with embeddings (3.2B without the input embedding).
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": (31_577_937_344, 3_580_073_408),
    # Published (safetensors): 123,611,012,096 with the MTP layer's 2,942,324,736, which transformers does not build.
    "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16": (120_668_687_360, 12_770_216_960),
    "nvidia/NVIDIA-Nemotron-Nano-9B-v2": (8_888_227_328, None),  # published 8.89B
    "state-spaces/mamba-2.8b-hf": (2_768_345_600, None),  # published 2.8B
    "mistralai/Mamba-Codestral-7B-v0.1": (7_285_403_648, None),  # published 7.3B
    "ai21labs/AI21-Jamba-Mini-1.7": (51_570_323_328, 12_110_311_296),  # published 52B total, 12B active
    "tiiuae/Falcon-H1-7B-Instruct": (7_585_513_568, None),  # published 7.59B
    "ibm-granite/granite-4.0-h-small": (32_207_337_984, 8_803_121_664),  # published 32B total, 9B active
    "LiquidAI/LFM2-1.2B": (1_170_340_608, None),  # published 1,170,340,608
}


@pytest.mark.parametrize("hf_id", sorted(REAL))
def test_real_config_counts(hf_id: str) -> None:
    assert hub_counts(hf_id) == REAL[hf_id]


def test_nemotron_3_nano_layer_types() -> None:
    layer_types = layers_by_name(converted(hub_config("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")))
    assert {n: lt["count"] for n, lt in layer_types.items()} == {
        "mamba": 23,
        "attention": 6,
        "moe": 23,
        "norm": 53,
        "embedding": 1,
        "lm_head": 1,
    }
    assert layer_types["mamba"]["specs"]["state_dtype"] == "float32"  # mamba_ssm_cache_dtype
    assert layer_types["moe"]["specs"]["gated_experts"] is False


def test_nemotron_3_super_latent_moe() -> None:
    moe = layer_named(converted(hub_config("nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16")), "moe")
    assert moe["specs"]["moe_latent_size"] == 1024
    # 512 experts of 2 · 1024 · 2688, the router, the shared expert (2 · 4096 · 5376) and the latent projections.
    expected = 512 * 2 * 1024 * 2688 + 4096 * 512 + 2 * 4096 * 5376 + 2 * 4096 * 1024
    assert catalogue.get("MoELayer").parameter_count(moe["specs"]) == expected


def test_mamba2_cache_per_sequence() -> None:
    """Nemotron-3-Nano's Mamba-2 state: 3 conv positions of 4096 + 2 · 8 · 128 channels (bf16) and
    64 · 64 · 128 state elements (float32) per layer, 23 layers; 6 attention layers of 2 KV heads cache per token."""
    plan = plan_config(converted(hub_config("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")), Deployment()).as_dict()
    per_layer = 3 * (4096 + 2 * 8 * 128) * 2 + 64 * 64 * 128 * 4
    assert plan["kv_cache"]["state_bytes_per_sequence"] == 23 * per_layer == 49_082_368
    assert plan["kv_cache"]["bytes_per_token"] == 6 * 2 * 2 * 128 * 2
    mamba = layer_named(plan, "mamba")
    assert mamba["cache_rule"] == "state per sequence"


def test_mamba2_tensor_parallel_splits_heads_and_groups() -> None:
    plan = plan_config(converted(hub_config("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")), Deployment(tp=16)).as_dict()
    mamba = layer_named(plan, "mamba")
    # 4 heads of 64 and one of the 8 groups per rank (16 is a multiple of 8: each rank keeps its heads' group).
    inner, conv = 4 * 64, 4 * 64 + 2 * 1 * 128
    assert mamba["parameters_per_layer"] == 2688 * (inner + conv + 4) + conv * 5 + 3 * 4 + inner + inner * 2688
    assert mamba["state_bytes_per_sequence"] == 23 * (3 * conv * 2 + 4 * 64 * 128 * 4)


def test_tp_not_dividing_mamba_heads_is_refused_by_name() -> None:
    config = {**hub_config("state-spaces/mamba-2.8b-hf")}
    mamba2 = converted(hub_config("mistralai/Mamba-Codestral-7B-v0.1"))
    result = plan_config(mamba2, Deployment(tp=3))
    assert not result.ok
    assert any("mamba_num_heads (128)" in issue.msg for issue in result.errors)
    result = plan_config(converted(config), Deployment(tp=3))
    assert any("mamba_intermediate_size (5120)" in issue.msg for issue in result.errors)


def test_short_conv_state_and_split() -> None:
    doc = converted(hub_config("LiquidAI/LFM2-1.2B"))
    conv = layer_named(doc, "conv")
    assert conv["count"] == 10
    layer_class = catalogue.get("ShortConvLayer")
    assert layer_class.state_elements(conv["specs"]) == 2 * 2048
    assert layer_class.parameter_count(conv["specs"]) == 4 * 2048 * 2048 + 3 * 2048
    plan = plan_config(doc, Deployment(tp=2)).as_dict()
    row = layer_named(plan, "conv")
    assert row["parameters_per_layer"] == 2048 * 3 * 1024 + 1024 * 3 + 1024 * 2048


def _nemotron(**keys: Any) -> dict[str, Any]:
    base = {
        "model_type": "nemotron_h",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "vocab_size": 300,
        "hybrid_override_pattern": "M*",
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "mamba_num_heads": 8,
        "mamba_head_dim": 16,
    }
    return {k: v for k, v in {**base, **keys}.items() if v != "(absent)"}


def test_nemotron_pattern_is_required() -> None:
    assert refusals(_nemotron(hybrid_override_pattern="(absent)")) == [
        ("config.hybrid_override_pattern", Code.MISSING_DIMENSION)
    ]


def test_nemotron_pattern_and_layers_must_agree() -> None:
    assert refusals(_nemotron(hybrid_override_pattern="M*M")) == [("config.num_hidden_layers", Code.CONTRADICTION)]
    assert refusals(_nemotron(hybrid_override_pattern="MX")) == [("config.hybrid_override_pattern", Code.INVALID_VALUE)]
    assert refusals(_nemotron(layers_block_type=["mamba", "sliding_attention"])) == [
        ("config.layers_block_type[1]", Code.UNSUPPORTED_KEY)
    ]


def test_nemotron_refusals() -> None:
    assert refusals(_nemotron(num_key_value_heads=None)) == [("config.num_key_value_heads", Code.INVALID_VALUE)]
    assert refusals(_nemotron(mamba_ssm_cache_dtype="float8")) == [("config.mamba_ssm_cache_dtype", Code.INVALID_VALUE)]
    assert refusals(_nemotron(mamba_head_dim="(absent)")) == [("config.mamba_head_dim", Code.MISSING_DIMENSION)]


def test_nemotron_without_attention_needs_no_attention_keys() -> None:
    doc = converted(
        _nemotron(hybrid_override_pattern="MM", num_attention_heads="(absent)", num_key_value_heads="(absent)")
    )
    assert [lt["class"] for lt in doc["layer_types"]] == [
        "Mamba2Layer",
        "NormLayer",
        "EmbeddingLayer",
        "OutputHeadLayer",
    ]


def test_nemotron_never_ties_its_head() -> None:
    doc = converted(_nemotron(tie_word_embeddings=True))
    assert doc["layer_types"][-1]["specs"]["tie_word_embeddings"] is False


def test_mamba2_width_must_match() -> None:
    config = {**hub_config("mistralai/Mamba-Codestral-7B-v0.1"), "head_dim": 32}
    assert refusals(config) == [("config.num_heads", Code.CONTRADICTION)]


def test_mamba_intermediate_size_overrides_expand() -> None:
    config = {"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 300}
    assert converted(config)["layer_types"][0]["specs"]["mamba_intermediate_size"] == 128
    doc = converted({**config, "intermediate_size": 100})
    assert doc["layer_types"][0]["specs"]["mamba_intermediate_size"] == 100


def test_jamba_offsets_below_periods() -> None:
    config = {**hub_config("ai21labs/AI21-Jamba-Mini-1.7"), "attn_layer_offset": 8}
    assert refusals(config) == [("config.attn_layer_offset", Code.CONTRADICTION)]


def test_falcon_h1_head_width_must_match() -> None:
    config = {**hub_config("tiiuae/Falcon-H1-7B-Instruct"), "mamba_d_head": 64}
    assert refusals(config) == [("config.mamba_d_head", Code.CONTRADICTION)]
    config = {**hub_config("tiiuae/Falcon-H1-7B-Instruct"), "mamba_n_heads": 25}
    assert refusals(config) == [("config.mamba_n_heads", Code.CONTRADICTION)]


def test_granite_layer_types_one_per_layer() -> None:
    config = hub_config("ibm-granite/granite-4.0-h-small")
    config = {**config, "layer_types": config["layer_types"][:-1]}
    assert refusals(config) == [("config.layer_types", Code.CONTRADICTION)]


def test_granite_without_experts_is_dense() -> None:
    config = {**hub_config("ibm-granite/granite-4.0-h-small"), "num_local_experts": 0}
    ffn = layer_named(converted(config), "feedforward")
    assert (ffn["class"], ffn["specs"]["intermediate_size"]) == ("GatedMLPLayer", 1536)


def test_lfm2_refuses_an_unknown_layer_kind() -> None:
    config = hub_config("LiquidAI/LFM2-1.2B")
    config = {**config, "layer_types": ["sliding_attention", *config["layer_types"][1:]]}
    assert refusals(config) == [("config.layer_types[0]", Code.UNSUPPORTED_KEY)]
