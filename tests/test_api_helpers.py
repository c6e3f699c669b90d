"""Fixtures shared by the API tests (imported by each tests/test_api_*.py module)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry import services


@pytest.fixture
def api() -> APIClient:
    """An anonymous client."""
    return APIClient()


def user_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="secret-pass-1")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))
    return user


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def writer(db) -> APIClient:
    """A token-authenticated client whose user may add, change and delete configs."""
    return token_client(user_with("writer", "add_modelconfig", "change_modelconfig", "delete_modelconfig"))


def store(document: dict[str, Any]) -> Any:
    """A config written through the one write path."""
    return services.config_upsert(data=document, source="test").config


def variant(i: int, **overrides: Any) -> dict[str, Any]:
    """A small valid config numbered i (hidden size and layer count vary with i)."""
    from tests.conftest import small_config

    hidden = 64 * (1 + i % 4)
    doc = small_config(
        model_id=f"acme_tiny-{i:03d}",
        hf_model_id=f"acme/tiny-{i:03d}",
        name=f"Acme Tiny {i:03d}",
        hidden_size=hidden,
        num_layers=2 + i % 3,
    )
    for layer in doc["layer_types"]:
        layer["specs"]["hidden_size"] = hidden
    doc.update(overrides)
    return doc


def store_many(n: int) -> None:
    """n variants, through the bulk write path."""
    items = [services.ImportItem(source=f"v{i}", data=variant(i)) for i in range(n)]
    report = services.import_configs(items, source="test")
    assert report.ok, [s.errors for s in report.failed]
