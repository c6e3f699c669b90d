"""Limit/offset pagination that rejects a bad ``limit`` or ``offset`` instead of replacing it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination

from registry.api.errors import query_error
from registry.core.counts import BIGINT_MAX
from registry.core.issues import Code

_INTEGER = re.compile(r"-?[0-9]{1,30}")


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """``limit`` 1..500 (default 50), ``offset`` >= 0; anything else is a 400."""

    default_limit = 50
    max_limit = 500

    def _integer(self, request: Any, param: str, default: int, minimum: int, maximum: int) -> int:
        raw = request.query_params.get(param)
        if raw is None:
            return default
        if not _INTEGER.fullmatch(raw):
            raise query_error(param, Code.NOT_AN_INTEGER, f"expected an integer, got {raw!r}")
        value = int(raw)
        if not minimum <= value <= maximum:
            raise query_error(
                param, Code.OUT_OF_RANGE, f"expected an integer between {minimum} and {maximum}, got {value}"
            )
        return value

    def get_limit(self, request: Any) -> int:
        return self._integer(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request: Any) -> int:
        return self._integer(request, self.offset_query_param, 0, 0, BIGINT_MAX)


def paginate(
    items: QuerySet[Any] | Sequence[Any], request: Any, view: Any
) -> tuple[StrictLimitOffsetPagination, list[Any]]:
    """The page of ``items`` (a query or a list) the request asks for, and its paginator (for the response)."""
    paginator = StrictLimitOffsetPagination()
    # DRF pages any sequence with len() and slices; its stubs want a QuerySet.
    page = paginator.paginate_queryset(items, request, view=view)  # type: ignore[arg-type]
    assert page is not None  # None only without a limit, and StrictLimitOffsetPagination always has one
    return paginator, page
