"""The API's Swagger UI in a real browser: it renders from this server's own files, offline."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_schema_without_a_cdn(live_server, page: Page):
    """/docs/ loads Swagger UI from /static/ (no request leaves the server) and lists the API's operations."""
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if live_server.url not in request.url else None)
    page.goto(f"{live_server.url}/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LLM architecture config registry")
    expect(page.locator(".opblock-summary-path").filter(has_text="/models/{model_id}").first).to_be_visible()
    assert outside == []
