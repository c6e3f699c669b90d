"""Request ids for logs and responses; database outages answered with 503, and lost connections recovered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from registry import health
from registry.log import current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it is a short token (a proxy's or a client's); anything else could forge log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestIdMiddleware:
    """Gives each request an id (X-Request-ID if sane, else a new one), seen in its log records and response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # our own attribute on HttpRequest
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class DatabaseOutageMiddleware:
    """A database error is a 503 (never a 500); a connection the server dropped is replaced within the request.

    Reads meeting a database error are run once more on fresh connections: the first read of a worker after a
    database restart succeeds at no cost to the others (unlike CONN_HEALTH_CHECKS, which adds a round trip to
    every request). Writes are not replayed; instead, their kept connections are checked before they run.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            try:
                health.drop_broken_connections()
            except health.DATABASE_ERRORS as exc:
                return health.outage_response(request, exc)
        response = self.get_response(request)
        if (
            getattr(request, health.OUTAGE_ATTRIBUTE, None) is not None
            and request.method in SAFE_METHODS
            and not health.connections_in_transaction()
        ):
            health.close_connections()
            setattr(request, health.OUTAGE_ATTRIBUTE, None)
            response = self.get_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Views outside DRF (the admin, the lean detail read): DRF's own are mapped by registry.api.errors."""
        if isinstance(exception, health.DATABASE_ERRORS):
            return health.outage_response(request, exception)
        return None
