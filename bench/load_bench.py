"""Time loadconfigs against Django's loaddata for the same rows, on PostgreSQL.

Generates N synthetic configs (five layer types each) as files, then in a fresh database times:
  1. ``loadconfigs DIR``             first import (validation included)
  2. ``loadconfigs DIR``             unchanged re-import
  3. ``loaddata rows.json``          Django's own loader, same ModelConfig and LayerType rows
  4. PostgreSQL COPY of those rows   the floor (and of those rows plus the revisions the import writes)

Each loadconfigs run is its own process. The command is timed inside it, from call_command to its
return, as COPY is timed from connecting to committing: Python's and Django's start-up is shown
apart (it is the same for every command and no part of the import).

Usage: python bench/load_bench.py [--configs 10000] [--repeat 3] [--database-url postgres://postgres@127.0.0.1:5432/registry_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, bench_env, psql, recreate_database, write_synthetic_configs


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_command(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``manage.py <args>`` in a fresh process; (seconds of the command itself, seconds of the process)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--time-command", *args],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    whole = time.perf_counter() - start
    return float(done.stdout.strip().splitlines()[-1]), whole


def time_command(args: list[str]) -> None:
    """Child mode: set Django up, then time one management command and print its seconds."""
    import django
    from django.core.management import call_command

    django.setup()
    start = time.perf_counter()
    call_command(*args, stdout=open(os.devnull, "w"))  # noqa: SIM115
    print(time.perf_counter() - start)


def copy_out(url: str, table: str) -> bytes:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(f"COPY {table} TO STDOUT") as copy:
        return b"".join(bytes(block) for block in copy)


def copy_in(url: str, tables: dict[str, bytes]) -> None:
    """COPY each table's rows back in one transaction (client side, as an application would)."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, data in tables.items():
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="loadconfigs runs to take the median of")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench"),
    )
    args = parser.parse_args()
    url: str = args.database_url
    server, _, dbname = url.rpartition("/")
    recreate_database(url)
    env = bench_env(url)
    python = sys.executable
    manage = [python, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "configs"
        write_synthetic_configs(folder, args.configs)
        load = ["loadconfigs", str(folder), "--no-progress", "-v0"]
        truncate = "TRUNCATE registry_configrevision, registry_layertype, registry_modelconfig"
        firsts, agains, wholes = [], [], []
        for i in range(args.repeat):
            if i:
                psql(url, truncate)
            (command, whole), (command_again, whole_again) = run_command(load, env), run_command(load, env)
            firsts.append(command)
            agains.append(command_again)
            wholes.append((whole, whole_again))
        # The median of the runs: this machine's neighbours make single runs noisy.
        first, again = statistics.median(firsts), statistics.median(agains)
        whole_first = statistics.median(w[0] for w in wholes)
        whole_again = statistics.median(w[1] for w in wholes)

        rows = Path(tmp) / "rows.json"
        with rows.open("w") as out:
            subprocess.run(
                [*manage, "dumpdata", "registry.ModelConfig", "registry.LayerType"],
                check=True,
                env=env,
                cwd=ROOT,
                stdout=out,
            )
        tables = ("registry_modelconfig", "registry_layertype", "registry_configrevision")
        copied = {table: copy_out(url, table) for table in tables}
        psql(url, truncate)
        loaddata = run([*manage, "loaddata", str(rows), "-v0"], env)
        copies, copies_all = [], []
        for _ in range(args.repeat):
            psql(url, truncate)
            start = time.perf_counter()
            copy_in(url, {table: copied[table] for table in tables[:2]})
            copies.append(time.perf_counter() - start)
            psql(url, truncate)
            start = time.perf_counter()
            copy_in(url, copied)
            copies_all.append(time.perf_counter() - start)
        copy, copy_all = statistics.median(copies), statistics.median(copies_all)

    n = args.configs
    print(f"{n} configs, 5 layer types each, PostgreSQL at {server}/{dbname}")
    print(f"loadconfigs runs: first {[round(t, 2) for t in firsts]}, unchanged {[round(t, 2) for t in agains]}")
    print(f"{'step':<42}{'seconds':>9}{'configs/s':>12}{'vs COPY':>9}")
    for label, secs in [
        ("loadconfigs, first import", first),
        ("loadconfigs, unchanged re-import", again),
        ("loaddata, config and layer rows", loaddata),
        ("COPY, config and layer rows (floor)", copy),
        ("COPY, config, layer and revision rows", copy_all),
    ]:
        print(f"{label:<42}{secs:>9.2f}{n / secs:>12,.0f}{secs / copy:>8.1f}x")
    print(
        f"whole loadconfigs processes (Python and Django start-up included): first {whole_first:.2f} s "
        f"({whole_first / copy:.1f}x), unchanged {whole_again:.2f} s ({whole_again / copy:.1f}x)"
    )
    print(
        json.dumps(
            {
                "configs": n,
                "first": first,
                "unchanged": again,
                "first_process": whole_first,
                "unchanged_process": whole_again,
                "loaddata": loaddata,
                "copy": copy,
                "copy_with_revisions": copy_all,
                "first_vs_copy": first / copy,
                "unchanged_vs_copy": again / copy,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--time-command"]:
        time_command(sys.argv[2:])
    else:
        main()
