"""A config's history in the admin: who, when, what changed (the core's diff); restoring a past version;
deleted configs listed and recovered."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from registry import services
from registry.admin import pages as admin_pages
from registry.core import diff
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import LLAMA, change_url, form_data, row, small_config


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
    response = admin_client.post(restore_url(edited, created), {"base_digest": edited.digest}, follow=True)
    assert response.redirect_chain[-1][0] == history_url(edited)
    edited.refresh_from_db()
    assert edited.total_params == 70553706496
    assert edited.layer_types.get(name="feedforward").specs["intermediate_size"] == 28672
    latest = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (latest.action, latest.source, latest.user) == ("restored", "admin", admin_user)


@pytest.mark.django_db
def test_restore_carries_the_version_the_page_was_opened_on(admin_client, edited):
    """The Restore button sends the digest the page showed; a restore after a later write is refused."""
    created = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    page = admin_client.get(history_url(edited)).content.decode()
    assert f'name="base_digest" value="{edited.digest}"' in page
    opened_on = edited.digest
    document = edited.to_document()
    services.config_upsert(data={**document, "name": "Changed meanwhile"}, source="api")
    response = admin_client.post(restore_url(edited, created), {"base_digest": opened_on}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("after you opened this page, so nothing was restored" in m for m in messages)
    assert ModelConfig.objects.get(model_id=LLAMA).name == "Changed meanwhile"


@pytest.mark.django_db
@pytest.mark.parametrize("base", [None, "", "deadbeef", "g" * 64])
def test_restore_without_the_pages_digest_writes_nothing(admin_client, edited, base):
    """A POST that is not the history page's form (no digest, or not one) restores nothing: no blind overwrite."""
    created = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    data = {} if base is None else {"base_digest": base}
    response = admin_client.post(restore_url(edited, created), data, follow=True)
    assert any("Nothing was restored" in str(m) for m in response.context["messages"])
    assert ModelConfig.objects.get(model_id=LLAMA).digest == edited.digest


@pytest.mark.django_db
def test_restore_goes_through_validation(admin_client, edited):
    """A kept version that breaks the rules is not restored; the message says why."""
    bad = ConfigRevision.objects.get(model_id=LLAMA, action="created")
    bad.after["layer_types"][0]["specs"]["num_kv_heads"] = 7
    bad.save()
    digest = edited.digest
    response = admin_client.post(restore_url(edited, bad), {"base_digest": digest}, follow=True)
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
    config = ModelConfig.objects.get(model_id=LLAMA)
    document = config.to_document()
    services.config_delete(model_id=config.model_id, source="api")
    services.config_upsert(data=document, source="api")
    config = ModelConfig.objects.get(model_id=LLAMA)
    revisions = admin_client.get(history_url(config)).context["revisions"]
    assert [(r["revision"].action, r["current"]) for r in revisions] == [
        ("created", True),
        ("deleted", False),
        ("created", False),
    ]


def test_the_history_page_uses_the_core_diff():
    """The admin keeps no diff engine of its own."""
    assert admin_pages.flat_diff is diff.flat_diff


# ---- deleted configs -------------------------------------------------------------------------------------

DELETED_URL = reverse("admin:registry_modelconfig_deleted")


def recover_url(revision: ConfigRevision) -> str:
    return reverse("admin:registry_modelconfig_recover", args=[revision.pk])


def staff_with(*codenames: str) -> Client:
    user = User.objects.create_user("curator", password="secret-pass-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def gone(admin_client, edited) -> ConfigRevision:
    """Llama 3.3 70B, edited then deleted from the admin: its deletion."""
    response = admin_client.post(reverse("admin:registry_modelconfig_delete", args=[edited.pk]), {"post": "yes"})
    assert response.status_code == 302
    return ConfigRevision.objects.get(model_id=LLAMA, action="deleted")


@pytest.mark.django_db
def test_changelist_links_the_deleted_configs(admin_client, loaded_fixtures):
    """Next to the import links."""
    html = admin_client.get(reverse("admin:registry_modelconfig_changelist")).content.decode()
    assert f'href="{DELETED_URL}"' in html


@pytest.mark.django_db
def test_deleted_page_lists_configs_that_are_gone(admin_client, admin_user, gone):
    """Each gone config once (its latest deletion), with when, by whom and how; stored ones are not listed."""
    other = ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1")
    services.config_delete(model_id=other.model_id, source="api")
    # Deleted, re-created, deleted again: listed once, by its last deletion.
    services.config_restore(revision=ConfigRevision.objects.get(model_id=other.model_id, action="deleted"))
    services.config_delete(model_id=other.model_id, source="api")
    # Deleted and re-created: not listed.
    tiny = ModelConfig.objects.get(model_id="TinyLlama_TinyLlama-1.1B-Chat-v1.0")
    services.config_delete(model_id=tiny.model_id, source="api")
    services.config_upsert(
        data=ConfigRevision.objects.get(model_id=tiny.model_id, action="deleted").before, source="api"
    )

    response = admin_client.get(DELETED_URL)
    assert response.status_code == 200
    rows = response.context["rows"]
    last = ConfigRevision.objects.filter(model_id=other.model_id, action="deleted").first()
    assert [(r["revision"].pk, r["revision"].model_id) for r in rows] == [(last.pk, other.model_id), (gone.pk, LLAMA)]
    assert (rows[1]["revision"].user, rows[1]["revision"].source) == (admin_user, "admin")
    assert rows[1]["total"] == "72.6B (72,566,972,416)"
    html = response.content.decode()
    assert html.count('value="Recover"') == 2
    assert f'action="{recover_url(gone)}"' in html


@pytest.mark.django_db
def test_recover_re_creates_the_config_as_it_was(admin_client, admin_user, gone):
    """Recover writes the last document back through the services and opens the config."""
    response = admin_client.post(recover_url(gone))
    config = ModelConfig.objects.get(model_id=LLAMA)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_modelconfig_change", args=[config.pk])
    assert config.total_params == 72566972416
    assert config.to_document() == diff.in_order(gone.before)
    latest = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (latest.action, latest.source, latest.user) == ("restored", "admin", admin_user)
    assert admin_client.get(DELETED_URL).context["rows"] == []


@pytest.mark.django_db
def test_recover_does_not_overwrite_a_config_re_created_meanwhile(admin_client, gone):
    """A config stored again since the list was shown is left alone; the message says why."""
    document = small_config(model_id=LLAMA, hf_model_id="meta-llama/Llama-3.3-70B-Instruct")
    services.config_upsert(data=document, source="api")
    digest = ModelConfig.objects.get(model_id=LLAMA).digest
    response = admin_client.post(recover_url(gone), follow=True)
    assert response.redirect_chain[-1][0] == DELETED_URL
    assert any("already_exists" in str(m) for m in response.context["messages"])
    assert ModelConfig.objects.get(model_id=LLAMA).digest == digest


@pytest.mark.django_db
def test_recover_only_by_post_with_csrf_and_the_add_permission(admin_user, gone):
    """GET is a 405, a POST without CSRF or by staff without the add permission a 403; the list stays
    readable for view-only staff, without the button."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(recover_url(gone)).status_code == 405
    assert client.post(recover_url(gone)).status_code == 403
    viewer = staff_with("view_modelconfig")
    assert viewer.post(recover_url(gone)).status_code == 403
    page = viewer.get(DELETED_URL)
    assert page.status_code == 200 and 'value="Recover"' not in page.content.decode()
    assert not ModelConfig.objects.filter(model_id=LLAMA).exists()
    assert Client().get(DELETED_URL).status_code == 302  # to the login page


# ---- comparing two configs on the history page --------------------------------------------------------


@pytest.mark.django_db
def test_history_page_compares_with_another_config_as_the_api_does(admin_client, loaded_fixtures):
    """The history page's Compare shows the core's comparison, the same as GET /models/{id}/diff/{other}."""
    config = ModelConfig.objects.get(model_id=LLAMA)
    other = "meta-llama_Llama-3.1-405B-Instruct"
    response = admin_client.get(history_url(config), {"compare": other})
    assert response.status_code == 200
    comparison = response.context["comparison"]
    api = admin_client.get(reverse("api:model-diff", args=[LLAMA, other]))
    assert {**comparison, "a": LLAMA} == api.json()
    assert comparison["total_params"] == {"a": 70553706496, "b": 405853388800, "delta": 335299682304}
    html = response.content.decode()
    assert "+335299682304" in html
    assert "specs.hidden_size: 8192 → 16384" in html
    assert f'href="/models/{LLAMA}/diff/{other}"' in html


@pytest.mark.django_db
def test_history_page_compares_active_parameters_of_an_expert_model(admin_client, loaded_fixtures):
    """With routed experts on one side, the parameters per token are compared too (a dense config: its total)."""
    config = ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1")
    response = admin_client.get(history_url(config), {"compare": "mistralai_Mixtral-8x7B-v0.1"})
    assert response.context["comparison"]["active_params"] == {
        "a": 7241732096,
        "b": 12879925248,
        "delta": 12879925248 - 7241732096,
    }
    assert 'id="compare-totals"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("acme_no-such-model", "no config with model_id &#x27;acme_no-such-model&#x27;"),
        (LLAMA, "expected another config&#x27;s model_id than this one&#x27;s"),
    ],
)
def test_history_page_says_why_it_cannot_compare(admin_client, loaded_fixtures, value, message):
    config = ModelConfig.objects.get(model_id=LLAMA)
    response = admin_client.get(history_url(config), {"compare": value})
    assert response.status_code == 200
    assert response.context["comparison"] is None
    assert message in response.content.decode()
