"""Adversarial admin input: integers typed as JSON writes them, NUL in the query string, forged row counts, and
a Plan press that keeps the form's unsaved edits."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from registry.admin.configs import PLANNED_SAVED, PLANNED_UNSAVED
from registry.core import Code
from registry.core.planning import DEVICES, Deployment, plan_config
from registry.core.validation import MAX_LAYER_TYPES, integer_from_text
from registry.models import ModelConfig
from tests.conftest import CHANGELIST, LLAMA, change_url, field_errors, form_data, row

# Text Django's IntegerField reads as 8192 and the JSON format does not: a decimal point, an exponent, spaces,
# a plus sign, a leading zero, Arabic-Indic and full-width digits.
NOT_JSON_INTEGERS = ("8192.0", "8.192e3", " 8192", "8192 ", "+8192", "08192", "٨١٩٢", "８１９２")


@pytest.fixture
def llama(loaded_fixtures) -> ModelConfig:
    return ModelConfig.objects.get(model_id=LLAMA)


def form_errors(response: Any, field: str) -> list[str]:
    return [e.code for e in response.context["adminform"].form.errors.as_data().get(field, [])]


# ---- integers --------------------------------------------------------------------------------------------


def test_integer_text_is_judged_as_the_json_format_judges_it():
    """Only JSON's integer grammar is an integer; a JSON float is refused as in a document, with the core's code."""
    assert integer_from_text("x", "8192") == (8192, [])
    assert integer_from_text("x", "0", minimum=0) == (0, [])
    for text in NOT_JSON_INTEGERS:
        value, issues = integer_from_text("x", text)
        assert value is None and [(i.loc, i.code) for i in issues] == [("x", Code.NOT_AN_INTEGER)], text
    assert "a number written with a decimal point (8192.0)" in integer_from_text("x", "8192.0")[1][0].msg
    assert [i.code for i in integer_from_text("x", "0")[1]] == [Code.NOT_POSITIVE]
    assert [i.code for i in integer_from_text("x", "-1", minimum=0)[1]] == [Code.NEGATIVE]
    assert [i.code for i in integer_from_text("x", "9223372036854775808")[1]] == [Code.TOO_LARGE]
    assert [i.code for i in integer_from_text("x", "9" * 5000)[1]] == [Code.TOO_LARGE]  # not int()'s ValueError


@pytest.mark.django_db
@pytest.mark.parametrize("text", NOT_JSON_INTEGERS)
def test_config_integer_fields_refuse_what_json_refuses(admin_client, llama, text):
    """hidden_size, num_layers, vocab_size and the context length refuse text the JSON format would not read
    as an integer; nothing is saved."""
    data = form_data(admin_client.get(change_url(llama)))
    for field in ("hidden_size", "num_layers", "vocab_size", "max_position_embeddings"):
        sent = {**data, field: text}
        response = admin_client.post(change_url(llama), sent)
        assert response.status_code == 200, (field, text)
        assert form_errors(response, field) == [Code.NOT_AN_INTEGER], (field, text)
    assert ModelConfig.objects.get(pk=llama.pk).digest == llama.digest


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["128.0", " 128", "١٢٨"])
def test_layer_type_integer_fields_refuse_what_json_refuses(admin_client, llama, text):
    """A spec field, a row's count and its position refuse the same text, at their field."""
    data = form_data(admin_client.get(change_url(llama)))
    prefix = row(data, "attention")
    for field in ("spec_head_dim", "count", "position"):
        sent = {**data, prefix + field: text}
        response = admin_client.post(change_url(llama), sent)
        assert response.status_code == 200, (field, text)
        assert [c for c, _ in field_errors(response, prefix, field)] == [Code.NOT_AN_INTEGER], (field, text)
    assert ModelConfig.objects.get(pk=llama.pk).digest == llama.digest


@pytest.mark.django_db
def test_json_integer_text_is_still_saved(admin_client, llama):
    """The text JSON writes for an integer saves as before (the form round-trips)."""
    data = form_data(admin_client.get(change_url(llama)))
    data["max_position_embeddings"] = "65536"
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 302
    assert ModelConfig.objects.get(pk=llama.pk).max_position_embeddings == 65536


# ---- NUL in the query string -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "param", ["layer_class", "q", "validated__exact", "o", "p", "_changelist_filters", "all", "e", "\x00"]
)
def test_changelist_answers_nul_in_any_parameter_without_a_500(admin_client, llama, param):
    """PostgreSQL cannot compare text holding NUL: no filter, search or ordering value sends one to it."""
    response = admin_client.get(reverse(CHANGELIST), {param: "\x00"})
    assert response.status_code in (200, 302), param


@pytest.mark.django_db
def test_layer_class_filter_of_no_catalogue_class_lists_nothing(admin_client, llama):
    """A layer class the catalogue lacks (a NUL, a typo) matches no config, as no config may hold one."""
    for value in ("\x00", "GroupedQueryAttentionLayer\x00", "NoSuchLayer"):
        response = admin_client.get(reverse(CHANGELIST), {"layer_class": value})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []
    response = admin_client.get(reverse(CHANGELIST), {"layer_class": "GroupedQueryAttentionLayer"})
    assert LLAMA in [c.model_id for c in response.context["cl"].result_list]


@pytest.mark.django_db
def test_change_and_history_pages_answer_nul_without_a_500(admin_client, llama):
    """The change page's plan fields, the history page and a NUL object id are answered, not a 500."""
    url = change_url(llama)
    for name in ("plan-device", "plan-tp", "plan-dtype", "plan-batch", "_changelist_filters"):
        assert admin_client.get(url, {name: "\x00"}).status_code == 200, name
    history = reverse("admin:registry_modelconfig_history", args=[llama.pk])
    assert admin_client.get(history, {"a": "\x00", "b": "\x00"}).status_code < 500
    nul_id = reverse(CHANGELIST) + "%00/change/"
    assert admin_client.get(nul_id).status_code in (302, 404)


# ---- forged row counts -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("total", [MAX_LAYER_TYPES + 1, 100_000])
def test_more_rows_than_a_document_may_hold_are_refused_unread(admin_client, llama, total):
    """TOTAL_FORMS above the core's cap on layer types is refused at the inline with too_many; no row is built."""
    data = form_data(admin_client.get(change_url(llama)))
    data["layer_types-TOTAL_FORMS"] = total
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms == []
    assert [e.code for e in formset.non_form_errors().as_data()] == [Code.TOO_MANY]
    assert f"expected at most {MAX_LAYER_TYPES} layer types" in str(formset.non_form_errors())
    assert ModelConfig.objects.get(pk=llama.pk).digest == llama.digest


@pytest.mark.django_db
def test_the_page_offers_rows_up_to_the_cap(admin_client, llama):
    """The management form's MAX_NUM_FORMS is the cap, so the page's "Add another" stops there."""
    data = form_data(admin_client.get(change_url(llama)))
    assert data["layer_types-MAX_NUM_FORMS"] == MAX_LAYER_TYPES


# ---- Plan with unsaved edits -----------------------------------------------------------------------------


def plan_post(client: Any, config: ModelConfig, data: dict[str, Any], **plan: str) -> Any:
    return client.post(
        change_url(config), {**data, "_plan": "1", **{f"plan-{k}": v for k, v in plan.items()}}, follow=False
    )


@pytest.mark.django_db
def test_plan_of_unsaved_values_plans_them_and_saves_nothing(admin_client, llama):
    """The Plan button's POST plans the form's values (a new context length), shows the form as posted and
    writes nothing."""
    data = form_data(admin_client.get(change_url(llama)))
    data["max_position_embeddings"] = "32768"
    response = plan_post(admin_client, llama, data, device="H100-80GB", tp="2", dtype="bf16", batch="1")
    assert response.status_code == 200
    assert response.context["adminform"].form["max_position_embeddings"].value() == "32768"
    panel = response.context["plan"]
    assert panel["context_length"] == 32768 and panel["context_text"] == "32,768 tokens"
    assert panel["chart"]["contexts"][-1] == 32768 and panel["chart"]["tp"] == 2
    document = {**llama.to_document(), "max_position_embeddings": 32768}
    expected = plan_config(document, Deployment(dtype="bf16", tp=2, context=32768, device_memory=DEVICES["H100-80GB"]))
    assert panel["chart"]["total_bytes"][-1] == expected.outputs.device.total_bytes
    assert [m.message for m in response.context["messages"]] == [PLANNED_UNSAVED]
    stored = ModelConfig.objects.get(pk=llama.pk)
    assert (stored.digest, stored.max_position_embeddings) == (llama.digest, llama.max_position_embeddings)
    assert 'id="plan-form" method="get" action="#plan" novalidate data-posted>' in response.content.decode()


@pytest.mark.django_db
def test_plan_of_invalid_values_keeps_them_and_plans_the_saved_config(admin_client, llama):
    """With errors in the form, the edits are shown with their errors and the panel plans the saved config."""
    data = form_data(admin_client.get(change_url(llama)))
    data["max_position_embeddings"] = "32768.0"
    response = plan_post(admin_client, llama, data)
    assert response.status_code == 200
    assert response.context["adminform"].form["max_position_embeddings"].value() == "32768.0"
    assert form_errors(response, "max_position_embeddings") == [Code.NOT_AN_INTEGER]
    assert response.context["plan"]["context_length"] == llama.max_position_embeddings
    assert [m.message for m in response.context["messages"]] == [PLANNED_SAVED]
    assert ModelConfig.objects.get(pk=llama.pk).digest == llama.digest


@pytest.mark.django_db
def test_plan_post_needs_the_change_permission(client, llama, django_user_model):
    """A view-only user cannot post the change form, to plan or otherwise."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelconfig"))
    client.force_login(user)
    assert client.get(change_url(llama)).status_code == 200
    assert plan_post(client, llama, {"max_position_embeddings": "32768"}).status_code == 403
