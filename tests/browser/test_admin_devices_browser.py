"""The device catalogue in a real browser: staff edit a price, the reference cost follows, the API serves it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from registry.models import Device, DeviceRevision
from registry.services.devices import load_device_fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COST = re.compile(r"\$([0-9.]+) per million output tokens")


def test_edit_a_price_and_the_cost_follows(live_server, admin_user, page: Page):
    assert load_device_fixture().written
    page.goto(f"{live_server.url}/admin/login/?next={reverse('admin:registry_device_changelist')}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    expect(page.locator("#result_list")).to_contain_text("H100-SXM")
    page.click('#result_list >> text="L4"')  # the device's row in the changelist
    cost = page.locator(".field-cost")
    expect(cost).to_contain_text("per million output tokens")
    before = float(COST.search(cost.inner_text()).group(1))
    page.fill('input[name="price_per_hour"]', "1.42")
    page.fill('input[name="sources__price_per_hour__source"]', "our negotiated rate")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    after = float(COST.search(page.locator(".field-cost").inner_text()).group(1))
    assert after == pytest.approx(before * 1.42 / 0.71, abs=1e-4)  # linear in the price (docs/performance.md)
    assert Device.objects.get(name="L4").price_per_hour == 1.42
    served = page.request.get(f"{live_server.url}/devices/L4").json()
    assert served["price_per_hour"] == 1.42
    assert served["sources"]["price_per_hour"]["source"] == "our negotiated rate"
    assert DeviceRevision.objects.filter(name="L4", source="admin").exists()
