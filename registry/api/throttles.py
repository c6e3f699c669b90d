"""Rate limits: writes per user (DRF's throttles) and failed token attempts per client address.

Both keep their counts in Django's default cache: Redis when ``REDIS_URL`` is set, so the limits hold across
workers and machines. Rates are the scopes of ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read at each request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as DRF's throttles see it: ``REMOTE_ADDR``, or the ``NUM_PROXIES``-th address from the
    right of ``X-Forwarded-For`` when proxies are declared (django-axes uses it too, so both agree)."""
    # get_ident reads only request.headers and request.META, which a plain HttpRequest has (django-axes passes one);
    # the stubs ask for DRF's Request.
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


class ScopedRate:
    """The rate of ``scope`` from the settings as they are now (DRF binds its own at import)."""

    scope: str

    def get_rate(self) -> str | None:
        # The stubs type the rates as numbers; DRF's are strings such as "100/hour" (parse_rate splits them).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]


class WriteRateThrottle(ScopedRate, UserRateThrottle):
    """Unsafe methods per user (any token or session of theirs), or per address when anonymous."""

    scope = "write"
    # For registry/api/lean.py: GET, HEAD and OPTIONS always pass, so the lean read path may skip this throttle.
    reads = False

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class FailedTokenThrottle(ScopedRate, SimpleRateThrottle):
    """Failed token attempts per client address, in fixed windows of the rate's period.

    The count is the cache's atomic ``incr`` (Redis ``INCR``), not DRF's read-modify-write history, so parallel
    guesses from many workers cannot slip past the limit through lost updates.
    """

    scope = "failed_token"
    # Set by SimpleRateThrottle.__init__ from the rate (parse_rate): both None when the scope has no rate.
    num_requests: int | None
    duration: int | None

    def _window(self, request: Any, duration: int) -> tuple[str, float]:
        now = self.timer()
        window = int(now // duration)
        key = self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}_{window}"}
        return key, (window + 1) * duration - now

    def allow_request(self, request: Any, view: Any = None) -> bool:
        """Whether this address may present a token now (its failures this window are under the limit)."""
        if self.num_requests is None or self.duration is None:  # no rate
            return True
        key, self.left = self._window(request, self.duration)
        return int(self.cache.get(key, 0)) < self.num_requests

    def failed(self, request: Any) -> None:
        """Count one failed attempt of this address."""
        if self.duration is None:  # no rate
            return
        key, left = self._window(request, self.duration)
        timeout = int(left) + 1
        self.cache.add(key, 0, timeout)
        try:
            self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.add(key, 1, timeout)

    def wait(self) -> float:
        return self.left


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, refusing with 429 an address that has sent too many bad tokens lately.

    Once over the limit every token from that address is refused until the window ends, a valid one too:
    answering a valid token would tell a guesser when it has found one.
    """

    def authenticate(self, request: Any) -> Any:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: nothing to count (and nothing for the lean read path to skip)
        throttle = FailedTokenThrottle()
        if not throttle.allow_request(request):
            raise exceptions.Throttled(throttle.wait(), detail="Too many failed token attempts from this address.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.failed(request)
            raise
