"""Every API error is JSON ``{"errors": [{"loc", "code", "msg"}]}``, the core's Issue shape."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.http import quote_etag
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry import health
from registry.core import Code, Issue
from registry.models import ModelConfig
from registry.services import ConfigRejected, PreconditionFailed

# ConfigRejected codes that mean "the stored state conflicts", not "the body is wrong".
CONFLICT_CODES = frozenset({Code.ALREADY_EXISTS})


class Invalid(exceptions.APIException):
    """A request the API rejects with issues of its own (query parameters, headers)."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = Code.INVALID_REQUEST

    def __init__(self, issues: Iterable[Issue], status_code: int | None = None) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues))
        if status_code is not None:
            self.status_code = status_code


def config_not_found() -> exceptions.NotFound:
    """The 404 of a model_id no stored config has."""
    return exceptions.NotFound("No config with this model_id.")


def query_error(param: str, code: str, msg: str) -> Invalid:
    return Invalid([Issue(f"query.{param}", code, msg)])


def query_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Issues about query parameters, their locs prefixed with ``query.``."""
    return [Issue(f"query.{i.loc}", i.code, i.msg) for i in issues]


def body(issues: Iterable[Issue]) -> dict[str, list[dict[str, str]]]:
    return {"errors": [issue.as_dict() for issue in issues]}


def _flatten(detail: Any, loc: str) -> list[Issue]:
    """DRF's nested error details as issues (``detail`` is a dict, a list or an ErrorDetail)."""
    if isinstance(detail, Mapping):
        return [i for key, value in detail.items() for i in _flatten(value, f"{loc}.{key}" if loc != "$" else key)]
    if isinstance(detail, list):
        return [i for item in detail for i in _flatten(item, loc)]
    return [Issue(loc, getattr(detail, "code", None) or Code.INVALID_REQUEST, str(detail))]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the services' exceptions, all rendered as ``{"errors": [...]}``."""
    if isinstance(exc, health.DATABASE_ERRORS):
        request = context.get("request")
        health.note_outage(getattr(request, "_request", request), exc)
        outage = Response(health.outage_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
        outage["Retry-After"] = health.RETRY_AFTER
        return outage
    if isinstance(exc, ConfigRejected):
        conflict = any(issue.code in CONFLICT_CODES for issue in exc.issues)
        return Response(body(exc.issues), status=409 if conflict else 400)
    if isinstance(exc, PreconditionFailed):
        msg = (
            "the config has changed since it was read"
            if exc.current
            else "there is no config with this model_id for If-Match to match"
        )
        refused = Response(
            body([Issue("header.If-Match", Code.PRECONDITION_FAILED, msg)]),
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
        if exc.current:
            refused["ETag"] = quote_etag(exc.current)
        return refused
    if isinstance(exc, ModelConfig.DoesNotExist):
        exc = config_not_found()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, Invalid):
        return Response(body(exc.issues), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        issues = _flatten(detail, "$")
    else:
        issues = [Issue("$", getattr(detail, "code", None) or "error", str(detail))]
    response.data = body(issues)
    return response


def _is_admin(request: HttpRequest) -> bool:
    return request.path.startswith("/admin/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """JSON 404 for every path but the admin's."""
    if _is_admin(request):
        return defaults.page_not_found(request, exception)
    issue = Issue("$", Code.NOT_FOUND, f"nothing at {request.path}")
    return JsonResponse(body([issue]), status=404)


def server_error(request: HttpRequest) -> Any:
    """JSON 500 for every path but the admin's; 503 when the error was the database's (e.g. in a middleware)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, health.DATABASE_ERRORS):
        return health.outage_response(request, exc)
    if _is_admin(request):
        return defaults.server_error(request)
    return JsonResponse(body([Issue("$", Code.SERVER_ERROR, "internal server error")]), status=500)


def bad_request(request: HttpRequest, exception: Exception) -> Any:
    if _is_admin(request):
        return defaults.bad_request(request, exception)
    return JsonResponse(body([Issue("$", Code.BAD_REQUEST, "bad request")]), status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> Any:
    if _is_admin(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(body([Issue("$", Code.PERMISSION_DENIED, "permission denied")]), status=403)
