"""A config's history in the admin: who, when, what changed; and restoring a past version."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from registry.admin import flat_diff
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import small_config
from tests.test_admin import LLAMA, change_url, form_data, row


def history_url(config: ModelConfig) -> str:
    return reverse("admin:registry_modelconfig_history", args=[config.pk])


def restore_url(config: ModelConfig, revision: ConfigRevision) -> str:
    return reverse("admin:registry_modelconfig_restore", args=[config.pk, revision.pk])


@pytest.fixture
def edited(admin_client, loaded_fixtures) -> ModelConfig:
    """Llama 3.3 70B after one admin edit of its feedforward intermediate_size."""
    config = ModelConfig.objects.get(model_id=LLAMA)
    data = form_data(admin_client.get(change_url(config)))
    data[row(data, "feedforward") + "spec_intermediate_size"] = 29696
    assert admin_client.post(change_url(config), data).status_code == 302
    config.refresh_from_db()
    return config


def test_flat_diff_lists_changed_values_by_path():
    """The diff names each changed value by a path keyed on layer names; a reorder is one 'order' change."""
    before = small_config()
    after = small_config(name="Renamed")
    after["layer_types"][1]["specs"]["intermediate_size"] = 512
    after["layer_types"][0], after["layer_types"][1] = after["layer_types"][1], after["layer_types"][0]
    assert flat_diff(before, after) == [
        ("name", "Acme Tiny 1", "Renamed"),
        (
            "layer_types (order)",
            "attention, feedforward, norm, embedding, lm_head",
            "feedforward, attention, norm, embedding, lm_head",
        ),
        ("layer_types[feedforward].specs.intermediate_size", 256, 512),
    ]
    assert ("model_id", None, "acme_tiny-1") in flat_diff(None, before)


@pytest.mark.django_db
def test_history_shows_who_when_source_and_the_values_before_and_after(admin_client, edited):
    """The config's History lists its revisions with user, source, action and the changed values."""
    response = admin_client.get(history_url(edited))
    assert response.status_code == 200
    revisions = response.context["revisions"]
    assert [(r["revision"].action, r["revision"].source) for r in revisions] == [
        ("updated", "admin"),
        ("created", "loadconfigs"),
    ]
    assert revisions[0]["current"] and not revisions[1]["current"]
    assert ("layer_types[feedforward].specs.intermediate_size", 28672, 29696) in revisions[0]["diff"]
    assert ("total_params", 70553706496, 72566972416) in revisions[0]["diff"]
    html = response.content.decode()
    assert "<td>admin</td>" in html
    assert html.count('value="Restore"') == 1  # the current version is not offered


@pytest.mark.django_db
def test_restore_writes_the_past_version_back(admin_client, admin_user, edited):
    """Restoring the loaded version brings back its values and keeps a 'restored' revision."""
    created = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    response = admin_client.post(restore_url(edited, created), follow=True)
    assert response.redirect_chain[-1][0] == history_url(edited)
    edited.refresh_from_db()
    assert edited.total_params == 70553706496
    assert edited.layer_types.get(name="feedforward").specs["intermediate_size"] == 28672
    latest = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (latest.action, latest.source, latest.user) == ("restored", "admin", admin_user)


@pytest.mark.django_db
def test_restore_goes_through_validation(admin_client, edited):
    """A kept version that breaks the rules is not restored; the message says why."""
    bad = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    bad.after["layer_types"][0]["specs"]["num_kv_heads"] = 7
    bad.save()
    digest = edited.digest
    response = admin_client.post(restore_url(edited, bad), follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("heads_not_divisible" in m for m in messages)
    edited.refresh_from_db()
    assert edited.digest == digest


@pytest.mark.django_db
def test_restore_only_by_post_with_csrf(admin_client, admin_user, edited):
    """Restore refuses GET, and a POST without the CSRF token."""
    created = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    assert admin_client.get(restore_url(edited, created)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(restore_url(edited, created)).status_code == 403
    edited.refresh_from_db()
    assert edited.total_params == 72566972416


@pytest.mark.django_db
def test_only_the_latest_write_is_the_current_version(admin_client, loaded_fixtures):
    """Deleted and re-created with the same document: the re-creation is current, not the old entries."""
    from registry import services

    config = ModelConfig.objects.get(model_id=LLAMA)
    document = config.to_document()
    services.config_delete(config=config, source="test")
    services.config_upsert(data=document, source="test")
    config = ModelConfig.objects.get(model_id=LLAMA)
    revisions = admin_client.get(history_url(config)).context["revisions"]
    assert [(r["revision"].action, r["current"]) for r in revisions] == [
        ("created", True),
        ("deleted", False),
        ("created", False),
    ]
