"""The performance model: exact per-layer work and messages, its formulas, and the expected-experts rule."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from registry.core.devices import DeviceSpec, Efficiency, Link, load_devices
from registry.core.examples import example_config
from registry.core.performance import (
    DECODE,
    PREFILL,
    Layout,
    Workload,
    all_to_all,
    attended,
    cost_per_million,
    estimate_config,
    expected_experts,
    layer_messages,
    layer_work,
    op_time,
    ring_all_reduce,
    steady_state,
)
from registry.core.planning import Deployment, plan_config
from tests.conftest import moe_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GQA = {"hidden_size": 4096, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128}


def test_dense_mlp_decode_step_by_hand():
    """A gated MLP (4096 → 14336), one token, bf16: 2 · 3 · h · i FLOPs, its weights read once, h in and out."""
    w = layer_work("GatedMLPLayer", {"hidden_size": 4096, "intermediate_size": 14336}, phase=DECODE, n=100)
    assert w.flops == 2 * 3 * 4096 * 14336 == 352_321_536
    assert w.weight_bytes == 3 * 4096 * 14336 * 2
    assert (w.kv_read_bytes, w.kv_write_bytes, w.state_bytes) == (0, 0, 0)
    assert w.activation_bytes == 2 * 4096 * 2


def test_gqa_decode_step_at_context_8192_by_hand():
    """Llama-3-8B attention at context 8192: projections 2 · 41,943,040 plus 2 · heads · 2 · head_dim · 8192
    FLOPs; K and V of 8 heads × 128 for 8192 tokens read, for one token written (bf16)."""
    w = layer_work("GroupedQueryAttentionLayer", GQA, phase=DECODE, n=8192)
    params = 4096 * 4096 + 2 * 4096 * 1024 + 4096 * 4096
    assert params == 41_943_040
    assert w.flops == 2 * params + 2 * 32 * 2 * 128 * 8192 == 218_103_808
    assert w.weight_bytes == 2 * params
    assert w.kv_read_bytes == 2 * 8 * 128 * 8192 * 2 == 33_554_432
    assert w.kv_write_bytes == 2 * 8 * 128 * 2
    assert w.activation_bytes == 16_384


def test_gqa_prefill_and_tp_split_by_hand():
    """Prefill of 4 tokens at tp=2: each device has 16 query and 4 KV heads; attention over 1+2+3+4 tokens."""
    w = layer_work("GroupedQueryAttentionLayer", GQA, phase=PREFILL, n=4, deployment=Deployment(tp=2))
    params = 4096 * 2048 + 2 * 4096 * 512 + 2048 * 4096
    assert w.flops == 2 * params * 4 + 2 * 16 * 2 * 128 * 10
    assert w.kv_write_bytes == 2 * 4 * 128 * 4 * 2
    assert w.kv_read_bytes == 0


def test_moe_dispatch_at_ep8_by_hand():
    """DeepSeek-V3's MoE (h 7168, k 8) at ep 8, one token: dispatch and combine of 8 · 7168 · 2 bytes each; no
    all-reduce without tp."""
    specs = {"hidden_size": 7168, "num_experts": 256, "num_experts_per_tok": 8, "moe_intermediate_size": 2048}
    m = layer_messages("MoELayer", specs, tokens=1, deployment=Deployment(ep=8))
    assert (m.dispatch, m.combine, m.all_reduce) == (8 * 7168 * 2, 8 * 7168 * 2, 0) == (114_688, 114_688, 0)


def test_moe_decode_reads_only_touched_experts_by_hand():
    """With 3 of the 32 local experts touched at ep 8, the weights read are the router plus 3 experts."""
    specs = {"hidden_size": 7168, "num_experts": 256, "num_experts_per_tok": 8, "moe_intermediate_size": 2048}
    w = layer_work("MoELayer", specs, phase=DECODE, n=10, deployment=Deployment(ep=8), touched=3)
    assert w.weight_bytes == (7168 * 256 + 3 * 3 * 7168 * 2048) * 2
    assert w.flops == 2 * (7168 * 256 + 8 * 3 * 7168 * 2048)


def test_tp8_all_reduce_message_by_hand():
    """A decoder layer at tp=8 all-reduces tokens · hidden_size · 2 bytes: 16,384 for one token of width 8192."""
    specs = {"hidden_size": 8192, "num_heads": 64, "num_kv_heads": 8, "head_dim": 128}
    assert (
        layer_messages("GroupedQueryAttentionLayer", specs, tokens=1, deployment=Deployment(tp=8)).all_reduce == 16_384
    )
    assert (
        layer_messages(
            "GatedMLPLayer", {"hidden_size": 8192, "intermediate_size": 28672}, tokens=4, deployment=Deployment(tp=8)
        ).all_reduce
        == 65_536
    )
    assert (
        layer_messages(
            "NormLayer", {"hidden_size": 8192, "has_bias": False}, tokens=1, deployment=Deployment(tp=8)
        ).all_reduce
        == 0
    )


def test_formulas_on_small_cases():
    """Roofline, ring all-reduce, all-to-all, cost and attended tokens on numbers worked by hand."""
    assert op_time(1e12, 1e9, 1e15, 1e12, 0.5, 0.5, 1e-6) == pytest.approx(2e-3 + 1e-6)  # compute-bound
    assert op_time(1e9, 1e10, 1e15, 1e12, 0.5, 0.5, 0.0) == pytest.approx(2e-2)  # memory-bound
    assert ring_all_reduce(1000, 4, 1e9, 1e-6) == pytest.approx(2 * 3 / 4 * 1000 / 1e9 + 1e-6)
    assert ring_all_reduce(1000, 1, 1e9, 1e-6) == 0
    assert all_to_all(800, 8, 1e9, 0.0) == pytest.approx(700e-9)
    assert cost_per_million(2.0, 8, 1000.0) == pytest.approx(2.0 * 8 / 3.6e6 * 1e6)
    assert int(attended(5, 3, PREFILL)) == 1 + 2 + 3 + 3 + 3
    assert int(attended(5, 2**31, PREFILL)) == 15
    assert int(attended(8192, 4096, DECODE)) == 4096


def test_steady_state_at_concurrency_one_is_prefill_then_steps():
    """One request in flight: TTFT is its prefill, TPOT the decode step, latency TTFT + (osl − 1) · TPOT."""
    ttft, tpot, latency = steady_state(np.array(0.2), np.array(0.01), 1, 101)
    assert (float(ttft), float(tpot), float(latency)) == pytest.approx((0.2, 0.01, 1.2))
    ttft, tpot, _ = steady_state(np.array(0.2), np.array(0.01), 8, 101)
    assert float(tpot) > 0.01 and float(ttft) > 0.2  # other prefills stall decode, prompts queue


def test_expected_experts_matches_a_simulation():
    """E · (1 − (1 − k/E)^c) against 20,000 simulated batches of c tokens each routing to k distinct experts."""
    rng = np.random.default_rng(0)
    for experts, k, c in ((64, 4, 16), (256, 8, 8), (8, 2, 3)):
        trials = 20_000
        picks = np.argsort(rng.random((trials, c, experts)), axis=2)[:, :, :k].reshape(trials, -1)
        distinct = np.array([len(np.unique(row)) for row in picks])
        assert distinct.mean() == pytest.approx(expected_experts(experts, k, c), rel=0.01)


def test_fit_agrees_with_the_planner():
    """The model's memory per device is plan_config's total at context isl + osl and batch ceil(c / ep)."""
    doc = json.loads((FIXTURES / "mistralai_Mixtral-8x7B-v0.1.json").read_text())
    device = load_devices().get("H100-SXM")
    out = estimate_config(doc, device, Layout(tp=2, ep=2), Workload(1000, 200, 5), dtype="fp8", kv_dtype="fp8")
    plan = plan_config(
        doc,
        Deployment(dtype="fp8", kv_dtype="fp8", context=1200, batch=3, tp=2, ep=2, device_memory=device.memory_bytes),
    )
    assert out["memory_bytes_per_device"] == plan.outputs.device.total_bytes
    assert out["fits"] is plan.fits is True


def test_a_layout_that_does_not_divide_is_refused_with_the_planners_code():
    """tp=3 does not divide Llama's heads: the estimate carries the planner's not_divisible error."""
    doc = json.loads((FIXTURES / "meta-llama_Llama-3.3-70B-Instruct.json").read_text())
    out = estimate_config(doc, load_devices().get("H100-SXM"), Layout(tp=3), Workload(100, 10, 1))
    assert out["errors"] and out["errors"][0]["code"] == "not_divisible"


def _ideal_device(*, peak: float = 1e12, latency_us: float = 0.0, link: float = 1e9) -> DeviceSpec:
    """H100-SXM with round figures: efficiencies 1, no op overhead, near-infinite memory bandwidth."""
    h100 = load_devices().get("H100-SXM")
    assert h100 is not None
    return dataclasses.replace(
        h100,
        peak_flops={"bf16": int(peak)},
        memory_bandwidth=10**30,
        scale_up=Link(int(link), latency_us, 8),
        efficiency={"default": Efficiency(1.0, 1.0, 0.0)},
    )


def _tiny(**extra: object) -> dict:
    """The example config (hidden 64, 2 layers, vocab 1000, 4 heads of 16, 2 KV heads, FFN 256)."""
    return example_config(**extra)


def test_collectives_follow_only_attention_feedforward_and_moe_layers():
    """tp=2, one decode token, a 1 s collective latency: 2 layers × (attention + MLP) = 4 all-reduces of
    64 · 2 bytes each, 2 · (1/2) · 128 B / 1 GB/s + 1 s; the 5 norms, the embedding and the head pay nothing."""
    device = _ideal_device(latency_us=1e6)
    out = estimate_config(_tiny(), device, Layout(tp=2), Workload(8, 2, 1))
    per = 2 * (2 - 1) / 2 * (64 * 2) / 1e9 + 1.0
    assert out["decode_step_ms"] == pytest.approx(4 * per * 1e3, rel=1e-6)


def test_all_to_alls_follow_only_moe_layers():
    """ep=2 with MoE feed-forward layers (8 experts, k 2): per MoE layer a dispatch and a combine of
    1 · 2 · 64 · 2 bytes, (1/2) · 256 B / 1 GB/s + 1 s each; 2 layers, so 4 latencies, nothing else."""
    doc = moe_config(name="moe", num_experts=8, moe_intermediate_size=128)
    out = estimate_config(doc, _ideal_device(latency_us=1e6), Layout(ep=2), Workload(8, 2, 1))
    assert not out["errors"]
    per = (2 - 1) / 2 * (1 * 2 * 64 * 2) / 1e9 + 1.0
    assert out["decode_step_ms"] == pytest.approx(4 * per * 1e3, rel=1e-6)


def test_prefill_runs_the_head_on_the_last_token_whatever_the_head_is_written_as():
    """A compute-bound prefill of 8 tokens (1 TFLOP/s): per layer attention 2 · 12,288 · 8 + 2 · 4 · 2 · 16 · 36,
    MLP 2 · 3 · 64 · 256 · 8; 5 norms 2 · 64 · 8 each; the head 2 · 1000 · 64 once (one prompt), the embedding a
    lookup. The same whether the untied head is an OutputHeadLayer, a second EmbeddingLayer row, or the embedding
    row's second layer (count 2)."""
    flops = 2 * (2 * 12_288 * 8 + 2 * 4 * 2 * 16 * 36) + 2 * (2 * 3 * 64 * 256 * 8) + 5 * 2 * 64 * 8 + 2 * 1000 * 64
    assert flops == 2_117_632
    counted = _tiny(tied=None)
    counted["layer_types"] = [*counted["layer_types"][:3], {**counted["layer_types"][3], "count": 2}]
    device, workload = _ideal_device(), Workload(8, 2, 1)
    for doc in (_tiny(tied=False), _tiny(tied=None), counted):
        out = estimate_config(doc, device, Layout(), workload)
        assert out["ttft_ms"] == pytest.approx(flops / 1e12 * 1e3, rel=1e-9), doc["layer_types"][-1]


def test_mamba2_counts_its_recurrent_state_flops():
    """Mamba-2 (hidden 64, 4 heads of 16, state 8, 1 group, kernel 4, no conv bias): 13,964 parameters; per token
    2 · 13,964 FLOPs plus 9 per element of its 4 · 16 · 8 state (the selective scan's count)."""
    specs = {
        "hidden_size": 64,
        "mamba_num_heads": 4,
        "mamba_head_dim": 16,
        "ssm_state_size": 8,
        "n_groups": 1,
        "conv_kernel": 4,
        "use_conv_bias": False,
    }
    params = 64 * (64 + 80 + 4) + 80 * 4 + 3 * 4 + 64 + 64 * 64
    assert params == 13_964
    assert layer_work("Mamba2Layer", specs, phase=DECODE, n=10).flops == 2 * params + 9 * 512 == 32_536
    assert layer_work("Mamba2Layer", specs, phase=PREFILL, n=5).flops == 5 * (2 * params + 9 * 512)


def test_serving_overhead_adds_to_ttft_and_latency_only():
    """A device's serving overhead of 20 ms + 3 ms per other request in flight: at concurrency 5, TTFT and the
    request latency gain 20 + 4 · 3 = 32 ms; TPOT and the decode step are unchanged."""
    device, doc, workload = _ideal_device(), _tiny(), Workload(64, 16, 5)
    served = dataclasses.replace(device, efficiency={"default": Efficiency(1.0, 1.0, 0.0, 20.0, 3.0)})
    bare, with_overhead = (estimate_config(doc, d, Layout(), workload) for d in (device, served))
    assert with_overhead["ttft_ms"] - bare["ttft_ms"] == pytest.approx(32.0)
    assert with_overhead["request_latency_ms"] - bare["request_latency_ms"] == pytest.approx(32.0)
    assert (with_overhead["tpot_ms"], with_overhead["decode_step_ms"]) == (bare["tpot_ms"], bare["decode_step_ms"])
