"""The Content-Security-Policy in a real browser: every page sends it, nothing is refused, every page works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from registry.services.devices import load_device_fixture
from tests.browser.conftest import log_in_to_the_changelist
from tests.conftest import LLAMA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Recorded before any of the page's own scripts run (Playwright's init scripts are not subject to the page's CSP).
WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI || "inline"} ${e.sourceFile}:${e.lineNumber}`);
});"""


class Watched:
    """A page whose CSP violations (events and console "Refused to ..." lines) and script errors are collected."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base, self.refused = page, base, []
        page.add_init_script(WATCH)
        page.on("console", lambda m: "Content Security Policy" in m.text and self.refused.append(m.text))
        page.on("pageerror", lambda error: self.refused.append(f"script error: {error}"))

    def open(self, path: str) -> dict[str, str]:
        """Load ``path``; returns the document's response headers."""
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, (path, response and response.status)
        return response.headers

    def violations(self) -> list[Any]:
        return [*self.refused, *self.page.evaluate("window.__violations")]


@pytest.fixture
def watched(live_server, page: Page) -> Watched:
    return Watched(page, live_server.url)


def assert_policy(headers: dict[str, str]) -> None:
    policy = headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "object-src 'none'" in policy, headers
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


def test_the_landing_page_keeps_its_style_under_the_policy(watched: Watched):
    """/ sends the policy; its nonce'd inline style applies (the body is the 44rem column)."""
    assert_policy(watched.open("/"))
    expect(watched.page.locator("h1")).to_have_text("LLM architecture config registry")
    assert watched.page.evaluate("getComputedStyle(document.body).maxWidth") == "704px"
    assert watched.violations() == [], "\n".join(map(str, watched.violations()))


def test_swagger_ui_renders_its_operations_under_the_policy(watched: Watched):
    """/docs/ sends the policy; Swagger UI starts (its nonce'd start-up script ran) and lists the operations."""
    assert_policy(watched.open("/docs/"))
    expect(watched.page.locator(".swagger-ui .info .title")).to_contain_text("LLM architecture config registry")
    expect(watched.page.locator(".opblock-summary-path").filter(has_text="/models/{model_id}").first).to_be_visible()
    watched.page.locator(".opblock-summary-path").filter(has_text="/models/{model_id}").first.click()
    expect(watched.page.locator(".opblock-body").first).to_be_visible()
    assert watched.page.evaluate("getComputedStyle(document.body).marginTop") == "0px"  # the page's inline style
    assert watched.violations() == [], "\n".join(map(str, watched.violations()))


def test_the_browsable_api_sends_the_policy(watched: Watched):
    """/models/ in a browser (DRF's browsable API) sends the policy and renders the list."""
    call_command("loadconfigs", str(ROOT / "fixtures" / f"{LLAMA}.json"), verbosity=0)
    assert_policy(watched.open("/models/"))
    expect(watched.page.locator(".response-info")).to_contain_text(LLAMA)
    assert watched.violations() == [], "\n".join(map(str, watched.violations()))


def test_the_admin_works_under_the_policy(watched: Watched, admin_user, live_server):
    """Login, changelist, change form with the plan chart drawn, history, and the add form's class switch."""
    call_command("loadconfigs", str(ROOT / "fixtures" / f"{LLAMA}.json"), verbosity=0)
    load_device_fixture()  # the Plan panel's devices
    page = watched.page
    log_in_to_the_changelist(page, live_server)
    assert_policy(watched.open("/admin/registry/modelconfig/"))
    expect(page.locator("#result_list")).to_contain_text("70.6B")

    page.click(f"text={LLAMA}")
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('plan-chart'))")
    drawn = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('plan-chart'));"
        " return [c.data.datasets.length, c.chartArea.right - c.chartArea.left]; }"
    )
    assert drawn[0] >= 3 and drawn[1] > 300
    page.wait_for_function("() => Chart.getChart(document.getElementById('plan-speed-chart'))")  # under the policy
    assert_policy(watched.open(page.url.removeprefix(watched.base)))
    # The layer types' inline style: spec fields of another class are hidden.
    expect(page.locator("#layer_types-0 .spec-spec_intermediate_size")).to_be_hidden()

    page.click("a.historylink")
    expect(page.locator("tr.revision").first).to_contain_text("loadconfigs")

    assert_policy(watched.open("/admin/registry/modelconfig/add/"))
    first = page.locator("#layer_types-0")
    first.locator('select[name$="-class_name"]').select_option("MLPLayer")  # the inline's nonce'd script
    expect(first.locator(".spec-spec_intermediate_size")).to_be_visible()
    assert watched.violations() == [], "\n".join(map(str, watched.violations()))
