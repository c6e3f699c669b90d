"""The shared cache degrades: an unreachable Redis is a cache miss, never a 500."""

from __future__ import annotations

from django.core.cache import caches

from tests.conftest import small_config

UNREACHABLE = {
    "default": {
        "BACKEND": "registry.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_reads_and_writes_go_on_while_redis_is_unreachable(settings, writer):
    """Documents are rendered from the database and writes are not throttled shut while Redis is away."""
    from rest_framework.test import APIClient

    settings.CACHES = UNREACHABLE  # Django rebuilds its cache handlers on the change
    for name in ("acme/tiny-1", "acme/tiny-2"):  # the write throttle counts in the cache it cannot reach
        body = small_config(hf_model_id=name, model_id=name.replace("/", "_"))
        assert writer.post("/models/", body, format="json").status_code == 201
    cache = caches["default"]
    assert type(cache).__name__ == "ResilientRedisCache"
    assert cache.get("anything", "missing") == "missing" and cache.get_many(["a"]) == {}
    cache.set("k", 1)  # skipped, no exception
    response = APIClient().get("/models/acme_tiny-1")
    assert response.status_code == 200 and response.json()["model_id"] == "acme_tiny-1"
