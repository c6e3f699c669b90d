"""Django's Redis cache, made to degrade instead of fail: any Redis error is a cache miss, and a Redis that just
failed is left alone for a while.

Every error redis-py raises counts: unreachable, timed out (a paused or overloaded server), or refused (``OOM``
under ``noeviction``, ``READONLY`` after a failover). Reads then miss and writes are skipped, so the document
cache renders from the database and the throttles let requests through (fail open). A failed call opens a
circuit breaker: for ``cooldown`` seconds this process does not ask Redis at all, so a request's latency does not
follow Redis's; the next call after the cool-down tries again. An outage is logged once, when it starts, and
once more when Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_COOLDOWN = 5.0


class CircuitBreaker:
    """Per process and Redis location: closed while calls succeed, open for ``cooldown`` seconds after one fails."""

    def __init__(self, location: str, cooldown: float) -> None:
        self.location = location
        self.cooldown = cooldown
        self.open_until = 0.0
        self.failing = False
        self._lock = threading.Lock()

    def allows(self) -> bool:
        """Whether a call may go to Redis now (the breaker is closed, or its cool-down is over)."""
        return time.monotonic() >= self.open_until

    def failed(self, exc: RedisError) -> None:
        with self._lock:
            self.open_until = time.monotonic() + self.cooldown
            first, self.failing = not self.failing, True
        if first:
            log.warning(
                "redis at %s failed (%s: %s): cache reads miss and writes are skipped; retrying every %gs",
                self.location,
                type(exc).__name__,
                exc,
                self.cooldown,
            )

    def succeeded(self) -> None:
        if self.failing:  # read without the lock: the common case costs nothing
            with self._lock:
                was, self.failing = self.failing, False
            if was:
                log.warning("redis at %s answers again", self.location)


_breakers: dict[tuple[str, float], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, cooldown: float) -> CircuitBreaker:
    """The process's breaker for a Redis location (Django builds a cache object per thread; they share it)."""
    with _breakers_lock:
        return _breakers.setdefault((location, cooldown), CircuitBreaker(location, cooldown))


def reset_breakers() -> None:
    """Close every breaker (tests, or a process that knows Redis is back)."""
    with _breakers_lock:
        _breakers.clear()


class ResilientRedisCache(RedisCache):
    """``RedisCache`` whose reads miss and whose writes are skipped while Redis fails, behind a circuit breaker.

    ``OPTIONS["cooldown"]`` (seconds, default 5) is how long a failure keeps this process away from Redis; the
    other options go to redis-py (give ``socket_timeout`` and ``socket_connect_timeout`` a fraction of a second).
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        cooldown = float(options.pop("cooldown", DEFAULT_COOLDOWN))
        super().__init__(server, {**params, "OPTIONS": options})
        self.breaker = breaker_for(server if isinstance(server, str) else ",".join(server), cooldown)

    def _guarded(self, call: Callable[[], T], fallback: T) -> T:
        if not self.breaker.allows():
            return fallback
        try:
            result = call()
        except RedisError as exc:
            self.breaker.failed(exc)
            return fallback
        self.breaker.succeeded()
        return result

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded(lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._guarded(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guarded(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        self._guarded(lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._guarded(lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), list(data))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guarded(lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guarded(lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        """The new value; 0 while Redis fails (a missing key still raises ValueError, as Django's does)."""
        return self._guarded(lambda: super(ResilientRedisCache, self).incr(key, delta, version), 0)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._guarded(lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._guarded(lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        self._guarded(lambda: super(ResilientRedisCache, self).clear(), None)
