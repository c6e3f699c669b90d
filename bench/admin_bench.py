"""Time the admin's change form of a config at the layer-type cap (512), beside a config of 5 layer types.

In a fresh PostgreSQL database, stores the two configs through the services, logs a superuser in with
Django's test client (in this process, DEBUG off) and times GET of each change form, the median of
--repeat runs after one warm-up.

Usage: python bench/admin_bench.py [--repeat 5] [--database-url postgres://registry:registry@127.0.0.1:5432/registry_admin_bench]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from common import bench_env, drop_database, recreate_database

from registry.core.examples import with_layer_types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://registry:registry@127.0.0.1:5432/registry_admin_bench"
        ),
    )
    args = parser.parse_args()
    recreate_database(args.database_url)
    try:
        bench(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url)


def bench(args: argparse.Namespace) -> None:
    os.environ.update(bench_env(args.database_url, ALLOWED_HOSTS="testserver"))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from registry.core.validation import MAX_LAYER_TYPES
    from registry.services import config_upsert

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    from registry.core.examples import EXAMPLE_CONFIG as base  # the small config of the API's examples

    renamed = {**base, "hf_model_id": "bench/admin-512", "model_id": "bench_admin-512"}
    at_cap = with_layer_types(renamed, MAX_LAYER_TYPES)
    small, large = (config_upsert(data=doc).config for doc in (base, at_cap))
    user = User.objects.create_superuser("bench", password="bench-pass-1")
    client = Client()
    client.force_login(user)

    def seconds(pk: int) -> float:
        url = reverse("admin:registry_modelconfig_change", args=[pk])
        assert client.get(url).status_code == 200  # warm-up: templates, caches
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url)
            runs.append(time.perf_counter() - start)
            assert response.status_code == 200
        return statistics.median(runs)

    five, cap = seconds(small.pk), seconds(large.pk)
    print(f"admin change form, median of {args.repeat} runs (DEBUG off, in-process test client, PostgreSQL)")
    print(f"{'config':<26}{'seconds':>9}{'vs 5 layer types':>18}")
    print(f"{'5 layer types':<26}{five:>9.3f}{1.0:>17.1f}x")
    print(f"{f'{MAX_LAYER_TYPES} layer types (the cap)':<26}{cap:>9.3f}{cap / five:>17.1f}x")


if __name__ == "__main__":
    main()
