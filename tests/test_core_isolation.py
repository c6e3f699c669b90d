"""The core is Django-free: importing it in a fresh interpreter loads no django module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# Every module of the core package, found rather than listed, so a new one is covered at once.
CORE_MODULES = [
    "registry.core",
    *(f"registry.core.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "registry/core")])),
]
CHECK = (
    "import importlib, sys; importlib.import_module({module!r}); "
    "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
    "assert not loaded, loaded; print('clean')"
)


def _run(code: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no DJANGO_SETTINGS_MODULE
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_django(module):
    """Each core module imports in a fresh interpreter without loading django."""
    done = _run(CHECK.format(module=module))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


def test_the_core_validates_and_counts_without_django():
    """The core works, not only imports, with no django loaded."""
    code = (
        "import sys, json; from registry.core import validate_config; "
        "doc = json.load(open('fixtures/mistralai_Mistral-7B-v0.1.json')); "
        "r = validate_config(doc); assert r.ok, r.errors; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules); "
        "print(r.config.total_params)"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7241732096"


def test_the_check_detects_django():
    """The isolation check fails when django is imported, so a clean result means something."""
    done = _run("import django.db; " + CHECK.format(module="registry.core"))
    assert done.returncode != 0
    assert "django" in done.stderr
