"""The admin's Hugging Face import: a config.json uploaded or pasted, converted, validated and imported."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import ConfigRevision, ModelConfig
from tests.conftest import HF_DATA

IMPORT_HF = reverse("admin:registry_modelconfig_import_hf")
MIXTRAL_HF = "mistralai/Mixtral-8x7B-v0.1"
MIXTRAL = "mistralai_Mixtral-8x7B-v0.1"


def config_text(hf_model_id: str = MIXTRAL_HF) -> str:
    return (HF_DATA / hf_model_id / "config.json").read_text()


def upload(text: str, name: str = "config.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), "application/json")


def errors(response) -> list[tuple[str, str]]:
    return [(i.loc, i.code) for s in response.context["report"].sources for i in s.errors]


@pytest.mark.django_db
def test_changelist_links_the_page_next_to_import_json(admin_client):
    """The changelist offers both imports; the page has the Hub id, a file input, a text area and dry run."""
    html = admin_client.get(reverse("admin:registry_modelconfig_changelist")).content.decode()
    assert html.index(">Import JSON</a>") < html.index(f'href="{IMPORT_HF}"')
    html = admin_client.get(IMPORT_HF).content.decode()
    for needle in ('name="hf_model_id"', 'type="file" name="config_file"', '<textarea name="config_text"'):
        assert needle in html
    assert 'name="dry_run"' in html and 'enctype="multipart/form-data"' in html


@pytest.mark.django_db
def test_uploaded_config_json_is_imported_with_its_counts_and_history(admin_client, admin_user):
    """A Mixtral config.json upload creates the config (exact total and active params) by the user, source importhf."""
    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_file": upload(config_text())})
    assert response.status_code == 200
    assert [(s.source, s.model_id, s.status) for s in response.context["report"].sources] == [
        ("config.json", MIXTRAL, "created")
    ]
    assert "Imported: 1 created, 0 updated, 0 unchanged, 0 failed." in response.content.decode()
    config = ModelConfig.objects.get(model_id=MIXTRAL)
    assert (config.hf_model_id, config.total_params, config.active_params) == (
        MIXTRAL_HF,
        46702792704,
        12879925248,
    )
    assert config.max_position_embeddings == 32768
    revision = ConfigRevision.objects.get(model_id=MIXTRAL)
    assert (revision.action, revision.source, revision.user) == ("created", "importhf", admin_user)

    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": config_text()})
    assert [(s.source, s.status) for s in response.context["report"].sources] == [("pasted config.json", "unchanged")]
    assert "Imported: 0 created, 0 updated, 1 unchanged, 0 failed." in response.content.decode()
    assert ConfigRevision.objects.count() == 1


@pytest.mark.django_db
def test_pasted_deepseek_config_is_imported(admin_client):
    """Pasted text works as an upload does: DeepSeek-V3 (MLA and shared experts) gets its exact counts."""
    response = admin_client.post(
        IMPORT_HF, {"hf_model_id": "deepseek-ai/DeepSeek-V3", "config_text": config_text("deepseek-ai/DeepSeek-V3")}
    )
    assert [s.status for s in response.context["report"].sources] == ["created"]
    config = ModelConfig.objects.get(model_id="deepseek-ai_DeepSeek-V3")
    assert (config.total_params, config.active_params) == (671026404352, 37552282624)


@pytest.mark.django_db
def test_dry_run_reports_and_writes_nothing(admin_client):
    """A dry run reports what would be created, and writes no config and no revision."""
    response = admin_client.post(
        IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_file": upload(config_text()), "dry_run": "on"}
    )
    assert [s.status for s in response.context["report"].sources] == ["created"]
    assert "Dry run, nothing written: 1 created, 0 updated, 0 unchanged, 0 failed." in response.content.decode()
    assert not ModelConfig.objects.exists() and not ConfigRevision.objects.exists()


@pytest.mark.django_db
def test_a_stored_config_is_replaced_only_when_asked(admin_client):
    """Importing over a different stored config fails (already_exists) unless "Replace a stored config"."""
    admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": config_text()})
    config = ModelConfig.objects.get()
    ModelConfig.objects.filter(pk=config.pk).update(digest="0" * 64)  # as if curated by hand since
    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": config_text()})
    assert [(i.loc, i.code) for s in response.context["report"].sources for i in s.errors] == [
        ("model_id", "already_exists")
    ]
    assert ModelConfig.objects.get().digest == "0" * 64
    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": config_text(), "replace": "on"})
    assert [s.status for s in response.context["report"].sources] == ["updated"]
    assert ModelConfig.objects.get().digest != "0" * 64


@pytest.mark.django_db
def test_unsupported_model_type_is_reported_with_its_loc(admin_client):
    """A model_type the converter does not know fails at config.model_type; nothing is written."""
    config = json.loads(config_text())
    config["model_type"] = "rwkv"
    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": json.dumps(config)})
    assert response.status_code == 200
    assert errors(response) == [("config.model_type", "unsupported_model_type")]
    html = response.content.decode()
    assert "<code>config.model_type</code>: model_type &quot;rwkv&quot; is not supported" in html
    assert "Nothing was written: 0 created, 0 updated, 0 unchanged, 1 failed." in html
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_bad_values_and_unreadable_json_are_reported_at_their_keys(admin_client):
    """A bad dimension is reported at config.<key>; a file that is not JSON at $ with line and column."""
    config = json.loads(config_text())
    config["num_attention_heads"] = 0
    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_file": upload(json.dumps(config))})
    assert errors(response) == [("config.num_attention_heads", "invalid_value")]
    assert "<code>config.num_attention_heads</code>: expected a positive integer" in response.content.decode()

    response = admin_client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": '{"model_type": '})
    assert errors(response) == [("$", "invalid_json")]
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_form_needs_a_hub_id_and_exactly_one_config(admin_client):
    """The Hub id must be ORG/NAME; the config.json comes from the file or the text, not both, not neither."""
    response = admin_client.post(IMPORT_HF, {"hf_model_id": "Mixtral", "config_text": config_text()})
    assert [e.code for e in response.context["form"].errors.as_data()["hf_model_id"]] == ["invalid_hf_model_id"]
    for data in (
        {"hf_model_id": MIXTRAL_HF},
        {"hf_model_id": MIXTRAL_HF, "config_text": config_text(), "config_file": upload(config_text())},
    ):
        response = admin_client.post(IMPORT_HF, data)
        assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["one_source"]
        assert response.context["report"] is None
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("codenames", "allowed"),
    [
        (["view_modelconfig"], False),
        (["add_modelconfig"], False),
        (["change_modelconfig"], False),
        (["add_modelconfig", "change_modelconfig"], True),
    ],
)
def test_page_needs_add_and_change_permissions(client, codenames, allowed):
    """As for Import JSON: an import creates and updates configs, so staff need both permissions."""
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    assert client.get(IMPORT_HF).status_code == (200 if allowed else 403)
    response = client.post(IMPORT_HF, {"hf_model_id": MIXTRAL_HF, "config_text": config_text()})
    assert response.status_code == (200 if allowed else 403)
    assert ModelConfig.objects.exists() == allowed
    if allowed:
        assert ConfigRevision.objects.get().user == user


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client):
    """The page is behind the admin's login like every admin view."""
    response = client.get(IMPORT_HF)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
