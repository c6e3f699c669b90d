"""The admin's typed spec fields for choices and optional booleans, the context length, and MoE/MLA configs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django import forms
from django.urls import reverse

from registry import services
from registry.core import catalogue
from registry.core.hf import convert
from registry.forms import LayerTypeForm, catalogue_specs, spec_form_field
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import ADD, CHANGELIST, FIXTURES, HF_DATA, LLAMA, add_data, change_url, form_data, row, small_config

MIXTRAL = "mistralai_Mixtral-8x7B-v0.1"
DEEPSEEK = "deepseek-ai_DeepSeek-V3"
# Totals and active parameters of the two models as transformers builds them (tests/test_hf_oracle.py).
MIXTRAL_TOTAL, MIXTRAL_ACTIVE = 46702792704, 12879925248
DEEPSEEK_TOTAL, DEEPSEEK_ACTIVE = 671026404352, 37552282624
SHIPPED = sorted(path.stem for path in FIXTURES.glob("*.json"))


def hf_document(hf_model_id: str) -> dict[str, Any]:
    """The registry document of a stored Hugging Face config.json."""
    config = json.loads((HF_DATA / hf_model_id / "config.json").read_text())
    conversion = convert(config, hf_model_id)
    assert not conversion.errors
    return conversion.document


def layer(name: str, class_name: str, count: int, **specs: Any) -> dict[str, Any]:
    return {"name": name, "class": class_name, "count": count, "specs": specs}


def add(client: Any, document: dict[str, Any]) -> ModelConfig:
    """Create ``document`` through the admin's add form."""
    data = add_data(client, document)
    if "max_position_embeddings" in document:
        data["max_position_embeddings"] = document["max_position_embeddings"]
    response = client.post(reverse(ADD), data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    return ModelConfig.objects.get(model_id=document["model_id"])


def save(client: Any, config: ModelConfig, data: dict[str, Any]) -> Any:
    response = client.post(change_url(config), data, follow=True)
    assert response.status_code == 200
    assert not response.context.get("errors"), response.context.get("errors")
    config.refresh_from_db()
    return response


@pytest.fixture
def llama(loaded_fixtures) -> ModelConfig:
    return ModelConfig.objects.get(model_id=LLAMA)


# ---- the fields -----------------------------------------------------------------------------


def test_each_spec_kind_gets_its_field_from_the_catalogue():
    """A choice is a select with a blank default option; an optional boolean a yes/no/default select;
    a boolean some class requires a checkbox; the help text names the default."""
    fields = {entry.spec.name: spec_form_field(entry) for entry in catalogue_specs()}
    qk_norm = fields["qk_norm"]
    assert isinstance(qk_norm, forms.TypedChoiceField) and not qk_norm.required
    assert list(qk_norm.choices) == [
        ("", "— (default: none)"),
        ("none", "none"),
        ("per_head", "per_head"),
        ("across_heads", "across_heads"),
    ]
    assert qk_norm.clean("") is None and qk_norm.clean("per_head") == "per_head"
    for name, default in (("qkv_bias", "no"), ("elementwise_affine", "yes"), ("tie_word_embeddings", "no")):
        field = fields[name]
        assert isinstance(field, forms.NullBooleanField) and not field.required, name
        assert [label for _, label in field.widget.choices] == [f"— (default: {default})", "yes", "no"]
        assert f"Default when left blank: {default}." in field.help_text
    assert type(fields["has_bias"]) is forms.BooleanField
    assert isinstance(fields["num_experts"], forms.IntegerField)


def test_every_optional_boolean_of_the_catalogue_is_a_three_way_select():
    """Booleans no class requires are three-way, whatever their name: no per-spec code."""
    for entry in catalogue_specs():
        if entry.spec.kind is catalogue.SpecKind.BOOL:
            three_way = isinstance(spec_form_field(entry), forms.NullBooleanField)
            assert three_way == (not entry.required_in), entry.spec.name


@pytest.mark.django_db
def test_untouched_optional_booleans_render_as_default(admin_client, llama):
    """Absent optional booleans show the default option selected, and a choice spec its blank option."""
    html = admin_client.get(change_url(llama)).content.decode()
    data = form_data(admin_client.get(change_url(llama)))
    attention = row(data, "attention")
    assert data[attention + "spec_qkv_bias"] == "unknown"
    assert attention + "spec_qk_norm" not in data
    assert f'<select name="{attention}spec_qkv_bias"' in html
    assert '<option value="unknown" selected>— (default: no)</option>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("model_id", SHIPPED)
def test_saving_a_shipped_config_unchanged_writes_nothing(admin_client, loaded_fixtures, model_id):
    """The optional booleans left at their default add no key: the document, digest and history stay."""
    config = ModelConfig.objects.get(model_id=model_id)
    before = (config.to_document(), config.digest, ConfigRevision.objects.count())
    save(admin_client, config, form_data(admin_client.get(change_url(config))))
    assert (config.to_document(), config.digest, ConfigRevision.objects.count()) == before


@pytest.mark.django_db
def test_optional_boolean_yes_and_no_are_written_and_default_removes_the_key(admin_client, llama):
    """yes writes true (and counts the biases), no writes an explicit false, the default option drops the key."""
    total = llama.total_params
    q, kv = 64 * 128, 8 * 128
    for posted, stored, extra in (("true", True, q + 2 * kv), ("false", False, 0), ("unknown", None, 0)):
        data = form_data(admin_client.get(change_url(llama)))
        data[row(data, "attention") + "spec_qkv_bias"] = posted
        save(admin_client, llama, data)
        specs = llama.layer_types.get(name="attention").specs
        assert specs.get("qkv_bias", None) == stored and ("qkv_bias" in specs) == (stored is not None)
        assert llama.total_params == total + 80 * extra


@pytest.mark.django_db
def test_choice_spec_is_written_and_blank_leaves_it_absent(admin_client, llama):
    """qk_norm per_head is stored as the string and adds 2 · head_dim per layer; blank removes it."""
    total = llama.total_params
    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "attention") + "spec_qk_norm"] = "per_head"
    save(admin_client, llama, data)
    assert llama.layer_types.get(name="attention").specs["qk_norm"] == "per_head"
    assert llama.total_params == total + 80 * 2 * 128

    data = form_data(admin_client.get(change_url(llama)))
    data[row(data, "attention") + "spec_qk_norm"] = ""
    save(admin_client, llama, data)
    assert "qk_norm" not in llama.layer_types.get(name="attention").specs
    assert llama.total_params == total


@pytest.mark.django_db
def test_a_choice_outside_the_catalogue_is_refused_at_its_field(admin_client, llama):
    """A value the catalogue does not list is the field's own error; nothing is written."""
    before = llama.digest
    data = form_data(admin_client.get(change_url(llama)))
    prefix = row(data, "attention")
    data[prefix + "spec_qk_norm"] = "per_token"
    response = admin_client.post(change_url(llama), data)
    assert response.status_code == 200
    form = next(f for f in response.context["inline_admin_formsets"][0].formset.forms if f.prefix + "-" == prefix)
    assert [e.code for e in form.errors.as_data()["spec_qk_norm"]] == ["invalid_choice"]
    llama.refresh_from_db()
    assert llama.digest == before


@pytest.mark.django_db
def test_new_row_with_optional_booleans_left_alone_has_no_such_keys(admin_client):
    """A config added with the selects left at their default stores only the specs typed in."""
    document = small_config()
    document["layer_types"] = [
        layer("attention", "AttentionLayer", 2, hidden_size=64, num_heads=4, head_dim=16),
        layer("feedforward", "MLPLayer", 2, hidden_size=64, intermediate_size=256),
        layer("norm", "NormLayer", 5, hidden_size=64, has_bias=False),
        layer("embedding", "EmbeddingLayer", 1, vocab_size=1000, hidden_size=64),
        layer("lm_head", "OutputHeadLayer", 1, vocab_size=1000, hidden_size=64),
    ]
    config = add(admin_client, document)
    assert [lt.specs for lt in config.layer_types.all()] == [lt["specs"] for lt in document["layer_types"]]
    assert config.total_params == 2 * 4 * 64 * 64 + 2 * 2 * 64 * 256 + 5 * 64 + 2 * 1000 * 64


def test_disabled_fields_of_other_classes_include_the_new_kinds():
    """A row without a class has every field disabled, the selects too."""
    form = LayerTypeForm()
    assert form.fields["spec_qk_norm"].disabled and form.fields["spec_tie_word_embeddings"].disabled


# ---- context length ------------------------------------------------------------------------


@pytest.mark.django_db
def test_context_length_is_optional_and_positive(admin_client, llama):
    """max_position_embeddings is labelled Context length; set, it is in the document; blank, absent; 0 refused."""
    response = admin_client.get(change_url(llama))
    assert response.context["adminform"].form.fields["max_position_embeddings"].label == "Context length"
    data = form_data(response)
    data["max_position_embeddings"] = 131072
    save(admin_client, llama, data)
    assert (llama.max_position_embeddings, llama.to_document()["max_position_embeddings"]) == (131072, 131072)

    data = form_data(admin_client.get(change_url(llama)))
    assert data["max_position_embeddings"] == 131072
    data["max_position_embeddings"] = 0
    response = admin_client.post(change_url(llama), data)
    assert [e.code for e in response.context["adminform"].form.errors.as_data()["max_position_embeddings"]] == [
        "not_positive"
    ]

    data["max_position_embeddings"] = ""
    save(admin_client, llama, data)
    assert llama.max_position_embeddings is None
    assert "max_position_embeddings" not in llama.to_document()


# ---- MoE and MLA -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_moe_config_added_and_edited_in_the_admin(admin_client):
    """Mixtral added through the form has the exact total and active params; num_experts_per_tok moves only active."""
    config = add(admin_client, hf_document("mistralai/Mixtral-8x7B-v0.1"))
    assert (config.total_params, config.active_params) == (MIXTRAL_TOTAL, MIXTRAL_ACTIVE)
    assert (config.active_params_formatted, config.max_position_embeddings) == ("12.9B", 32768)

    data = form_data(admin_client.get(change_url(config)))
    data[row(data, "feedforward") + "spec_num_experts_per_tok"] = 3
    response = save(admin_client, config, data)
    new_active = MIXTRAL_ACTIVE + 32 * 3 * 4096 * 14336
    assert (config.total_params, config.active_params) == (MIXTRAL_TOTAL, new_active)
    assert config.active_params == 18517069824
    assert "Active parameters: 12.9B (12,879,925,248) → 18.5B (18,517,069,824)." in response.content.decode()
    assert f"18.5B ({new_active:,})" in response.content.decode()  # the read-only field


@pytest.mark.django_db
def test_mla_config_added_and_edited_in_the_admin(admin_client):
    """DeepSeek-V3 added through the form has the exact counts; q_lora_rank and the expert count move them."""
    config = add(admin_client, hf_document("deepseek-ai/DeepSeek-V3"))
    assert (config.total_params, config.active_params) == (DEEPSEEK_TOTAL, DEEPSEEK_ACTIVE)

    data = form_data(admin_client.get(change_url(config)))
    data[row(data, "attention") + "spec_q_lora_rank"] = 1024
    data[row(data, "feedforward_moe") + "spec_num_experts_per_tok"] = 4
    save(admin_client, config, data)
    mla_delta = 61 * (7168 + 1 + 128 * (128 + 64)) * (1536 - 1024)
    assert config.total_params == DEEPSEEK_TOTAL - mla_delta == 670034944512
    assert config.active_params == DEEPSEEK_ACTIVE - mla_delta - 58 * 4 * 3 * 7168 * 2048 == 26343498240

    data = form_data(admin_client.get(change_url(config)))
    del data[row(data, "attention") + "spec_q_lora_rank"]  # blank: queries projected directly
    save(admin_client, config, data)
    assert "q_lora_rank" not in config.layer_types.get(name="attention").specs
    assert config.layer_types.get(name="attention").parameter_count == (
        7168 * 128 * 192 + 7168 * (512 + 64) + 512 + 512 * 128 * (128 + 128) + 128 * 128 * 7168
    )


@pytest.mark.django_db
def test_changelist_and_change_page_show_active_params_only_for_moe(admin_client):
    """Active params sit next to the total ("—" for dense configs); the change page shows them read-only if any."""
    dense = services.config_upsert(data=small_config()).config
    mixtral = add(admin_client, hf_document("mistralai/Mixtral-8x7B-v0.1"))
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "Active params" in html
    assert f'<td class="field-active"><span title="{MIXTRAL_ACTIVE:,}">12.9B</span></td>' in html
    assert html.count('<td class="field-active">—</td>') == 1

    html = admin_client.get(change_url(mixtral)).content.decode()
    assert "field-active_params_display" in html and f"12.9B ({MIXTRAL_ACTIVE:,})" in html
    assert 'name="active_params' not in html
    assert "field-active_params_display" not in admin_client.get(change_url(dense)).content.decode()
