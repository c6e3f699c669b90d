"""The registry's own settings: typed, documented, with defaults, and read when used (tests may change them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings


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
SETTINGS = (FIXTURES_DIR, READS_REQUIRE_AUTH, API_CACHE)


def fixtures_dir() -> Path:
    return Path(FIXTURES_DIR.get())


def reads_require_auth() -> bool:
    return bool(READS_REQUIRE_AUTH.get())


def api_cache_alias() -> str:
    return str(API_CACHE.get())
