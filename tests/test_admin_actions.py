"""The admin's changelist actions: recompute derived counts, validate, export as JSON."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import strip_tags

from registry import services
from registry.admin import CHECKS_MARKER
from registry.core import dumps
from registry.models import ConfigRevision, LayerType, ModelConfig
from tests.conftest import fixture_document, small_config

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
CHANGELIST = reverse("admin:registry_modelconfig_changelist")


def run_action(client, action: str, *model_ids: str, follow: bool = True):
    pks = ModelConfig.objects.filter(model_id__in=model_ids).values_list("pk", flat=True)
    return client.post(CHANGELIST, {"action": action, "_selected_action": list(pks)}, follow=follow)


def messages_of(response) -> list[str]:
    """The messages as text (ids are wrapped in <code> so the admin's capfirst leaves their case)."""
    return [strip_tags(str(m)) for m in response.context["messages"]]


@pytest.mark.django_db
def test_recompute_reports_old_and_new_total_of_each_changed_config(admin_client, admin_user, loaded_fixtures):
    """Stale counts are recomputed; the message names each changed config with its old and new total."""
    ModelConfig.objects.filter(model_id=LLAMA).update(total_params=1000)
    LayerType.objects.filter(config__model_id=LLAMA, name="norm").update(parameter_count=1)
    response = run_action(admin_client, "recompute_counts", LLAMA, "mistralai_Mistral-7B-v0.1")
    assert messages_of(response) == [f"{LLAMA}: total 1.0K (1,000) → 70.6B (70,553,706,496)"]
    assert f"<code>{LLAMA}</code>: total" in response.content.decode()  # not "Meta-llama_..."
    config = ModelConfig.objects.get(model_id=LLAMA)
    assert config.total_params == 70553706496
    assert config.layer_types.get(name="norm").parameter_count == 8192
    revision = ConfigRevision.objects.filter(model_id=LLAMA).first()
    assert (revision.source, revision.user, revision.before["total_params"]) == ("admin", admin_user, 1000)


@pytest.mark.django_db
def test_recompute_says_so_when_nothing_changed(admin_client, loaded_fixtures):
    """With counts already right, nothing is written and the message says the selection was up to date."""
    revisions = ConfigRevision.objects.count()
    response = run_action(admin_client, "recompute_counts", LLAMA)
    assert messages_of(response) == ["The derived counts of the 1 selected configs were up to date."]
    assert ConfigRevision.objects.count() == revisions


@pytest.mark.django_db
def test_validate_writes_validated_and_notes_keeping_the_curators_text(admin_client, admin_user):
    """A config passing every check is marked validated; its findings follow the curator's notes."""
    data = small_config(validation_notes="Checked against the model card.")
    data["layer_types"][0]["count"] = 3  # attention usually once per decoder layer: a warning
    services.config_upsert(data=data)
    response = run_action(admin_client, "validate_configs", "acme_tiny-1")
    assert messages_of(response) == ["Validated 1 configs: 1 passed, 0 with errors."]
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert config.validated is True
    assert config.validation_notes.startswith(
        f"Checked against the model card.\n\n{CHECKS_MARKER} 0 error(s), 1 warning(s):"
    )
    assert "[count_not_num_layers]" in config.validation_notes
    revision = ConfigRevision.objects.filter(model_id="acme_tiny-1").first()
    assert (revision.source, revision.user, revision.after["validated"]) == ("admin", admin_user, True)

    count = ConfigRevision.objects.count()
    run_action(admin_client, "validate_configs", "acme_tiny-1")
    assert ConfigRevision.objects.count() == count  # same findings: nothing new to write


@pytest.mark.django_db
def test_validate_recomputes_stale_derived_values_and_says_so(admin_client):
    """A stored parameter_count the catalogue disagrees with is recomputed, reported as such in the
    message and the notes, and the config (now right) is validated; a second run finds nothing."""
    services.config_upsert(data=small_config(validated=False))
    LayerType.objects.filter(config__model_id="acme_tiny-1", name="norm").update(parameter_count=7)
    response = run_action(admin_client, "validate_configs", "acme_tiny-1")
    assert any(
        m.startswith("acme_tiny-1: stale derived values recomputed: layer_types[2].specs.parameter_count: expected 64")
        for m in messages_of(response)
    )
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert config.validated is True
    assert "1 derived value(s) recomputed" in config.validation_notes
    assert "- recomputed layer_types[2].specs.parameter_count: expected 64" in config.validation_notes
    assert config.layer_types.get(name="norm").parameter_count == 64
    run_action(admin_client, "validate_configs", "acme_tiny-1")
    assert ModelConfig.objects.get(model_id="acme_tiny-1").validation_notes.endswith("all checks passed.")


@pytest.mark.django_db
def test_export_one_config_as_its_json_file(admin_client, loaded_fixtures):
    """Exporting one config downloads <model_id>.json, byte for byte the fixture file."""
    response = run_action(admin_client, "export_json", LLAMA, follow=False)
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="{LLAMA}.json"'
    assert response.content.decode() == dumps(fixture_document(LLAMA))


@pytest.mark.django_db
def test_export_several_as_a_zip_that_loadconfigs_reads_back(admin_client, loaded_fixtures, tmp_path):
    """Several configs download as a zip of <model_id>.json files; loadconfigs finds them all unchanged."""
    ids = list(ModelConfig.objects.values_list("model_id", flat=True))
    response = run_action(admin_client, "export_json", *ids, follow=False)
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{i}.json" for i in ids)
        archive.extractall(tmp_path)
    assert json.loads((tmp_path / f"{LLAMA}.json").read_text()) == fixture_document(LLAMA)
    out = io.StringIO()
    call_command("loadconfigs", str(tmp_path), stdout=out)
    assert f"0 created, 0 updated, {len(ids)} unchanged, 0 failed" in out.getvalue()
