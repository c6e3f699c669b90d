"""Rate limits: writes per user, failed tokens per address, failed admin logins; counted in a real Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import checks
from django.core.cache.backends.redis import RedisCache
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from registry import settings as shipped
from registry.api.lean import blockers
from registry.api.throttles import FailedTokenThrottle, WriteRateThrottle
from registry.api.views import ConfigDetailView
from tests.conftest import small_config, store, token_client, user_with, variant

pytestmark = pytest.mark.django_db

# A database of its own on the local Redis, and a key prefix of this run's own: nothing else is touched.
REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WRITE_PERMISSIONS = ("add_modelconfig", "change_modelconfig", "delete_modelconfig")


def _redis_cache(prefix: str) -> RedisCache:
    """A cache client of its own (its own connection pool), as another worker process would have."""
    return RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})


@pytest.fixture
def redis(settings) -> Iterator[str]:
    """Django's default cache is a real Redis for the test (the throttles and the documents live there)."""
    prefix = f"registry-test-{uuid.uuid4().hex}"
    probe = _redis_cache(prefix)
    try:
        probe.get("ping")
    except Exception as exc:
        reason = f"no Redis at {REDIS_URL} ({exc}): start one, e.g. with .ci/run"
        if os.environ.get("REGISTRY_REQUIRE_REDIS") == "1":
            pytest.fail(f"REGISTRY_REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    client = probe._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


@pytest.fixture
def rates(settings):
    """Set throttle rates for the test: ``rates(write="3/min")``."""

    def set_rates(**scopes: str | None) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **scopes},
        }

    return set_rates


def _throttled(response: Any, code: str = "throttled") -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) > 0
    [error] = response.json()["errors"]
    assert (error["loc"], error["code"]) == ("$", code)
    assert "Expected available in" in error["msg"]


# ---- writes ------------------------------------------------------------------------------------


def test_shipped_write_rate_lets_a_tool_write_600_configs_a_minute():
    """The default write rate is 1200 a minute per user, twice what a busy import tool sends."""
    assert shipped.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["write"] == "1200/min"
    throttle = WriteRateThrottle()
    assert throttle.num_requests * 60 / throttle.duration >= 600
    assert shipped.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["registry.api.throttles.WriteRateThrottle"]


def test_a_burst_of_writes_with_one_token_is_not_slowed(redis):
    """50 POSTs in a row with one token, at the shipped rate: every one is a 201."""
    client = token_client(user_with("tool", *WRITE_PERMISSIONS))
    statuses = {client.post("/models/", variant(i), format="json").status_code for i in range(50)}
    assert statuses == {201}


def test_writes_past_the_rate_are_429_with_retry_after(redis, rates):
    """Past REGISTRY_WRITE_RATE a user's writes get 429, Retry-After and the usual error body; reads go on."""
    rates(write="3/min")
    client = token_client(user_with("tool", *WRITE_PERMISSIONS))
    assert client.post("/models/", small_config(), format="json").status_code == 201
    assert client.patch("/models/acme_tiny-1", {"name": "Tiny A"}, format="json").status_code == 200
    assert client.put("/models/acme_tiny-1", small_config(name="Tiny B"), format="json").status_code == 200
    _throttled(client.delete("/models/acme_tiny-1"))
    _throttled(client.post("/models/import-hf", {}, format="json"))
    _throttled(client.post("/models/acme_tiny-1/history/1/restore"))
    for _ in range(5):
        assert client.get("/models/acme_tiny-1").status_code == 200
    # The limit is the user's: another user's token is not limited by it.
    other = token_client(user_with("other", *WRITE_PERMISSIONS))
    assert other.delete("/models/acme_tiny-1").status_code == 204


def test_write_limit_is_per_user_not_per_token(redis, rates):
    """Two tokens of one user share the user's limit."""
    rates(write="2/min")
    user = user_with("tool", *WRITE_PERMISSIONS)
    first = token_client(user)
    first.post("/models/", variant(1), format="json")
    first.post("/models/", variant(2), format="json")
    second = APIClient()
    second.force_authenticate(user)
    _throttled(second.post("/models/", variant(3), format="json"))


def test_two_processes_share_one_limit(redis, rates):
    """Two cache clients with their own connections (two workers) count against one limit in Redis."""
    rates(write="4/min", failed_token="4/min")
    workers = [_redis_cache(redis), _redis_cache(redis)]
    request = SimpleNamespace(
        method="POST", user=SimpleNamespace(is_authenticated=True, pk=7), headers={}, META={"REMOTE_ADDR": "10.9.9.9"}
    )

    def write(worker: RedisCache) -> bool:
        throttle = WriteRateThrottle()
        throttle.cache = worker
        return throttle.allow_request(request, None)

    def fail_token(worker: RedisCache) -> bool:
        throttle = FailedTokenThrottle()
        throttle.cache = worker
        allowed = throttle.allow_request(request)
        throttle.failed(request)
        return allowed

    assert [write(workers[i % 2]) for i in range(5)] == [True, True, True, True, False]
    assert [fail_token(workers[i % 2]) for i in range(5)] == [True, True, True, True, False]
    assert workers[0]._cache.get_client() is not workers[1]._cache.get_client()


# ---- failed token attempts ---------------------------------------------------------------------


def test_bad_tokens_from_one_address_are_429_after_the_limit(redis, rates):
    """REGISTRY_FAILED_AUTH_RATE bad tokens from one address, each a different guess, then 429 for any token."""
    rates(failed_token="5/min")
    good = token_client(user_with("tool", *WRITE_PERMISSIONS))._credentials["HTTP_AUTHORIZATION"]
    api = APIClient()
    guesser = {"REMOTE_ADDR": "10.1.1.1"}
    for i in range(5):
        response = api.get("/models/", HTTP_AUTHORIZATION=f"Token guess-{i}", **guesser)
        assert response.status_code == 401
    _throttled(api.get("/models/", HTTP_AUTHORIZATION="Token guess-6", **guesser))
    # A forged X-Forwarded-For does not make a new address (no proxies are declared).
    _throttled(api.get("/models/", HTTP_AUTHORIZATION="Token guess-7", HTTP_X_FORWARDED_FOR="10.7.7.7", **guesser))
    # Even the right token is refused from there: a 200 would tell the guesser it had found one.
    _throttled(api.post("/models/", small_config(), format="json", HTTP_AUTHORIZATION=good, **guesser))
    # Without a token that address still reads; other addresses are not affected.
    assert api.get("/models/", **guesser).status_code == 200
    assert api.get("/models/", HTTP_AUTHORIZATION="Token guess-8", REMOTE_ADDR="10.2.2.2").status_code == 401
    response = api.post("/models/", small_config(), format="json", HTTP_AUTHORIZATION=good, REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 201


def test_good_tokens_do_not_count_as_failures(redis, rates):
    """Only a 401 counts: a tool's valid token may read as often as it likes."""
    rates(failed_token="2/min")
    client = token_client(user_with("tool"))
    assert {client.get("/models/", REMOTE_ADDR="10.3.3.3").status_code for _ in range(5)} == {200}


def test_shipped_failed_token_rate_is_tight():
    assert shipped.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["failed_token"] == "20/min"
    assert shipped.REST_FRAMEWORK["NUM_PROXIES"] == 0


# ---- admin logins ------------------------------------------------------------------------------


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_admin_login_locks_out_a_username_at_an_address_after_failures():
    """django-axes: the 3rd wrong password of one username from one address locks that pair out (429),
    the right password too; the same username from elsewhere, or another username from there, still logs in."""
    User.objects.create_superuser("boss", password="right-pass-1")
    User.objects.create_superuser("deputy", password="right-pass-2")
    client = Client()

    def login(username: str, password: str, address: str) -> Any:
        form = {"username": username, "password": password, "next": "/admin/"}
        return client.post("/admin/login/", form, REMOTE_ADDR=address)

    assert [login("boss", "wrong", "10.4.4.4").status_code for _ in range(2)] == [200, 200]
    locked = login("boss", "wrong", "10.4.4.4")
    assert locked.status_code == 429 and b"too many login attempts" in locked.content
    assert login("boss", "right-pass-1", "10.4.4.4").status_code == 429
    assert login("deputy", "right-pass-2", "10.4.4.4").status_code == 302
    client.logout()
    assert login("boss", "right-pass-1", "10.5.5.5").status_code == 302


def test_shipped_admin_lockout_settings():
    """Lockout by address and username together, with a cool-off, from the environment's defaults."""
    assert shipped.AXES_LOCKOUT_PARAMETERS == [["ip_address", "username"]]
    assert shipped.AXES_FAILURE_LIMIT == 5 and shipped.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert shipped.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert shipped.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# ---- the lean read path ------------------------------------------------------------------------


def test_write_only_throttles_leave_the_lean_read_path_on():
    """The shipped throttle says it limits no read, so registry.E003 stays silent; a read throttle would not be."""
    assert ConfigDetailView.throttle_classes == [WriteRateThrottle]
    assert blockers(ConfigDetailView) == []
    assert "registry.E003" not in [e.id for e in checks.run_checks()]
    reads_too = type("ReadsThrottled", (ConfigDetailView,), {"throttle_classes": [UserRateThrottle]})
    assert len(blockers(reads_too)) == 1 and "UserRateThrottle" in blockers(reads_too)[0]


def test_cached_read_is_one_query_from_redis(redis, django_assert_num_queries):
    """With the document cache in Redis, a detail read is still one query, and another process finds the bytes."""
    store(small_config())
    api = APIClient()
    assert api.get("/models/acme_tiny-1").status_code == 200
    with django_assert_num_queries(1):
        response = api.get("/models/acme_tiny-1")
    assert response.status_code == 200
    digest = response["ETag"].strip('"')
    assert _redis_cache(redis).get(f"registry.api.document:{digest}") == response.content
