"""Rendered config documents, cached by digest: a document's bytes never change for a given digest.

A read costs one query for the config's digest; the JSON body then comes from the cache, so a
write (which changes the digest) invalidates it without any signal. The cache is Django's,
alias ``settings.REGISTRY_API_CACHE`` (default ``"default"``, a per-process LocMemCache unless
CACHES says otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.cache import caches
from django.db.models import prefetch_related_objects
from rest_framework.renderers import JSONRenderer

from registry import conf
from registry.core import digest
from registry.models import ModelConfig

_renderer = JSONRenderer()


def _cache() -> Any:
    return caches[conf.api_cache_alias()]


def _key(digest: str) -> str:
    return f"registry.api.document:{digest}"


def render(document: dict[str, Any]) -> bytes:
    """The document as the API sends it: compact UTF-8 JSON, keys in the format's order."""
    return _renderer.render(document)


# Rendered documents expire: every write makes a new digest, and a shared cache (Redis) would otherwise
# keep every version ever rendered. A day is long enough to stay hot, short enough not to pile up.
DOCUMENT_TIMEOUT = 24 * 3600


def remember(digest: str, body: bytes) -> None:
    _cache().set(_key(digest), body, timeout=DOCUMENT_TIMEOUT)


def render_config(config: ModelConfig) -> tuple[str, bytes]:
    """The digest and body of a config whose layer types are loaded; cached under that digest.

    The digest is recomputed from what was read, not taken from the row: the row and its layer
    rows are two queries, and a write landing between them must not file a body under a
    digest it does not have.
    """
    document = config.to_document()
    key = digest(document)
    body = render(document)
    remember(key, body)
    return key, body


def bodies(configs: Iterable[ModelConfig]) -> list[bytes]:
    """The rendered documents of ``configs`` (rows with ``digest``), in order.

    Cached ones cost nothing; the rest have their layer types loaded in one query.
    """
    configs = list(configs)
    found = _cache().get_many([_key(c.digest) for c in configs])
    out = {c.digest: found[_key(c.digest)] for c in configs if _key(c.digest) in found}
    missing = [c for c in configs if c.digest not in out]
    if missing:
        prefetch_related_objects(missing, "layer_types")
        for config in missing:
            out[config.digest] = render_config(config)[1]
    return [out[c.digest] for c in configs]


def cached(digest: str) -> bytes | None:
    return _cache().get(_key(digest))


def parse(body: bytes) -> Any:
    return json.loads(body)
