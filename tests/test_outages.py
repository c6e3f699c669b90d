"""Database outages, for real: a server that refuses connections, and a connection the server dropped."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from registry import health
from registry.models import ModelConfig
from tests.conftest import DATA, FIXTURES, manage, small_config, store, subprocess_database_url, token_client, user_with

UNREACHABLE = "postgres://registry:registry@127.0.0.1:1/registry"
OUTAGE_BODY = {
    "errors": [{"loc": "$", "code": "database_unavailable", "msg": "the database cannot be reached; try again shortly"}]
}
DETAIL = "/models/acme_tiny-1"


@contextlib.contextmanager
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default connection pointed at a closed port (127.0.0.1:1) until the block ends."""
    connection.close()
    with monkeypatch.context() as m:
        m.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        m.setitem(connection.settings_dict, "PORT", "1")
        try:
            yield
        finally:
            connection.close()


def drop_connection() -> None:
    """What a database restart does to a kept connection: the server ends it (pg_terminate_backend)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(subprocess_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.02)


def assert_outage(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == health.RETRY_AFTER
    assert json.loads(response.content) == OUTAGE_BODY


# ---- the database refuses connections ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_api_reads_and_writes_are_503_with_retry_after(client, monkeypatch):
    """Lists, the lean detail read, DRF's detail read and writes: 503 and the usual error body, never a 500."""
    store(small_config())
    writer = token_client(user_with("writer", "add_modelconfig", "change_modelconfig", "delete_modelconfig"))
    with database_down(monkeypatch):
        assert_outage(client.get("/models/"))
        assert_outage(client.get(DETAIL))
        assert_outage(client.get(DETAIL, {"format": "json"}))
        assert_outage(client.get(f"{DETAIL}/plan"))
        assert_outage(
            writer.post("/models/", small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2"), format="json")
        )
        assert_outage(writer.delete(DETAIL))
    assert ModelConfig.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_admin_pages_are_a_plain_503(client, django_user_model, monkeypatch):
    """A signed-in admin page needs the session: plain text 503, not Django's 500 page."""
    client.force_login(django_user_model.objects.create_superuser("boss", password="x-secret-pass"))
    with database_down(monkeypatch):
        response = client.get("/admin/registry/modelconfig/")
    assert response.status_code == 503 and response["Retry-After"] == health.RETRY_AFTER
    assert response["Content-Type"].startswith("text/plain")
    assert b"database cannot be reached" in response.content


@pytest.mark.django_db(transaction=True)
def test_probes_during_an_outage(client, monkeypatch):
    """/healthz stays 200 (the process is fine); /readyz is 503 so the balancer sends traffic elsewhere."""
    with database_down(monkeypatch):
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert client.get("/").status_code == 200
    assert response.status_code == 503 and response["Retry-After"]
    assert [e["code"] for e in response.json()["errors"]] == ["database_unavailable"]
    assert client.get("/readyz").status_code == 200


def test_no_database_text_reaches_the_response(client, monkeypatch, caplog, transactional_db):
    """The driver's message ("connection refused", host, port) is logged, not sent."""
    with database_down(monkeypatch):
        response = client.get("/models/")
    assert b"refused" not in response.content and b"127.0.0.1" not in response.content
    assert any("database unavailable" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_database_error_escaping_the_views_is_503(rf):
    """The 500 handler turns a database error raised outside any view (a middleware) into the 503."""
    from django.db import OperationalError

    from registry.api import errors

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        assert_outage(errors.server_error(rf.get("/models/")))
        admin = errors.server_error(rf.get("/admin/"))
    assert admin.status_code == 503 and admin["Content-Type"].startswith("text/plain")


# ---- a kept connection the server dropped (a restart) ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_first_requests_after_a_restart_succeed(client, django_user_model):
    """Each kind of request, on a connection the server has ended, is answered as if nothing happened."""
    store(small_config())
    writer = token_client(user_with("writer", "add_modelconfig", "change_modelconfig", "delete_modelconfig"))
    assert client.get(DETAIL).status_code == 200  # renders and caches the document: the lean path from now on

    drop_connection()
    assert client.get(DETAIL).status_code == 200
    drop_connection()
    assert client.get(DETAIL, {"format": "json"}).status_code == 200
    drop_connection()
    assert client.get("/models/").json()["count"] == 1
    drop_connection()
    assert client.get("/readyz").status_code == 200
    drop_connection()
    assert (
        writer.post(
            "/models/", small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2"), format="json"
        ).status_code
        == 201
    )
    drop_connection()
    assert writer.patch(DETAIL, {"name": "Renamed"}, format="json").status_code == 200

    client.force_login(django_user_model.objects.create_superuser("boss", password="x-secret-pass"))
    drop_connection()
    assert client.get("/admin/registry/modelconfig/").status_code == 200
    assert ModelConfig.objects.get(model_id="acme_tiny-1").name == "Renamed"


# ---- commands ------------------------------------------------------------------------------------------------


def _command_error(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    return str(caught.value)


@pytest.mark.parametrize(
    "args",
    [
        ("loadconfigs", str(FIXTURES)),
        (
            "importhf",
            str(DATA / "hf" / "openai-community" / "gpt2" / "config.json"),
            "--hf-id",
            "openai-community/gpt2",
        ),
        ("recomputecounts",),
        ("dumpconfigs", "--output", "{tmp}"),
        ("plan", "meta-llama_Llama-3.3-70B-Instruct"),
    ],
    ids=lambda a: a[0],
)
def test_commands_report_an_outage_in_one_paragraph(args, monkeypatch, tmp_path, transactional_db):
    """Every command names the database problem and says that nothing was written."""
    args = tuple(a.replace("{tmp}", str(tmp_path / "out")) for a in args)
    with database_down(monkeypatch):
        message = _command_error(*args)
    assert "\n" not in message
    assert message.startswith("The database could not be reached or the connection to it was lost (postgresql at ")
    assert "127.0.0.1:1" in message and "Connection refused" in message
    assert message.endswith("Nothing was written.")


@pytest.mark.django_db(transaction=True)
def test_loadconfigs_on_a_dropped_connection_writes_nothing():
    """A connection lost before the import: the same paragraph, and no config is stored."""
    drop_connection()
    message = _command_error("loadconfigs", str(FIXTURES))
    assert "connection to it was lost" in message and message.endswith("Nothing was written.")
    connection.close()
    assert ModelConfig.objects.count() == 0


def test_a_command_exits_1_without_a_traceback(tmp_path):
    """From the shell: exit status 1, one paragraph on stderr; the traceback only with --traceback."""
    result = manage("loadconfigs", str(FIXTURES), database_url=UNREACHABLE)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("CommandError: The database could not be reached")
    assert lines[0].endswith("Nothing was written.")
    traced = manage("loadconfigs", str(FIXTURES), "--traceback", database_url=UNREACHABLE)
    assert traced.returncode != 0 and "Traceback" in traced.stderr and "OperationalError" in traced.stderr
