"""docs/screenshots/*.png are tracked: a test run rewrites them only when asked (REGISTRY_WRITE_SCREENSHOTS=1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser import conftest


class Target:
    """Stands in for a Playwright page or locator: records where it was asked to write."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def screenshot(self, *, path: str, **options: Any) -> None:
        self.written.append(path)
        Path(path).write_bytes(b"\x89PNG")


def test_screenshots_are_written_only_when_asked(monkeypatch, tmp_path):
    """Without REGISTRY_WRITE_SCREENSHOTS=1 nothing is written; with it, docs/screenshots/NAME."""
    monkeypatch.setattr(conftest, "SCREENSHOTS", tmp_path / "screenshots")
    target = Target()
    monkeypatch.delenv("REGISTRY_WRITE_SCREENSHOTS", raising=False)
    conftest.screenshot(target, "plan.png")
    assert target.written == [] and not (tmp_path / "screenshots").exists()
    monkeypatch.setenv("REGISTRY_WRITE_SCREENSHOTS", "1")
    conftest.screenshot(target, "plan.png", full_page=True)
    assert target.written == [str(tmp_path / "screenshots" / "plan.png")]


def test_no_test_writes_a_screenshot_but_through_the_helper():
    """Every screenshot a test takes goes through conftest.screenshot (a direct .screenshot(path=...) would write)."""
    tests = Path(__file__).resolve().parents[1]
    direct = [
        str(path.relative_to(tests))
        for path in tests.rglob("*.py")
        if path.name != "conftest.py"
        and re.search(r"\.screenshot\(\s*path\s*=", path.read_text())
        and path != Path(__file__).resolve()
    ]
    assert direct == []
