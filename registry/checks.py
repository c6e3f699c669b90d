"""System checks of the registry's settings (``manage.py check``), with stable ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from registry import conf


@register(Tags.caches)
def check_api_cache(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """registry.E001: REGISTRY_API_CACHE names a cache of CACHES."""
    alias = conf.api_cache_alias()
    caches = getattr(settings, "CACHES", {"default": {}})
    if alias not in caches:
        return [
            Error(
                f"REGISTRY_API_CACHE is {alias!r}, which is not a cache in CACHES ({', '.join(caches) or 'none'}).",
                hint="Name a cache alias of CACHES, or leave REGISTRY_API_CACHE unset for 'default'.",
                id="registry.E001",
            )
        ]
    return []


@register()
def check_settings_types(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """registry.E002: each REGISTRY_* setting has its type."""
    wanted = {
        conf.READS_REQUIRE_AUTH: (bool, "True or False"),
        conf.HISTORY_SHOW_USERS: (bool, "True or False"),
        conf.FIXTURES_DIR: (str | Path, "a path"),
        conf.MAX_FILE_BYTES: (int, "a whole number of bytes"),
        conf.READY_CACHE_SECONDS: (int | float, "a number of seconds"),
    }
    wanted[conf.API_CACHE] = (str, "a cache alias (a string)")
    return [
        Error(f"{setting.name} must be {what}, got {setting.get()!r}.", id="registry.E002", obj=setting.name)
        for setting, (kind, what) in wanted.items()
        if not isinstance(setting.get(), kind)
    ]


@register()
def check_lean_read_path(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """registry.E003: the lean read path (registry/api/lean.py) knows every setting it stands in for."""
    from registry.api.lean import blockers
    from registry.api.views import ConfigDetailView

    return [
        Error(
            f"The lean read path of GET /models/{{id}} cannot vouch for {reason}; it is off.",
            hint="Teach registry/api/lean.py the new setting (KNOWN_AUTHENTICATION, KNOWN_RENDERERS), or remove it.",
            id="registry.E003",
        )
        for reason in blockers(ConfigDetailView)
    ]
