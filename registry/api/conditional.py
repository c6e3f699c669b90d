"""ETag / Last-Modified headers and the conditional-request rules (RFC 9110 §13) for configs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_etags, parse_http_date_safe, quote_etag


def set_validators(response: HttpResponse, digest: str, updated: datetime) -> HttpResponse:
    """A strong ETag (the stored digest) and Last-Modified on a config response."""
    response["ETag"] = quote_etag(digest)
    response["Last-Modified"] = http_date(updated.timestamp())
    return response


def not_modified(request: Any, digest: str, updated: datetime) -> HttpResponse | None:
    """A 304 when If-None-Match names the current ETag (weak comparison), or, without one,
    when If-Modified-Since is not older than the last change; else None."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if header is not None:
        match = header.strip() == "*" or _lists(header, digest)
    else:
        since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
        match = since is not None and int(updated.timestamp()) <= since
    if not match:
        return None
    return set_validators(HttpResponseNotModified(), digest, updated)


def respond(request: Any, digest: str, updated: datetime, build: Callable[[], HttpResponse]) -> HttpResponse:
    """A conditional GET: the 304 of ``not_modified``, else ``build()``'s response with the validators."""
    unchanged = not_modified(request, digest, updated)
    if unchanged is not None:
        return unchanged
    return set_validators(build(), digest, updated)


# Matches no digest (those are hex): passed on when If-Match cannot match, so the services still
# validate the body first and then fail the precondition inside the write's transaction.
NO_MATCH = "-"


def if_match(request: Any, current: str | None) -> str | None:
    """The digest a write must still find (for ``config_upsert``/``config_delete``), or None.

    ``current`` is the digest read before the write; the services compare again inside the
    write's transaction, under a row lock. ``*`` asks only that the config exists. Weak tags
    never match (If-Match uses the strong comparison); a header with no usable tag fails.
    """
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags == ["*"]:
        return current if current is not None else NO_MATCH
    strong = [tag.strip('"') for tag in tags if not tag.startswith("W/")]
    return current if current is not None and current in strong else NO_MATCH


def none_match_names(request: Any, current: str | None) -> bool:
    """Whether If-None-Match lists ``current`` by its tag (weak comparison); ``*`` is not a tag here."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    return header is not None and current is not None and _lists(header, current)


def if_none_match_any(request: Any) -> bool:
    """``If-None-Match: *``: the write may only create."""
    return request.META.get("HTTP_IF_NONE_MATCH", "").strip() == "*"


def _lists(header: str, digest: str) -> bool:
    """Whether an If-None-Match header names ``digest`` (weak comparison: W/ tags count)."""
    return any(_opaque(tag) == digest for tag in parse_etags(header))


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/").strip('"')
