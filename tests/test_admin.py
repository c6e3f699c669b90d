"""The admin's changelist, change form (typed spec fields, errors at their fields) and write path."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db import connection
from django.forms.renderers import get_default_renderer
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.safestring import mark_safe

from registry import services
from registry.core import Issue, catalogue
from registry.forms import LayerTypeForm, WidgetRenderer, attach_issues
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import (
    ADD,
    CHANGELIST,
    FIXTURE_IDS,
    LLAMA,
    MODELS_2026,
    add_data,
    change_url,
    field_errors,
    form_data,
    row,
    small_config,
)


@pytest.fixture
def llama(loaded_fixtures) -> ModelConfig:
    return ModelConfig.objects.get(model_id=LLAMA)


# ---- changelist --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changelist_shows_ids_link_layer_count_and_formatted_total(admin_client, loaded_fixtures):
    """The changelist lists every config with a Hugging Face link, its layer-type count and formatted total."""
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct"' in html
    assert "70.6B" in html and "405.9B" in html
    counts = {c.model_id: c.layer_type_count for c in response.context["cl"].result_list}
    assert counts[LLAMA] == 5
    assert 'href="/admin/registry/modelconfig/import/"' in html


@pytest.mark.django_db
def test_changelist_sorts_by_total_params(admin_client, loaded_fixtures):
    """Ordering by the total column orders by the stored total, not by its formatted text."""
    column = 1 + ("model_id", "name", "hf_link", "layer_type_count", "total").index("total")
    for order, reverse_order in ((str(column), False), (f"-{column}", True)):
        response = admin_client.get(reverse(CHANGELIST), {"o": order})
        totals = [c.total_params for c in response.context["cl"].result_list]
        assert totals == sorted(totals, reverse=reverse_order)


@pytest.mark.django_db
def test_changelist_search_on_ids_and_name(admin_client, loaded_fixtures):
    """Search matches model_id, hf_model_id and name."""
    for query in ("mistralai/Mistral", "Mistral-7B", "TinyLlama 1.1B"):
        response = admin_client.get(reverse(CHANGELIST), {"q": query})
        found = [c.model_id for c in response.context["cl"].result_list]
        assert len(found) == 1, query


@pytest.mark.django_db
def test_changelist_filters_by_layer_class_and_validated(admin_client, loaded_fixtures):
    """The layer-class filter offers the catalogue's classes and keeps configs having one; validated filters too."""
    mha = small_config(model_id="acme_mha-1", hf_model_id="acme/mha-1")
    mha["layer_types"][0] = {
        "name": "attention",
        "class": "AttentionLayer",
        "count": 2,
        "specs": {"hidden_size": 64, "num_heads": 4, "head_dim": 16},
    }
    services.config_upsert(data=mha)
    response = admin_client.get(reverse(CHANGELIST))
    spec = next(f for f in response.context["cl"].filter_specs if f.parameter_name == "layer_class")
    assert [value for value, _ in spec.lookup_choices] == catalogue.names()

    response = admin_client.get(reverse(CHANGELIST), {"layer_class": "AttentionLayer"})
    found = [c.model_id for c in response.context["cl"].result_list]
    assert sorted(found) == ["acme_mha-1", "openai-community_gpt2"]  # the two without grouped-query attention
    response = admin_client.get(reverse(CHANGELIST), {"layer_class": "EmbeddingLayer"})
    assert len(response.context["cl"].result_list) == len(FIXTURE_IDS) + 1  # every config has one
    assert response.context["cl"].result_list[0].layer_type_count >= 4  # the filter does not multiply rows
    response = admin_client.get(reverse(CHANGELIST), {"validated__exact": "0"})
    unvalidated = sorted(c.model_id for c in response.context["cl"].result_list)
    # The imported fixtures and the new config; the curated ones are validated.
    assert unvalidated == sorted(
        [
            "Qwen_Qwen2.5-7B-Instruct",
            "acme_mha-1",
            "deepseek-ai_DeepSeek-V3",
            "google_gemma-2-2b",
            "mistralai_Mixtral-8x7B-v0.1",
            "openai-community_gpt2",
            *MODELS_2026,
        ]
    )


@pytest.mark.django_db
def test_changelist_query_count_does_not_grow_with_rows(admin_client, django_assert_max_num_queries):
    """The changelist page runs as many queries for twenty configs as for one (no N+1)."""
    services.config_upsert(data=small_config())
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(reverse(CHANGELIST)).status_code == 200
    for i in range(20):
        services.config_upsert(data=small_config(model_id=f"acme_tiny-{i + 2}", hf_model_id=f"acme/tiny-{i + 2}"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = admin_client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 21


# ---- change form -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_change_form_offers_typed_spec_fields_of_the_chosen_class(admin_client, llama):
    """Each row has the catalogue's class select and the typed spec fields of its class; the page has every
    spec field once more, as a template for the rows whose class changes."""
    response = admin_client.get(change_url(llama))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    by_name = {form.instance.name: form for form in formset.forms}
    attention, norm = by_name["attention"], by_name["norm"]
    assert [value for value, _ in attention.fields["class_name"].choices][1:] == catalogue.names()
    num_kv = attention.fields["spec_num_kv_heads"]
    assert isinstance(num_kv, forms.IntegerField) and not num_kv.disabled and num_kv.min_value == 1
    assert attention.fields["spec_layer_idx"].min_value == 0
    assert "spec_intermediate_size" not in attention.fields
    assert attention.initial["spec_num_kv_heads"] == 8
    assert isinstance(norm.fields["spec_has_bias"], forms.BooleanField) and not norm.fields["spec_has_bias"].disabled
    widgets = {w["field"].name: w for w in attention.spec_widgets()}
    assert widgets["spec_num_kv_heads"]["required"] and widgets["spec_num_kv_heads"]["shown"]
    assert widgets["spec_sliding_window"]["shown"] and not widgets["spec_sliding_window"]["required"]
    assert set(widgets) == {f"spec_{name}" for name in catalogue.get("GroupedQueryAttentionLayer").allowed} - {
        "spec_parameter_count"
    }
    templates = {t["spec"]: t for t in formset.spec_templates()}
    assert templates["intermediate_size"]["classes"] == "MLPLayer GatedMLPLayer"
    assert templates["intermediate_size"]["field"].html_name == "layer_types-__prefix__-spec_intermediate_size"
    html = response.content.decode()
    assert 'type="checkbox" name="layer_types-2-spec_has_bias"' in html
    assert 'class="required">num_kv_heads</label>' in html
    assert html.count('name="layer_types-__prefix__-spec_intermediate_size"') == 1
    assert f'name="{attention.add_prefix("spec_intermediate_size")}"' not in html
    assert "70.6B (70,553,706,496)" in html


@pytest.mark.django_db
def test_the_rows_widgets_are_written_as_djangos_templates_write_them(admin_client, llama):
    """WidgetRenderer's inputs, selects and error lists are Django's own HTML, escaping and all."""
    response = admin_client.get(change_url(llama))
    formset = response.context["inline_admin_formsets"][0].formset
    data = form_data(response)
    data[row(data, "attention") + "spec_num_kv_heads"] = '5"<&>'
    data[row(data, "norm") + "name"] = "a 'quoted' <name> & more"
    bound = type(formset)(data, instance=llama, prefix=formset.prefix)
    bound.is_valid()
    forms_ = [*formset.forms, formset.empty_form, *bound.forms]
    assert all(isinstance(form.renderer, WidgetRenderer) for form in forms_)
    django = get_default_renderer()
    compared = set()
    for form in forms_:
        for field in form:
            errors = field.errors
            fast = (str(field), errors.as_ul())
            form.renderer = errors.renderer = django
            assert fast == (str(field), errors.as_ul()), field.html_name
            form.renderer = errors.renderer = WidgetRenderer()
            compared.add(field.field.widget.template_name.rsplit("/", 1)[1])
    assert {"number.html", "text.html", "select.html", "checkbox.html", "hidden.html"} <= compared
    assert any(form.errors for form in bound.forms)
    attrs = {"data-x": '"&<', "required": True, "disabled": False}
    select = forms.Select(attrs=attrs, choices=[("Group <1>", [("a", "A & B")]), (1, "one")])
    for widget, value in ((select, 1), (forms.TextInput(attrs=attrs), mark_safe("<b>")), (forms.NumberInput(), None)):
        assert widget.render("n", value, renderer=WidgetRenderer()) == widget.render("n", value, renderer=django)


@pytest.mark.django_db
def test_a_row_posted_with_another_class_keeps_the_stored_class_fields(admin_client, llama):
    """After a refused save that changed a row's class, the row still has its stored class's fields (hidden,
    with their values) for switching back, and the new class's fields shown."""
    data = form_data(admin_client.get(change_url(llama)))
    prefix = row(data, "feedforward")
    data[prefix + "class_name"] = "MoELayer"  # its required specs are missing: not saved
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    form = next(f for f in response.context["inline_admin_formsets"][0].formset.forms if f.prefix + "-" == prefix)
    widgets = {w["spec"]: w for w in form.spec_widgets()}
    assert widgets["intermediate_size"]["field"].value() == 28672 and not widgets["intermediate_size"]["shown"]
    assert widgets["num_experts"]["shown"] and widgets["num_experts"]["required"]
    assert field_errors(response, prefix, "spec_num_experts")


@pytest.mark.django_db
def test_spec_fields_follow_the_catalogue():
    """The form has one field per spec name of the catalogue, parameter_count excluded (it is derived)."""
    form = LayerTypeForm()
    names = {s.name for c in catalogue.classes() for s in c.allowed.values()} - {"parameter_count"}
    assert {n.removeprefix("spec_") for n in form.fields if n.startswith("spec_")} == names
    assert all(form.fields[f"spec_{n}"].disabled for n in names)  # no class chosen yet


@pytest.mark.django_db
def test_saving_a_spec_recomputes_the_total_and_keeps_history(admin_client, admin_user, llama):
    """Changing intermediate_size writes through config_upsert: new counts, and a revision by the user."""
    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "feedforward") + "spec_intermediate_size"] = 29696
    response = admin_client.post(change_url(llama), data, follow=True)
    assert response.status_code == 200
    assert not response.context.get("errors")
    llama.refresh_from_db()
    assert llama.total_params == 70553706496 + 80 * 3 * 8192 * 1024
    assert llama.total_params_formatted == "72.6B"
    assert llama.layer_types.get(name="feedforward").parameter_count == 3 * 8192 * 29696
    revision = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (revision.source, revision.user, revision.action) == ("admin", admin_user, "updated")
    assert revision.before["layer_types"][1]["specs"]["intermediate_size"] == 28672
    assert revision.after["layer_types"][1]["specs"]["intermediate_size"] == 29696
    assert "Total parameters: 70.6B (70,553,706,496) → 72.6B" in response.content.decode()


@pytest.mark.django_db
def test_saving_unchanged_form_writes_nothing(admin_client, llama):
    """Saving the form as it is neither changes the config nor adds a revision."""
    before = (llama.digest, ConfigRevision.objects.count())
    data = form_data(admin_client.get(change_url(llama)))
    assert admin_client.post(change_url(llama), data).status_code == 302
    llama.refresh_from_db()
    assert (llama.digest, ConfigRevision.objects.count()) == before


@pytest.mark.django_db
def test_core_error_appears_at_its_spec_field_and_nothing_is_saved(admin_client, llama):
    """num_kv_heads not dividing num_heads is shown at that row's num_kv_heads field; nothing is written."""
    before = (llama.digest, ConfigRevision.objects.count())
    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "feedforward") + "spec_intermediate_size"] = 29696  # a valid change, not saved either
    prefix = row(data, "attention")
    data[prefix + "spec_num_kv_heads"] = 5
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    assert field_errors(response, prefix, "spec_num_kv_heads") == [
        ("heads_not_divisible", "expected a divisor of num_heads (64), got 5")
    ]
    assert "expected a divisor of num_heads (64), got 5" in response.content.decode()
    llama.refresh_from_db()
    assert (llama.digest, ConfigRevision.objects.count()) == before


@pytest.mark.django_db
def test_missing_required_spec_and_duplicate_name_are_shown_at_their_fields(admin_client, llama):
    """A blank required spec is 'required' at its field; a repeated name is 'duplicate_name' at the name."""
    data = form_data(admin_client.get(change_url(llama)))
    attention, lm_head = row(data, "attention"), row(data, "lm_head")
    del data[attention + "spec_num_heads"]
    data[lm_head + "name"] = "embedding"
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    assert [c for c, _ in field_errors(response, attention, "spec_num_heads")] == ["required"]
    assert [c for c, _ in field_errors(response, lm_head, "name")] == ["duplicate_name"]


@pytest.mark.django_db
def test_config_field_mismatch_is_shown_at_the_spec_that_disagrees(admin_client, llama):
    """Changing the config's hidden_size alone flags each layer's hidden_size spec, not the whole form."""
    data = form_data(admin_client.get(change_url(llama)))
    data["hidden_size"] = 4096
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    for name in ("attention", "feedforward", "norm", "embedding", "lm_head"):
        assert [c for c, _ in field_errors(response, row(data, name), "spec_hidden_size")] == ["hidden_size_mismatch"]


@pytest.mark.django_db
def test_typed_field_rejects_non_positive_before_the_core(admin_client, llama):
    """A spec field's own type check speaks first; the core's 'required' for that value is not repeated."""
    data = form_data(admin_client.get(change_url(llama)))
    prefix = row(data, "attention")
    data[prefix + "spec_num_heads"] = 0
    response = admin_client.post(change_url(llama), data)
    assert [c for c, _ in field_errors(response, prefix, "spec_num_heads")] == ["not_positive"]  # the core's code


@pytest.mark.django_db
def test_rows_are_saved_in_position_order_and_deleted_rows_dropped(admin_client, llama):
    """Positions order layer_types on save; a row marked for deletion leaves the document and the total."""
    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "attention") + "position"] = 10
    data[row(data, "lm_head") + "DELETE"] = "on"
    assert admin_client.post(change_url(llama), data).status_code == 302
    llama.refresh_from_db()
    assert [lt["name"] for lt in llama.to_document()["layer_types"]] == [
        "feedforward",
        "norm",
        "embedding",
        "attention",
    ]
    assert llama.total_params == 70553706496 - 1050673152


@pytest.mark.django_db
def test_changing_the_class_reads_only_that_class_specs(admin_client, llama):
    """A row switched to MLPLayer is written with MLPLayer's specs; values posted for other classes are ignored."""
    data = form_data(admin_client.get(change_url(llama)))
    prefix = row(data, "feedforward")
    data[prefix + "class_name"] = "MLPLayer"
    data[prefix + "spec_num_heads"] = "junk"  # another class's field: not read
    assert admin_client.post(change_url(llama), data).status_code == 302
    layer = llama.layer_types.get(name="feedforward")
    assert (layer.class_name, layer.specs) == (
        "MLPLayer",
        {"layer_idx": 0, "hidden_size": 8192, "intermediate_size": 28672},
    )
    assert layer.parameter_count == 2 * 8192 * 28672


@pytest.mark.django_db
def test_ids_are_read_only_once_created(admin_client, llama):
    """model_id and hf_model_id cannot be changed from the change form (the write path upserts by model_id)."""
    data = form_data(admin_client.get(change_url(llama)))
    data["model_id"] = "other_model"
    assert admin_client.post(change_url(llama), data).status_code == 302
    assert ModelConfig.objects.filter(model_id="other_model").count() == 0
    assert ModelConfig.objects.filter(model_id=LLAMA).exists()


@pytest.mark.django_db
def test_add_config_from_empty_form(admin_client, admin_user):
    """A new config with its layer types is created through the write path, with derived counts and history."""
    document = small_config()
    document["layer_types"] = document["layer_types"][:3]
    response = admin_client.post(reverse(ADD), add_data(admin_client, document))
    assert response.status_code == 302
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert [lt.name for lt in config.layer_types.all()] == ["attention", "feedforward", "norm"]
    assert config.total_params == 2 * (64 * 4 * 16 * 2 + 2 * 64 * 2 * 16) + 2 * 3 * 64 * 256 + 5 * 64
    revision = ConfigRevision.objects.get(model_id="acme_tiny-1")
    assert (revision.action, revision.source, revision.user) == ("created", "admin", admin_user)


@pytest.mark.django_db
def test_add_rejects_existing_model_id_and_mismatched_ids_at_their_fields(admin_client):
    """An existing model_id is refused at model_id; a model_id that is not hf_model_id's is flagged there too."""
    services.config_upsert(data=small_config())
    response = admin_client.post(reverse(ADD), add_data(admin_client, small_config()))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["model_id"]] == ["already_exists"]
    assert [e.code for e in errors["hf_model_id"]] == ["already_exists"]

    response = admin_client.post(
        reverse(ADD), add_data(admin_client, small_config(model_id="acme_other", hf_model_id="acme/another"))
    )
    errors = response.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["model_id"]] == ["model_id_mismatch"]
    assert ModelConfig.objects.count() == 1


@pytest.mark.django_db
def test_add_without_layer_types_is_refused(admin_client):
    """A config needs at least one layer type: the error is shown on the inline, nothing is created."""
    document = small_config()
    document["layer_types"] = []
    data = add_data(admin_client, document)
    data.update({"layer_types-TOTAL_FORMS": 1, "layer_types-0-position": 0})  # the blank row left as it is
    response = admin_client.post(reverse(ADD), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert [e.code for e in formset.non_form_errors().as_data()] == ["empty"]
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_issue_without_a_form_field_becomes_a_general_error():
    """An issue whose loc names no form (a row index past the end) is returned for a non-form error."""
    issue = Issue("layer_types[7].count", "x", "y")
    leftover, at_parent = attach_issues([issue], None, [])
    assert (leftover, at_parent) == ([issue], False)


@pytest.mark.django_db
def test_view_only_staff_see_specs_as_text(client, llama):
    """Staff who may only view configs see spec values, not inputs."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_modelconfig"]))
    client.force_login(user)
    html = client.get(change_url(llama)).content.decode()
    assert "<p>28672</p>" in html
    assert 'name="layer_types-1-spec_intermediate_size"' not in html


@pytest.mark.django_db
def test_delete_goes_through_the_write_path(admin_client, admin_user, llama):
    """Deleting from the admin keeps the last document in the history."""
    url = reverse("admin:registry_modelconfig_delete", args=[llama.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not ModelConfig.objects.filter(model_id=LLAMA).exists()
    revision = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (revision.action, revision.user, revision.before["model_id"]) == ("deleted", admin_user, LLAMA)


# ---- two staff editing the same config ---------------------------------------------------------


def test_saving_over_a_newer_version_is_refused(client, admin_client, django_user_model, llama):
    """A page opened before someone else's save cannot overwrite it: an error names who saved, nothing is written."""
    other = django_user_model.objects.create_superuser("other", "other@example.com", "pw")
    client.force_login(other)
    mine = form_data(admin_client.get(change_url(llama)))
    theirs = form_data(client.get(change_url(llama)))
    theirs[row(theirs, "feedforward") + "spec_intermediate_size"] = 29696
    assert client.post(change_url(llama), theirs).status_code == 302
    llama.refresh_from_db()
    after_theirs = (llama.digest, ConfigRevision.objects.count())

    mine["name"] = "My rename"
    response = admin_client.post(change_url(llama), mine)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors().as_data()
    assert [e.code for e in errors] == ["stale"]
    assert "changed (by other," in errors[0].message
    assert "your changes were not saved" in response.content.decode()
    llama.refresh_from_db()
    assert (llama.digest, ConfigRevision.objects.count()) == after_theirs
    assert llama.layer_types.get(name="feedforward").specs["intermediate_size"] == 29696

    # Opened again, the page shows the newer version and saves over it.
    again = form_data(admin_client.get(change_url(llama)))
    assert again[row(again, "feedforward") + "spec_intermediate_size"] == 29696
    again["name"] = "My rename"
    assert admin_client.post(change_url(llama), again).status_code == 302
    llama.refresh_from_db()
    assert (llama.name, llama.layer_types.get(name="feedforward").specs["intermediate_size"]) == ("My rename", 29696)


def test_a_write_from_elsewhere_also_makes_the_page_stale(admin_client, llama):
    """The check is against the stored version, whatever wrote it (here the API's write path)."""
    data = form_data(admin_client.get(change_url(llama)))
    document = llama.to_document()
    document["name"] = "Renamed by a tool"
    services.config_upsert(data=document, source="api")
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    assert "changed (by api," in response.context["adminform"].form.non_field_errors()[0]
    llama.refresh_from_db()
    assert llama.name == "Renamed by a tool"


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_save_refused_at_save_time_keeps_nothing(admin_client, monkeypatch, llama):
    """A PreconditionFailed raised during the save (the form's check having passed) undoes the whole
    save, its LogEntry included, and sends the user back to the page with the stale message: never a 500."""
    from django.contrib.admin.models import LogEntry

    data = form_data(admin_client.get(change_url(llama)))
    data["name"] = "My rename"
    upsert = services.config_upsert

    def half_written(**kwargs: Any) -> Any:
        upsert(**{**kwargs, "if_match": None})  # written, then refused: the admin's transaction must undo it
        raise services.PreconditionFailed("another digest")

    monkeypatch.setattr(services, "config_upsert", half_written)
    before = (llama.digest, ConfigRevision.objects.count(), LogEntry.objects.count())
    response = admin_client.post(change_url(llama), data, follow=True)
    assert response.redirect_chain == [(change_url(llama), 302)]
    [message] = _messages(response)
    assert "This config was changed (by loadconfigs," in message
    assert "your changes were not saved. This page now shows the current version" in message
    llama.refresh_from_db()
    assert (llama.digest, ConfigRevision.objects.count(), LogEntry.objects.count()) == before
    assert llama.name != "My rename"


def _race(monkeypatch: Any, other_write: Any) -> None:
    """Run ``other_write(upsert)`` on its own connection (committed at once) just before the admin's save writes."""
    import threading

    upsert = services.config_upsert

    def in_a_thread() -> None:
        try:
            other_write(upsert)
        finally:
            connection.close()

    def racing(**kwargs: Any) -> Any:
        thread = threading.Thread(target=in_a_thread)
        thread.start()
        thread.join()
        return upsert(**kwargs)

    monkeypatch.setattr(services, "config_upsert", racing)


@pytest.mark.django_db(transaction=True)
def test_a_write_landing_between_the_check_and_the_save_is_refused(admin_client, monkeypatch, llama):
    """Another write committed after the form's clean() and before the save: the save's if_match refuses
    it under the row lock, the other write stays, and the message names who wrote it."""
    from django.contrib.admin.models import CHANGE, LogEntry

    data = form_data(admin_client.get(change_url(llama)))
    data["name"] = "My rename"

    def rename(upsert: Any) -> None:
        document = ModelConfig.objects.get(model_id=LLAMA).to_document()
        upsert(data={**document, "name": "Renamed by a tool"}, source="api")

    _race(monkeypatch, rename)
    response = admin_client.post(change_url(llama), data, follow=True)
    assert response.redirect_chain == [(change_url(llama), 302)]
    [message] = _messages(response)
    assert "This config was changed (by api," in message and "your changes were not saved" in message
    assert response.context["adminform"].form["name"].value() == "Renamed by a tool"
    llama.refresh_from_db()
    assert llama.name == "Renamed by a tool"
    assert ConfigRevision.objects.first().source == "api"
    assert not LogEntry.objects.filter(action_flag=CHANGE).exists()


@pytest.mark.django_db(transaction=True)
def test_a_save_over_a_config_deleted_meanwhile_does_not_re_create_it(admin_client, monkeypatch, llama):
    """A config deleted between the form's check and the save stays deleted; the user is sent to the list."""
    data = form_data(admin_client.get(change_url(llama)))

    def delete(upsert: Any) -> None:
        services.config_delete(model_id=LLAMA, source="api")

    _race(monkeypatch, delete)
    response = admin_client.post(change_url(llama), data, follow=True)
    assert response.redirect_chain == [(reverse(CHANGELIST), 302)]
    [message] = _messages(response)
    assert message.startswith("This config was deleted (by api,")
    assert message.endswith("after you opened this page, so your changes were not saved.")
    assert not ModelConfig.objects.filter(model_id=LLAMA).exists()
    assert ConfigRevision.objects.filter(model_id=LLAMA).first().action == "deleted"


@pytest.mark.django_db(transaction=True)
def test_an_add_racing_another_create_of_the_same_id_is_refused(admin_client, monkeypatch):
    """The same model_id created elsewhere between the add form's check and its save: a message, not a 500."""
    document = small_config()
    data = add_data(admin_client, document)
    _race(monkeypatch, lambda upsert: upsert(data={**document, "name": "Created by a tool"}, source="api"))
    response = admin_client.post(reverse(ADD), data, follow=True)
    assert response.redirect_chain == [(reverse(ADD), 302)]
    [message] = _messages(response)
    assert message.startswith("Not saved: model_id: a config with model_id 'acme_tiny-1' already exists")
    assert ModelConfig.objects.get(model_id="acme_tiny-1").name == "Created by a tool"


@pytest.mark.parametrize("codenames", [["change_modelconfig"], ["view_modelconfig", "change_modelconfig"]])
def test_config_permissions_govern_its_layer_types(client, django_user_model, llama, codenames):
    """Staff with the config's change permission (and none on LayerType) edit the layer types too."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    data = form_data(client.get(change_url(llama)))
    assert row(data, "feedforward")
    data[row(data, "feedforward") + "spec_intermediate_size"] = 29696
    data["name"] = "Edited by staff"
    assert client.post(change_url(llama), data).status_code == 302
    llama.refresh_from_db()
    assert llama.name == "Edited by staff"
    assert llama.layer_types.get(name="feedforward").specs["intermediate_size"] == 29696


def test_an_untouched_new_row_is_ignored_whatever_its_position(admin_client, llama):
    """The page numbers a new row after the last position; left blank, it is not a layer type to validate."""
    data = form_data(admin_client.get(change_url(llama)))
    n = int(data["layer_types-TOTAL_FORMS"])
    data["layer_types-TOTAL_FORMS"] = n + 1
    data[f"layer_types-{n}-position"] = 42
    data["name"] = "Renamed"
    assert admin_client.post(change_url(llama), data).status_code == 302
    llama.refresh_from_db()
    assert (llama.name, llama.layer_types.count()) == ("Renamed", n)


def test_a_total_too_large_for_a_bigint_is_shown_with_the_layer_types(admin_client, llama):
    """Specs that fit but sum past 2**63-1: the error is at the layer types that make the total; nothing saved."""
    before = llama.digest
    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "feedforward") + "count"] = (2**63 - 1) // (3 * 8192 * 28672)  # its subtotal just fits
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.non_form_errors().as_data()
    assert [e.code for e in inline_errors] == ["too_large"]
    assert "total_params" in inline_errors[0].message and "9223372036854775807" in inline_errors[0].message
    assert not response.context["adminform"].form.non_field_errors()
    llama.refresh_from_db()
    assert llama.digest == before
