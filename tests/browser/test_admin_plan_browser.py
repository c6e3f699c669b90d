"""The Plan panel in a real browser: Chart.js (vendored, served by staticfiles) draws the server's series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from registry.services.devices import load_device_fixture
from tests.browser.conftest import log_in_to_the_changelist, screenshot
from tests.conftest import LLAMA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
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
    """A browser page logged in to the admin as a superuser, with the shipped configs and devices loaded."""
    call_command("loadconfigs", str(ROOT / "fixtures"), verbosity=0)
    load_device_fixture()
    return log_in_to_the_changelist(page, live_server)


def drawn(page: Page, canvas: str = "plan-chart", script: str = DRAWN) -> dict[str, Any]:
    """What ``script`` reads of the Chart.js chart on the canvas ``canvas``, once the chart is there."""
    page.wait_for_function(f"() => window.Chart && window.Chart.getChart(document.getElementById('{canvas}'))")
    return page.evaluate(script)


def script_errors(page: Page, *, console: bool = True) -> list[str]:
    """A list that fills with ``page``'s uncaught script errors and, with ``console``, its console errors."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if console:
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def test_plan_chart_is_drawn_and_follows_the_form(staff: Page):
    """Chart.js draws weights + KV cache, weights and the usable line; the form's device and tp redraw it."""
    page = staff
    errors = script_errors(page)
    page.click(f"text={LLAMA}")
    panel = page.locator("#plan")
    expect(panel.locator(".plan-weights-bf16 span")).to_have_attribute("title", "141,107,412,992 bytes")
    expect(panel.locator(".plan-weights-bf16")).to_contain_text("131.42 GiB")
    expect(panel.locator(".plan-kv-per-token")).to_contain_text("320.00 KiB")
    chart = drawn(page)
    assert chart["version"].startswith("4.")
    assert chart["xType"] == "logarithmic" and chart["width"] > 300
    labels = [d["label"] for d in chart["datasets"]]
    assert labels == ["Weights + KV cache", "Weights", "Usable memory (90% of 80 GiB)"]
    total, weights, usable = chart["datasets"]
    assert total["points"] == weights["points"] == 15
    assert total["last"] == {"x": 131072, "y": 184057085952 / 2**30}
    assert usable["last"]["y"] == 72.0  # 0.9 × 80 GiB
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
    assert chart["datasets"][1]["last"]["y"] == 70555025408 / 2**30  # half the weights, the norms on both ranks
    expect(panel.locator(".plan-max-context")).to_have_text("Max context: 41,225 tokens")
    expect(page.locator(".messagelist")).to_have_count(0)  # the GET form saved nothing
    screenshot(panel, "plan.png")
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


BUDGET = """() => {
  const chart = window.Chart && window.Chart.getChart(document.getElementById("plan-budget-chart"));
  if (!chart) return null;
  return {
    stacked: chart.options.scales.x.stacked && chart.options.scales.y.stacked,
    horizontal: chart.options.indexAxis === "y",
    datasets: chart.data.datasets.map((d) => ({label: d.label, bytes: d.bytes})),
  };
}"""


def test_budget_bar_stacks_the_engines_lines(staff: Page):
    """engine=vllm: a stacked bar of weights, activations, reserves, KV cache and free, the lines in a table with
    the estimates marked; a config that cannot start says why."""
    page = staff
    errors = script_errors(page, console=False)
    page.click("text=google_gemma-2-2b")
    panel = page.locator("#plan")
    panel.locator("#id_plan-engine").select_option("vllm")
    panel.locator("button", has_text="Plan").click()
    page.wait_for_url("**plan-engine=vllm**")
    bar = drawn(page, "plan-budget-chart", BUDGET)
    assert bar["stacked"] and bar["horizontal"]
    assert [d["label"] for d in bar["datasets"]] == ["Weights", "Activations", "Reserves", "KV cache", "Free"]
    weights, activations, reserves, kv, free = (d["bytes"] for d in bar["datasets"])
    assert weights + activations + reserves + kv + free == 80 * 2**30 and free == 80 * 2**30 // 10
    expect(panel.locator(".plan-budget-verdict")).to_have_text("Will start.")
    lines = panel.locator(".plan-budget-lines tr")
    expect(lines).to_have_count(8)
    expect(lines.nth(3)).to_contain_text("estimate")  # the activation peak
    expect(panel.locator(".plan-max-context")).to_contain_text("tokens of KV cache")
    screenshot(panel, "plan_budget.png")

    changelist = page.url.split("/admin/")[0] + "/admin/registry/modelconfig/"
    page.goto(changelist)
    page.click(f"text={LLAMA}")
    page.locator("#id_plan-engine").select_option("vllm")
    page.locator("#plan button", has_text="Plan").click()
    page.wait_for_url("**plan-engine=vllm**")
    expect(panel.locator(".plan-budget-verdict")).to_contain_text(
        "Will not start: weights 141.1 GB exceed the 77.3 GB the engine may use"
    )
    assert errors == []


# What plan_speed.js drew: the Chart.js instance on the speed canvas, as plain data.
SPEED = """() => {
  const chart = window.Chart && window.Chart.getChart(document.getElementById("plan-speed-chart"));
  if (!chart) return null;
  return {
    width: chart.chartArea.right - chart.chartArea.left,
    axes: Object.keys(chart.scales).sort(),
    xTitle: chart.scales.x.options.title.text,
    datasets: chart.data.datasets.map((d) => ({
      label: d.label, axis: d.yAxisID, points: d.data.map((p) => [p.x, p.y]),
    })),
  };
}"""


def test_speed_chart_draws_throughput_per_device_against_tpot_and_the_cost(staff: Page):
    """The speed chart: output tokens/s per device against TPOT as concurrency grows, the cost on its own axis,
    the points the server's; the form's isl, osl and concurrency redraw it and the cost line follows."""
    page = staff
    errors = script_errors(page)
    page.click(f"text={LLAMA}")
    panel = page.locator("#plan")
    panel.locator("#id_plan-device").select_option("H200-SXM")
    panel.locator("#id_plan-tp").fill("4")
    panel.locator("#id_plan-isl").fill("2048")
    panel.locator("#id_plan-osl").fill("256")
    panel.locator("#id_plan-concurrency").fill("32")
    panel.locator("button", has_text="Plan").click()
    page.wait_for_url("**plan-concurrency=32**")
    chart = drawn(page, "plan-speed-chart", SPEED)
    served = page.evaluate("() => JSON.parse(document.getElementById('plan-speed-data').textContent)")
    assert chart["width"] > 300 and chart["axes"] == ["cost", "x", "y"]
    assert chart["xTitle"].startswith("TPOT") and "excludes the first token" in chart["xTitle"]
    throughput, cost = chart["datasets"][:2]
    assert (throughput["label"], throughput["axis"]) == ("Output tokens/s per device", "y")
    assert (cost["label"], cost["axis"]) == ("Cost per million output tokens ($)", "cost")
    assert [p["concurrency"] for p in served["points"]] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert throughput["points"] == [[p["tpot_ms"], p["tokens_per_second_per_device"]] for p in served["points"]]
    assert cost["points"] == [[p["tpot_ms"], p["cost_per_million_output_tokens"]] for p in served["points"]]
    line = panel.locator(".plan-cost-line")
    expect(line).to_contain_text("At concurrency 32 (2048 input, 256 output tokens per request)")
    expect(line).to_contain_text(f"${served['at']['cost_per_million_output_tokens']:.4f} per million output tokens")
    screenshot(panel.locator(".plan-speed"), "plan_speed.png")
    assert errors == []
