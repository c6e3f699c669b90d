"""The admin's changelist actions: recompute derived counts, run the checks, mark validated, export as JSON."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import strip_tags

from registry import services
from registry.core import dumps
from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.services import CHECKS_MARKER
from tests.conftest import LLAMA, fixture_document, small_config

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
@pytest.mark.parametrize("validated", [False, True])
def test_run_checks_writes_notes_keeping_the_curators_text_and_leaves_validated(admin_client, admin_user, validated):
    """The checks' findings follow the curator's notes; validated (checked against published figures) is untouched."""
    data = small_config(validated=validated, validation_notes="Checked against the model card.")
    data["layer_types"][0]["count"] = 3  # attention usually once per decoder layer: a warning
    services.config_upsert(data=data)
    response = run_action(admin_client, "run_checks", "acme_tiny-1")
    assert messages_of(response) == ["Ran the checks on 1 configs: 1 passed, 0 with errors."]
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert config.validated is validated
    assert config.validation_notes.startswith(
        f"Checked against the model card.\n\n{CHECKS_MARKER} 0 error(s), 1 warning(s):"
    )
    assert "[count_not_num_layers]" in config.validation_notes
    revision = ConfigRevision.objects.filter(model_id="acme_tiny-1").first()
    assert (revision.source, revision.user) == ("admin", admin_user)
    assert (revision.before["validated"], revision.after["validated"]) == (validated, validated)

    count = ConfigRevision.objects.count()
    run_action(admin_client, "run_checks", "acme_tiny-1")
    assert ConfigRevision.objects.count() == count  # same findings: nothing new to write


@pytest.mark.django_db
def test_run_checks_recomputes_stale_derived_values_and_says_so(admin_client):
    """A stored parameter_count the catalogue disagrees with is recomputed, reported as such in the
    message and the notes; validated stays as it was; a second run finds nothing."""
    services.config_upsert(data=small_config(validated=False))
    LayerType.objects.filter(config__model_id="acme_tiny-1", name="norm").update(parameter_count=7)
    response = run_action(admin_client, "run_checks", "acme_tiny-1")
    assert any(
        m.startswith("acme_tiny-1: stale derived values recomputed: layer_types[2].specs.parameter_count: expected 64")
        for m in messages_of(response)
    )
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert config.validated is False
    assert "1 derived value(s) recomputed" in config.validation_notes
    assert "- recomputed layer_types[2].specs.parameter_count: expected 64" in config.validation_notes
    assert config.layer_types.get(name="norm").parameter_count == 64
    run_action(admin_client, "run_checks", "acme_tiny-1")
    assert ModelConfig.objects.get(model_id="acme_tiny-1").validation_notes.endswith("all checks passed.")


@pytest.mark.django_db
def test_run_checks_writes_nothing_to_a_config_with_errors(admin_client):
    """A config that breaks a rule is named with its errors and left as it is, to be fixed in its form."""
    services.config_upsert(data=small_config())
    layer = LayerType.objects.get(config__model_id="acme_tiny-1", name="attention")
    layer.specs["num_kv_heads"] = 3
    layer.save()
    before = (ModelConfig.objects.get(model_id="acme_tiny-1").validation_notes, ConfigRevision.objects.count())
    response = run_action(admin_client, "run_checks", "acme_tiny-1")
    found = messages_of(response)
    assert found[0].startswith("acme_tiny-1: not written, fix it in its form: layer_types[0].specs.num_kv_heads")
    assert found[-1] == "Ran the checks on 1 configs: 0 passed, 1 with errors."
    after = (ModelConfig.objects.get(model_id="acme_tiny-1").validation_notes, ConfigRevision.objects.count())
    assert after == before


def _interfere(monkeypatch, meanwhile) -> None:
    """Run ``meanwhile()`` (another write) after the action has read the configs and before it writes."""
    upsert = services.config_upsert

    def late_upsert(**kwargs):
        meanwhile()
        return upsert(**kwargs)

    monkeypatch.setattr(services.configs, "config_upsert", late_upsert)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["run_checks", "mark_validated"])
def test_an_action_does_not_re_create_a_config_deleted_meanwhile(admin_client, monkeypatch, action):
    """A config deleted after the action read it stays deleted; the action says it was left alone."""
    services.config_upsert(data=small_config())
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    _interfere(monkeypatch, lambda: services.config_delete(model_id=config.model_id, source="api"))
    response = run_action(admin_client, action, "acme_tiny-1")
    assert "acme_tiny-1: deleted meanwhile, so left alone (not re-created)" in messages_of(response)
    assert not ModelConfig.objects.filter(model_id="acme_tiny-1").exists()
    assert ConfigRevision.objects.filter(model_id="acme_tiny-1").first().action == "deleted"


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["run_checks", "mark_validated"])
def test_an_action_does_not_overwrite_a_config_changed_meanwhile(admin_client, monkeypatch, action):
    """A config changed after the action read it keeps the other write; the action says it was left alone."""
    services.config_upsert(data=small_config())
    upsert = services.config_upsert  # the write from elsewhere is not the action's

    def rename() -> None:
        document = ModelConfig.objects.get(model_id="acme_tiny-1").to_document()
        upsert(data={**document, "name": "Renamed by a tool"}, source="api")

    _interfere(monkeypatch, rename)
    response = run_action(admin_client, action, "acme_tiny-1")
    assert "acme_tiny-1: changed by another write meanwhile, so left alone: run the action on it again" in (
        messages_of(response)
    )
    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert (config.name, config.validated, config.validation_notes) == ("Renamed by a tool", False, "")
    assert ConfigRevision.objects.filter(model_id="acme_tiny-1").first().source == "api"


@pytest.mark.django_db
def test_mark_and_unmark_validated_write_a_revision_each(admin_client, admin_user):
    """Marking sets validated with one revision per config changed; unmarking clears it the same way;
    a config already so is counted, not written."""
    services.config_upsert(data=small_config())
    services.config_upsert(data=small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2", validated=True))
    count = ConfigRevision.objects.count()

    response = run_action(admin_client, "mark_validated", "acme_tiny-1", "acme_tiny-2")
    assert messages_of(response) == ["Marked 1 configs as checked against published figures (1 already were)."]
    assert set(ModelConfig.objects.values_list("validated", flat=True)) == {True}
    assert ConfigRevision.objects.count() == count + 1
    revision = ConfigRevision.objects.first()
    assert (revision.model_id, revision.source, revision.user) == ("acme_tiny-1", "admin", admin_user)
    assert (revision.before["validated"], revision.after["validated"]) == (False, True)

    response = run_action(admin_client, "unmark_validated", "acme_tiny-1", "acme_tiny-2")
    assert messages_of(response) == ["Unmarked 2 configs as checked against published figures."]
    assert set(ModelConfig.objects.values_list("validated", flat=True)) == {False}
    assert ConfigRevision.objects.count() == count + 3
    assert [r.after["validated"] for r in ConfigRevision.objects.all()[:2]] == [False, False]


@pytest.mark.django_db
def test_mark_validated_refuses_a_config_breaking_the_rules(admin_client):
    """A config whose stored derived values are stale is not marked: the message says why."""
    services.config_upsert(data=small_config())
    LayerType.objects.filter(config__model_id="acme_tiny-1", name="norm").update(parameter_count=7)
    count = ConfigRevision.objects.count()
    response = run_action(admin_client, "mark_validated", "acme_tiny-1")
    found = messages_of(response)
    assert found[0].startswith("acme_tiny-1: not marked, it breaks the rules (run the checks or fix it):")
    assert "[parameter_count_mismatch]" in found[0]
    assert found[-1] == "Marked 0 configs as checked against published figures."
    assert ModelConfig.objects.get(model_id="acme_tiny-1").validated is False
    assert ConfigRevision.objects.count() == count


@pytest.mark.django_db
def test_curation_actions_need_the_change_permission(client, django_user_model):
    """Staff who may only view configs are offered export and compare, not the actions that write."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelconfig"))
    client.force_login(user)
    services.config_upsert(data=small_config())
    choices = [value for value, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices]
    assert [c for c in choices if c] == ["export_json", "compare_side_by_side"]


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
