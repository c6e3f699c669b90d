"""Admin input in a real browser: the Plan button keeps unsaved edits, integers are typed as JSON writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from registry.admin.configs import PLANNED_UNSAVED
from registry.models import ModelConfig
from registry.services.devices import load_device_fixture
from tests.browser.conftest import layer_row, log_in_to_the_changelist
from tests.conftest import LLAMA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def staff(live_server, admin_user, page: Page) -> Page:
    """A browser page logged in to the admin as a superuser, on the change page of Llama 3.3 70B."""
    call_command("loadconfigs", str(ROOT / "fixtures"), verbosity=0)
    load_device_fixture()  # the Plan panel's devices
    page = log_in_to_the_changelist(page, live_server)
    page.click(f"text={LLAMA}")
    expect(page.locator("#plan")).to_be_visible()
    return page


def test_plan_keeps_unsaved_edits_and_plans_them(staff: Page):
    """Edit the context length and a row's name, press Plan: both edits are still in the form, the panel plans
    the new context, nothing is saved; Plan again (no new edit) still plans the unsaved values."""
    page = staff
    before = ModelConfig.objects.get(model_id=LLAMA)
    page.fill("#id_max_position_embeddings", "32768")
    layer_row(page, "lm_head").locator('input[name$="-name"]').fill("output_head")
    page.locator("#id_plan-tp").fill("2")
    page.locator("#plan button", has_text="Plan").click()
    expect(page.locator(".messagelist")).to_contain_text(PLANNED_UNSAVED)
    expect(page.locator("#id_max_position_embeddings")).to_have_value("32768")
    expect(page.locator('input[name$="-name"][value="output_head"]')).to_have_count(1)
    expect(page.locator("#plan .plan-context-length")).to_have_text("32,768 tokens")
    expect(page.locator("#id_plan-tp")).to_have_value("2")
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('plan-chart'))")
    last = page.evaluate("() => Chart.getChart(document.getElementById('plan-chart')).data.datasets[0].data.at(-1).x")
    assert last == 32768
    after = ModelConfig.objects.get(model_id=LLAMA)
    assert (after.digest, after.max_position_embeddings) == (before.digest, before.max_position_embeddings)

    page.locator("#id_plan-batch").fill("2")
    page.locator("#id_plan-batch").press("Enter")
    expect(page.locator("#id_plan-batch")).to_have_value("2")
    expect(page.locator("#id_max_position_embeddings")).to_have_value("32768")
    expect(page.locator("#plan .plan-context-length")).to_have_text("32,768 tokens")

    page.locator("input[name=_continue]").click()  # the edits save as usual afterwards
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert ModelConfig.objects.get(model_id=LLAMA).max_position_embeddings == 32768


def test_integer_typed_with_a_decimal_point_is_refused_at_its_field(staff: Page):
    """768.0 typed in hidden_size is refused with the core's message, as the JSON format refuses it."""
    page = staff
    digest = ModelConfig.objects.get(model_id=LLAMA).digest
    page.fill("#id_hidden_size", "8192.0")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".field-hidden_size .errorlist")).to_have_text(
        "expected a positive integer, got a number written with a decimal point (8192.0)"
    )
    expect(page.locator("#id_hidden_size")).to_have_value("8192.0")
    assert ModelConfig.objects.get(model_id=LLAMA).digest == digest
