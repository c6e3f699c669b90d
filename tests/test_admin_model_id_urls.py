"""The admin's change page answers at the config's model_id; older pk links keep working."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import ModelConfig
from tests.conftest import form_data, small_config, store

pytestmark = pytest.mark.django_db


def _url(name: str, object_id: object) -> str:
    return reverse(f"admin:registry_modelconfig_{name}", args=[object_id])


def test_change_page_answers_at_its_model_id(admin_client):
    """/admin/registry/modelconfig/<model_id>/change/ shows that config."""
    config = store(small_config())
    assert _url("change", config.model_id) == "/admin/registry/modelconfig/acme_tiny-1/change/"
    response = admin_client.get(_url("change", config.model_id))
    assert response.status_code == 200
    assert response.context["original"].pk == config.pk


def test_a_model_id_django_would_unquote_is_found_as_written(admin_client):
    """acme_BERT-1 holds '_BE', which the admin's unquote turns into '¾': the id is looked up as written."""
    config = store(small_config(model_id="acme_BERT-1", hf_model_id="acme/BERT-1"))
    response = admin_client.get(_url("change", "acme_BERT-1"))
    assert response.status_code == 200 and response.context["original"].pk == config.pk


def test_pk_links_keep_working(admin_client):
    """Links written with the pk (Django's own, older bookmarks) still open the config."""
    config = store(small_config())
    response = admin_client.get(_url("change", config.pk))
    assert response.status_code == 200 and response.context["original"].model_id == config.model_id
    assert admin_client.get(_url("history", config.pk)).status_code == 200


def test_unknown_model_id_is_djangos_missing_object_answer(admin_client, db):
    response = admin_client.get(_url("change", "acme_none"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_changelist_links_to_the_model_id_url(admin_client):
    config = store(small_config())
    html = admin_client.get(reverse("admin:registry_modelconfig_changelist")).content.decode()
    assert f'href="{_url("change", config.model_id)}"' in html
    assert f'href="{_url("change", config.pk)}"' not in html


def test_save_history_and_plan_work_from_the_model_id_url(admin_client):
    """Saving at the model_id URL goes through the write path; history and plan answer there too."""
    config = store(small_config())
    url = _url("change", config.model_id)
    data = form_data(admin_client.get(url))
    data["name"] = "Tiny renamed"
    data["_continue"] = "Save and continue editing"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert response["Location"] == url
    assert ModelConfig.objects.get(pk=config.pk).name == "Tiny renamed"
    history = admin_client.get(_url("history", config.model_id))
    assert history.status_code == 200 and "Tiny renamed" in history.content.decode()
    assert admin_client.get(url, {"plan-tp": "1", "plan-dtype": "bf16"}).status_code == 200
