"""Staff edit MoE and MLA configs in a real browser through the typed spec fields: selects, choices, exact counts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from registry import services
from registry.core.files import parse_config_bytes
from registry.models import ConfigRevision, ModelConfig
from tests.browser.conftest import layer_row, log_in_to_the_changelist
from tests.conftest import HF_DATA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIXTRAL = "mistralai_Mixtral-8x7B-v0.1"
DEEPSEEK = "deepseek-ai_DeepSeek-V3"
# Totals and active parameters as transformers builds the models (tests/test_hf_oracle.py).
MIXTRAL_TOTAL, MIXTRAL_ACTIVE = 46702792704, 12879925248
DEEPSEEK_TOTAL, DEEPSEEK_ACTIVE = 671026404352, 37552282624


@pytest.fixture
def staff(live_server, admin_user, page: Page) -> Page:
    """A logged-in admin page, with Mixtral and DeepSeek-V3 imported from their Hugging Face config.json."""
    sources = []
    for hf_model_id in ("mistralai/Mixtral-8x7B-v0.1", "deepseek-ai/DeepSeek-V3"):
        config, error = parse_config_bytes((HF_DATA / hf_model_id / "config.json").read_bytes())
        sources.append(services.HFSource(hf_model_id, hf_model_id, config=config, read_error=error))
    assert services.import_hf(sources=sources).ok
    return log_in_to_the_changelist(page, live_server)


def saved(page: Page) -> None:
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")


def test_moe_config_edited_with_typed_fields(staff: Page):
    """Untouched, a save writes nothing; num_experts_per_tok, router_bias (yes) and qk_norm move the counts exactly."""
    page = staff
    expect(page.locator("#result_list tr", has_text=MIXTRAL).locator("td.field-active")).to_have_text("12.9B")
    page.click(f"text={MIXTRAL}")
    expect(page.locator(".field-active_params_display")).to_contain_text(f"12.9B ({MIXTRAL_ACTIVE:,})")

    config = ModelConfig.objects.get(model_id=MIXTRAL)
    before = (config.digest, ConfigRevision.objects.count())
    saved(page)
    config.refresh_from_db()
    assert (config.digest, ConfigRevision.objects.count()) == before

    feedforward, attention = layer_row(page, "feedforward"), layer_row(page, "attention")
    router_bias = feedforward.locator('select[name$="-spec_router_bias"]')
    expect(router_bias.locator("option:checked")).to_have_text("— (default: no)")
    expect(attention.locator('select[name$="-spec_qkv_bias"]')).to_be_visible()
    expect(attention.locator(".spec-spec_num_experts")).to_be_hidden()
    feedforward.locator('input[name$="-spec_num_experts_per_tok"]').fill("3")
    router_bias.select_option(label="yes")
    attention.locator('select[name$="-spec_qk_norm"]').select_option("per_head")
    saved(page)

    total = MIXTRAL_TOTAL + 32 * 8 + 32 * 2 * 128
    active = MIXTRAL_ACTIVE + 32 * 3 * 4096 * 14336 + 32 * 8 + 32 * 2 * 128
    config.refresh_from_db()
    assert (config.total_params, config.active_params) == (total, active) == (46702801152, 18517078272)
    specs = {lt.name: lt.specs for lt in config.layer_types.all()}
    assert (specs["feedforward"]["num_experts_per_tok"], specs["feedforward"]["router_bias"]) == (3, True)
    assert specs["attention"]["qk_norm"] == "per_head" and "qkv_bias" not in specs["attention"]
    expect(page.locator(".field-active_params_display")).to_contain_text(f"18.5B ({active:,})")
    expect(page.locator(".messagelist")).to_contain_text("Active parameters: 12.9B")


def test_mla_config_edited_with_typed_fields(staff: Page):
    """q_lora_rank and num_experts_per_tok typed in move DeepSeek-V3's total and active params exactly."""
    page = staff
    page.click(f"text={DEEPSEEK}")
    expect(page.locator(".field-total_params_display")).to_contain_text(f"({DEEPSEEK_TOTAL:,})")
    attention = layer_row(page, "attention")
    expect(attention.locator('select[name$="-spec_attention_bias"]')).to_be_visible()
    expect(attention.locator('input[name$="-spec_q_lora_rank"]')).to_have_value("1536")
    attention.locator('input[name$="-spec_q_lora_rank"]').fill("1024")
    layer_row(page, "feedforward_moe").locator('input[name$="-spec_num_experts_per_tok"]').fill("4")
    saved(page)

    mla_delta = 61 * (7168 + 1 + 128 * (128 + 64)) * (1536 - 1024)
    config = ModelConfig.objects.get(model_id=DEEPSEEK)
    assert config.total_params == DEEPSEEK_TOTAL - mla_delta == 670034944512
    assert config.active_params == DEEPSEEK_ACTIVE - mla_delta - 58 * 4 * 3 * 7168 * 2048 == 26343498240
    expect(page.locator(".field-total_params_display")).to_contain_text("670.0B (670,034,944,512)")
    expect(page.locator(".field-active_params_display")).to_contain_text("(26,343,498,240)")


def test_import_hugging_face_config_page(staff: Page):
    """From the changelist: a dry run reports without writing; the upload then creates the config."""
    page = staff
    page.click("text=Import Hugging Face config.json")
    expect(page.locator("h1")).to_have_text("Import a Hugging Face config.json")
    page.fill("#id_hf_model_id", "Qwen/Qwen3-30B-A3B")
    page.set_input_files("#id_config_file", str(HF_DATA / "Qwen" / "Qwen3-30B-A3B" / "config.json"))
    page.check("#id_dry_run")
    page.click("#import-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Dry run, nothing written: 1 created")
    expect(page.locator("#import-report")).to_contain_text("Qwen_Qwen3-30B-A3B")
    assert not ModelConfig.objects.filter(model_id="Qwen_Qwen3-30B-A3B").exists()

    page.fill("#id_hf_model_id", "Qwen/Qwen3-30B-A3B")
    page.set_input_files("#id_config_file", str(HF_DATA / "Qwen" / "Qwen3-30B-A3B" / "config.json"))
    page.uncheck("#id_dry_run")
    page.click("#import-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Imported: 1 created")
    config = ModelConfig.objects.get(model_id="Qwen_Qwen3-30B-A3B")
    assert config.active_params is not None and config.active_params < config.total_params
