"""What an independent trial broke (issue 17): Hub ids, the validated flag, the published total, write guards."""

from __future__ import annotations

import copy
from io import StringIO
from typing import Any

import pytest
from django.db import IntegrityError
from django.urls import reverse

from registry import services
from registry.admin.configs import ModelConfigAdmin
from registry.core import validate_config
from registry.core.document import ConfigDoc
from registry.core.hf import convert
from registry.core.issues import Code
from registry.core.keys import DERIVED_TOP_LEVEL_KEYS
from registry.core.validation import model_id_for, published_window
from registry.models import ModelConfig
from registry.services import configs as config_services
from tests.conftest import (
    FIXTURES,
    change_url,
    config_row,
    error_codes,
    fixture_document,
    form_data,
    hand_total,
    hub_config,
    issues,
    row,
    small_config,
    store,
    token_client,
    user_with,
)

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
# The fixtures whose derived total is not their publisher's figure: each figure counts what the format leaves out
# (a vision encoder, multi-token-prediction layers), as its source says.
DISAGREEING = {
    "Qwen_Qwen3.5-397B-A17B",
    "deepseek-ai_DeepSeek-V3.2-Exp",
    "meta-llama_Llama-4-Scout-17B-16E-Instruct",
}
NOT_HUB_IDS = ["/", "adv//h2", "../h3", ".a/.b", "acme", "acme/x/y", "-a/b", "a/b c"]


def codes(issues: list[Any]) -> list[tuple[str, str]]:
    return [(i.loc, i.code) for i in issues]


def without_derived(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in DERIVED_TOP_LEVEL_KEYS}


# ---- one rule for Hugging Face ids --------------------------------------------------------------------------


@pytest.mark.parametrize("hf_id", NOT_HUB_IDS)
def test_a_document_refuses_what_import_hf_refuses(hf_id: str) -> None:
    """A document's hf_model_id obeys the rule import-hf applies: the same code at the same path."""
    document = small_config(hf_model_id=hf_id, model_id=model_id_for(hf_id))
    assert ("hf_model_id", Code.INVALID_HF_ID) in issues(validate_config(document))
    assert ("hf_model_id", Code.INVALID_HF_ID) in codes(convert(hub_config("openai-community/gpt2"), hf_id).errors)


@pytest.mark.django_db
def test_the_api_refuses_a_document_with_a_path_for_an_hf_model_id(writer) -> None:
    """PUT with hf_model_id ../h3: 400 invalid_hf_model_id, nothing stored."""
    document = small_config(hf_model_id="../h3", model_id=".._h3")
    response = writer.put("/models/.._h3", document, format="json")
    assert response.status_code == 400
    assert ("hf_model_id", "invalid_hf_model_id") in error_codes(response)
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_the_admin_links_only_a_hub_id() -> None:
    """A row stored before the rule with a path for an id gets no link (it would lead to another repo)."""
    admin = ModelConfigAdmin(ModelConfig, None)
    assert admin.hf_link(config_row(hf_model_id="adv//h2", model_id="adv__h2")) == "adv//h2"
    link = admin.hf_link(config_row())
    assert 'href="https://huggingface.co/acme/tiny-1"' in link


# ---- the published total ------------------------------------------------------------------------------------


def test_the_published_window_is_the_figure_at_its_precision() -> None:
    """70.6B (written 70_600_000_000) allows [70.55B, 70.7B); a figure without trailing zeros is exact."""
    assert published_window(70_600_000_000) == (70_550_000_000, 70_700_000_000)
    assert published_window(405_000_000_000) == (404_500_000_000, 406_000_000_000)
    assert published_window(124_000_000) == (123_500_000, 125_000_000)
    assert published_window(8_030_261_248) == (8_030_261_248, 8_030_261_249)


def test_a_derived_total_outside_the_published_one_is_a_warning() -> None:
    """Llama-3.3-70B with two layers less (69.2B) against its published 70.6B: a warning, not an error."""
    document = without_derived(fixture_document(LLAMA))
    assert validate_config(document).warnings == []
    shorter = copy.deepcopy(document)
    shorter["num_layers"] = 78
    for layer in shorter["layer_types"]:
        layer["count"] = {80: 78, 161: 157}.get(layer["count"], layer["count"])
    check = validate_config(shorter)
    assert check.ok and check.config is not None
    assert check.config.total_params == hand_total(check.config.to_document()) == 68_842_397_696
    assert codes(check.warnings) == [("published_total_params", Code.PUBLISHED_TOTAL_MISMATCH)]
    assert "68842397696" in check.warnings[0].msg and "70550000000 <= total < 70700000000" in check.warnings[0].msg


def test_the_published_total_and_its_source_go_together() -> None:
    """A total without a source, a source without a total: errors at the path; null (or "") is absent."""
    document = small_config(published_total_params=187_200)
    assert issues(validate_config(document)) == [("published_total_params_source", Code.MISSING_SOURCE)]
    document = small_config(published_total_params_source="https://example.org/card")
    assert issues(validate_config(document)) == [("published_total_params_source", Code.SOURCE_WITHOUT_PUBLISHED_TOTAL)]
    document = small_config(published_total_params=0, published_total_params_source="card")
    assert issues(validate_config(document)) == [("published_total_params", Code.NOT_POSITIVE)]
    bare = validate_config(small_config(published_total_params=None, published_total_params_source=""))
    assert bare.ok and bare.config is not None
    assert bare.config.to_document() == validate_config(small_config()).config.to_document()  # type: ignore[union-attr]
    assert "published_total_params" not in bare.config.to_document()


def test_every_fixture_has_a_published_total_with_a_source() -> None:
    """Each shipped config names its publisher's total and where; only the four whose figure counts more
    (a vision encoder, multi-token-prediction layers) disagree, with the warning."""
    disagree = set()
    for path in sorted(FIXTURES.glob("*.json")):
        document = fixture_document(path.stem)
        assert document["published_total_params"] > 0 and document["published_total_params_source"], path.name
        check = validate_config(document, filename=path.name)
        assert check.ok, check.errors
        if (Code.PUBLISHED_TOTAL_MISMATCH) in [i.code for i in check.warnings]:
            disagree.add(path.stem)
    assert disagree == DISAGREEING


@pytest.mark.django_db
def test_the_api_and_the_admin_filter_configs_that_disagree(loaded_all, admin_client, api) -> None:
    """?published_mismatch=true lists the configs whose total disagrees; false the others; admin alike."""
    listed = api.get("/models/", {"published_mismatch": "true", "limit": 100}).json()["results"]
    assert {item["model_id"] for item in listed} == DISAGREEING
    assert all("published_total_params" in item for item in listed)
    others = api.get("/models/", {"published_mismatch": "false", "limit": 100}).json()["results"]
    assert {item["model_id"] for item in others} == {p.stem for p in FIXTURES.glob("*.json")} - DISAGREEING
    assert api.get("/models/", {"published_mismatch": "maybe"}).status_code == 400
    page = admin_client.get(reverse("admin:registry_modelconfig_changelist"), {"published_mismatch": "true"})
    shown = {config.model_id for config in page.context["cl"].result_list}
    assert shown == DISAGREEING


@pytest.fixture
def loaded_all(db) -> None:
    from django.core.management import call_command

    call_command("loadconfigs", str(FIXTURES), "--no-progress", stdout=StringIO())


# ---- validated cleared when the counts change ---------------------------------------------------------------


def _shorter(document: dict[str, Any]) -> dict[str, Any]:
    shorter = without_derived(copy.deepcopy(document))
    shorter["num_layers"] = 78
    for layer in shorter["layer_types"]:
        layer["count"] = {80: 78, 161: 157}.get(layer["count"], layer["count"])
    return shorter


@pytest.mark.django_db
def test_a_put_that_changes_the_counts_clears_validated(writer) -> None:
    """Llama-3.3-70B, validated, replaced with 78 layers: stored and answered not validated."""
    stored = store(fixture_document(LLAMA))
    assert stored.validated
    response = writer.put(f"/models/{LLAMA}", _shorter(fixture_document(LLAMA)), format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["validated"], response.json()["total_params"]) == (False, 68_842_397_696)
    assert ModelConfig.objects.get(model_id=LLAMA).validated is False
    assert writer.get(f"/models/{LLAMA}").json()["validated"] is False  # the cached document says so too


@pytest.mark.django_db
def test_a_write_that_keeps_the_counts_keeps_validated(writer) -> None:
    """New notes, same counts: still validated. A PATCH that sets validated true with new counts keeps it."""
    store(fixture_document(LLAMA))
    response = writer.patch(f"/models/{LLAMA}", {"validation_notes": "Checked again."}, format="json")
    assert response.json()["validated"] is True
    shorter = _shorter(fixture_document(LLAMA))
    patch = {"num_layers": 78, "layer_types": shorter["layer_types"], "validated": True}
    response = writer.patch(f"/models/{LLAMA}", patch, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["validated"], response.json()["total_params"]) == (True, 68_842_397_696)


@pytest.mark.django_db
def test_the_admin_says_validated_was_cleared(admin_client) -> None:
    """An admin save that changes the counts of a validated config clears it, with a message saying so."""
    config = store(fixture_document(LLAMA))
    page = admin_client.get(change_url(config))
    data = form_data(page)
    data["num_layers"] = "78"
    data[row(data, "attention") + "count"] = "78"
    data[row(data, "feedforward") + "count"] = "78"
    data[row(data, "norm") + "count"] = "157"
    response = admin_client.post(change_url(config), data, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("No longer marked as checked against published figures" in t for t in texts), texts
    config.refresh_from_db()
    assert (config.validated, config.total_params) == (False, 68_842_397_696)


# ---- write guards -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_create_that_loses_a_race_is_retried_as_a_replace(monkeypatch) -> None:
    """The first attempt reads no row (another create had not committed), its insert meets the other one:
    the write is tried again and replaces it. With must_not_exist (create only) it stays a 409."""
    store(small_config())
    real = config_services._write_one
    calls = []

    def first_sees_nothing(validation: Any, existing: Any, **kwargs: Any) -> Any:
        calls.append(existing)
        return real(validation, None if len(calls) == 1 else existing, **kwargs)

    monkeypatch.setattr(config_services, "_write_one", first_sees_nothing)
    result = services.config_upsert(data=small_config(name="Renamed"), model_id="acme_tiny-1")
    assert (result.created, result.changed, result.config.name) == (False, True, "Renamed")
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(services.ConfigRejected) as refused:
        services.config_upsert(data=small_config(name="Again"), must_not_exist=True)
    assert [i.code for i in refused.value.issues] == [Code.ALREADY_EXISTS]
    assert isinstance(refused.value.__cause__, IntegrityError)


@pytest.mark.django_db
def test_import_hf_replace_needs_the_change_permission_only() -> None:
    """A user who may change but not add replaces a stored config with ?replace=true; creating one needs add."""
    body = {"hf_model_id": "openai-community/gpt2", "config": hub_config("openai-community/gpt2")}
    changer = token_client(user_with("changer", "change_modelconfig"))
    response = changer.post("/models/import-hf", body, format="json")
    assert response.status_code == 403
    assert "needs the add permission" in response.json()["errors"][0]["msg"]
    assert not ModelConfig.objects.exists()
    adder = token_client(user_with("adder", "add_modelconfig"))
    assert adder.post("/models/import-hf", body, format="json").status_code == 201
    services.config_patch(model_id="openai-community_gpt2", patch={"name": "curated"})
    assert adder.post("/models/import-hf?replace=true", body, format="json").status_code == 403
    response = changer.post("/models/import-hf?replace=true", body, format="json")
    assert response.status_code == 200, response.content
    assert ModelConfig.objects.get(model_id="openai-community_gpt2").name == "gpt2"


def test_config_doc_defaults_keep_old_documents() -> None:
    """A ConfigDoc built without the published total dumps without its keys (existing ETags unchanged)."""
    document = fixture_document(LLAMA)
    doc = validate_config(document).config
    assert isinstance(doc, ConfigDoc)
    assert list(doc.to_document()) == list(document)


@pytest.mark.django_db
def test_a_re_import_keeps_the_published_total() -> None:
    """importhf over a stored config keeps its published total and source (a config.json does not say them)."""
    from django.core.management import call_command

    call_command("loadconfigs", str(FIXTURES / "openai-community_gpt2.json"), "--no-progress", stdout=StringIO())
    report = services.import_hf(
        sources=[services.HFSource("config", "openai-community/gpt2", config=hub_config("openai-community/gpt2"))]
    )
    assert report.ok and [entry.status for entry in report.sources] == [services.Status.UNCHANGED]
    stored = ModelConfig.objects.get(model_id="openai-community_gpt2")
    assert (stored.published_total_params, stored.published_total_params_source.startswith("https://")) == (
        124_000_000,
        True,
    )
