"""Check (and with --fit, search) the performance model's efficiency defaults against published measurements.

Prints, for every measured row, the estimate, the measurement and the error of TTFT and TPOT, whether the row was
used to fit its device's efficiencies or held out, then the median absolute percentage error per model and
device (all rows, fitted rows, held-out rows). Django-free: configs come from fixtures/ or are built here.

Split (deterministic): within each (model, device), rows in the order written below alternate fit, held out,
fit, ... ``--fit`` searches, per device, the grid of compute and memory efficiency and per-op overhead on the fit
rows only, with at each point the serving overhead (a TTFT term a + (c − 1) · b: tokenization, scheduling, the API
server streaming the other requests) that best fits those rows' TTFT residuals; held-out rows never inform it.

Measured rows (every figure copied from the page and table named in its row; ``src`` below):
- NIM: NVIDIA NIM LLM benchmarking, "Performance", Llama-3.3-70b-instruct, Version 1.8.0, "2 x H100 80G",
  "fp8 TP2", tables "5000 Input Tokens / 500 Output Tokens" and "500 Input Tokens / 2000 Output Tokens" (TTFT,
  ITL by concurrency): https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance (read 2026-12-06)
- VULTR: Vultr inference cookbook, "Concurrency Tuning", "Nemotron Nano 30B (FP8, TP=2, 2 GPUs)" on NVIDIA HGX
  B200, vLLM 0.16.0, input 2048 / output 512, random dataset (TTFT, TPOT by concurrency):
  https://docs.vultr.com/inference-cookbook/cuda/optimization/concurrency-tuning (updated 2026-03-11). Its
  "Nemotron Nano 30B" is taken to be NVIDIA-Nemotron-3-Nano-30B-A3B (the fixture).
- WMX: "serving/raw-vllm" benchmark page, Qwen/Qwen2.5-0.5B-Instruct (BF16), 1x NVIDIA L4, vLLM v0.23.0,
  256-token input / 128-token output, --ignore-eos, closed loop at fixed max-concurrency (TTFT p50 and ITL p50;
  medians, not means): https://ai.wmx.dev/benchmarks (read 2026-12-06). The model is built with
  ``registry.core.examples.llama_like`` from its config.json (hidden 896, 24 layers, 14 heads, 2 KV heads,
  head_dim 64, FFN 4864, vocab 151936, tied embeddings, QKV bias).

KV cache dtype: fp8 for the NIM fp8 profile, the model dtype (vLLM's kv-cache-dtype auto) for the vLLM rows.

Usage: python bench/calibrate.py [--fit]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.core.devices import DeviceSpec, Efficiency, load_devices  # noqa: E402
from registry.core.examples import llama_like  # noqa: E402
from registry.core.performance import Layout, Workload, estimate_config  # noqa: E402

NIM = "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance"
VULTR = "https://docs.vultr.com/inference-cookbook/cuda/optimization/concurrency-tuning"
WMX = "https://ai.wmx.dev/benchmarks"
LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
NEMOTRON = "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
QWEN = "Qwen_Qwen2.5-0.5B-Instruct"


class Row(NamedTuple):
    model: str
    device: str
    engine: str
    dtype: str
    kv_dtype: str
    tp: int
    isl: int
    osl: int
    concurrency: int
    ttft_ms: float
    tpot_ms: float
    source: str


ROWS = [
    Row(LLAMA, "H100-SXM", "nim", "fp8", "fp8", 2, 5000, 500, 1, 406.77, 18.58, NIM),
    Row(LLAMA, "H100-SXM", "nim", "fp8", "fp8", 2, 5000, 500, 5, 546.7, 21.83, NIM),
    Row(LLAMA, "H100-SXM", "nim", "fp8", "fp8", 2, 5000, 500, 25, 688.69, 38.75, NIM),
    Row(LLAMA, "H100-SXM", "nim", "fp8", "fp8", 2, 5000, 500, 50, 834.51, 59.73, NIM),
    Row(LLAMA, "H100-SXM", "nim", "fp8", "fp8", 2, 500, 2000, 1, 47.77, 18.91, NIM),
    Row(NEMOTRON, "B200", "vllm", "fp8", "bf16", 2, 2048, 512, 1, 362, 2.91, VULTR),
    Row(NEMOTRON, "B200", "vllm", "fp8", "bf16", 2, 2048, 512, 8, 152, 3.96, VULTR),
    Row(NEMOTRON, "B200", "vllm", "fp8", "bf16", 2, 2048, 512, 16, 160, 4.32, VULTR),
    Row(NEMOTRON, "B200", "vllm", "fp8", "bf16", 2, 2048, 512, 32, 206, 7.86, VULTR),
    Row(NEMOTRON, "B200", "vllm", "fp8", "bf16", 2, 2048, 512, 64, 324, 6.74, VULTR),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 1, 27.0, 5.1, WMX),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 2, 37.8, 5.2, WMX),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 4, 50.1, 5.3, WMX),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 8, 60.9, 5.5, WMX),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 16, 103.8, 6.0, WMX),
    Row(QWEN, "L4", "vllm", "bf16", "bf16", 1, 256, 128, 32, 135.3, 7.1, WMX),
]


def fitted_rows() -> set[Row]:
    """The deterministic split: within each (model, device), rows 0, 2, 4, ... in ROWS order fit the model."""
    seen: dict[tuple[str, str], int] = {}
    out = set()
    for row in ROWS:
        i = seen.get((row.model, row.device), 0)
        seen[(row.model, row.device)] = i + 1
        if i % 2 == 0:
            out.add(row)
    return out


@cache
def document(model: str) -> dict[str, Any]:
    """A fixture's config, or a model with no fixture built from its published config.json."""
    if model == QWEN:
        doc = llama_like(
            hf_model_id="Qwen/Qwen2.5-0.5B-Instruct",
            name="Qwen2.5 0.5B Instruct",
            hidden_size=896,
            num_layers=24,
            vocab_size=151936,
            num_heads=14,
            num_kv_heads=2,
            head_dim=64,
            intermediate_size=4864,
            tied=True,
        )
        doc["layer_types"][0]["specs"]["qkv_bias"] = True
        return doc
    data: dict[str, Any] = json.loads((ROOT / "fixtures" / f"{model}.json").read_text())
    return data


def estimate(row: Row, device: DeviceSpec) -> tuple[float, float]:
    out = estimate_config(
        document(row.model),
        device,
        Layout(tp=row.tp),
        Workload(row.isl, row.osl, row.concurrency),
        dtype=row.dtype,
        kv_dtype=row.kv_dtype,
        engine=row.engine,
    )
    if out["errors"]:
        raise SystemExit(f"{row.model} on {row.device}: {out['errors']}")
    return out["ttft_ms"], out["tpot_ms"]


def ape(estimated: float, measured: float) -> float:
    return abs(estimated - measured) / measured * 100


def _medians(pairs: list[tuple[float, float]]) -> str:
    if not pairs:
        return "TTFT     -   TPOT     -  (0 rows)"
    ttft, tpot = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    return f"TTFT {ttft:5.1f}%  TPOT {tpot:5.1f}%  ({len(pairs)} rows)"


def report(devices: dict[str, DeviceSpec]) -> None:
    fit = fitted_rows()
    head = f"{'model':44} {'device':9} {'c':>3} {'TTFT est':>9} {'meas':>8} {'err%':>6}"
    print(head + f" {'TPOT est':>9} {'meas':>7} {'err%':>6}  set")
    errors: dict[tuple[str, str], list[tuple[bool, float, float]]] = {}
    for row in ROWS:
        ttft, tpot = estimate(row, devices[row.device])
        e1, e2 = ape(ttft, row.ttft_ms), ape(tpot, row.tpot_ms)
        errors.setdefault((row.model, row.device), []).append((row in fit, e1, e2))
        print(
            f"{row.model:44} {row.device:9} {row.concurrency:>3} {ttft:9.1f} {row.ttft_ms:8.1f} {e1:6.1f} "
            f"{tpot:9.2f} {row.tpot_ms:7.2f} {e2:6.1f}  {'fit ' if row in fit else 'held'} "
            f"isl={row.isl} osl={row.osl} {row.dtype} tp{row.tp} {row.engine}"
        )
    print("\nmedian absolute percentage error per model and device (all rows | fit rows | held-out rows)")
    every: list[tuple[bool, float, float]] = []
    for (model, device), rows in errors.items():
        every += rows
        print(f"  {model:44} {device:9} all: {_medians([(a, b) for _, a, b in rows])}")
        print(f"  {'':44} {'':9} fit: {_medians([(a, b) for f, a, b in rows if f])}")
        print(f"  {'':44} {'':9} held-out: {_medians([(a, b) for f, a, b in rows if not f])}")
    print(f"  {'every row':54} all: {_medians([(a, b) for _, a, b in every])}")
    print(f"  {'every held-out row':54} held-out: {_medians([(a, b) for f, a, b in every if not f])}")


def _serving(rows: list[Row], ttft: list[float]) -> tuple[float, float]:
    """The serving overhead (ms: at concurrency 1, per other request in flight) that, added to the estimated TTFT,
    gives the least mean absolute percentage error on ``rows``: lines through one row (flat) or through two."""
    gaps = [(r.concurrency - 1, r.ttft_ms - t) for r, t in zip(rows, ttft, strict=True)]
    candidates = [(g, 0.0) for _, g in gaps]
    for (c1, g1), (c2, g2) in itertools.combinations(gaps, 2):
        if c1 != c2:
            slope = (g2 - g1) / (c2 - c1)
            candidates.append((g1 - slope * c1, slope))

    def score(candidate: tuple[float, float]) -> float:
        base, slope = candidate
        paired = zip(rows, ttft, strict=True)
        return statistics.mean(ape(t + base + slope * (r.concurrency - 1), r.ttft_ms) for r, t in paired)

    clipped = [(max(0.0, round(b, 1)), max(0.0, round(k, 2))) for b, k in candidates]
    return min(clipped, key=score)


def fit(device: DeviceSpec) -> Efficiency:
    """The grid point minimising mean TTFT + mean TPOT absolute percentage error on this device's fit rows (the
    mean, not the median: with few rows a median lets one row go unfitted), the serving overhead by ``_serving``."""
    rows = [r for r in ROWS if r.device == device.name and r in fitted_rows()]
    best, best_score = device.efficiency_for(), float("inf")
    for compute, memory, overhead in itertools.product(
        (0.2, 0.3, 0.4, 0.5, 0.6, 0.7), (0.5, 0.6, 0.7, 0.8, 0.9), (2.0, 5.0, 10.0, 20.0, 40.0)
    ):
        trial = dataclasses.replace(device, efficiency={"default": Efficiency(compute, memory, overhead)})
        estimates = [estimate(r, trial) for r in rows]
        base, slope = _serving(rows, [t for t, _ in estimates])
        pairs = [(t + base + slope * (r.concurrency - 1), p) for r, (t, p) in zip(rows, estimates, strict=True)]
        score = statistics.mean(ape(t, r.ttft_ms) for r, (t, _) in zip(rows, pairs, strict=True))
        score += statistics.mean(ape(p, r.tpot_ms) for r, (_, p) in zip(rows, pairs, strict=True))
        if score < best_score:
            best, best_score = Efficiency(compute, memory, overhead, base, slope), score
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", action="store_true", help="search the efficiency grid per device on the fit rows")
    args = parser.parse_args()
    devices = {d.name: d for d in load_devices()}
    if args.fit:
        for name in sorted({r.device for r in ROWS}):
            print(name, fit(devices[name]))
        return
    report(devices)


if __name__ == "__main__":
    main()
