"""The registry's own settings: typed, documented, with defaults, and read when used (tests may change them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from django.conf import settings

from registry.core.files import DEFAULT_MAX_FILE_BYTES

T = TypeVar("T", covariant=True)  # covariant: settings of several types together are Setting[object]


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One ``REGISTRY_*`` setting: its name, default and meaning, and the type ``value`` reads it as."""

    name: str
    default: Any
    doc: str
    kind: Callable[[Any], T]

    def get(self) -> Any:
        """The setting as it is (the system checks judge its type)."""
        return getattr(settings, self.name, self.default)

    def value(self) -> T:
        """The setting, of its type: what the registry reads."""
        return self.kind(self.get())


FIXTURES_DIR = Setting(
    "REGISTRY_FIXTURES_DIR",
    Path(__file__).resolve().parent.parent / "fixtures",
    "Where loadconfigs reads and dumpconfigs writes when given no path.",
    Path,
)
READS_REQUIRE_AUTH = Setting(
    "REGISTRY_READS_REQUIRE_AUTH",
    False,
    "When true, reading the API (and its schema) needs an authenticated user.",
    bool,
)
API_CACHE = Setting(
    "REGISTRY_API_CACHE", "default", "The cache alias holding rendered config documents by digest.", str
)
HISTORY_SHOW_USERS = Setting(
    "REGISTRY_HISTORY_SHOW_USERS",
    False,
    "When true, anonymous readers of the history API see who made each revision; otherwise only authenticated "
    "users see usernames (anonymous readers get null).",
    bool,
)
MAX_FILE_BYTES = Setting(
    "REGISTRY_MAX_FILE_BYTES",
    DEFAULT_MAX_FILE_BYTES,
    "The largest config file loadconfigs and importhf read, in bytes; a larger one is refused (file_too_large).",
    int,
)
READY_CACHE_SECONDS = Setting(
    "REGISTRY_READY_CACHE_SECONDS",
    5,
    "How long /readyz trusts its last look at the database's migrations, in seconds (0: look at every probe).",
    float,
)
SETTINGS = (FIXTURES_DIR, READS_REQUIRE_AUTH, API_CACHE, HISTORY_SHOW_USERS, MAX_FILE_BYTES, READY_CACHE_SECONDS)


# The typed accessors the registry reads its settings through.
fixtures_dir = FIXTURES_DIR.value
reads_require_auth = READS_REQUIRE_AUTH.value
api_cache_alias = API_CACHE.value
history_shows_users_to_anonymous = HISTORY_SHOW_USERS.value
max_file_bytes = MAX_FILE_BYTES.value
ready_cache_seconds = READY_CACHE_SECONDS.value
