"""Qwen3-Next, Qwen3.5, Qwen3-VL and Kimi-Linear: real config.json files imported exactly, the linear attention
classes' formulas and cache, and the importer's refusals for these families."""

from __future__ import annotations

from typing import Any

import pytest

from registry.core import catalogue
from registry.core.planning import DEVICES, Deployment, plan_config
from registry.core.validation import Code
from tests.conftest import converted, hub_config, hub_counts, layer_named, param_counts, refusals

# Hub id: (total, active) as transformers 5.25 builds the text model (tests/test_hf_oracle.py checks the same).
REAL = {
    "Qwen/Qwen3-Next-80B-A3B-Instruct": (79_674_391_296, 3_874_929_408),
    "Qwen/Qwen3.5-397B-A17B": (396_346_350_336, 17_349_040_896),
    "Qwen/Qwen3.5-35B-A3B": (34_660_610_688, 3_454_988_928),
    "Qwen/Qwen3.5-0.8B": (752_393_024, None),
    "Qwen/Qwen3-VL-8B-Instruct": (8_190_735_360, None),
    "Qwen/Qwen3-VL-30B-A3B-Instruct": (30_532_122_624, 3_353_032_704),
    "moonshotai/Kimi-Linear-48B-A3B-Instruct": (49_122_675_072, 3_484_453_248),
}
# The vision towers transformers builds in the wrappers (model.visual): not counted by the import.
VISION = {
    "Qwen/Qwen3.5-397B-A17B": 456_010_480,
    "Qwen/Qwen3.5-35B-A3B": 446_571_248,
    "Qwen/Qwen3.5-0.8B": 100_592_896,
    "Qwen/Qwen3-VL-8B-Instruct": 576_388_336,
    "Qwen/Qwen3-VL-30B-A3B-Instruct": 538_631_408,
}


@pytest.mark.parametrize("hf_id", sorted(REAL))
def test_real_config_counts_exactly_what_transformers_builds(hf_id: str) -> None:
    assert hub_counts(hf_id) == REAL[hf_id]


def test_published_figures() -> None:
    """The model cards' rounded figures: Qwen3-Next 80B (A3B); Qwen3.5-397B-A17B and -35B-A3B, Qwen3.5-0.8B and
    Qwen3-VL-8B (8.77B) / -30B-A3B (31.1B) with their vision towers; Kimi-Linear 48B without its embedding and
    head (2 · 163,840 · 2,304)."""
    billions = {hf_id: (total + VISION.get(hf_id, 0)) / 1e9 for hf_id, (total, _) in REAL.items()}
    assert round(billions["Qwen/Qwen3-Next-80B-A3B-Instruct"]) == 80
    assert round(billions["Qwen/Qwen3.5-397B-A17B"]) == 397
    assert round(REAL["Qwen/Qwen3.5-397B-A17B"][1] / 1e9) == 17
    assert round(billions["Qwen/Qwen3.5-35B-A3B"]) == 35
    assert round(billions["Qwen/Qwen3.5-0.8B"], 1) == 0.9  # 0.85B with the vision tower: "0.8B"
    assert round(billions["Qwen/Qwen3-VL-8B-Instruct"], 2) == 8.77
    assert round(billions["Qwen/Qwen3-VL-30B-A3B-Instruct"], 1) == 31.1
    assert round((REAL["moonshotai/Kimi-Linear-48B-A3B-Instruct"][0] - 2 * 163840 * 2304) / 1e9) == 48
    for hf_id in (
        "Qwen/Qwen3-Next-80B-A3B-Instruct",
        "Qwen/Qwen3.5-35B-A3B",
        "moonshotai/Kimi-Linear-48B-A3B-Instruct",
    ):
        assert 3e9 <= REAL[hf_id][1] < 4e9  # "A3B"


def test_qwen3_next_layout() -> None:
    """Full attention every 4th layer (gated, per-head norms), Gated DeltaNet elsewhere, MoE with a gated shared
    expert everywhere."""
    document = converted(hub_config("Qwen/Qwen3-Next-80B-A3B-Instruct"))
    attention = layer_named(document, "full_attention")
    assert (attention["class"], attention["count"], attention["specs"]["layer_idx"]) == (
        "GroupedQueryAttentionLayer",
        12,
        3,
    )
    assert attention["specs"]["output_gate"] == "elementwise" and attention["specs"]["qk_norm"] == "per_head"
    linear = layer_named(document, "linear_attention")
    assert (linear["class"], linear["count"]) == ("GatedDeltaNetLayer", 36)
    assert "state_dtype" not in linear["specs"]  # no mamba_ssm_dtype: the cache's dtype
    moe = layer_named(document, "feedforward")["specs"]
    assert moe["shared_expert_intermediate_size"] == 512 and moe["shared_expert_gate"] is True


def test_wrappers_import_their_text_model_with_notes() -> None:
    document = converted(hub_config("Qwen/Qwen3.5-35B-A3B"))
    assert layer_named(document, "linear_attention")["specs"]["state_dtype"] == "float32"  # mamba_ssm_dtype
    notes = document["validation_notes"]
    assert "qwen3_5_moe_text" in notes and "vision" in notes and "mtp_num_hidden_layers" in notes
    dense = converted(hub_config("Qwen/Qwen3.5-0.8B"))
    assert layer_named(dense, "feedforward")["class"] == "GatedMLPLayer"
    assert layer_named(dense, "lm_head")["specs"]["tie_word_embeddings"] is True


def test_gated_delta_net_formula_and_state_by_hand() -> None:
    """h 8, 1 key head of 2, 2 value heads of 3, kernel 2: key 2, value 6."""
    gdn = catalogue.get("GatedDeltaNetLayer")
    specs = {
        "hidden_size": 8,
        "linear_num_key_heads": 1,
        "linear_num_value_heads": 2,
        "linear_key_head_dim": 2,
        "linear_value_head_dim": 3,
        "linear_conv_kernel_dim": 2,
    }
    # qkvz 8·16 + ba 8·4 + conv 10·2 + A_log, dt_bias 4 + norm 3 + out 6·8
    assert gdn.parameter_count(specs) == 128 + 32 + 20 + 4 + 3 + 48
    assert gdn.state_elements(specs) == 1 * 10 and gdn.recurrent_state_elements(specs) == 2 * 2 * 3
    assert gdn.cache_rule(specs) == "state per sequence"


def test_kimi_delta_attention_formula_and_state_by_hand() -> None:
    """h 8, 2 heads of 3, kernel 2: width 6."""
    kda = catalogue.get("KimiDeltaAttentionLayer")
    specs = {"hidden_size": 8, "linear_num_heads": 2, "linear_head_dim": 3, "linear_conv_kernel_dim": 2}
    # q, k, v 3·8·6 + convs 3·6·2 + gates 2·(8·3 + 3·6) + dt_bias 6 + A_log 2 + b 8·2 + norm 3 + o 6·8
    assert kda.parameter_count(specs) == 144 + 36 + 84 + 6 + 2 + 16 + 3 + 48
    assert kda.state_elements(specs) == 3 * 1 * 6 and kda.recurrent_state_elements(specs) == 2 * 3 * 3


def test_hybrid_cache_by_hand() -> None:
    """Qwen3-Next in bf16: 12 full layers · 2 · 2 KV heads · 256 · 2 bytes = 24,576 bytes per token; 36 Gated
    DeltaNet layers hold (3 · 8,192 + 32 · 128 · 128) · 2 bytes = 1,097,728 bytes per sequence each."""
    document = converted(hub_config("Qwen/Qwen3-Next-80B-A3B-Instruct"))
    plan = plan_config(document, Deployment(context=8192)).as_dict()
    assert plan["kv_cache"]["bytes_per_token"] == 24576
    assert plan["kv_cache"]["state_bytes_per_sequence"] == 36 * 1_097_728
    rules = {lt["name"]: lt["cache_rule"] for lt in plan["layer_types"]}
    assert rules["full_attention"] == "per_token" and rules["linear_attention"] == "state per sequence"


def test_state_dtype_float32_by_hand() -> None:
    """Qwen3.5-35B-A3B (mamba_ssm_dtype float32) in bf16: 30 layers · (3 · 8,192 · 2 + 32 · 128 · 128 · 4)."""
    document = converted(hub_config("Qwen/Qwen3.5-35B-A3B"))
    plan = plan_config(document, Deployment(context=4096)).as_dict()
    assert plan["kv_cache"]["state_bytes_per_sequence"] == 30 * (3 * 8192 * 2 + 32 * 128 * 128 * 4)
    assert plan["kv_cache"]["bytes_per_token"] == 10 * 2 * 2 * 256 * 2


def test_hybrid_max_context_is_limited_by_its_full_attention_layers_only() -> None:
    """Qwen3-Next at tp=4 on an H200: each rank keeps one of the 2 KV heads (12 · 2 · 256 · 2 = 12,288 bytes per
    token); the linear layers' state is paid once per sequence, whatever the context."""
    document = converted(hub_config("Qwen/Qwen3-Next-80B-A3B-Instruct"))
    plan = plan_config(document, Deployment(tp=4, context=262144, device_memory=DEVICES["H200"])).as_dict()
    room = plan["fit"]["usable_bytes"] - plan["device"]["weight_bytes"]
    room -= plan["kv_cache"]["state_bytes_per_sequence_per_device"]
    assert plan["kv_cache"]["bytes_per_token_per_device"] == 12288
    assert plan["kv_cache"]["state_bytes_per_sequence_per_device"] == 36 * 1_097_728 // 4
    assert plan["fit"]["max_context"] == room // 12288


def test_tp_that_does_not_divide_linear_heads_is_refused_by_name() -> None:
    config = {**hub_config("Qwen/Qwen3-Next-80B-A3B-Instruct"), "linear_num_key_heads": 3, "linear_num_value_heads": 6}
    errors = plan_config(converted(config), Deployment(tp=2)).errors
    assert [(i.loc, i.code) for i in errors] == [("tp", Code.NOT_DIVISIBLE)]
    assert "linear_num_key_heads (3)" in errors[0].msg and "GatedDeltaNetLayer" in errors[0].msg
    kimi = {**hub_config("moonshotai/Kimi-Linear-48B-A3B-Instruct"), "num_attention_heads": 4}
    kimi["linear_attn_config"] = {**kimi["linear_attn_config"], "num_heads": 6}
    errors = plan_config(converted(kimi), Deployment(tp=4)).errors
    assert [(i.loc, i.code) for i in errors] == [("tp", Code.NOT_DIVISIBLE)]
    assert "linear_num_heads (6)" in errors[0].msg


# ---- Qwen refusals -------------------------------------------------------------------------------------------


def _next(**keys: Any) -> dict[str, Any]:
    return {**hub_config("Qwen/Qwen3-Next-80B-A3B-Instruct"), **keys}


def test_an_output_gate_turned_off_is_refused() -> None:
    """transformers builds the doubled Q projection whatever attn_output_gate says."""
    assert refusals(_next(attn_output_gate=False)) == [("config.attn_output_gate", Code.UNSUPPORTED_KEY)]
    assert param_counts(_next(attn_output_gate=True)) == REAL["Qwen/Qwen3-Next-80B-A3B-Instruct"]


def test_linear_attention_dimensions_are_required() -> None:
    config = _next()
    del config["linear_num_value_heads"]
    assert refusals(config) == [("config.linear_num_value_heads", Code.MISSING_DIMENSION)]


def test_value_heads_must_be_a_multiple_of_key_heads() -> None:
    assert refusals(_next(linear_num_value_heads=24, linear_num_key_heads=16)) == [
        ("config.linear_num_value_heads", Code.CONTRADICTION)
    ]


def test_layer_types_name_only_full_and_linear_attention() -> None:
    kinds = ["sliding_attention"] + ["linear_attention"] * 47
    assert refusals(_next(layer_types=kinds)) == [("config.layer_types[0]", Code.UNSUPPORTED_KEY)]
    assert refusals(_next(layer_types=["linear_attention"])) == [("config.layer_types", Code.INVALID_VALUE)]


def test_null_head_dim_or_kv_heads_is_refused() -> None:
    """Qwen3NextConfig types both as integers: transformers cannot build null."""
    assert refusals(_next(head_dim=None)) == [("config.head_dim", Code.INVALID_VALUE)]
    assert refusals(_next(num_key_value_heads=None)) == [("config.num_key_value_heads", Code.INVALID_VALUE)]


def test_an_unknown_state_dtype_is_refused() -> None:
    assert refusals(_next(mamba_ssm_dtype="fp8")) == [("config.mamba_ssm_dtype", Code.INVALID_VALUE)]
    assert "state_dtype" not in layer_named(converted(_next(mamba_ssm_dtype="auto")), "linear_attention")["specs"]


def test_layer_pattern_and_dense_layers() -> None:
    """full_attention_interval 2 and mlp_only_layers: two dense layers, the rest MoE."""
    document = converted(_next(full_attention_interval=2, mlp_only_layers=[0, 5]))
    assert layer_named(document, "full_attention")["count"] == 24
    assert layer_named(document, "feedforward_dense")["count"] == 2
    assert layer_named(document, "feedforward_moe")["count"] == 46


def test_a_wrapper_without_text_config_is_refused() -> None:
    config = {k: v for k, v in hub_config("Qwen/Qwen3.5-35B-A3B").items() if k != "text_config"}
    config |= hub_config("Qwen/Qwen3.5-35B-A3B")["text_config"] | {"model_type": "qwen3_5_moe"}
    assert refusals(config) == [("config.text_config", Code.MISSING_DIMENSION)]


# ---- Kimi-Linear ---------------------------------------------------------------------------------------------


def _kimi(**keys: Any) -> dict[str, Any]:
    return {**hub_config("moonshotai/Kimi-Linear-48B-A3B-Instruct"), **keys}


def test_kimi_linear_layout() -> None:
    document = converted(_kimi())
    attention, linear = layer_named(document, "full_attention"), layer_named(document, "linear_attention")
    assert (attention["class"], attention["count"], attention["specs"]["layer_idx"]) == (
        "MultiHeadLatentAttentionLayer",
        7,
        3,
    )
    assert (linear["class"], linear["count"]) == ("KimiDeltaAttentionLayer", 20)
    assert layer_named(document, "feedforward_dense")["count"] == 1
    assert layer_named(document, "feedforward_moe")["specs"]["shared_expert_intermediate_size"] == 1024


def test_kimi_linear_never_ties_its_head() -> None:
    document = converted(_kimi(tie_word_embeddings=True))
    assert layer_named(document, "lm_head")["specs"]["tie_word_embeddings"] is False
    assert "never ties" in document["validation_notes"]


def test_kimi_layer_lists_must_come_together_and_cover_every_layer() -> None:
    only_full = _kimi()
    only_full["linear_attn_config"] = {k: v for k, v in only_full["linear_attn_config"].items() if k != "kda_layers"}
    assert refusals(only_full) == [("config.linear_attn_config.full_attn_layers", Code.CONTRADICTION)]
    gap = _kimi()
    gap["linear_attn_config"] = {**gap["linear_attn_config"], "kda_layers": [1, 2, 3]}
    assert refusals(gap) == [("config.linear_attn_config.kda_layers", Code.CONTRADICTION)]


@pytest.mark.parametrize(
    ("keys", "loc"),
    [
        ({"routed_expert_hidden_size": 1152}, "config.routed_expert_hidden_size"),
        ({"mla_use_output_gate": True}, "config.mla_use_output_gate"),
        ({"attn_res_block_size": 12}, "config.attn_res_block_size"),
        ({"moe_layer_freq": 2}, "config.moe_layer_freq"),
    ],
)
def test_kimi_keys_transformers_does_not_build_are_refused(keys: dict[str, Any], loc: str) -> None:
    assert refusals(_kimi(**keys)) == [(loc, Code.UNSUPPORTED_KEY)]


def test_kimi_full_rank_gate_is_refused() -> None:
    config = _kimi()
    config["linear_attn_config"] = {**config["linear_attn_config"], "use_full_rank_gate": True}
    assert refusals(config) == [("config.linear_attn_config.use_full_rank_gate", Code.UNSUPPORTED_KEY)]
