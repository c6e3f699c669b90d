"""Training activations (registry.core.activations) against Korthikanti et al. 2022, "Reducing Activation
Recomputation in Large Transformer Models": Table 2's per-layer formulas, Figure 1's 22B model, Table 3's models."""

from __future__ import annotations

import copy
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from registry.core import validate_config
from registry.core.planning import parse_deployment, plan_config
from tests.conftest import LLAMA, fixture_document, store

GIB = 2**30
# Table 3: attention heads, hidden size, layers, tensor and pipeline parallel sizes, micro-batch (s = 2048).
PAPER = {
    "22B": (64, 6144, 48, 8, 1, 4),
    "175B": (96, 12288, 96, 8, 8, 1),
    "530B": (128, 20480, 105, 8, 35, 1),
    "1T": (160, 25600, 128, 8, 64, 1),
}
VOCAB = 51200


def paper_model(heads: int, hidden: int, layers: int) -> dict[str, Any]:
    """A GPT of the paper's shape (MHA, a 4h MLP, LayerNorms) built from gpt2's document."""
    gpt2 = fixture_document("openai-community_gpt2")
    doc = {k: v for k, v in gpt2.items() if k not in ("total_params", "total_params_formatted")}
    doc |= {"model_id": "paper_gpt", "hf_model_id": "paper/gpt", "name": "paper", "hidden_size": hidden,
            "num_layers": layers, "vocab_size": VOCAB, "max_position_embeddings": 2048}  # fmt: skip
    doc["layer_types"] = []
    for lt in copy.deepcopy(gpt2["layer_types"]):
        specs = {k: v for k, v in lt["specs"].items() if k != "parameter_count"}
        specs |= {k: v for k, v in (("hidden_size", hidden), ("vocab_size", VOCAB)) if k in specs}
        if "max_position_embeddings" in specs:
            specs["max_position_embeddings"] = 2048
        if lt["class"] == "AttentionLayer":
            specs |= {"num_heads": heads, "head_dim": hidden // heads}
        if lt["class"] == "MLPLayer":
            specs["intermediate_size"] = 4 * hidden
        count = {"AttentionLayer": layers, "MLPLayer": layers, "NormLayer": 2 * layers + 1}.get(lt["class"], 1)
        doc["layer_types"].append({**lt, "count": count, "specs": specs})
    result = validate_config(doc)
    assert result.ok, result.errors
    return result.config.to_document()


def training(doc: dict[str, Any], **query: Any) -> dict[str, Any]:
    deployment, issues = parse_deployment({"mode": "training", **{k: str(v) for k, v in query.items()}})
    assert issues == [], issues
    plan = plan_config(doc, deployment)
    assert plan.ok, plan.errors
    result: dict[str, Any] = plan.as_dict()["training"]
    return result


def paper_bytes(case: str, s: int, b: int, h: int, a: int, t: int, layers: int) -> int:
    """Table 2, per layer × L (the first stage holds p micro-batches of L/p layers), exact in integers."""
    per_layer_t = {  # t × bytes of one layer
        "none": s * b * h * (10 * t + 24) + 5 * a * s * s * b,
        "sequence": s * b * h * 34 + 5 * a * s * s * b,
        "selective": s * b * h * (10 * t + 24),
        "both": s * b * h * 34,
        "full": 2 * s * b * h * t,
        "full_sequence": 2 * s * b * h,
    }[case]
    return layers * per_layer_t // t


CASES = {
    "none": {},
    "sequence": {"sequence_parallel": "true"},
    "selective": {"recompute": "selective"},
    "both": {"recompute": "selective", "sequence_parallel": "true"},
    "full": {"recompute": "full"},
    "full_sequence": {"recompute": "full", "sequence_parallel": "true"},
}


def test_figure_1_22b_exactly():
    """22B, s = 2048, b = 4, t = 8: 59.25 GiB without recomputation, 9.5625 GiB with SP + selective."""
    doc = paper_model(64, 6144, 48)
    assert training(doc, tp=8, context=2048, micro_batch=4)["activation_bytes"] == 63619203072 == int(59.25 * GIB)
    both = training(doc, tp=8, context=2048, micro_batch=4, recompute="selective", sequence_parallel="true")
    assert both["activation_bytes"] == 10267656192 == int(9.5625 * GIB)


@pytest.mark.parametrize("model", PAPER)
@pytest.mark.parametrize("case", CASES)
def test_table_3_models_under_each_recomputation(model, case):
    a, h, layers, t, p, b = PAPER[model]
    doc = paper_model(a, h, layers)
    result = training(doc, tp=t, pp=p, context=2048, micro_batch=b, **CASES[case])
    assert result["activation_bytes"] == paper_bytes(case, 2048, b, h, a, t, layers)
    assert result["micro_batches_in_flight"] == p


def test_embedding_and_output_lines_follow_megatron():
    """Megatron-LM: embedding (8sb + sbh)·p (/t with SP); output with pp = 1: 4sb(h + V)/t (SP) or 2(sbV/t + sbh)."""
    doc = paper_model(64, 6144, 48)
    s, b, h, t = 2048, 4, 6144, 8
    plain = training(doc, tp=t, context=s, micro_batch=b)
    assert plain["embedding_activation_bytes"] == 8 * s * b + s * b * h
    assert plain["output_activation_bytes"] == 2 * (s * b * VOCAB // t + s * b * h)
    sp = training(doc, tp=t, context=s, micro_batch=b, sequence_parallel="true")
    assert sp["embedding_activation_bytes"] == (8 * s * b + s * b * h) // t
    assert sp["output_activation_bytes"] == 4 * s * b * (h + VOCAB) // t
    assert training(doc, tp=t, pp=2, context=s, micro_batch=b)["output_activation_bytes"] == 0


def test_interleaved_schedule_multiplies_by_one_plus_p_minus_1_over_pv():
    """175B at p = 8, v = 3: × (1 + 7/24) over 1F1B's L layers' worth."""
    a, h, layers, t, p, b = PAPER["175B"]
    doc = paper_model(a, h, layers)
    result = training(doc, tp=t, pp=p, interleave=3, context=2048, recompute="selective", sequence_parallel="true")
    assert result["activation_bytes"] == -(-paper_bytes("both", 2048, b, h, a, t, layers) * 31 // 24)


def test_gqa_and_gated_mlp_use_their_real_widths():
    """Llama-3.3-70B (64 heads, 8 KV heads, head_dim 128, gated MLP 28672) at t = 8, s = 4096, b = 1, selective:
    per token 5h + 5h outside tp; Q 2·8192, K and V 2·2·1024, output input 2·8192, gate/up/product 6·28672 split."""
    h, s, t = 8192, 4096, 8
    per_token_t = (5 * h + 5 * h) * t + (2 * 8192 + 2 * 1024 + 2 * 1024 + 2 * 8192) + 6 * 28672
    result = training(fixture_document(LLAMA), tp=t, context=s, recompute="selective")
    assert result["activation_bytes"] == 80 * per_token_t * s // t


def test_moe_counts_the_top_k_experts():
    """DeepSeek-V3's MoE layers: 5h + 2·k·h outside tp, k · 6 · moe_intermediate + 6 · shared split by t."""
    doc = fixture_document("deepseek-ai_DeepSeek-V3")
    plain = training(doc, tp=8, context=1024, recompute="selective")
    moe = 5 * 7168 + 2 * 8 * 7168 + (8 * 6 * 2048 + 6 * 2048) // 8
    dense = 5 * 7168 + 6 * 18432 // 8
    mla_heads = 128
    mla = 5 * 7168 + 2 * 1536 + 2 * (512 + 64) + (2 * mla_heads * 192 * 2 + 2 * mla_heads * 128 * 2) // 8
    assert plain["activation_bytes"] == 1024 * (58 * moe + 3 * dense + 61 * mla)


def test_training_fit_adds_activations_and_gives_the_largest_micro_batch():
    doc = paper_model(64, 6144, 48)
    result = training(doc, tp=8, context=2048, recompute="selective", sequence_parallel="true", device="H100-SXM")
    room = int(80 * GIB * 0.9) - result["state_bytes"]
    one = training(doc, tp=8, context=2048, recompute="selective", sequence_parallel="true")
    per_sequence = one["activation_bytes"] + one["embedding_activation_bytes"] + one["output_activation_bytes"]
    assert result["max_micro_batch"] == room // per_sequence
    assert result["total_bytes"] == result["state_bytes"] + per_sequence


def test_a_training_plan_counts_no_kv_cache_and_says_why_max_context_is_null():
    """Issue 17: a training plan printed a KV cache it did not count and a null max_context without a note."""
    deployment = parse_deployment({"mode": "training", "device": "H100-SXM", "context": "4096"})[0]
    plan = plan_config(fixture_document(LLAMA), deployment)
    body = plan.as_dict()
    assert body["device"]["kv_cache_bytes"] is None and body["fit"]["max_context"] is None
    assert any("max_context is null in training" in note for note in plan.notes)
    assert body["device"]["total_bytes"] == body["training"]["total_bytes"] > body["training"]["state_bytes"]


@pytest.mark.django_db
def test_plan_command_reproduces_figure_1():
    """manage.py plan --mode training: 59.25 GiB, and 9.56 GiB (9.5625) with --sequence-parallel --recompute
    selective; the table says GiB."""
    store(paper_model(64, 6144, 48))
    args = ["plan", "paper_gpt", "--mode", "training", "--tp", "8", "--context", "2048", "--micro-batch", "4"]
    out = StringIO()
    call_command(*args, stdout=out)
    assert "63,619,203,072 B       59.25 GiB" in out.getvalue() and " GB" not in out.getvalue()
    out = StringIO()
    call_command(*args, "--recompute", "selective", "--sequence-parallel", "--json", stdout=out)
    assert json.loads(out.getvalue())["training"]["activation_bytes"] == 9.5625 * GIB
