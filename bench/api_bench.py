"""Load the REST API with wrk under gunicorn, side by side with a bare Django view, on PostgreSQL.

In one run: recreate a database, migrate, load fixtures/ plus N synthetic configs, start gunicorn
on 127.0.0.1 with the project's settings (DEBUG off, persistent connections) and a URLconf that
adds GET /bare/ (a constant JsonResponse), then run wrk on each endpoint and print requests/s,
p50/p99 latency and the ratio to the bare view.

Usage: python bench/api_bench.py [--database-url postgres://postgres@127.0.0.1:5432/registry_api_bench]
       [--workers 3] [--duration 10] [--connections 16] [--threads 2] [--synthetic 200] [--port 8765]
       [--health-checks true false]

CONN_HEALTH_CHECKS (off by default in settings, as in Django) costs every request that touches the
database an extra round trip (SELECT 1); ``--health-checks true false`` runs with it on and off, each
against its own bare view.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, bench_env, manage, recreate_database, start_gunicorn

from registry.core.examples import llama_like

BENCH = Path(__file__).resolve().parent
DETAIL_ID = "meta-llama_Llama-3.3-70B-Instruct"
ENDPOINTS = [
    ("bare Django view (constant JsonResponse)", "/bare/"),
    ("GET /models/{model_id}", f"/models/{DETAIL_ID}"),
    ("GET /models/?limit=100&expand=layer_types", "/models/?limit=100&expand=layer_types"),
    ("GET /models/?limit=100", "/models/?limit=100"),
]


def synthetic_config(i: int) -> dict:
    """A valid config, different for each i (sizes vary so totals and orderings differ)."""
    hidden = 256 * (1 + i % 16)
    heads = hidden // 64
    layers = 8 + i % 40
    vocab = 32000 + 64 * i
    return llama_like(
        hf_model_id=f"bench/synthetic-{i:04d}",
        name=f"Synthetic {i}",
        hidden_size=hidden,
        num_layers=layers,
        vocab_size=vocab,
        num_heads=heads,
        num_kv_heads=1,
        head_dim=64,
        intermediate_size=4 * hidden,
        tied=None,
    )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, args: argparse.Namespace, duration: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_api_bench")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic", type=int, default=200)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--health-checks",
        nargs="+",
        choices=["true", "false"],
        default=["false"],
        help="CONN_HEALTH_CHECKS values to run with, one after the other (default: false, the setting's default)",
    )
    args = parser.parse_args()

    env = bench_env(
        args.database_url,
        DJANGO_SETTINGS_MODULE="api_bench_settings",
        PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]),
        CONN_MAX_AGE="600",
    )
    recreate_database(args.database_url)
    manage(env, "migrate", "-v0")
    manage(env, "loadconfigs", "-v0", str(ROOT / "fixtures"))
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.synthetic):
            doc = synthetic_config(i)
            (Path(tmp) / f"{doc['model_id']}.json").write_text(json.dumps(doc))
        manage(env, "loadconfigs", "-v0", "--no-progress", tmp)

    configs = len(list((ROOT / "fixtures").glob("*.json"))) + args.synthetic
    print(
        f"gunicorn {args.workers} sync workers, wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"{os.cpu_count()} CPUs, {configs} configs, CONN_MAX_AGE=600"
    )
    for health_checks in args.health_checks:
        results = serve_and_load({**env, "CONN_HEALTH_CHECKS": health_checks}, args)
        bare = results[0][1]["rps"]
        print(f"\nCONN_HEALTH_CHECKS={health_checks}\n")
        print(f"| {'endpoint':<44} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'vs bare':>7} |")
        print(f"|{'-' * 46}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|")
        for label, r in results:
            print(f"| {label:<44} | {r['rps']:>8.0f} | {r['p50']:>7.2f} | {r['p99']:>7.2f} | {r['rps'] / bare:>7.2f} |")


def serve_and_load(env: dict, args: argparse.Namespace) -> list[tuple[str, dict]]:
    """Start gunicorn, load every endpoint in turn (the bare view first), stop it."""
    base = f"http://127.0.0.1:{args.port}"
    options = ["registry.wsgi:application", "--workers", str(args.workers), "--log-level", "warning"]
    # The access log stays on, as in production (its cost is in every figure); its lines are not shown.
    server = start_gunicorn(options, env, port=args.port, probe="/bare/", stdout=subprocess.DEVNULL)
    try:
        results = []
        for label, path in ENDPOINTS:
            run_wrk(base + path, args, 2)  # warm up: connections, caches
            results.append((label, run_wrk(base + path, args, args.duration)))
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
