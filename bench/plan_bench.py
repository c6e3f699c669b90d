"""Time deployment planning over the whole catalogue against planning one config at a time, on PostgreSQL.

Recreates a database, migrates, loads N synthetic configs (load_bench's generator) plus fixtures/ with
``loadconfigs``, then, in-process with Django set up, takes the median of --repeat runs of:
  1. ``planning_stacks(ModelConfig.objects.all())``   the stacks read from PostgreSQL (two queries)
  2. ``plan_stacks`` over every config                 inference, context 32768, batch 4, 80GB, tp=1 and tp=8
  3. the same with pp=4
  4. ``plan_config`` once per config in a Python loop  the per-config path, on the first --loop-configs
                                                       configs, scaled linearly to all of them
  5. GET /plans/?device_memory=80GB&fits=true&limit=50 through Django's test Client (end to end)
  6. engine=vllm against today's engine=none on an H100-SXM (each config's context), side by side, through
     plan_stacks and GET /plans/?engine=vllm&device=H100-SXM&fits=true (and a training plan with activations)
The ratio column is the per-config loop's (scaled) time for the same deployment over the step's time.
It also asserts, untimed, that the vectorized plans equal the per-config ones (as_dict() without layer_types)
for the fixtures and for the loop's configs.

Usage: python bench/plan_bench.py [--configs 10000] [--repeat 5] [--loop-configs 1000]
       [--database-url postgres://registry:registry@127.0.0.1:5432/registry_plan_bench] [--keep-database]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import ROOT, bench_env, drop_database, recreate_database, write_synthetic_configs

CONTEXT, BATCH, MEMORY = 32768, 4, "80GB"
PLANS_URL = f"/plans/?device_memory={MEMORY}&fits=true&limit=50"
ENGINE_URLS = {
    "none": "/plans/?device=H100-SXM&fits=true&limit=50",
    "vllm": "/plans/?engine=vllm&device=H100-SXM&fits=true&limit=50",
}


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median wall time of ``repeat`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def documents(configs: list, rows: list, upto: int) -> list[dict]:
    """Config documents (what ``plan_config`` reads) for the first ``upto`` stacks, from the same rows."""
    docs = [
        {"model_id": c.model_id, "num_layers": c.num_layers, "max_position_embeddings": c.context_length}
        | {"layer_types": []}
        for c in configs[:upto]
    ]
    for r in rows:
        if r.config < upto:
            docs[r.config]["layer_types"].append(
                {"name": r.name, "class": r.class_name, "count": r.count, "specs": dict(r.specs)}
            )
    return docs


def comparable(plan: Any) -> dict:
    out = plan.as_dict()
    out.pop("layer_types", None)  # a plan with errors has none
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=10_000, help="synthetic configs (fixtures/ come on top)")
    parser.add_argument("--repeat", type=int, default=5, help="runs to take the median of")
    parser.add_argument("--loop-configs", type=int, default=1_000, help="configs the per-config loop plans")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://registry:registry@127.0.0.1:5432/registry_plan_bench"),
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    url: str = args.database_url
    recreate_database(url)
    try:
        bench(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            drop_database(url)


def bench(args: argparse.Namespace, url: str) -> None:
    os.environ.update(bench_env(url))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from registry.core.planning import Deployment, parse_deployment, parse_memory, plan_config, plan_stacks
    from registry.models import ModelConfig
    from registry.selectors import planning_stacks

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "configs"
        write_synthetic_configs(folder, args.configs)
        fixtures = str(ROOT / "fixtures")
        call_command(
            "loadconfigs",
            str(folder),
            fixtures,
            devices=ROOT / "fixtures" / "devices" / "devices.json",  # named paths load no catalogue of their own
            no_progress=True,
            verbosity=0,
            stdout=io.StringIO(),
        )
    fixture_ids = [json.loads(p.read_text())["model_id"] for p in sorted((ROOT / "fixtures").glob("*.json"))]

    repeat = args.repeat
    read, (configs, rows) = median_time(lambda: planning_stacks(ModelConfig.objects.all()), repeat)
    n = len(configs)
    subset = min(args.loop_configs, n)
    docs = documents(configs, rows, subset)
    memory = parse_memory(MEMORY)
    base = {"context": CONTEXT, "batch": BATCH, "device_memory": memory}
    deployments = {
        "tp=1": Deployment(**base),
        "tp=8": Deployment(**base, tp=8),
        "tp=1 pp=4": Deployment(**base, pp=4),
        "tp=8 pp=4": Deployment(**base, tp=8, pp=4),
        # What GET /plans/?device_memory=80GB plans: each config's own context length, batch 1, tp=1.
        "GET /plans/": Deployment(device_memory=memory),
    }
    for engine, url in ENGINE_URLS.items():
        query = dict(
            part.split("=") for part in url.partition("?")[2].split("&") if not part.startswith(("fits", "limit"))
        )
        deployments[f"engine={engine}"] = parse_deployment(query)[0]
    deployments["training"] = parse_deployment(
        {"mode": "training", "device": "H100-SXM", "tp": "8", "context": "4096", "recompute": "selective",
         "sequence_parallel": "true"}
    )[0]  # fmt: skip

    results: dict[str, dict[str, Any]] = {}
    checked = 0
    for label, deployment in deployments.items():
        vector, plans = median_time(lambda d=deployment: plan_stacks(configs, rows, d), repeat)
        loop, singles = median_time(lambda d=deployment: [plan_config(doc, d) for doc in docs], repeat)
        for single, plan in zip(singles, plans, strict=False):
            assert comparable(single) == comparable(plan), (label, plan.model_id)
        by_id = {p.model_id: p for p in plans}
        for model_id in fixture_ids:
            single = plan_config(ModelConfig.objects.get(model_id=model_id).to_document(), deployment)
            assert comparable(single) == comparable(by_id[model_id]), (label, model_id)
        checked += 1
        results[label] = {
            "vector": vector,
            "loop": loop * n / subset,  # scaled linearly from `subset` configs to all n
            "loop_measured": loop,
            "errors": sum(not p.ok for p in plans),
            "fits": sum(p.ok and bool(p.fits) for p in plans),
        }

    client = Client()
    assert client.get(PLANS_URL).status_code == 200  # warm: URL resolution, DRF, first queries
    end_to_end, response = median_time(lambda: client.get(PLANS_URL), repeat)
    assert response.status_code == 200, response.content[:500]
    page = response.json()

    print(f"{n} configs ({args.configs} synthetic + {n - args.configs} fixtures), {len(rows)} layer rows, ", end="")
    print(f"PostgreSQL at {url.rpartition('@')[2]}; median of {repeat} runs")
    print(f"inference deployments: context {CONTEXT}, batch {BATCH}, device_memory {MEMORY}, bf16")
    print(
        f"per-config loop: plan_config on the first {subset} configs (documents built from the same rows), "
        f"scaled x{n / subset:.2f} to {n}"
    )
    print(f"{'step':<52}{'seconds':>9}{'configs/s':>12}{'vs loop':>10}")

    def line(label: str, secs: float, loop: float | None) -> None:
        ratio = f"{loop / secs:>9.1f}x" if loop is not None else f"{'-':>10}"
        print(f"{label:<52}{secs:>9.3f}{n / secs:>12,.0f}{ratio}")

    line("read stacks from PostgreSQL (planning_stacks)", read, None)
    for label in ("tp=1", "tp=8", "tp=1 pp=4", "tp=8 pp=4"):
        r = results[label]
        line(f"plan_stacks, {label} ({r['errors']} with errors, {r['fits']} fit)", r["vector"], r["loop"])
    for label in ("tp=1", "tp=8", "tp=1 pp=4", "tp=8 pp=4", "GET /plans/"):
        line(f"per-config plan_config loop, {label} (scaled)", results[label]["loop"], results[label]["loop"])
    e2e_loop = results["GET /plans/"]["loop"]
    line(f"GET {PLANS_URL}", end_to_end, e2e_loop)
    print(
        f"  (end to end: {page['count']} plans fit, {len(page['results'])} returned; its ratio is against the "
        "per-config loop for the same deployment, planning only: no reads, no JSON)"
    )
    print(f"  (plan_stacks for GET /plans/'s deployment alone: {results['GET /plans/']['vector']:.3f} s)")
    print("engine=vllm against today's engine=none, H100-SXM, each config's context (one vectorized pass each):")
    print(f"{'':<52}{'none':>12}{'vllm':>12}")
    none, vllm = results["engine=none"], results["engine=vllm"]
    print(f"{'plan_stacks seconds':<52}{none['vector']:>12.3f}{vllm['vector']:>12.3f}")
    print(f"{'configs/s':<52}{n / none['vector']:>12,.0f}{n / vllm['vector']:>12,.0f}")
    print(f"{'fit (none) / will start (vllm)':<52}{none['fits']:>12,}{vllm['fits']:>12,}")
    e2e = {}
    for engine, engine_url in ENGINE_URLS.items():
        assert client.get(engine_url).status_code == 200
        e2e[engine], response = median_time(lambda u=engine_url: client.get(u), repeat)
        assert response.status_code == 200, response.content[:500]
    print(f"{'GET /plans/?[engine=vllm&]device=H100-SXM&fits=true':<52}{e2e['none']:>12.3f}{e2e['vllm']:>12.3f}")
    print(f"training (selective + SP, tp=8, context 4096): plan_stacks {results['training']['vector']:.3f} s")
    print(
        f"vectorized == per-config for {len(fixture_ids)} fixtures "
        f"(and for the {subset} configs of the loop), under each of {checked} deployments"
    )
    summary = {k: {m: round(v, 4) for m, v in r.items()} for k, r in results.items()}
    e2e_rounded = {k: round(v, 4) for k, v in e2e.items()}
    print(json.dumps({"configs": n, "read": round(read, 4), "end_to_end": round(end_to_end, 4), "engines": e2e_rounded,
                      "plans": summary}))  # fmt: skip


if __name__ == "__main__":
    main()
