"""Several configs side by side: the core, GET /compare/ and the admin's compare page and action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.core.diff import MAX_COMPARED, compared_ids, side_by_side
from tests.conftest import FIXTURE_IDS, LLAMA, error_codes, fixture_document

MISTRAL, MIXTRAL, TINY = (
    "mistralai_Mistral-7B-v0.1",
    "mistralai_Mixtral-8x7B-v0.1",
    "TinyLlama_TinyLlama-1.1B-Chat-v1.0",
)
THREE = [MISTRAL, MIXTRAL, TINY]
COMPARE = "admin:registry_modelconfig_compare"


def _layer(body, name):
    return next(layer for layer in body["layer_types"] if layer["name"] == name)


def _row(rows, key):
    return next(row for row in rows if row["key"] == key)


def test_side_by_side_gives_every_value_of_every_config_in_order():
    """Values, layer types by name and totals, one column per config; rows marked where they differ."""
    docs = [(i, fixture_document(i)) for i in THREE]
    body = side_by_side(docs)
    assert body["model_ids"] == THREE
    assert body["total_params"] == [7241732096, 46702792704, 1100048384]  # the fixtures' (model cards)
    # Mixtral's routed experts: 2 of 8 per token; the dense ones count all their parameters.
    assert body["active_params"] == [7241732096, 12879925248, 1100048384]
    assert _row(body["values"], "vocab_size") == {
        "key": "vocab_size",
        "values": [32000, 32000, 32000],
        "differs": False,
    }
    assert _row(body["values"], "hidden_size") == {"key": "hidden_size", "values": [4096, 4096, 2048], "differs": True}
    names = [layer["name"] for layer in body["layer_types"]]
    assert len(names) == len(set(names))
    for layer in body["layer_types"]:
        present = [
            any(lt["name"] == layer["name"] for lt in doc["layer_types"]) for _, doc in docs
        ]  # None exactly where a config has no layer type of that name
        assert [c is not None for c in layer["count"]] == present
        if not all(present):
            assert layer["differs"] is True


def test_side_by_side_of_equal_configs_marks_nothing():
    doc = fixture_document(MISTRAL)
    body = side_by_side([("a", doc), ("b", doc), ("c", doc)])
    assert not any(r["differs"] for r in body["values"])
    assert not any(layer["differs"] for layer in body["layer_types"])
    assert "active_params" not in body


@pytest.mark.parametrize(
    "text, code",
    [
        (MISTRAL, "out_of_range"),
        (",".join(f"m{i}" for i in range(MAX_COMPARED + 1)), "out_of_range"),
        (f"{MISTRAL},{MISTRAL}", "same_config"),
        (f"{MISTRAL},", "blank"),
        (f"{MISTRAL},a/b", "model_id_characters"),
    ],
)
def test_compared_ids_refuses_what_is_not_2_to_10_distinct_ids(text, code):
    ids, issues = compared_ids(text)
    assert ids == [] and [(i.loc, i.code) for i in issues] == [("model_ids", code)]


@pytest.mark.django_db
def test_api_compares_three_configs(api, loaded_fixtures):
    """GET /compare/?model_ids=a,b,c is the core's side_by_side of the stored documents."""
    response = api.get(f"/compare/?model_ids={','.join(THREE)}")
    assert response.status_code == 200, response.content
    assert response.json() == side_by_side([(i, fixture_document(i)) for i in THREE])
    ten = [LLAMA, *THREE, *sorted(set(FIXTURE_IDS) - {LLAMA, *THREE})][:MAX_COMPARED]
    assert api.get(f"/compare?model_ids={','.join(ten)}").json()["model_ids"] == ten


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, status, errors",
    [
        ("", 400, [("query.model_ids", "required")]),
        (f"model_ids={MISTRAL}", 400, [("query.model_ids", "out_of_range")]),
        (f"model_ids={MISTRAL},{MISTRAL}", 400, [("query.model_ids", "same_config")]),
        (f"model_ids={MISTRAL},nope,gone", 404, [("$", "not_found"), ("$", "not_found")]),
        (f"model_ids={MISTRAL},{TINY}&x=1", 400, [("query.x", "unknown_parameter")]),
    ],
)
def test_api_compare_errors(api, loaded_fixtures, query, status, errors):
    response = api.get(f"/compare/?{query}")
    assert response.status_code == status
    assert error_codes(response) == errors


@pytest.mark.django_db
def test_admin_compare_page_shows_three_configs_side_by_side(admin_client, loaded_fixtures):
    """The admin page: a column per config linked to its change page, differing rows marked."""
    response = admin_client.get(reverse(COMPARE), {"model_ids": ",".join(THREE)})
    assert response.status_code == 200
    html = response.content.decode()
    for model_id in THREE:
        assert f'href="/admin/registry/modelconfig/{model_id}/change/"' in html
    sections = response.context["sections"]
    assert sections[0]["rows"][0] == {
        "label": "total_params",
        "values": [7241732096, 46702792704, 1100048384],
        "differs": True,
    }
    assert '<tr class="differs"><th scope="row">hidden_size</th><td>4096</td><td>4096</td><td>2048</td></tr>' in html


@pytest.mark.django_db
def test_admin_compare_page_names_what_it_cannot_compare(admin_client, loaded_fixtures):
    response = admin_client.get(reverse(COMPARE), {"model_ids": f"{MISTRAL},nope"})
    assert response.status_code == 200 and response.context["comparison"] is None
    assert [e.code for e in response.context["form"].errors.as_data()["model_ids"]] == ["not_found"]
    assert admin_client.get(reverse(COMPARE)).context["comparison"] is None  # the empty form


@pytest.mark.django_db
def test_admin_action_opens_the_compare_page_for_the_selected_configs(admin_client, loaded_fixtures):
    from registry.models import ModelConfig

    pks = list(ModelConfig.objects.filter(model_id__in=THREE).values_list("pk", flat=True))
    changelist = reverse("admin:registry_modelconfig_changelist")
    response = admin_client.post(changelist, {"action": "compare_side_by_side", "_selected_action": pks})
    assert response.status_code == 302
    assert response["Location"] == reverse(COMPARE) + "?model_ids=" + "%2C".join(sorted(THREE))
    one = admin_client.post(changelist, {"action": "compare_side_by_side", "_selected_action": pks[:1]}, follow=True)
    assert "Select 2 to 10 configs" in one.content.decode()


@pytest.mark.django_db
def test_compare_page_needs_a_staff_user_with_view_permission(client, loaded_fixtures, django_user_model):
    django_user_model.objects.create_user("staff", password="x-secret-pass", is_staff=True)
    client.login(username="staff", password="x-secret-pass")
    assert client.get(reverse(COMPARE), {"model_ids": ",".join(THREE)}).status_code == 403
