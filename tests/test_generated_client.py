"""The README's generated client: openapi-python-client, as the README runs it, against a live registry."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def _readme(pattern: str) -> str:
    """The README's text that ``pattern``'s group 1 matches."""
    found = re.search(pattern, (ROOT / "README.md").read_text(), re.M | re.S)
    assert found, f"README.md has no {pattern!r}"
    return found[1]


# The README's own lines: the pinned install, the generate command and the code that uses the package.
PIN = _readme(r"^pip install (openapi-python-client==[^\s]+)$")
GENERATE = _readme(r"^(openapi-python-client generate [^\n]*)$")
USAGE = _readme(r"```python\n(from llm_architecture_config_registry_client .*?)```")
README_URL = "http://127.0.0.1:8000"
# A virtualenv of the tool's own (its ruff, typer, ... pins would clash with requirements-dev.txt), made once and
# reused; .venv/ is git-ignored, and CI's `python3 -m venv .venv` leaves it in place.
TOOLS = ROOT / ".venv" / "tools" / "openapi-python-client"
# Its dependencies that have no upper bound and shape the result (ruff formats the code, attrs runs it), held at
# the versions this test passed with, so that a new release upstream cannot fail a run here unannounced.
REQUIREMENTS = [PIN, "ruff==0.17.6", "attrs==26.1.0"]


def _install_failed(reason: str) -> None:
    if os.environ.get("REGISTRY_REQUIRE_TOOLS") == "1":
        pytest.fail(f"REGISTRY_REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tools() -> Path:
    """The bin/ folder of a virtualenv holding the README's pinned openapi-python-client (and httpx and attrs,
    which it depends on, as the generated package does); installed on first use, under a lock."""
    TOOLS.parent.mkdir(parents=True, exist_ok=True)
    stamp = TOOLS / "installed.txt"  # written last: a half-done install is redone
    with open(TOOLS.parent / "openapi-python-client.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.is_file() or stamp.read_text() != " ".join(REQUIREMENTS):
            shutil.rmtree(TOOLS, ignore_errors=True)
            pip = [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            for step in ([sys.executable, "-m", "venv", str(TOOLS)], [*pip, *REQUIREMENTS]):
                done = subprocess.run(step, capture_output=True, text=True, timeout=600)
                if done.returncode:
                    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                    _install_failed(f"could not install {PIN} (is PyPI reachable?): {last}")
            stamp.write_text(" ".join(REQUIREMENTS))
    return TOOLS / "bin"


@pytest.fixture
def generated(tools: Path, live_server: Any, tmp_path: Path) -> Path:
    """The README's generate command, run against the live server in a fresh folder; the folder it writes."""
    command = shlex.split(GENERATE.replace(README_URL, live_server.url))
    # As after the README's `pip install` in an active virtualenv: the tool's ruff is on PATH.
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output  # e.g. a schema component it could not read, left out
    return tmp_path / command[command.index("--output-path") + 1]


def test_the_generated_client_reads_the_models_as_the_api_serves_them(generated, tools, live_server, loaded_fixtures):
    """The README's code runs on the generated package; its objects hold what the API's JSON says."""
    from rest_framework.test import APIClient

    facts = """
import json
print(json.dumps({
    "list": [[s.model_id, s.total_params] for s in page.results],
    "count": page.count,
    "detail": [doc.model_id, doc.total_params],
    "document": doc.to_dict(),
}))
"""
    done = subprocess.run(
        [str(tools / "python"), "-c", USAGE.replace(README_URL, live_server.url) + facts],
        cwd=generated.parent,
        env={**os.environ, "PYTHONPATH": str(generated)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    api = APIClient()
    page = api.get("/models/").json()
    model_id = "meta-llama_Llama-3.3-70B-Instruct"
    document = api.get(f"/models/{model_id}").json()
    assert got["count"] == page["count"] and page["count"] > 0
    assert got["list"] == [[s["model_id"], s["total_params"]] for s in page["results"]]
    assert got["detail"] == [model_id, document["total_params"]]
    assert got["document"] == document  # every field of the document has a typed home and comes back as sent
