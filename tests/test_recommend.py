"""The cheapest-deployment search and its Pareto front."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from registry.core.devices import load_devices
from registry.core.performance import Layout, Workload, estimate_config, stack_of
from registry.core.recommend import Candidate, Limits, layouts, pareto_front, search

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_layouts_are_powers_of_two_within_the_device_limit():
    """tp × pp × ep ≤ max_devices; ep only for MoE configs."""
    dense = list(layouts(Limits(max_devices=4), moe=False))
    assert {(lt.tp, lt.pp, lt.ep) for lt in dense} == {(1, 1, 1), (2, 1, 1), (4, 1, 1), (1, 2, 1), (2, 2, 1), (1, 4, 1)}
    assert all(lt.devices <= 8 for lt in layouts(Limits(max_devices=8)))


def test_pareto_front_keeps_only_undominated_points():
    """A point both slower and dearer than another is dropped; the front is by ascending TPOT."""

    def c(tpot: float, cost: float) -> Candidate:
        return Candidate("m", "d", Layout(), 1.0, tpot, 1.0, cost, 1.0)

    front = pareto_front([c(10, 5), c(20, 3), c(15, 6), c(30, 1), c(25, 4)])
    assert [(p.tpot_ms, p.cost_per_m_output) for p in front] == [(10, 5), (20, 3), (30, 1)]


def test_search_returns_the_cheapest_deployment_that_fits_and_meets_the_limits():
    """Llama-3.3-70B on three devices: the best fits, meets TPOT ≤ 50 ms, and no candidate on the front is
    cheaper; a 4-device L4 replica cannot hold the fp8 weights."""
    doc = json.loads((FIXTURES / "meta-llama_Llama-3.3-70B-Instruct.json").read_text())
    configs, rows = stack_of(doc)
    devices = [load_devices().get(n) for n in ("H100-SXM", "A100-SXM-80GB", "L4")]
    rec = search(
        configs, rows, Workload(1000, 200, 8), devices, Limits(tpot_ms=50, max_devices=4), dtype="fp8", kv_dtype="fp8"
    )
    best = rec.best[doc["model_id"]]
    assert best is not None and best.tpot_ms <= 50
    front = rec.pareto[doc["model_id"]]
    assert min(p.cost_per_m_output for p in front) == best.cost_per_m_output
    assert all(not (p.device == "L4" and p.layout.devices < 4) for p in front)
    assert rec.evaluated == 6 * 3
    none = search(configs, rows, Workload(1000, 200, 8), devices, Limits(tpot_ms=0.001, max_devices=4))
    assert none.best[doc["model_id"]] is None and none.pareto[doc["model_id"]] == []


def test_search_equals_the_straightforward_evaluation_of_each_deployment():
    """The vectorized search over several configs (dense and MoE) × devices × layouts picks the same best and the
    same Pareto front, with the same figures, as evaluating each deployment on its own with estimate_config,
    sorting the candidates by (cost, TPOT, devices) and taking pareto_front of them."""
    names = [
        "meta-llama_Llama-3.3-70B-Instruct",
        "mistralai_Mixtral-8x7B-v0.1",
        "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
        "openai-community_gpt2",
        "TinyLlama_TinyLlama-1.1B-Chat-v1.0",
    ]
    docs = [json.loads((FIXTURES / f"{n}.json").read_text()) for n in names]
    configs, rows = [], []
    for i, doc in enumerate(docs):
        c, r = stack_of(doc)
        configs += c
        rows += [dataclasses.replace(row, config=i) for row in r]
    devices = [load_devices().get(n) for n in ("H100-SXM", "L40S", "MI300X")]
    workload, limits = Workload(2000, 300, 12), Limits(tpot_ms=80, max_devices=4)
    rec = search(configs, rows, workload, devices, limits, dtype="fp8", kv_dtype="fp8")
    grid = list(layouts(limits, moe=True))
    assert rec.evaluated == len(docs) * len(devices) * len(grid)
    for doc in docs:
        found = []
        for layout in grid:
            for device in devices:
                e = estimate_config(doc, device, layout, workload, dtype="fp8", kv_dtype="fp8")
                if e["errors"] or not e["fits"] or e["tpot_ms"] > limits.tpot_ms:
                    continue
                found.append(
                    Candidate(
                        doc["model_id"],
                        device.name,
                        layout,
                        e["ttft_ms"],
                        e["tpot_ms"],
                        e["output_tokens_per_second"],
                        e["cost_per_million_output_tokens"],
                        e["cost_per_million_input_tokens"],
                    )
                )
        found.sort(key=lambda c: (c.cost_per_m_output, c.tpot_ms, c.layout.devices))
        expected = ([found[0]] if found else [None]) + pareto_front(found)
        got = [rec.best[doc["model_id"]], *rec.pareto[doc["model_id"]]]
        assert len(got) == len(expected) and len(found) > 0
        for g, x in zip(got, expected, strict=True):
            assert (g.device, g.layout) == (x.device, x.layout)
            assert dataclasses.astuple(g)[3:8] == pytest.approx(dataclasses.astuple(x)[3:8], rel=1e-12)
