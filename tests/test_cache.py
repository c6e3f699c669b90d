"""The shared cache degrades: an unreachable Redis is a cache miss, never a 500."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCacheClient
from rest_framework.test import APIClient

from registry import cache as cache_module
from registry import settings as shipped
from registry.cache import reset_breakers
from registry.models import ModelConfig
from tests import private_redis as private_redis_module
from tests.conftest import small_config
from tests.private_redis import PrivateRedis

TINY = "acme_tiny-1"
TINY_URL = f"/models/{TINY}"

UNREACHABLE = {
    "default": {
        "BACKEND": "registry.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_reads_and_writes_go_on_while_redis_is_unreachable(settings, writer):
    """Documents are rendered from the database and writes are not throttled shut while Redis is away."""
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


# ---- a real Redis that refuses writes or stops answering -----------------------------------------------------


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this module's own, on a free port (the shared one on 6379 is never misconfigured)."""
    if not private_redis_module.available():
        if os.environ.get("REGISTRY_REQUIRE_REDIS") == "1":
            pytest.fail("REGISTRY_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    yield server
    server.stop()


@pytest.fixture
def faulty(settings, private_redis) -> Iterator[PrivateRedis]:
    """Django's default cache is the private Redis (timeouts and cool-down as shipped); healed after the test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "registry.cache.ResilientRedisCache",
            "LOCATION": private_redis.url,
            "KEY_PREFIX": "faults",
            "OPTIONS": shipped.REDIS_CACHE_OPTIONS,
        }
    }
    reset_breakers()
    private_redis.heal()
    private_redis.admin.flushall()
    yield private_redis
    private_redis.heal()
    reset_breakers()


def _break(server: PrivateRedis, fault: str) -> None:
    {"oom": server.oom, "readonly": server.read_only, "paused": server.pause}[fault]()


def _cache_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "registry.cache" and r.levelno >= logging.WARNING]


FAULTS = ["oom", "readonly", "paused"]


@pytest.mark.parametrize("write_rate", ["1200/min", None], ids=["throttled", "unthrottled"])
@pytest.mark.parametrize("fault", FAULTS)
def test_writes_succeed_while_redis_refuses_or_stalls(faulty, writer, settings, caplog, fault, write_rate):
    """PUT, PATCH, POST and validate get their success answer, and the stored rows are the written ones; the
    failure is logged once, however many requests meet it."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "write": write_rate},
    }
    assert writer.post("/models/", small_config(), format="json").status_code == 201
    assert writer.get(TINY_URL).status_code == 200  # the document is in Redis now
    _break(faulty, fault)
    caplog.set_level(logging.WARNING, logger="registry.cache")

    response = writer.put(TINY_URL, small_config(name="Replaced"), format="json")
    assert response.status_code == 200, response.content
    assert ModelConfig.objects.get(model_id=TINY).name == "Replaced"
    response = writer.patch(TINY_URL, {"name": "Patched"}, format="json")
    assert response.status_code == 200, response.content
    assert ModelConfig.objects.get(model_id=TINY).name == "Patched"
    other = small_config(hf_model_id="acme/tiny-2", model_id="acme_tiny-2")
    assert writer.post("/models/", other, format="json").status_code == 201
    assert writer.post("/models/validate", small_config(), format="json").status_code == 200
    response = writer.get(TINY_URL)
    assert response.status_code == 200 and response.json()["name"] == "Patched"
    assert len(_cache_warnings(caplog)) == 1, _cache_warnings(caplog)


@pytest.mark.parametrize("fault", FAULTS)
def test_bad_tokens_are_401_while_redis_refuses_or_stalls(faulty, db, settings, fault):
    """The failed-token count cannot be kept: every bad token is a 401 (fail open), never a 500."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "failed_token": "2/min"},
    }
    _break(faulty, fault)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for _ in range(4):
        assert client.get("/models/").status_code == 401
        assert client.post("/models/validate", small_config(), format="json").status_code == 401


def test_a_paused_redis_is_asked_once_then_left_alone_for_the_cool_down(faulty, writer, monkeypatch):
    """One call waits out the socket timeout and opens the breaker; until the cool-down ends no request asks
    Redis (its latency is not the API's); after it, one call tries again and closes the breaker on success."""
    assert writer.post("/models/", small_config(), format="json").status_code == 201
    calls: list[bool] = []
    real = RedisCacheClient.get_client

    def counted(self: Any, key: Any = None, *, write: bool = False) -> Any:
        calls.append(write)
        return real(self, key, write=write)

    monkeypatch.setattr(RedisCacheClient, "get_client", counted)
    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    faulty.pause()
    for _ in range(3):
        assert writer.get(TINY_URL).status_code == 200
        assert writer.put(TINY_URL, small_config(name="Again"), format="json").status_code == 200
    assert len(calls) == 1  # the first call timed out; the other requests never went to Redis
    breaker = caches["default"].breaker
    assert breaker.failing and not breaker.allows()

    faulty.heal()
    clock[0] += shipped.REDIS_CACHE_OPTIONS["cooldown"]
    assert writer.get(TINY_URL).status_code == 200
    assert len(calls) > 1 and not breaker.failing


def test_shipped_redis_calls_wait_a_fraction_of_a_second():
    """With REDIS_URL, every Redis call gives up after 250 ms and a failure keeps Redis away for 5 s."""
    assert shipped.REDIS_CACHE_OPTIONS == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25, "cooldown": 5}
