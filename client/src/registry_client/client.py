"""The registry's HTTP API for Python programs: cached, conditional reads, typed answers, one exception per error."""

from __future__ import annotations

import json
import os
import random
import stat
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

import httpx

from registry_client import validation
from registry_client.cache import Cache, Entry, default_cache_dir
from registry_client.errors import (
    BY_STATUS,
    NotFound,
    PreconditionFailed,
    RegistryError,
    Unavailable,
    ValidationFailed,
    _RetryLater,
    retry_after_seconds,
)
from registry_client.types import (
    ConfigSummary,
    Issue,
    LayerClass,
    ModelConfig,
    ParameterBreakdown,
    Plan,
    Recommendation,
    ValidationReport,
)

__version__ = "0.1.0"
# The quick start's server (`manage.py runserver`): used when neither base_url nor REGISTRY_URL is given.
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 10.0
# A config file larger than this is refused unread (the server's own body limit is 2.5 MB).
MAX_FILE_BYTES = 16 * 1024 * 1024
RETRY_STATUSES = (429, 503)

Source = Literal["network", "revalidated", "offline", "directory"]


class OfflineWarning(UserWarning):
    """The registry could not be reached: the document is the cached copy, as last confirmed (see the message)."""


@dataclass(frozen=True)
class Loaded:
    """A document and how it was obtained.

    ``source``: ``network`` (a 200), ``revalidated`` (a 304: the cached copy is current), ``offline`` (the server
    could not be reached; the cached copy as of ``checked``), ``directory`` (a file). ``etag`` is the version to
    send back as ``if_match`` on a write.
    """

    document: ModelConfig
    etag: str | None
    source: Source
    checked: float | None = None

    @property
    def offline(self) -> bool:
        """Whether the document may be stale: the server was not asked successfully."""
        return self.source == "offline"


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # a module function so tests can observe the waits


def _quoted(etag: str) -> str:
    return etag if etag == "*" or etag.startswith(('"', "W/")) else f'"{etag}"'


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the API spells them: booleans ``true``/``false``, None left out."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _issues(response: httpx.Response) -> list[Issue]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [cast(Issue, e) for e in errors if isinstance(e, dict) and {"loc", "code", "msg"} <= e.keys()]


def raise_for(response: httpx.Response) -> None:
    """The exception of an error response (its class by status; RegistryError for others); nothing on success."""
    if response.status_code < 400:
        return
    errors = _issues(response)
    message = f"{response.request.method} {response.request.url} -> {response.status_code}"
    cls = BY_STATUS.get(response.status_code, RegistryError)
    if cls is PreconditionFailed:
        raise PreconditionFailed(message, errors=errors, current_etag=response.headers.get("ETag"))
    if issubclass(cls, _RetryLater):
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        raise cls(message, status=response.status_code, errors=errors, retry_after=wait)
    raise cls(message, status=response.status_code, errors=errors)


class Registry:
    """A connection to one registry.

    ``base_url``: the argument, else ``REGISTRY_URL``, else the quick start's ``http://127.0.0.1:8000``.
    ``token``: the argument, else ``REGISTRY_TOKEN`` (a DRF token; writes need one). ``cache_dir``: where documents
    are kept between runs (``REGISTRY_CACHE_DIR``, else the user's cache folder); ``cache=False`` keeps none.
    Answers 429 and 503 are retried ``retries`` times, waiting as ``Retry-After`` says (or 0.5 s, 1 s, 2 s, ...
    without one); a wait longer than ``max_wait`` seconds is not waited for. ``offline_fallback``: when the server
    cannot be reached (or stays 503), :meth:`fetch` serves the cached copy with an :class:`OfflineWarning`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        max_wait: float = 60.0,
        offline_fallback: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("REGISTRY_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("REGISTRY_TOKEN")
        headers = {"Accept": "application/json", "User-Agent": f"registry-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self.retries, self.max_wait, self.offline_fallback = retries, max_wait, offline_fallback
        self.cache = Cache(Path(cache_dir) if cache_dir else default_cache_dir(), self.base_url) if cache else None
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- HTTP ------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on 429/503 as the server asks; raises :class:`Unavailable` when there is no answer.

        Error statuses are returned, not raised (see :func:`raise_for`).
        """
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise Unavailable(f"cannot reach the registry at {self.base_url} ({exc!r})") from exc
            if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = 0.5 * 2**attempt * (0.75 + random.random() / 2)
            if wait > self.max_wait:
                return response
            _sleep(wait)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        raise_for(response)
        return response.json()

    # ---- reads -----------------------------------------------------------------------------------------------

    def fetch(self, model_id: str) -> Loaded:
        """The config ``model_id``, revalidated against the cached copy with ``If-None-Match`` (a 304 has no body)."""
        _check_model_id(model_id)
        entry = self.cache.get(model_id) if self.cache else None
        headers = {"If-None-Match": entry.etag} if entry is not None and entry.etag else {}
        try:
            response = self.request("GET", f"/models/{model_id}", headers=headers)
            if response.status_code == 503:
                raise_for(response)
        except Unavailable as exc:
            if entry is None or not self.offline_fallback:
                raise
            when = datetime.fromtimestamp(entry.checked, UTC).isoformat(timespec="seconds")
            warnings.warn(
                f"registry at {self.base_url} unavailable ({exc}); serving the cached copy of {model_id!r} "
                f"last confirmed at {when}",
                OfflineWarning,
                stacklevel=3,
            )
            return Loaded(entry.document(), entry.etag, "offline", entry.checked)
        now = time.time()
        if response.status_code == 304 and entry is not None:
            assert self.cache is not None
            self.cache.touch(model_id)
            return Loaded(entry.document(), entry.etag, "revalidated", now)
        if response.status_code == 404 and self.cache is not None:
            self.cache.delete(model_id)  # gone from the registry: keep no copy to serve later
        raise_for(response)
        return self._keep(model_id, response, "network")

    def _keep(self, model_id: str, response: httpx.Response, source: Source) -> Loaded:
        """A document response as Loaded, written to the cache."""
        etag, now = response.headers.get("ETag"), time.time()
        document = cast(ModelConfig, json.loads(response.content))
        if self.cache is not None:
            self.cache.put(model_id, Entry(etag=etag, body=response.content, checked=now, url=str(response.url)))
        return Loaded(document, etag, source, now)

    def load(self, model_id: str) -> ModelConfig:
        """The config document of ``model_id`` (see :meth:`fetch`)."""
        return self.fetch(model_id).document

    def list_configs(self, **filters: Any) -> Iterator[ConfigSummary]:
        """Every config the filters select, page after page: ``search``, ``layer_class``, ``min_params``,
        ``max_params``, ``min_active_params``, ``max_active_params``, ``num_layers``, ``hidden_size``,
        ``validated``, ``ordering`` (e.g. ``"-total_params"``), ``limit`` (page size)."""
        for item in self._pages("/models/", {**filters, "expand": None}):
            yield cast(ConfigSummary, item)

    def list_documents(self, **filters: Any) -> Iterator[ModelConfig]:
        """As :meth:`list_configs`, the full documents (``expand=layer_types``)."""
        for item in self._pages("/models/", {**filters, "expand": "layer_types"}):
            yield cast(ModelConfig, item)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        url: str | None = path
        query: dict[str, str] | None = _query(params)
        while url is not None:
            page = self._json("GET", url, params=query)
            yield from page["results"]
            url, query = page["next"], None  # `next` carries the query

    def parameters(self, model_id: str) -> ParameterBreakdown:
        """Where the config's parameters are, layer type by layer type (``GET /models/{id}/parameters``)."""
        _check_model_id(model_id)
        return cast(ParameterBreakdown, self._json("GET", f"/models/{model_id}/parameters"))

    def plan(self, model_id: str, **deployment: Any) -> Plan:
        """A deployment plan (``GET /models/{id}/plan``): ``mode``, ``dtype``, ``kv_dtype``, ``context``,
        ``batch``, ``tp``, ``pp``, ``ep``, ``cp``, ``dp``, ``zero``, ``device_memory``, ``utilization``, ...
        as the API documents them."""
        _check_model_id(model_id)
        return cast(Plan, self._json("GET", f"/models/{model_id}/plan", params=_query(deployment)))

    def plans(self, **params: Any) -> Iterator[Plan]:
        """The same plan for every config the list's filters select (``GET /plans/``; ``fits=True`` too)."""
        for item in self._pages("/plans/", params):
            yield cast(Plan, item)

    def recommend(self, model_id: str, **params: Any) -> Recommendation:
        """The cheapest deployment (``GET /models/{id}/recommend``): ``isl``, ``osl``, ``concurrency``, ``dtype``,
        ``engine``, ``ttft_ms``, ``tpot_ms``, ``devices``, ``max_devices``, ... as the API documents them."""
        _check_model_id(model_id)
        return cast(Recommendation, self._json("GET", f"/models/{model_id}/recommend", params=_query(params)))

    def layer_classes(self) -> list[LayerClass]:
        """The catalogue of layer classes."""
        return cast(list[LayerClass], self._json("GET", "/layer-classes/"))

    def layer_class(self, name: str) -> LayerClass:
        return cast(LayerClass, self._json("GET", f"/layer-classes/{name}"))

    def validate(self, document: Mapping[str, Any] | bytes, *, recompute: bool = False) -> ValidationReport:
        """The server's verdict on a document (``POST /models/validate``); raw bytes are sent as they are, so the
        server also judges the JSON text (duplicate keys, encoding). Unreadable JSON raises ValidationFailed."""
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        response = self.request(
            "POST",
            "/models/validate",
            content=content,
            params=_query({"recompute": recompute or None}),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code in (200, 400):
            body = response.json()
            if isinstance(body, dict) and "valid" in body:
                return cast(ValidationReport, body)
        raise_for(response)
        raise RegistryError(f"unexpected answer {response.status_code} from POST /models/validate")

    # ---- writes ----------------------------------------------------------------------------------------------

    def create(self, document: Mapping[str, Any], *, recompute: bool = False) -> Loaded:
        """Add a config (``POST /models/``); Conflict if the model_id exists."""
        response = self.request("POST", "/models/", json=document, params=_query({"recompute": recompute or None}))
        raise_for(response)
        return self._written(response)

    def update(
        self, model_id: str, document: Mapping[str, Any], *, if_match: str | None, recompute: bool = False
    ) -> Loaded:
        """Replace a config (``PUT``). ``if_match``: the ETag it must still have (PreconditionFailed if not;
        ``"*"``: it must exist); None replaces whatever is stored, or creates it."""
        _check_model_id(model_id)
        headers = {"If-Match": _quoted(if_match)} if if_match is not None else {}
        params = _query({"recompute": recompute or None})
        response = self.request("PUT", f"/models/{model_id}", json=document, headers=headers, params=params)
        raise_for(response)
        return self._written(response)

    def patch(self, model_id: str, changes: Mapping[str, Any], *, if_match: str | None = None) -> Loaded:
        """Change some top-level keys (``PATCH``; ``layer_types`` as a whole), guarded by ``if_match`` if given."""
        _check_model_id(model_id)
        headers = {"If-Match": _quoted(if_match)} if if_match is not None else {}
        response = self.request("PATCH", f"/models/{model_id}", json=changes, headers=headers)
        raise_for(response)
        return self._written(response)

    def delete(self, model_id: str, *, if_match: str | None = None) -> None:
        """Delete a config (``DELETE``), guarded by ``if_match`` if given."""
        _check_model_id(model_id)
        headers = {"If-Match": _quoted(if_match)} if if_match is not None else {}
        response = self.request("DELETE", f"/models/{model_id}", headers=headers)
        raise_for(response)
        if self.cache is not None:
            self.cache.delete(model_id)

    def _written(self, response: httpx.Response) -> Loaded:
        model_id = json.loads(response.content)["model_id"]
        return self._keep(model_id, response, "network")

    # ---- files -----------------------------------------------------------------------------------------------

    def check_file(self, path: str | os.PathLike[str]) -> ModelConfig:
        """The document in a config file, validated by the server (``POST /models/validate``) and named after its
        model_id; ValidationFailed (with ``file`` and each issue's path and code) if it is not valid."""
        raw, name = _read_file(Path(path))
        try:
            report = self.validate(raw)
        except ValidationFailed as exc:  # unreadable JSON: the server's issue
            raise ValidationFailed("not a config document", errors=exc.errors, file=str(path)) from None
        data, _ = validation.parse_document(raw)
        errors = list(report["errors"])
        errors += [i for i in validation.structural_issues(data, filename=name) if i["code"] == "filename_mismatch"]
        if errors:
            raise ValidationFailed("invalid config", errors=errors, file=str(path))
        return cast(ModelConfig, data)


def check_file_offline(path: str | os.PathLike[str]) -> ModelConfig:
    """The document in a config file, checked against the format's structural rules only (no server)."""
    raw, name = _read_file(Path(path))
    data, issue = validation.parse_document(raw)
    errors = [issue] if issue is not None else validation.structural_issues(data, filename=name)
    if errors:
        raise ValidationFailed("invalid config", errors=errors, file=str(path))
    return cast(ModelConfig, data)


def _check_model_id(model_id: str) -> None:
    """A model_id is one path segment; anything else would name another URL (or file)."""
    if not validation.MODEL_ID_RE.fullmatch(model_id) or not model_id.strip("."):
        issue: Issue = {"loc": "model_id", "code": "model_id_characters", "msg": f"not a model_id: {model_id!r}"}
        raise ValidationFailed("bad model_id", status=None, errors=[issue])


def _read_file(path: Path) -> tuple[bytes, str]:
    """The bytes of a regular file of at most MAX_FILE_BYTES (a FIFO or a device is refused unread)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        issue: Issue = {"loc": "$", "code": "not_found", "msg": f"no such file: {path}"}
        raise NotFound(f"{path}: no such file", errors=[issue]) from None
    except OSError as exc:
        raise ValidationFailed(
            "unreadable", status=None, errors=[{"loc": "$", "code": "unreadable", "msg": str(exc)}], file=str(path)
        ) from None
    if not stat.S_ISREG(info.st_mode):
        issue = {"loc": "$", "code": "unreadable", "msg": "expected a regular file"}
        raise ValidationFailed("unreadable", status=None, errors=[issue], file=str(path))
    if info.st_size > MAX_FILE_BYTES:
        issue = {"loc": "$", "code": "too_large", "msg": f"expected at most {MAX_FILE_BYTES} bytes"}
        raise ValidationFailed("too large", status=None, errors=[issue], file=str(path))
    return path.read_bytes(), path.name


_registries: dict[tuple[str, str | None, str | None, float], Registry] = {}


def load_model_config(
    model_id: str,
    *,
    base_url: str | None = None,
    token: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    directory: str | os.PathLike[str] | None = None,
) -> ModelConfig:
    """The config document of ``model_id``: the dict ``GET /models/{model_id}`` returns, layer types in order.

    From the registry at ``base_url`` (else ``REGISTRY_URL``), revalidated against the cached copy (a 304 costs no
    body); when the registry cannot be reached, the cached copy with an :class:`OfflineWarning`. With
    ``directory``, ``<directory>/<model_id>.json`` instead, validated by the registry when one is configured
    (``base_url`` or ``REGISTRY_URL``), else by the format's structural rules.
    """
    if directory is not None:
        _check_model_id(model_id)
        path = Path(directory) / f"{model_id}.json"
        if base_url is None and not os.environ.get("REGISTRY_URL"):
            return check_file_offline(path)
        with Registry(base_url, token=token, cache=False, timeout=timeout) as registry:
            try:
                return registry.check_file(path)
            except Unavailable as exc:
                warnings.warn(
                    f"registry unavailable ({exc}); {path} checked by the structural rules only",
                    OfflineWarning,
                    stacklevel=2,
                )
                return check_file_offline(path)
    key = (
        (base_url or os.environ.get("REGISTRY_URL") or DEFAULT_URL).rstrip("/"),
        token if token is not None else os.environ.get("REGISTRY_TOKEN"),
        os.fspath(cache_dir) if cache_dir is not None else None,
        timeout,
    )
    if key not in _registries:  # one connection pool per registry, kept for the next call
        _registries[key] = Registry(key[0], token=key[1] or "", cache_dir=cache_dir, timeout=timeout)
    return _registries[key].load(model_id)
