"""Deployments evaluated per second: the cheapest-deployment search against plan_stacks, side by side.

Builds N synthetic configs (load_bench's generator, in memory: no database), then takes the median of --repeat
runs of:
  1. ``plan_stacks`` for one deployment (context 4096, batch 4, 80GB)   deployments = configs
  2. ``recommend.search`` over every device × tp × pp × ep (≤ 8 devices)  deployments = configs × devices × layouts

Usage: python bench/perf_bench.py [--configs 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import synthetic_config  # noqa: E402

from registry.core.devices import load_devices  # noqa: E402
from registry.core.performance import Workload  # noqa: E402
from registry.core.planning import Deployment, StackConfig, StackRow, plan_stacks  # noqa: E402
from registry.core.recommend import Limits, search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(42)
    configs, rows = [], []
    for i in range(args.configs):
        doc = synthetic_config(i, rng)
        configs.append(StackConfig(doc["model_id"], doc["num_layers"], doc.get("max_position_embeddings")))
        for lt in doc["layer_types"]:
            specs = {k: v for k, v in lt["specs"].items() if k != "parameter_count"}
            rows.append(StackRow(i, lt["name"], lt["class"], lt["count"], specs))
    devices = list(load_devices())
    deployment = Deployment(context=4096, batch=4, device_memory=80 * 2**30)
    workload, limits = Workload(isl=1024, osl=256, concurrency=16), Limits(tpot_ms=100, max_devices=8)

    def timed(fn):  # type: ignore[no-untyped-def]
        times, cpu, result = [], [], None
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = fn()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        return statistics.median(times), statistics.median(cpu), result

    plan_s, plan_cpu, _ = timed(lambda: plan_stacks(configs, rows, deployment))
    search_s, search_cpu, rec = timed(lambda: search(configs, rows, workload, devices, limits))
    print(f"{args.configs} configs, {len(devices)} devices, median of {args.repeat} (wall clock; this process's CPU)")
    print(
        f"  plan_stacks (one deployment)        {args.configs:>12,} deployments {plan_s:7.3f} s "
        f"{args.configs / plan_s:>14,.0f} deployments/s   (CPU {plan_cpu:.3f} s: {args.configs / plan_cpu:,.0f}/s)"
    )
    print(
        f"  recommend.search (all layouts)      {rec.evaluated:>12,} deployments {search_s:7.3f} s "
        f"{rec.evaluated / search_s:>14,.0f} deployments/s   (CPU {search_cpu:.3f} s: "
        f"{rec.evaluated / search_cpu:,.0f}/s)"
    )
    print(f"  search per deployment against plan_stacks: {plan_s / args.configs / (search_s / rec.evaluated):.1f}x")
    found = sum(1 for c in rec.best.values() if c is not None)
    print(f"  configs with a deployment meeting TPOT <= 100 ms: {found:,}")


if __name__ == "__main__":
    main()
