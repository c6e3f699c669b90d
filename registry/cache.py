"""Django's Redis cache, made to degrade instead of fail: a Redis that cannot be reached is a cache miss.

The document cache then renders from the database, and the throttles let requests through (fail open)
until Redis answers again; the outage is logged once per failing call.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class ResilientRedisCache(RedisCache):
    """``RedisCache`` whose reads miss and whose writes are skipped while Redis is unreachable."""

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except _UNREACHABLE as exc:
            log.warning("redis unreachable, cache read skipped: %s", exc)
            return default

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except _UNREACHABLE as exc:
            log.warning("redis unreachable, cache read skipped: %s", exc)
            return {}

    def set(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except _UNREACHABLE as exc:
            log.warning("redis unreachable, cache write skipped: %s", exc)

    def add(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except _UNREACHABLE as exc:
            log.warning("redis unreachable, cache write skipped: %s", exc)
            return False

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        try:
            return super().incr(key, delta, version)
        except _UNREACHABLE as exc:
            log.warning("redis unreachable, cache write skipped: %s", exc)
            return 0
