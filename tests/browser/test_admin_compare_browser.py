"""Staff compare three configs side by side in a real browser, from the changelist's action to a config's page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in_to_the_changelist
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREE = ["TinyLlama_TinyLlama-1.1B-Chat-v1.0", "mistralai_Mistral-7B-v0.1", "mistralai_Mixtral-8x7B-v0.1"]


def test_compare_three_selected_configs_then_open_one(live_server, admin_user, page: Page):
    """The action opens the compare page with a column per config; differing rows are bold (the page's style
    runs under the CSP); a column's link opens the config's page at its model_id URL."""
    call_command("loadconfigs", str(FIXTURES), verbosity=0)
    page = log_in_to_the_changelist(page, live_server)
    for model_id in THREE:
        page.locator("tr", has=page.locator(f"a:text-is('{model_id}')")).locator("input.action-select").check()
    page.select_option('select[name="action"]', "compare_side_by_side")
    page.click('button[name="index"]')
    expect(page).to_have_url(f"{live_server.url}/admin/registry/modelconfig/compare/?model_ids={'%2C'.join(THREE)}")
    header = page.locator("#side-by-side table").first.locator("thead th a")
    expect(header).to_have_text(THREE)
    hidden = page.locator("#side-by-side tr", has=page.locator("th:text-is('hidden_size')"))
    expect(hidden.locator("td")).to_have_text(["2048", "4096", "4096"])
    assert hidden.evaluate("row => getComputedStyle(row.querySelector('th')).fontWeight") == "700"
    vocab = page.locator("#side-by-side tr", has=page.locator("th:text-is('vocab_size')"))
    assert vocab.evaluate("row => getComputedStyle(row.querySelector('th')).fontWeight") != "700"
    header.nth(1).click()
    expect(page).to_have_url(f"{live_server.url}/admin/registry/modelconfig/{THREE[1]}/change/")
    expect(page.locator("#id_name")).to_have_value("Mistral 7B v0.1")
