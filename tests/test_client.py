"""The Python client (client/, installed as registry_client) against the registry served by gunicorn on PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import registry_client
from registry_client import (
    Conflict,
    NotFound,
    OfflineWarning,
    PreconditionFailed,
    RateLimited,
    Registry,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    load_model_config,
)

from tests.conftest import (
    FIXTURES,
    ROOT,
    came_up,
    fixture_document,
    free_port,
    small_config,
    subprocess_database_url,
)

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
MISTRAL = "mistralai_Mistral-7B-v0.1"
SECRET = secrets.token_urlsafe(50)
UNREACHABLE_DB = "postgres://registry:registry@127.0.0.1:1/registry"

pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    """gunicorn with the repo's gunicorn.conf.py (DEBUG off), its JSON access log in a file."""

    def __init__(self, tmp: Path, database_url: str, port: int | None = None, **env: str) -> None:
        self.tmp, self.database_url, self.env = tmp, database_url, env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"gunicorn-{self.port}-{secrets.token_hex(4)}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        (self.tmp / "static").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "DJANGO_"))}
        env.update(
            DEBUG="false",
            SECRET_KEY=SECRET,
            DATABASE_URL=self.database_url,
            STATIC_ROOT=str(self.tmp / "static"),
            PORT=str(self.port),
            WEB_CONCURRENCY="2",
            HOME=str(self.tmp),
            LOG_FORMAT="json",
        )
        env.update(self.env)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "registry.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if came_up(
            self.process,
            lambda: urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read(),
            OSError,
            tries=200,
            pause=0.05,
        ):
            return self
        self.stop()
        raise AssertionError(f"gunicorn did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def access(self, path: str, *, at_least: int = 0) -> list[dict[str, Any]]:
        """The access-log lines of requests to ``path``, in order; waits (5 s at most) for ``at_least`` of them, as
        gunicorn writes a line after it has sent the response."""
        for _ in range(100):
            lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
            found = [line for line in lines if line.get("logger") == "gunicorn.access" and line.get("path") == path]
            if len(found) >= at_least:
                break
            time.sleep(0.05)
        return found


@pytest.fixture(scope="module")
def database_url(django_db_setup: Any, django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        return subprocess_database_url()


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(tmp_path_factory.mktemp("client"), database_url).start()
    yield served
    served.stop()


@pytest.fixture
def stored(transactional_db: Any) -> None:
    """The shipped fixtures, committed (gunicorn reads them through its own connections)."""
    from django.core.management import call_command

    call_command("loadconfigs", str(FIXTURES), verbosity=0)


@pytest.fixture
def token(transactional_db: Any) -> str:
    """A token whose user may add, change and delete configs."""
    from rest_framework.authtoken.models import Token

    from tests.conftest import user_with

    user = user_with("curator", "add_modelconfig", "change_modelconfig", "delete_modelconfig")
    return Token.objects.create(user=user).key


@pytest.fixture
def registry(server: Server, token: str, tmp_path: Path) -> Iterator[Registry]:
    with Registry(server.url, token=token, cache_dir=tmp_path / "cache") as client:
        yield client


# ---- the cached, conditional read ------------------------------------------------------------------------------


def test_first_load_is_a_200_the_second_a_304_without_a_body(server, stored, tmp_path):
    """The document is the fixture file; the second load sends If-None-Match and gets a 304 of 0 bytes."""
    path = f"/models/{LLAMA}"
    before = len(server.access(path))
    first = load_model_config(LLAMA, base_url=server.url, cache_dir=tmp_path)
    second = load_model_config(LLAMA, base_url=server.url, cache_dir=tmp_path)
    assert first == second == fixture_document(LLAMA)
    assert list(first) == list(fixture_document(LLAMA))  # the documented key order
    assert [lt["name"] for lt in first["layer_types"]] == [lt["name"] for lt in fixture_document(LLAMA)["layer_types"]]
    lines = server.access(path, at_least=before + 2)[before:]
    assert [(line["status"], line["bytes"] > 0) for line in lines] == [(200, True), (304, False)]


def test_loaded_says_how_the_document_was_obtained(registry, stored):
    first, second = registry.fetch(LLAMA), registry.fetch(LLAMA)
    assert (first.source, second.source) == ("network", "revalidated")
    assert first.etag == second.etag and re.fullmatch(r'"[0-9a-f]{64}"', first.etag)
    assert not second.offline


def test_a_change_on_the_server_is_seen_on_the_next_load(registry, stored):
    """A write elsewhere changes the ETag: the next load is a 200 with the new document."""
    from registry import services

    old = registry.fetch(MISTRAL)
    services.config_patch(model_id=MISTRAL, patch={"name": "Mistral renamed"}, source="api")
    new = registry.fetch(MISTRAL)
    assert new.source == "network" and new.etag != old.etag
    assert new.document["name"] == "Mistral renamed"
    assert registry.fetch(MISTRAL).source == "revalidated"


def test_a_stopped_server_gives_the_cached_document_flagged_offline(database_url, stored, tmp_path):
    own = Server(tmp_path, database_url).start()
    try:
        online = Registry(own.url, cache_dir=tmp_path / "cache").fetch(LLAMA)
    finally:
        own.stop()
    with pytest.warns(OfflineWarning, match=f"unavailable.*cached copy of '{LLAMA}' last confirmed at"):
        offline = Registry(own.url, cache_dir=tmp_path / "cache").fetch(LLAMA)
    assert offline.offline and offline.source == "offline"
    assert offline.document == online.document and offline.etag == online.etag
    with pytest.warns(OfflineWarning):
        assert load_model_config(LLAMA, base_url=own.url, cache_dir=tmp_path / "cache") == online.document
    # Never silently: an error when offline copies are refused, or when there is none.
    with pytest.raises(Unavailable):
        Registry(own.url, cache_dir=tmp_path / "cache", offline_fallback=False).fetch(LLAMA)
    with pytest.raises(Unavailable, match="cannot reach"):
        Registry(own.url, cache_dir=tmp_path / "cache").fetch(MISTRAL)


def test_a_503_is_retried_as_retry_after_says_then_served_from_the_cache(database_url, stored, tmp_path, monkeypatch):
    """The registry without its database answers 503 with Retry-After: 5; the client waits 5 s per retry,
    then serves the cached copy with the warning (or raises Unavailable without one)."""
    port = free_port()
    healthy = Server(tmp_path, database_url, port=port).start()
    try:
        Registry(healthy.url, cache_dir=tmp_path / "cache").fetch(LLAMA)
    finally:
        healthy.stop()
    waits: list[float] = []
    monkeypatch.setattr("registry_client.client._sleep", waits.append)
    broken = Server(tmp_path, UNREACHABLE_DB, port=port).start()
    try:
        client = Registry(broken.url, cache_dir=tmp_path / "cache", retries=2)
        with pytest.warns(OfflineWarning, match="503"):
            assert client.fetch(LLAMA).offline
        assert waits == [5.0, 5.0]
        assert [line["status"] for line in broken.access(f"/models/{LLAMA}", at_least=3)] == [503, 503, 503]
        with pytest.raises(Unavailable) as caught:
            client.parameters(LLAMA)
        assert caught.value.status == 503 and caught.value.retry_after == 5.0
        assert caught.value.codes == ["database_unavailable"]
    finally:
        broken.stop()


def test_a_429_is_retried_as_retry_after_says_then_raised(database_url, token, stored, tmp_path, monkeypatch):
    """With a write rate of 1/hour the second write is a 429 whose Retry-After the client honours (up to
    max_wait), then raises RateLimited carrying it."""
    limited = Server(tmp_path, database_url, REGISTRY_WRITE_RATE="1/hour", WEB_CONCURRENCY="1").start()
    waits: list[float] = []
    monkeypatch.setattr("registry_client.client._sleep", waits.append)
    try:
        client = Registry(limited.url, token=token, cache_dir=tmp_path / "cache", retries=2, max_wait=7200)
        client.patch(MISTRAL, {"name": "first"})
        with pytest.raises(RateLimited) as caught:
            client.patch(MISTRAL, {"name": "second"})
        assert len(waits) == 2 and all(3500 < w <= 3600 for w in waits)
        assert caught.value.status == 429 and 3500 < caught.value.retry_after <= 3600
        waits.clear()
        with pytest.raises(RateLimited):  # a wait beyond max_wait is not waited for
            Registry(limited.url, token=token, cache=False, max_wait=60).patch(MISTRAL, {"name": "third"})
        assert waits == []
    finally:
        limited.stop()


def test_sixteen_processes_loading_at_once_leave_one_intact_cache_file(server, stored, tmp_path):
    """Each process's first load writes the cache (a 200), the next ones read it while others write it."""
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from registry_client import load_model_config\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
        "for _ in range(10):\n"
        f"    doc = load_model_config({LLAMA!r}, base_url={server.url!r}, cache_dir={str(tmp_path / 'cache')!r})\n"
        "    print(doc['total_params'])\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(16)
    ]
    go.touch()
    outputs = [p.communicate(timeout=120) for p in processes]
    expected = str(fixture_document(LLAMA)["total_params"])
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.split() == [expected] * 10
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{LLAMA}.json"]
    entry = Registry(server.url, cache_dir=tmp_path / "cache").cache.get(LLAMA)
    assert entry is not None and entry.document() == fixture_document(LLAMA)


# ---- errors ----------------------------------------------------------------------------------------------------


def test_a_missing_model_id_raises_not_found(registry, stored):
    with pytest.raises(NotFound) as caught:
        registry.load("acme_no-such-model")
    assert caught.value.status == 404
    with pytest.raises(NotFound):
        load_model_config("acme_no-such-model", base_url=registry.base_url, cache_dir=None)


def test_a_deleted_config_is_not_served_from_the_cache(registry, stored):
    etag = registry.fetch(MISTRAL).etag
    registry.delete(MISTRAL, if_match=etag)
    with pytest.raises(NotFound):
        registry.fetch(MISTRAL)
    assert registry.cache is not None and registry.cache.get(MISTRAL) is None


def test_a_stale_if_match_raises_precondition_failed(registry, stored):
    old = registry.fetch(MISTRAL)
    changed = registry.patch(MISTRAL, {"name": "Mistral 7B (curated)"}, if_match=old.etag)
    assert changed.etag != old.etag
    assert registry.fetch(MISTRAL).source == "revalidated"  # the write refreshed the cache
    document = dict(changed.document, validation_notes="from a stale read")
    with pytest.raises(PreconditionFailed) as caught:
        registry.update(MISTRAL, document, if_match=old.etag)
    assert caught.value.status == 412 and caught.value.current_etag == changed.etag
    assert caught.value.codes == ["precondition_failed"]
    assert registry.update(MISTRAL, document, if_match=changed.etag).document["validation_notes"] == "from a stale read"


def test_a_bad_document_raises_validation_failed_with_paths(registry, stored):
    bad = small_config()
    bad["layer_types"][0]["specs"]["num_kv_heads"] = 3
    bad["hidden_size"] = 0
    with pytest.raises(ValidationFailed) as caught:
        registry.create(bad)
    assert caught.value.status == 400
    assert ("layer_types[0].specs.num_kv_heads", "heads_not_divisible") in [
        (i["loc"], i["code"]) for i in caught.value.errors
    ]
    assert "hidden_size" in caught.value.paths


def test_writes_create_and_conflict_and_need_a_token(registry, server, stored):
    doc = small_config()
    created = registry.create(doc)
    assert created.document["model_id"] == doc["model_id"] and created.etag
    with pytest.raises(Conflict):
        registry.create(doc)
    with pytest.raises(Unauthorized):
        Registry(server.url, token="not-a-token", cache=False).create(doc)


def test_the_read_api_a_planner_needs(registry, stored):
    summaries = list(registry.list_configs(layer_class="MoELayer", ordering="-total_params", limit=2))
    assert [s["model_id"] for s in summaries][:1] == ["deepseek-ai_DeepSeek-V3.2-Exp"]
    assert all("layer_types" not in s for s in summaries) and len(summaries) == 7
    documents = list(registry.list_documents(search="llama", limit=1))
    assert {d["model_id"] for d in documents} == {p.stem for p in FIXTURES.glob("*.json") if "llama" in p.stem.lower()}
    assert all(d == fixture_document(d["model_id"]) for d in documents)
    breakdown = registry.parameters(LLAMA)
    assert sum(lt["subtotal"] for lt in breakdown["layer_types"]) == breakdown["total_params"] == 70553706496
    plan = registry.plan(LLAMA, tp=8, dtype="bf16", context=8192, device_memory=80 * 10**9)
    assert plan["model_id"] == LLAMA and plan["deployment"]["tp"] == 8 and plan["errors"] == []
    plans = list(registry.plans(dtype="bf16", device_memory=80 * 10**9, fits=True, search="TinyLlama"))
    assert [p["model_id"] for p in plans] == ["TinyLlama_TinyLlama-1.1B-Chat-v1.0"]
    assert {c["name"] for c in registry.layer_classes()} >= {"GroupedQueryAttentionLayer", "MoELayer"}
    with pytest.raises(ValidationFailed) as caught:
        list(registry.list_configs(colour="blue"))
    assert caught.value.errors[0]["loc"] == "query.colour"


def test_a_model_id_that_is_not_one_path_segment_is_refused_before_any_request(registry):
    for bad in ("../admin", "a/b", "..", ""):
        with pytest.raises(ValidationFailed):
            registry.fetch(bad)


# ---- directory mode with a server configured -------------------------------------------------------------------


def test_directory_mode_validates_with_the_server_when_one_is_configured(server, tmp_path, monkeypatch):
    """A rule only the server's catalogue knows (heads divide) is reported, with the file and the path."""
    monkeypatch.setenv("REGISTRY_URL", server.url)
    doc = small_config()
    doc["layer_types"][0]["specs"]["num_kv_heads"] = 3
    (tmp_path / f"{doc['model_id']}.json").write_text(json.dumps(doc))
    with pytest.raises(ValidationFailed) as caught:
        load_model_config(doc["model_id"], directory=tmp_path)
    assert caught.value.file == str(tmp_path / f"{doc['model_id']}.json")
    assert [(i["loc"], i["code"]) for i in caught.value.errors] == [
        ("layer_types[0].specs.num_kv_heads", "heads_not_divisible")
    ]
    assert load_model_config(LLAMA, directory=FIXTURES) == fixture_document(LLAMA)
    # The server reads the file's bytes: a key given twice is its duplicate_key.
    (tmp_path / "acme_dup.json").write_text('{"model_id": "a", "model_id": "b"}')
    with pytest.raises(ValidationFailed) as caught:
        load_model_config("acme_dup", directory=tmp_path)
    assert caught.value.codes == ["duplicate_key"] and caught.value.paths == ["model_id"]


def test_directory_mode_falls_back_to_the_structural_rules_when_the_server_is_away(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.warns(OfflineWarning, match="structural rules only"):
        assert load_model_config(LLAMA, directory=FIXTURES) == fixture_document(LLAMA)


# ---- the README ------------------------------------------------------------------------------------------------


def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(server, stored, tmp_path):
    env = {**os.environ, "REGISTRY_URL": server.url, "REGISTRY_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", readme_python_example()], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    names = [lt["name"] for lt in fixture_document(LLAMA)["layer_types"]]
    assert all(name in result.stdout for name in names)


def test_the_package_is_the_installed_one_and_current():
    """The tests use the package pip installed from client/ (requirements-dev.txt), as a planner would, and it is
    the source as it is now (reinstall with `.venv/bin/pip install ./client` after a change)."""
    installed = Path(registry_client.__file__).parent
    assert "site-packages" in str(installed)
    source = ROOT / "client" / "src" / "registry_client"
    names = sorted(p.name for p in source.iterdir() if p.suffix in (".py", ".typed"))
    assert names == sorted(p.name for p in installed.iterdir() if p.suffix in (".py", ".typed"))
    assert all((source / n).read_bytes() == (installed / n).read_bytes() for n in names)
