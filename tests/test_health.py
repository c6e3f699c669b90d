"""The probes: /healthz answers without the database, /readyz only when the database and the deployment are."""

from __future__ import annotations

import pytest
from django.db.migrations.recorder import MigrationRecorder

from registry import health
from registry import settings as shipped


@pytest.fixture
def fresh(monkeypatch):
    """Forget that this process found every migration applied."""
    monkeypatch.setattr(health, "_migrated_at", None)


@pytest.fixture
def clock(monkeypatch):
    """health's monotonic clock, moved by hand: ``clock[0] += seconds``."""
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    return now


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
def test_readyz_trusts_its_migration_check_for_a_few_seconds(
    client, fresh, clock, settings, monkeypatch, django_assert_num_queries
):
    """Within REGISTRY_READY_CACHE_SECONDS of a good look, a probe is one query (SELECT 1); after it, the
    migrations are looked at again."""
    settings.REGISTRY_READY_CACHE_SECONDS = 5
    assert client.get("/readyz").status_code == 200
    real = health.MigrationExecutor
    graphs: list[object] = []

    def counted(*args, **kwargs):
        graphs.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(health, "MigrationExecutor", counted)
    clock[0] += 4.9
    with django_assert_num_queries(1):
        assert client.get("/readyz").status_code == 200
    assert graphs == []
    clock[0] += 0.2
    assert client.get("/readyz").status_code == 200
    assert len(graphs) == 1


@pytest.mark.django_db
def test_readyz_sees_a_database_replaced_by_an_empty_one(client, fresh, clock, settings):
    """A process that found the database migrated, then served an empty one (restored from the wrong dump, a
    new server): 503 migrations_pending once the cached answer is older than REGISTRY_READY_CACHE_SECONDS."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    settings.REGISTRY_READY_CACHE_SECONDS = 5
    assert client.get("/readyz").status_code == 200
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    clock[0] += 5
    response = client.get("/readyz")
    assert response.status_code == 503 and response["Retry-After"]
    [error] = response.json()["errors"]
    every = len(MigrationLoader(connection, ignore_no_migrations=True).graph.nodes)
    assert error["code"] == "migrations_pending"
    assert error["msg"].startswith(f"{every} migration(s) not applied: ")


def test_the_shipped_readiness_cache_is_five_seconds():
    """Long enough that a probe every second costs one query, short enough that a swapped database is seen."""
    assert shipped.REGISTRY_READY_CACHE_SECONDS == 5


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
