"""The Plan panel in a real browser: Chart.js (vendored, served by staticfiles) draws the server's series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in_to_the_changelist
from tests.conftest import LLAMA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# What plan_chart.js drew: the Chart.js instance on the panel's canvas, as plain data.
DRAWN = """() => {
  const chart = window.Chart && window.Chart.getChart(document.getElementById("plan-chart"));
  if (!chart) return null;
  return {
    version: window.Chart.version,
    width: chart.chartArea.right - chart.chartArea.left,
    xType: chart.scales.x.type,
    datasets: chart.data.datasets.map((d) => ({label: d.label, points: d.data.length, last: d.data.at(-1)})),
  };
}"""


@pytest.fixture
def staff(live_server, admin_user, page: Page) -> Page:
    """A browser page logged in to the admin as a superuser, with the shipped configs loaded."""
    call_command("loadconfigs", str(ROOT / "fixtures"), verbosity=0)
    return log_in_to_the_changelist(page, live_server)


def drawn(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('plan-chart'))")
    return page.evaluate(DRAWN)


def test_plan_chart_is_drawn_and_follows_the_form(staff: Page):
    """Chart.js draws weights + KV cache, weights and the usable line; the form's device and tp redraw it."""
    page = staff
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.click(f"text={LLAMA}")
    panel = page.locator("#plan")
    expect(panel.locator(".plan-weights-bf16 span")).to_have_attribute("title", "141,107,412,992 bytes")
    expect(panel.locator(".plan-weights-bf16")).to_contain_text("141.11 GB")
    expect(panel.locator(".plan-kv-per-token")).to_contain_text("327.68 KB")
    chart = drawn(page)
    assert chart["version"].startswith("4.")
    assert chart["xType"] == "logarithmic" and chart["width"] > 300
    labels = [d["label"] for d in chart["datasets"]]
    assert labels == ["Weights + KV cache", "Weights", "Usable memory (90% of 85.9 GB)"]
    total, weights, usable = chart["datasets"]
    assert total["points"] == weights["points"] == 15
    assert total["last"] == {"x": 131072, "y": 184.057085952}
    assert usable["last"]["y"] == 77.309411328
    expect(panel.locator(".plan-max-context")).to_contain_text("none (the weights alone exceed the usable memory)")

    panel.locator("#id_plan-device").select_option("A100-80GB")
    panel.locator("#id_plan-tp").fill("2")
    panel.locator("button", has_text="Plan").click()
    page.wait_for_url("**plan-tp=2**")
    expect(panel.locator("#id_plan-device")).to_have_value("A100-80GB")
    chart = drawn(page)
    labels = [d["label"] for d in chart["datasets"]]
    # Half the weights per device leave room for a context, which the chart marks on the usable line.
    assert labels == [*labels[:3], "Max context (41,225 tokens)"]
    assert chart["datasets"][1]["last"]["y"] == 70.555025408  # half the weights, the norms on both ranks
    expect(panel.locator(".plan-max-context")).to_have_text("Max context: 41,225 tokens")
    expect(page.locator(".messagelist")).to_have_count(0)  # the GET form saved nothing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SCREENSHOTS / "plan.png"))
    assert errors == []


def test_enter_in_the_plan_form_plans_and_a_bad_tp_shows_the_core_message(staff: Page):
    """Enter in tp submits the panel's GET form, not the change form; tp=3 shows why instead of a chart."""
    page = staff
    page.click(f"text={LLAMA}")
    drawn(page)
    page.locator("#id_plan-tp").fill("3")
    page.locator("#id_plan-tp").press("Enter")
    page.wait_for_url("**plan-tp=3**")
    panel = page.locator("#plan")
    expect(panel.locator(".plan-issues")).to_contain_text(
        "tp=3 must divide num_heads (64) of layer_types[0] (attention, GroupedQueryAttentionLayer)"
    )
    expect(panel.locator("canvas")).to_have_count(0)
    expect(page.locator(".messagelist")).to_have_count(0)
    page.locator("#id_plan-tp").fill("0")  # the form has novalidate: the core's message, not the browser's
    page.locator("#id_plan-tp").press("Enter")
    page.wait_for_url("**plan-tp=0**")
    expect(panel.locator(".plan-field-tp .errorlist")).to_have_text("expected an integer from 1 to 1048576, got '0'")
