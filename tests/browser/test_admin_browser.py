"""Staff flows in a real browser: edit a spec and see the total follow, errors at their field, add a config."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from registry.models import ConfigRevision, ModelConfig
from tests.browser.conftest import layer_row, log_in_to_the_changelist, screenshot
from tests.conftest import LLAMA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
NEW_TOTAL = 70553706496 + 80 * 3 * 8192 * (29696 - 28672)


@pytest.fixture
def staff(live_server, admin_user, page: Page) -> Page:
    """A browser page logged in to the admin as a superuser, with the four shipped configs loaded."""
    call_command("loadconfigs", str(ROOT / "fixtures"), verbosity=0)
    return log_in_to_the_changelist(page, live_server)


def test_edit_spec_total_follows_and_error_shows_at_field(staff: Page, live_server):
    """Editing intermediate_size moves the total (page and API); a bad num_kv_heads saves nothing; history restores."""
    page = staff
    expect(page.locator("#result_list")).to_contain_text("70.6B")
    screenshot(page, "changelist.png")

    page.click(f"text={LLAMA}")
    expect(page.locator(".field-total_params_display")).to_contain_text("70.6B (70,553,706,496)")
    layer_row(page, "feedforward").locator('input[name$="-spec_intermediate_size"]').fill("29696")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator(".field-total_params_display")).to_contain_text(f"72.6B ({NEW_TOTAL:,})")
    expect(layer_row(page, "feedforward").locator(".field-per_layer")).to_contain_text(f"{3 * 8192 * 29696:,}")
    screenshot(page, "change_form.png", full_page=True)

    response = page.request.get(f"{live_server.url}/models/{LLAMA}")
    assert response.ok, response.status
    document = response.json()
    assert document["total_params"] == NEW_TOTAL
    assert document["total_params_formatted"] == "72.6B"

    saved = ModelConfig.objects.get(model_id=LLAMA).digest
    revisions = ConfigRevision.objects.count()
    attention = layer_row(page, "attention")
    attention.locator('input[name$="-spec_num_kv_heads"]').fill("5")
    page.click('input[name="_continue"]')
    expect(page.locator(".errornote")).to_be_visible()
    field = layer_row(page, "attention").locator(".spec-spec_num_kv_heads")
    expect(field.locator(".errorlist")).to_have_text("expected a divisor of num_heads (64), got 5")
    expect(field.locator("input")).to_have_value("5")
    assert ModelConfig.objects.get(model_id=LLAMA).digest == saved
    assert ConfigRevision.objects.count() == revisions
    assert ModelConfig.objects.get(model_id=LLAMA).layer_types.get(name="attention").specs["num_kv_heads"] == 8

    page.click("a.historylink")
    latest = page.locator("tr.revision").first
    expect(latest).to_contain_text("layer_types[feedforward].specs.intermediate_size")
    expect(latest).to_contain_text("admin")
    screenshot(page, "history.png", full_page=True)
    page.locator("tr.revision", has_text="loadconfigs").locator('input[value="Restore"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Restored the version of")
    assert ModelConfig.objects.get(model_id=LLAMA).total_params == 70553706496


def test_add_config_with_three_layer_types(staff: Page, live_server):
    """From an empty form: changing a row's class changes its spec fields; three layer types are saved."""
    page = staff
    page.click("#content-main .object-tools a.addlink")
    expect(page.locator("h1")).to_have_text("Add model config")
    page.fill("#id_model_id", "acme_browser-1")
    page.fill("#id_hf_model_id", "acme/browser-1")
    page.fill("#id_name", "Acme Browser 1")
    page.fill("#id_hidden_size", "64")
    page.fill("#id_num_layers", "2")
    page.fill("#id_vocab_size", "1000")

    first = page.locator("#layer_types-0")
    expect(first.locator(".spec-none")).to_be_visible()
    first.locator('select[name$="-class_name"]').select_option("MLPLayer")
    expect(first.locator(".spec-spec_intermediate_size")).to_be_visible()
    expect(first.locator(".spec-spec_num_heads")).to_be_hidden()
    first.locator('select[name$="-class_name"]').select_option("GroupedQueryAttentionLayer")
    expect(first.locator(".spec-spec_intermediate_size")).to_be_hidden()
    expect(first.locator(".spec-spec_num_kv_heads label")).to_have_class("required")
    expect(first.locator(".spec-spec_sliding_window label")).not_to_have_class("required")
    first.locator('input[name$="-name"]').fill("attention")
    first.locator('input[name$="-count"]').fill("2")
    for spec, value in (("hidden_size", 64), ("num_heads", 4), ("num_kv_heads", 2), ("head_dim", 16)):
        first.locator(f'input[name$="-spec_{spec}"]').fill(str(value))

    page.click("#layer_types-group .add-row a")
    second = page.locator("#layer_types-1")
    expect(second.locator('input[name$="-position"]')).to_have_value("1")
    second.locator('select[name$="-class_name"]').select_option("GatedMLPLayer")
    second.locator('input[name$="-name"]').fill("feedforward")
    second.locator('input[name$="-count"]').fill("2")
    second.locator('input[name$="-spec_hidden_size"]').fill("64")
    second.locator('input[name$="-spec_intermediate_size"]').fill("256")

    page.click("#layer_types-group .add-row a")
    third = page.locator("#layer_types-2")
    third.locator('select[name$="-class_name"]').select_option("NormLayer")
    expect(third.locator('input[name$="-spec_has_bias"]')).to_have_attribute("type", "checkbox")
    third.locator('input[name$="-name"]').fill("norm")
    third.locator('input[name$="-count"]').fill("5")
    third.locator('input[name$="-spec_hidden_size"]').fill("64")
    third.locator('input[name$="-spec_has_bias"]').check()

    page.click('input[name="_save"]')
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    config = ModelConfig.objects.get(model_id="acme_browser-1")
    layers = list(config.layer_types.all())
    assert [(lt.name, lt.class_name) for lt in layers] == [
        ("attention", "GroupedQueryAttentionLayer"),
        ("feedforward", "GatedMLPLayer"),
        ("norm", "NormLayer"),
    ]
    assert layers[2].specs == {"hidden_size": 64, "has_bias": True}
    assert config.total_params == 2 * (2 * 64 * 4 * 16 + 2 * 64 * 2 * 16) + 2 * 3 * 64 * 256 + 5 * 2 * 64


def test_changing_a_stored_rows_class_brings_in_its_fields(staff: Page):
    """A row's class changed to MoELayer gets MoE's fields named for the row, keeps hidden_size; switching back
    shows the stored values again, and a save with the new class's specs writes them."""
    page = staff
    page.click(f"text={LLAMA}")
    feedforward = layer_row(page, "feedforward")
    prefix = feedforward.locator('input[name$="-name"]').get_attribute("name").removesuffix("name")
    select = feedforward.locator('select[name$="-class_name"]')
    expect(feedforward.locator(".spec-spec_num_experts")).to_have_count(0)
    select.select_option("MoELayer")
    num_experts = feedforward.locator(f'input[name="{prefix}spec_num_experts"]')
    expect(num_experts).to_be_enabled()
    expect(feedforward.locator(".spec-spec_num_experts label")).to_have_class("required")
    expect(feedforward.locator(f'input[name="{prefix}spec_hidden_size"]')).to_have_value("8192")
    expect(feedforward.locator(".spec-spec_intermediate_size")).to_be_hidden()
    names = feedforward.locator(".spec-field").evaluate_all("boxes => boxes.map(b => b.dataset.spec)")
    assert names.index("hidden_size") < names.index("intermediate_size") < names.index("num_experts")

    select.select_option("GatedMLPLayer")
    expect(feedforward.locator(f'input[name="{prefix}spec_intermediate_size"]')).to_have_value("28672")
    expect(num_experts).to_be_hidden()
    select.select_option("MoELayer")
    for spec, value in (("num_experts", 8), ("num_experts_per_tok", 2), ("moe_intermediate_size", 1024)):
        feedforward.locator(f'input[name="{prefix}spec_{spec}"]').fill(str(value))
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    stored = ModelConfig.objects.get(model_id=LLAMA).layer_types.get(name="feedforward")
    assert stored.class_name == "MoELayer"
    assert {k: stored.specs[k] for k in ("hidden_size", "num_experts", "moe_intermediate_size")} == {
        "hidden_size": 8192,
        "num_experts": 8,
        "moe_intermediate_size": 1024,
    }
