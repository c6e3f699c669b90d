"""What the benches share: the project on sys.path, a throwaway SECRET_KEY, a fresh database, the settings'
environment, ``manage.py`` in a child process, and synthetic configs as files."""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from registry.core import dumps, validate_config  # noqa: E402
from registry.core.examples import llama_like  # noqa: E402

# Production settings refuse a development key; a bench run uses a throwaway one.
BENCH_SECRET_KEY = secrets.token_urlsafe(50)


def bench_env(url: str, **extra: str) -> dict[str, str]:
    """This process's environment with the registry's production settings on database ``url`` (and ``extra``)."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "registry.settings",
        "DEBUG": "false",
        "SECRET_KEY": BENCH_SECRET_KEY,
        **extra,
    }


def psql(url: str, sql: str) -> None:
    """Run ``sql`` on database ``url`` outside a transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _maintenance(url: str) -> tuple[str, str]:
    server, _, name = url.rpartition("/")
    return f"{server}/postgres", name


def recreate_database(url: str) -> None:
    """Drop the database ``url`` names (connections and all) and create it empty."""
    maintenance, name = _maintenance(url)
    psql(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(maintenance, f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    maintenance, name = _maintenance(url)
    psql(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    """``manage.py <args>`` in a child process with ``env``; its standard output."""
    return subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout


def start_gunicorn(
    options: list[str], env: dict[str, str], *, port: int, probe: str, stdout: Any = None, stderr: Any = None
) -> subprocess.Popen:
    """gunicorn serving the registry on 127.0.0.1:``port`` with ``options``, once ``probe`` (a path) answers.

    Exits the bench, with what gunicorn printed where it can be read, if it stops or does not answer in 15 s.
    """
    command = [PYTHON, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=stdout, stderr=stderr)
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode})")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def synthetic_config(i: int, rng: random.Random) -> dict:
    """A valid config with five layer types and derived values filled in."""
    h = rng.choice([1024, 2048, 4096, 8192])
    kv = rng.choice([1, 2, 4, 8])
    heads = kv * rng.choice([1, 2, 4, 8])
    layers = rng.randint(8, 96)
    vocab = rng.choice([32000, 50257, 128256])
    doc = llama_like(
        hf_model_id=f"synthetic-org/model-{i:05d}",
        name=f"Synthetic model {i}",
        hidden_size=h,
        num_layers=layers,
        vocab_size=vocab,
        num_heads=heads,
        num_kv_heads=kv,
        head_dim=128,
        intermediate_size=h * rng.choice([3, 4]),
        tied=None,
    )
    validation = validate_config(doc)
    assert validation.config is not None, validation.errors
    return validation.config.to_document()


def write_synthetic_configs(folder: Path, n: int, seed: int = 42) -> None:
    """``n`` synthetic configs as ``<model_id>.json`` files in ``folder`` (the same ones for the same seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(n):
        doc = synthetic_config(i, rng)
        (folder / f"{doc['model_id']}.json").write_text(dumps(doc))
