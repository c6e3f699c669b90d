"""One exception type per documented error status of the API, all carrying the body's issues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from registry_client.types import Issue


class RegistryError(Exception):
    """An answer the registry refused with (``status``), or no answer (``status`` None)."""

    def __init__(self, message: str, *, status: int | None = None, errors: Sequence[Issue] = ()) -> None:
        self.status = status
        self.errors: list[Issue] = list(errors)
        detail = "; ".join(f"{i['loc']}: {i['msg']} [{i['code']}]" for i in self.errors)
        super().__init__(f"{message}: {detail}" if detail else message)

    @property
    def codes(self) -> list[str]:
        """The issues' stable codes, in order."""
        return [i["code"] for i in self.errors]


class ValidationFailed(RegistryError):
    """400: the document (or a query parameter) breaks rules; ``errors`` names each (``loc``, ``code``, ``msg``).

    ``file`` is the file it came from in directory mode.
    """

    def __init__(
        self, message: str, *, status: int | None = 400, errors: Sequence[Issue] = (), file: str | None = None
    ) -> None:
        self.file = file
        super().__init__(f"{file}: {message}" if file else message, status=status, errors=errors)

    @property
    def paths(self) -> list[str]:
        """Where each problem is (the issues' ``loc``)."""
        return [i["loc"] for i in self.errors]


class Unauthorized(RegistryError):
    """401: no token, or a bad one (``REGISTRY_TOKEN``)."""


class Forbidden(RegistryError):
    """403: the token's user lacks the permission."""


class NotFound(RegistryError):
    """404: no config with this model_id (or no such path)."""


class Conflict(RegistryError):
    """409: the model_id exists already."""


class PreconditionFailed(RegistryError):
    """412: ``If-Match`` names an older version; ``current_etag`` is the version the server has."""

    def __init__(
        self, message: str, *, status: int | None = 412, errors: Sequence[Issue] = (), current_etag: str | None = None
    ) -> None:
        self.current_etag = current_etag
        super().__init__(message, status=status, errors=errors)


class _RetryLater(RegistryError):
    def __init__(
        self, message: str, *, status: int | None = None, errors: Sequence[Issue] = (), retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, errors=errors)


class RateLimited(_RetryLater):
    """429: too many requests; ``retry_after`` is the seconds the server asked to wait."""


class Unavailable(_RetryLater):
    """503 (the registry's database is away), or no answer at all (``status`` None); ``retry_after`` as sent."""


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date, RFC 9110 §10.2.3) in seconds, or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


BY_STATUS: dict[int, type[RegistryError]] = {
    400: ValidationFailed,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: RateLimited,
    503: Unavailable,
}
