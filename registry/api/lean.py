"""The lean path of the planner's hot read: a cached document answered without DRF's request machinery.

It answers only what DRF would answer with nothing but the document, by DRF's own rules: its content
negotiation picks the renderer, and only authentication classes whose credentials it knows are allowed.
Throttles that declare themselves write-only (a class attribute ``reads = False``: their ``allow_request``
passes GET, HEAD and OPTIONS) limit nothing it answers. Any other setting it cannot vouch for (an unknown
authentication class, a throttle of reads, other renderers) turns it off, and system check ``registry.E003``
says so.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from registry import conf
from registry.api import conditional, documents
from registry.selectors import stored_version

# Authentication classes and the request header that carries their credentials (None: none that can
# change a public read's answer; a session only adds what Vary: Cookie already says).
KNOWN_AUTHENTICATION: dict[str, str | None] = {
    "rest_framework.authentication.TokenAuthentication": "HTTP_AUTHORIZATION",
    "rest_framework.authentication.SessionAuthentication": None,
    # TokenAuthentication that also counts failed tokens per address; without a token it is the same.
    "registry.api.throttles.ThrottledTokenAuthentication": "HTTP_AUTHORIZATION",
}
KNOWN_RENDERERS = (
    "rest_framework.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
)


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def blockers(view_class: Any) -> list[str]:
    """Why the lean path cannot stand in for ``view_class`` (a DRF view) as it is set up (empty: it can)."""
    out = []
    for cls in view_class.authentication_classes:
        if _path(cls) not in KNOWN_AUTHENTICATION:
            out.append(f"authentication class {_path(cls)} (its credentials would be skipped)")
    reads = [t for t in view_class.throttle_classes if getattr(t, "reads", True) is not False]
    if reads:
        out.append(f"throttles {', '.join(_path(t) for t in reads)} (they would be skipped)")
    renderers = tuple(_path(r) for r in view_class.renderer_classes)
    if renderers != KNOWN_RENDERERS:
        out.append(f"renderers {', '.join(renderers)} (negotiation would differ)")
    return out


class _Negotiable:
    """What DRF's negotiation reads of a request: the query string and the headers."""

    def __init__(self, request: HttpRequest) -> None:
        self.query_params = request.GET
        self.META = request.META


_negotiation = DefaultContentNegotiation()


def _credentials(request: HttpRequest, view_class: Any) -> bool:
    headers = (KNOWN_AUTHENTICATION[_path(c)] for c in view_class.authentication_classes)
    return any(header is not None and header in request.META for header in headers)


def _negotiates_json(request: HttpRequest, view_class: Any) -> bool:
    renderers = [r() for r in view_class.renderer_classes]
    try:
        renderer, _ = _negotiation.select_renderer(_Negotiable(request), renderers)  # type: ignore[arg-type]  # duck-typed Request
    except Exception:
        return False
    return isinstance(renderer, JSONRenderer)


def lean(request: HttpRequest, view_class: type) -> bool:
    """Whether DRF would answer this request with nothing but the document."""
    return (
        request.method in ("GET", "HEAD")
        and not request.GET
        and not conf.reads_require_auth()
        and not blockers(view_class)
        and not _credentials(request, view_class)  # a bad token must still be a 401
        and _negotiates_json(request, view_class)
    )


def lean_detail(drf_view: Any) -> Any:
    """``ConfigDetailView``'s view, with the lean path in front of it.

    A plain GET/HEAD of a document already rendered (cached by digest), from a client DRF would answer
    with JSON, with no credentials, while reads are public: one query for the digest, then the cached
    bytes, with the headers DRF would send. Everything else goes to DRF unchanged (bench/api_bench.py
    measures the difference).
    """
    drf = drf_view.cls(**drf_view.initkwargs)  # what DRF itself sends: its methods once set up
    drf.setup(HttpRequest())
    allow = ", ".join(drf.allowed_methods)

    @csrf_exempt
    def view(request: Any, model_id: str) -> HttpResponse:
        if lean(request, drf_view.cls):
            row = stored_version(model_id)
            if row is not None and (body := documents.cached(row[1])) is not None:
                _, digest, updated = row
                response = conditional.not_modified(request, digest, updated)
                if response is None:
                    response = conditional.set_validators(
                        HttpResponse(body, content_type="application/json"), digest, updated
                    )
                response["Allow"] = allow
                patch_vary_headers(response, ("Accept", "Cookie"))
                return response
        return drf_view(request, model_id=model_id)

    # drf-spectacular and DRF's tooling find the view class through these attributes.
    view.cls = drf_view.cls  # type: ignore[attr-defined]  # set on a function
    view.initkwargs = drf_view.initkwargs  # type: ignore[attr-defined]  # set on a function
    return view
