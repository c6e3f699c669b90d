"""Playwright against Debian's chromium, driving the admin on pytest-django's live server."""

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# The README's screenshots; the tests rewrite them only when asked (REGISTRY_WRITE_SCREENSHOTS=1).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in the test's thread, where Django refuses ORM calls
# unless told the calls are deliberate (they are: the tests read the database between steps).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's chromium headless (never a downloaded browser); skip without it unless CI requires it."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("REGISTRY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REGISTRY_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True, "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1000}}


def log_in_to_the_changelist(page: Any, live_server: Any) -> Any:
    """Log ``page`` in as pytest-django's ``admin_user`` and open the config changelist."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/admin/login/?next=/admin/registry/modelconfig/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    expect(page.locator("#result_list")).to_be_visible()
    return page


def layer_row(page: Any, name: str) -> Any:
    """The inline row of the layer type called ``name``."""
    return page.locator("tr.layer-type-row", has=page.locator(f'input[name$="-name"][value="{name}"]'))


def screenshot(target: Any, name: str, **options: Any) -> None:
    """Save ``target`` (a page or a locator) as docs/screenshots/NAME, only with REGISTRY_WRITE_SCREENSHOTS=1.

    A test run must not rewrite tracked files; the README says how to refresh them.
    """
    if os.environ.get("REGISTRY_WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(SCREENSHOTS / name), **options)
