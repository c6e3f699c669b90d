"""The registry's settings: typed accessors with defaults, and system checks with stable ids."""

from __future__ import annotations

from pathlib import Path

from django.core import checks

from registry import conf


def test_defaults_apply_when_a_setting_is_absent(settings):
    """An unset REGISTRY_* setting takes its documented default."""
    del settings.REGISTRY_READS_REQUIRE_AUTH
    assert not hasattr(settings, "REGISTRY_API_CACHE")  # settings.py leaves it to conf's default
    assert conf.reads_require_auth() is False and conf.api_cache_alias() == "default"
    assert isinstance(conf.fixtures_dir(), Path)
    assert all(s.doc for s in conf.SETTINGS)


def test_settings_are_read_when_used(settings):
    """Changing a setting changes what the accessor gives, at once."""
    settings.REGISTRY_READS_REQUIRE_AUTH = True
    assert conf.reads_require_auth() is True


def test_an_unknown_cache_alias_is_registry_e001(settings):
    """REGISTRY_API_CACHE must name a cache of CACHES."""
    settings.REGISTRY_API_CACHE = "nowhere"
    assert [e.id for e in checks.run_checks()] == ["registry.E001"]


def test_a_setting_of_the_wrong_type_is_registry_e002(settings):
    """REGISTRY_READS_REQUIRE_AUTH="yes" (a string) is refused by name."""
    settings.REGISTRY_READS_REQUIRE_AUTH = "yes"
    found = [(e.id, e.obj) for e in checks.run_checks()]
    assert found == [("registry.E002", "REGISTRY_READS_REQUIRE_AUTH")]


def test_history_show_users_is_a_bool_or_registry_e002(settings):
    """REGISTRY_HISTORY_SHOW_USERS defaults to False (anonymous readers see no usernames); a string is refused."""
    del settings.REGISTRY_HISTORY_SHOW_USERS
    assert conf.history_shows_users_to_anonymous() is False
    settings.REGISTRY_HISTORY_SHOW_USERS = "yes"
    assert [(e.id, e.obj) for e in checks.run_checks()] == [("registry.E002", "REGISTRY_HISTORY_SHOW_USERS")]
