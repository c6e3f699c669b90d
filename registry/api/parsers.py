"""The request body parser: JSON read by the core's own file parser, so the API and loadconfigs
reject the same bytes with the same codes and messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import renderers, status
from rest_framework.parsers import BaseParser

from registry.api.errors import Invalid
from registry.core import Code, Issue
from registry.core.files import parse_config_bytes


class DocumentParser(BaseParser):
    """``application/json`` bodies (UTF-8, RFC 8259), at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes.

    Not a JSONParser subclass: DRF hands those ``request.body``, which is read whole before any
    limit can give a clear 413; this parser reads the stream itself.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer  # the browsable API's raw-data form

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            raw = stream.read() if limit is None else stream.read(limit + 1)
        except RequestDataTooBig:
            raw = None
        if raw is None or (limit is not None and len(raw) > limit):
            too_large = Issue("$", Code.TOO_LARGE, f"expected a body of at most {limit} bytes")
            raise Invalid([too_large], status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        data, issue = parse_config_bytes(raw)
        if issue is not None:
            raise Invalid([issue])
        return data
