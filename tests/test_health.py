"""The probes: /healthz answers without the database, /readyz only when the database and the deployment are."""

from __future__ import annotations

import pytest
from django.db.migrations.recorder import MigrationRecorder

from registry import health


@pytest.fixture
def fresh(monkeypatch):
    """Forget that this process found every migration applied."""
    monkeypatch.setattr(health, "_migrated", False)


def test_healthz_answers_without_touching_the_database(client):
    """200 {"status": "ok"} and never cached, with database access blocked (no db fixture)."""
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/healthz/").status_code == 200


@pytest.mark.django_db
def test_readyz_is_200_on_a_migrated_database(client, fresh):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_503_while_a_migration_is_not_applied(client, fresh):
    """A deploy whose migrate has not run yet: 503 naming the migration, with Retry-After."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    latest = max(name for app, name in MigrationLoader(connection).graph.leaf_nodes() if app == "registry")
    MigrationRecorder.Migration.objects.filter(app="registry", name=latest).delete()
    response = client.get("/readyz")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json() == {
        "status": "unavailable",
        "errors": [{"loc": "$", "code": "migrations_pending", "msg": f"1 migration(s) not applied: registry.{latest}"}],
    }


@pytest.mark.django_db
def test_readyz_reads_the_migration_graph_once(client, fresh, monkeypatch, django_assert_num_queries):
    """Once ready, a probe is one query (SELECT 1): the migration graph is not rebuilt every second."""
    assert client.get("/readyz").status_code == 200

    def no_graph(*args, **kwargs):
        raise AssertionError("the migration graph was read again")

    monkeypatch.setattr(health, "MigrationExecutor", no_graph)
    with django_assert_num_queries(1):
        assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_503_when_static_files_were_not_collected(client, fresh, settings, tmp_path):
    """Production storage with an empty STATIC_ROOT would serve every page as a 500: not ready."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert [e["code"] for e in response.json()["errors"]] == ["static_files_missing"]
