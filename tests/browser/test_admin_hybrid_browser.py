"""Staff edit a hybrid (Mamba-2 and attention) config in a real browser through the typed spec fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from registry import services
from registry.core.files import parse_config_bytes
from registry.models import ModelConfig
from tests.browser.conftest import layer_row, log_in_to_the_changelist
from tests.conftest import HF_DATA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HF_ID = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"
MODEL_ID = "nvidia_NVIDIA-Nemotron-Nano-9B-v2"
TOTAL = 8_888_227_328  # transformers 5.25 on the meta device (tests/test_hf_mamba.py)


@pytest.fixture
def staff(live_server, admin_user, page: Page) -> Page:
    """A logged-in admin page, with Nemotron-Nano-9B-v2 imported from its Hugging Face config.json."""
    config, error = parse_config_bytes((HF_DATA / HF_ID / "config.json").read_bytes())
    assert services.import_hf(sources=[services.HFSource(HF_ID, HF_ID, config=config, read_error=error)]).ok
    return log_in_to_the_changelist(page, live_server)


def test_hybrid_config_edited_with_typed_fields(staff: Page):
    """The Mamba-2 row shows its own typed fields (not attention's); a smaller state moves the total exactly, and the
    state dtype is a choice whose change moves no count."""
    page = staff
    page.click(f"text={MODEL_ID}")
    expect(page.locator(".field-total_params_display")).to_contain_text(f"({TOTAL:,})")
    mamba, attention = layer_row(page, "mamba"), layer_row(page, "attention")
    expect(mamba.locator('input[name$="-spec_mamba_num_heads"]')).to_have_value("128")
    expect(mamba.locator(".spec-spec_num_kv_heads")).to_be_hidden()
    expect(attention.locator(".spec-spec_mamba_num_heads")).to_be_hidden()
    state_dtype = mamba.locator('select[name$="-spec_state_dtype"]')
    expect(state_dtype.locator("option:checked")).to_have_text("float32")

    mamba.locator('input[name$="-spec_ssm_state_size"]').fill("64")
    state_dtype.select_option("bfloat16")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # Per Mamba-2 layer, the x·B·C channels lose 2 · n_groups 8 · 64 = 1,024: the input projection loses
    # hidden_size 4,480 rows of them, the convolution 1,024 × (kernel 4 + its bias).
    per_layer = 4480 * 1024 + 1024 * (4 + 1)
    total = TOTAL - 27 * per_layer
    config = ModelConfig.objects.get(model_id=MODEL_ID)
    assert config.total_params == total == 8_764_226_048
    specs = config.layer_types.get(name="mamba").specs
    assert (specs["ssm_state_size"], specs["state_dtype"]) == (64, "bfloat16")
    expect(page.locator(".field-total_params_display")).to_contain_text(f"({total:,})")
    expect(page.locator(".plan-cache-rules")).to_contain_text("mamba: state per sequence")
    expect(page.locator(".plan-cache-rules")).to_contain_text("attention: per_token")
