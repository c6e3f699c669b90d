"""The admin's JSON import: several files, the rules of loadconfigs, all or nothing, a per-file report."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.core import dumps
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import small_config

IMPORT = reverse("admin:registry_modelconfig_import")


def upload(document, name: str | None = None) -> SimpleUploadedFile:
    text = document if isinstance(document, str) else dumps(document)
    return SimpleUploadedFile(name or f"{document['model_id']}.json", text.encode(), "application/json")


def second() -> dict:
    return small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2", name="Acme Tiny 2")


@pytest.mark.django_db
def test_import_page_has_a_multiple_file_input(admin_client):
    """The import page offers one file input taking several files."""
    html = admin_client.get(IMPORT).content.decode()
    assert 'type="file" name="files"' in html and "multiple" in html
    assert 'enctype="multipart/form-data"' in html


@pytest.mark.django_db
def test_import_creates_every_file_and_reports_each(admin_client, admin_user):
    """Valid files are all created, each listed in the report; history records the admin and the user."""
    response = admin_client.post(IMPORT, {"files": [upload(small_config()), upload(second())]})
    assert response.status_code == 200
    report = response.context["report"]
    assert [(s.source, s.status) for s in report.sources] == [
        ("acme_tiny-1.json", "created"),
        ("acme_tiny-2.json", "created"),
    ]
    assert set(ModelConfig.objects.values_list("model_id", flat=True)) == {"acme_tiny-1", "acme_tiny-2"}
    assert {(r.source, r.user) for r in ConfigRevision.objects.all()} == {("admin", admin_user)}
    assert "Imported: 2 created, 0 updated, 0 unchanged, 0 failed." in response.content.decode()

    changed = small_config(name="Acme Tiny One")
    response = admin_client.post(IMPORT, {"files": [upload(changed), upload(second())]})
    assert [s.status for s in response.context["report"].sources] == ["updated", "unchanged"]


@pytest.mark.django_db
def test_import_is_all_or_nothing_with_each_error_located(admin_client):
    """One bad file stops every write; the report gives each error's loc, code and message."""
    bad = second()
    bad["layer_types"][0]["specs"]["num_kv_heads"] = 3
    files = [upload(small_config()), upload(bad), upload("{not json", "broken.json"), upload(small_config(), "x.json")]
    response = admin_client.post(IMPORT, {"files": files})
    assert not ModelConfig.objects.exists()
    sources = response.context["report"].sources
    assert [s.status for s in sources] == ["not written", "failed", "failed", "failed"]
    assert [i.code for i in sources[1].errors] == ["heads_not_divisible"]
    assert [i.code for i in sources[2].errors] == ["invalid_json"]
    assert "filename_mismatch" in [i.code for i in sources[3].errors]
    html = response.content.decode()
    assert "<code>layer_types[0].specs.num_kv_heads</code>: expected a divisor of num_heads (4), got 3" in html
    assert "<code>[heads_not_divisible]</code>" in html
    assert "invalid JSON at line 1, column 2" in html
    assert "Nothing was written" in html


@pytest.mark.django_db
def test_import_empty_file_is_reported_per_file(admin_client):
    """An empty upload is a failed file in the report, as with loadconfigs, not a form error."""
    response = admin_client.post(IMPORT, {"files": [upload("", "empty.json")]})
    assert [i.code for i in response.context["report"].sources[0].errors] == ["empty_file"]


@pytest.mark.django_db
def test_import_dry_run_and_recompute(admin_client):
    """A dry run reports without writing; recompute replaces stale derived values instead of failing."""
    stale = small_config(total_params=5)
    response = admin_client.post(IMPORT, {"files": [upload(stale)]})
    assert [i.code for i in response.context["report"].sources[0].errors] == ["total_params_mismatch"]
    response = admin_client.post(IMPORT, {"files": [upload(stale)], "recompute": "on", "dry_run": "on"})
    assert response.context["report"].sources[0].status == "created"
    assert not ModelConfig.objects.exists()
    admin_client.post(IMPORT, {"files": [upload(stale)], "recompute": "on"})
    assert ModelConfig.objects.get().total_params != 5


@pytest.mark.django_db
def test_import_needs_add_and_change_permission(client):
    """Staff who may only view configs cannot import."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelconfig"))
    client.force_login(user)
    assert client.get(IMPORT).status_code == 403
