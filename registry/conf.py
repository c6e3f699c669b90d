"""The registry's own settings: typed, documented, with defaults, and read when used (tests may change them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from registry.core.files import DEFAULT_MAX_FILE_BYTES


@dataclass(frozen=True)
class Setting:
    """One ``REGISTRY_*`` setting: its name, default and meaning."""

    name: str
    default: Any
    doc: str

    def get(self) -> Any:
        return getattr(settings, self.name, self.default)


FIXTURES_DIR = Setting(
    "REGISTRY_FIXTURES_DIR",
    Path(__file__).resolve().parent.parent / "fixtures",
    "Where loadconfigs reads and dumpconfigs writes when given no path.",
)
READS_REQUIRE_AUTH = Setting(
    "REGISTRY_READS_REQUIRE_AUTH", False, "When true, reading the API (and its schema) needs an authenticated user."
)
API_CACHE = Setting("REGISTRY_API_CACHE", "default", "The cache alias holding rendered config documents by digest.")
HISTORY_SHOW_USERS = Setting(
    "REGISTRY_HISTORY_SHOW_USERS",
    False,
    "When true, anonymous readers of the history API see who made each revision; otherwise only authenticated "
    "users see usernames (anonymous readers get null).",
)
MAX_FILE_BYTES = Setting(
    "REGISTRY_MAX_FILE_BYTES",
    DEFAULT_MAX_FILE_BYTES,
    "The largest config file loadconfigs and importhf read, in bytes; a larger one is refused (file_too_large).",
)
READY_CACHE_SECONDS = Setting(
    "REGISTRY_READY_CACHE_SECONDS",
    5,
    "How long /readyz trusts its last look at the database's migrations, in seconds (0: look at every probe).",
)
SETTINGS = (FIXTURES_DIR, READS_REQUIRE_AUTH, API_CACHE, HISTORY_SHOW_USERS, MAX_FILE_BYTES, READY_CACHE_SECONDS)


def fixtures_dir() -> Path:
    return Path(FIXTURES_DIR.get())


def reads_require_auth() -> bool:
    return bool(READS_REQUIRE_AUTH.get())


def api_cache_alias() -> str:
    return str(API_CACHE.get())


def history_shows_users_to_anonymous() -> bool:
    return bool(HISTORY_SHOW_USERS.get())


def max_file_bytes() -> int:
    return int(MAX_FILE_BYTES.get())


def ready_cache_seconds() -> float:
    return float(READY_CACHE_SECONDS.get())
