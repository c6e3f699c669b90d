"""The one write path: upsert, delete, restore, import and recompute, each atomic and kept in the history."""

from __future__ import annotations

import copy

import pytest

from registry.core import CountOverflow, Issue, digest, format_params
from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.services import (
    ConfigRejected,
    ImportItem,
    PreconditionFailed,
    config_delete,
    config_restore,
    config_upsert,
    import_configs,
    recompute_counts,
)
from tests.conftest import PUBLISHED, canonical, fixture_document, hand_total, small_config, store

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple:
    """Everything the services write, to compare before and after a refused call."""
    return (
        sorted(ModelConfig.objects.values_list("model_id", "name", "total_params", "digest", "updated")),
        sorted(LayerType.objects.values_list("config__model_id", "position", "name", "count", "parameter_count")),
        ConfigRevision.objects.count(),
    )


# ---- config_upsert ----------------------------------------------------------------------------------


def test_upsert_creates_a_config_with_its_layers_and_a_revision(django_user_model):
    """A new document is stored with derived counts, its digest, and a 'created' revision by the user."""
    user = django_user_model.objects.create_user("curator")
    data = small_config()
    result = config_upsert(data=data, user=user, source="api")
    assert (result.created, result.changed) == (True, True)

    config = ModelConfig.objects.get(model_id="acme_tiny-1")
    assert config.total_params == hand_total(data)
    assert config.total_params_formatted == format_params(hand_total(data))
    assert list(config.layer_types.values_list("position", "name")) == [
        (0, "attention"),
        (1, "feedforward"),
        (2, "norm"),
        (3, "embedding"),
        (4, "lm_head"),
    ]
    document = canonical(data)
    assert config.to_document() == document
    assert config.digest == digest(document)

    revision = ConfigRevision.objects.get()
    assert (revision.action, revision.source, revision.user, revision.config) == ("created", "api", user, config)
    assert revision.before is None
    assert revision.after == document


def test_upsert_updates_a_changed_config_and_keeps_before_and_after():
    """A changed document replaces the stored one; the revision holds both versions."""
    first = config_upsert(data=small_config(), source="api").config
    before = first.to_document()
    data = small_config(name="Acme Tiny One")
    data["layer_types"] = data["layer_types"][:3]  # drop the embedding
    result = config_upsert(data=data, source="api")
    assert (result.created, result.changed) == (False, True)
    assert result.config.pk == first.pk

    config = ModelConfig.objects.get()
    assert config.name == "Acme Tiny One"
    assert config.layer_types.count() == 3
    assert config.total_params == hand_total(data)
    revision = ConfigRevision.objects.filter(action="updated").get()
    assert revision.before == before
    assert revision.after == config.to_document()


def test_upsert_of_an_unchanged_document_writes_nothing():
    """The same document again is 'unchanged': no write, no revision, the same timestamp."""
    config_upsert(data=small_config(), source="api")
    snapshot = _snapshot()
    # Derived values present or absent, key order different: the same config.
    data = canonical(small_config())
    data = dict(reversed(list(data.items())))
    result = config_upsert(data=data, source="api")
    assert (result.created, result.changed) == (False, False)
    assert _snapshot() == snapshot


def test_upsert_rejects_invalid_data_and_writes_nothing():
    """Invalid input raises ConfigRejected carrying every issue; nothing is written."""
    config_upsert(data=small_config(), source="api")
    snapshot = _snapshot()
    data = small_config(name="")
    data["layer_types"][0]["specs"]["num_kv_heads"] = 3
    with pytest.raises(ConfigRejected) as excinfo:
        config_upsert(data=data, source="api")
    assert sorted((i.loc, i.code) for i in excinfo.value.issues) == [
        ("layer_types[0].specs.num_kv_heads", "heads_not_divisible"),
        ("name", "blank"),
    ]
    assert _snapshot() == snapshot


def test_upsert_rejects_stale_derived_values_unless_recompute():
    """A wrong parameter_count is refused; with recompute=True it is replaced and stored right."""
    data = canonical(small_config())
    data["layer_types"][1]["specs"]["parameter_count"] = 1
    with pytest.raises(ConfigRejected) as excinfo:
        config_upsert(data=data, source="api")
    assert [(i.loc, i.code) for i in excinfo.value.issues] == [
        ("layer_types[1].specs.parameter_count", "parameter_count_mismatch")
    ]
    assert not ModelConfig.objects.exists()

    result = config_upsert(data=data, source="api", recompute=True)
    assert [i.code for i in result.validation.recomputed] == ["parameter_count_mismatch"]
    assert LayerType.objects.get(name="feedforward").parameter_count == 3 * 64 * 256
    assert ModelConfig.objects.get().total_params == hand_total(small_config())


def test_upsert_with_a_current_if_match_writes():
    """If-Match equal to the stored digest lets the write through."""
    stored = config_upsert(data=small_config(), source="api").config
    result = config_upsert(data=small_config(name="Renamed"), if_match=stored.digest, source="api")
    assert result.changed
    assert ModelConfig.objects.get().name == "Renamed"


def test_upsert_with_a_stale_if_match_writes_nothing():
    """If-Match naming an older version raises PreconditionFailed with the current digest; nothing is written."""
    old = config_upsert(data=small_config(), source="api").config.digest
    current = config_upsert(data=small_config(name="Second"), source="api").config.digest
    snapshot = _snapshot()
    with pytest.raises(PreconditionFailed) as excinfo:
        config_upsert(data=small_config(name="Third"), if_match=old, source="api")
    assert excinfo.value.current == current
    assert _snapshot() == snapshot
    assert ModelConfig.objects.get().name == "Second"


def test_upsert_with_if_match_on_a_missing_config_fails():
    """If-Match on a config that does not exist fails with no current digest, creating nothing."""
    with pytest.raises(PreconditionFailed) as excinfo:
        config_upsert(data=small_config(), if_match="0" * 64, source="api")
    assert excinfo.value.current is None
    assert not ModelConfig.objects.exists()


def test_upsert_refuses_to_change_the_addressed_model_id():
    """Writing to one id with a document of another is refused."""
    with pytest.raises(ConfigRejected) as excinfo:
        config_upsert(data=small_config(), model_id="acme_other", source="api")
    assert [(i.loc, i.code) for i in excinfo.value.issues] == [("model_id", "model_id_changed")]
    assert not ModelConfig.objects.exists()


def test_upsert_must_exist_and_must_not_exist():
    """must_exist refuses to create; must_not_exist refuses to replace."""
    with pytest.raises(ModelConfig.DoesNotExist):
        config_upsert(data=small_config(), must_exist=True, source="api")
    assert not ModelConfig.objects.exists()
    config_upsert(data=small_config(), must_not_exist=True, source="api")
    with pytest.raises(ConfigRejected) as excinfo:
        config_upsert(data=small_config(name="Again"), must_not_exist=True, source="api")
    assert [i.code for i in excinfo.value.issues] == ["already_exists"]
    assert ModelConfig.objects.get().name == "Acme Tiny 1"


def test_upsert_rejects_a_second_config_with_the_same_hf_model_id_via_the_database():
    """The unique hf_model_id is enforced even though validation cannot see other rows."""
    config_upsert(data=small_config(), source="api")
    ModelConfig.objects.update(model_id="acme_tiny-1-old")  # the same hf_model_id under another id
    with pytest.raises(ConfigRejected) as excinfo:
        config_upsert(data=small_config(), source="api")
    assert [i.code for i in excinfo.value.issues] == ["already_exists"]
    assert "duplicate key" not in excinfo.value.issues[0].msg
    assert ModelConfig.objects.count() == 1


# ---- delete and restore -----------------------------------------------------------------------------


def test_delete_removes_the_config_and_keeps_its_last_document(django_user_model):
    """Deleting keeps a 'deleted' revision holding the document; layers go too."""
    user = django_user_model.objects.create_user("curator")
    config = config_upsert(data=small_config(), source="api").config
    document = config.to_document()
    config_delete(model_id=config.model_id, user=user, source="api")
    assert not ModelConfig.objects.exists()
    assert not LayerType.objects.exists()
    revision = ConfigRevision.objects.get(action="deleted")
    assert (revision.model_id, revision.before, revision.after, revision.user) == (
        "acme_tiny-1",
        document,
        None,
        user,
    )


def test_delete_with_a_stale_if_match_deletes_nothing():
    """A stale If-Match on delete raises PreconditionFailed and keeps the config."""
    config = config_upsert(data=small_config(), source="api").config
    snapshot = _snapshot()
    with pytest.raises(PreconditionFailed):
        config_delete(model_id=config.model_id, if_match="f" * 64, source="api")
    assert _snapshot() == snapshot


def test_delete_of_a_config_already_gone_raises():
    """Deleting twice raises DoesNotExist the second time."""
    config = config_upsert(data=small_config(), source="api").config
    config_delete(model_id=config.model_id, source="api")
    with pytest.raises(ModelConfig.DoesNotExist):
        config_delete(model_id=config.model_id, source="api")


def test_restore_brings_a_deleted_config_back():
    """Restoring a 'deleted' revision writes its document back, recorded as 'restored'."""
    config = config_upsert(data=small_config(), source="api").config
    document = config.to_document()
    config_delete(model_id=config.model_id, source="api")
    result = config_restore(revision=ConfigRevision.objects.get(action="deleted"), source="api")
    assert result.created
    assert ModelConfig.objects.get().to_document() == document
    assert ConfigRevision.objects.filter(action="restored").count() == 1


def test_restore_an_older_version_reverts_a_change():
    """Restoring the 'created' revision after an update brings the first version back."""
    config_upsert(data=small_config(), source="api")
    config_upsert(data=small_config(name="Changed"), source="api")
    result = config_restore(revision=ConfigRevision.objects.get(action="created"), source="api")
    assert (result.created, result.changed) == (False, True)
    assert ModelConfig.objects.get().name == "Acme Tiny 1"
    restored = ConfigRevision.objects.get(action="restored")
    assert restored.before["name"] == "Changed"
    assert restored.after["name"] == "Acme Tiny 1"


# ---- import_configs ----------------------------------------------------------------------------------


def _items(*docs: dict) -> list[ImportItem]:
    return [ImportItem(source=f"{d['model_id']}.json", data=d, filename=f"{d['model_id']}.json") for d in docs]


def test_import_writes_all_or_nothing():
    """One bad input among good ones: every good one is 'not written', the bad one 'failed', nothing stored."""
    bad = small_config(model_id="acme_bad", hf_model_id="acme/bad", num_layers=0)
    report = import_configs(items=[*_items(small_config(), bad)])
    assert not report.ok
    assert [s.status for s in report.sources] == ["not written", "failed"]
    assert [(i.loc, i.code) for i in report.failed[0].errors] == [("num_layers", "not_positive")]
    assert report.failed[0].model_id == "acme_bad"
    assert not report.written
    assert not ModelConfig.objects.exists()


def test_import_reports_read_errors_as_failures():
    """A read error given with an item is that item's failure."""
    item = ImportItem(source="x.json", read_error=Issue("$", "invalid_json", "invalid JSON at line 1, column 2"))
    report = import_configs(items=[item, *_items(small_config())])
    assert [s.status for s in report.sources] == ["failed", "not written"]
    assert not ModelConfig.objects.exists()


def test_import_tells_created_updated_and_unchanged_apart():
    """Against stored configs, each input is created, updated or unchanged; revisions only for writes."""
    config_upsert(data=fixture_document("mistralai_Mistral-7B-v0.1"), source="api")
    config_upsert(data=fixture_document("TinyLlama_TinyLlama-1.1B-Chat-v1.0"), source="api")
    tiny = fixture_document("TinyLlama_TinyLlama-1.1B-Chat-v1.0")
    tiny["validation_notes"] = "Changed."
    report = import_configs(
        items=_items(
            fixture_document("mistralai_Mistral-7B-v0.1"), tiny, fixture_document("meta-llama_Llama-3.3-70B-Instruct")
        )
    )
    assert [s.status for s in report.sources] == ["unchanged", "updated", "created"]
    assert (report.count("created"), report.count("updated"), report.count("unchanged")) == (1, 1, 1)
    assert ModelConfig.objects.get(model_id=tiny["model_id"]).validation_notes == "Changed."
    assert ConfigRevision.objects.filter(source="loadconfigs").count() == 2


def test_import_rejects_one_model_id_from_two_inputs():
    """Two inputs describing the same model_id are refused, naming the other input."""
    report = import_configs(
        items=[ImportItem(source="a/x.json", data=small_config()), ImportItem(source="b/x.json", data=small_config())]
    )
    assert [(i.loc, i.code) for i in report.sources[1].errors] == [("model_id", "duplicate_model_id")]
    assert "a/x.json" in report.sources[1].errors[0].msg
    assert not ModelConfig.objects.exists()


def test_import_dry_run_reports_and_writes_nothing():
    """dry_run gives the same statuses as a real run but stores nothing."""
    report = import_configs(items=_items(small_config()), dry_run=True)
    assert [s.status for s in report.sources] == ["created"]
    assert not report.written
    assert not ModelConfig.objects.exists()


def test_import_prune_deletes_configs_not_among_the_inputs():
    """prune deletes stored configs no input describes, keeping a 'deleted' revision."""
    for model_id in PUBLISHED:
        config_upsert(data=fixture_document(model_id), source="api")
    keep = sorted(PUBLISHED)[:2]
    report = import_configs(items=_items(*(fixture_document(m) for m in keep)), prune=True)
    assert report.pruned == sorted(set(PUBLISHED) - set(keep))
    assert sorted(ModelConfig.objects.values_list("model_id", flat=True)) == keep
    assert sorted(ConfigRevision.objects.filter(action="deleted").values_list("model_id", flat=True)) == report.pruned


# ---- recompute_counts -------------------------------------------------------------------------------


def _tamper(model_id: str, layer: str, parameter_count: int) -> tuple[int, int]:
    """Overwrite one stored parameter_count and make the stored total agree with it; returns (old, new) totals."""
    config = ModelConfig.objects.get(model_id=model_id)
    right = config.total_params
    row = config.layer_types.get(name=layer)
    wrong = right + row.count * (parameter_count - row.parameter_count)
    LayerType.objects.filter(pk=row.pk).update(parameter_count=parameter_count)
    ModelConfig.objects.filter(pk=config.pk).update(total_params=wrong, total_params_formatted=format_params(wrong))
    return wrong, right


def test_recompute_fixes_a_tampered_count_and_reports_old_and_new_totals(loaded_fixtures):
    """A stored count written around the services is found, reported with both totals, and fixed."""
    model_id = "mistralai_Mistral-7B-v0.1"
    original = ModelConfig.objects.get(model_id=model_id).to_document()
    original_digest = ModelConfig.objects.get(model_id=model_id).digest
    old, new = _tamper(model_id, "feedforward", 12345)
    recounts = recompute_counts(source="api")
    assert [(r.model_id, r.old_total, r.new_total) for r in recounts] == [(model_id, old, new)]
    assert new == PUBLISHED[model_id][0]

    config = ModelConfig.objects.get(model_id=model_id)
    assert config.layer_types.get(name="feedforward").parameter_count == 3 * 4096 * 14336
    assert (config.total_params, config.total_params_formatted) == PUBLISHED[model_id]
    assert config.to_document() == original
    assert config.digest == original_digest == digest(original)
    revision = ConfigRevision.objects.get(source="api")
    assert (revision.action, revision.before["total_params"], revision.after["total_params"]) == ("updated", old, new)
    assert recompute_counts(source="api") == []


def test_recompute_history_keeps_the_stale_layer_count(loaded_fixtures):
    """The revision's 'before' is what was stored, stale parameter_count included."""
    _tamper("mistralai_Mistral-7B-v0.1", "feedforward", 12345)
    recompute_counts(source="api")
    before = ConfigRevision.objects.get(source="api").before
    assert before["layer_types"][1]["specs"]["parameter_count"] == 12345


def test_recompute_fixes_a_tampered_total_alone(loaded_fixtures):
    """A wrong stored total with right layer counts is fixed too."""
    model_id = "TinyLlama_TinyLlama-1.1B-Chat-v1.0"
    ModelConfig.objects.filter(model_id=model_id).update(total_params=5, total_params_formatted="5")
    recounts = recompute_counts(source="api")
    assert [(r.model_id, r.old_total, r.new_total) for r in recounts] == [(model_id, 5, PUBLISHED[model_id][0])]
    config = ModelConfig.objects.get(model_id=model_id)
    assert (config.total_params, config.total_params_formatted) == PUBLISHED[model_id]


def test_recompute_dry_run_reports_and_writes_nothing(loaded_fixtures):
    """dry_run lists what would change and leaves the stored values."""
    old, new = _tamper("mistralai_Mistral-7B-v0.1", "attention", 1)
    snapshot = _snapshot()
    recounts = recompute_counts(dry_run=True, source="api")
    assert [(r.old_total, r.new_total) for r in recounts] == [(old, new)]
    assert _snapshot() == snapshot


def test_recompute_of_correct_counts_changes_nothing(loaded_fixtures):
    """With every count right, nothing is reported or written."""
    snapshot = _snapshot()
    assert recompute_counts(source="api") == []
    assert _snapshot() == snapshot


def test_recompute_only_the_configs_asked_for(loaded_fixtures):
    """config_ids limits the pass to those configs."""
    _tamper("mistralai_Mistral-7B-v0.1", "attention", 1)
    _tamper("TinyLlama_TinyLlama-1.1B-Chat-v1.0", "attention", 1)
    tiny = ModelConfig.objects.get(model_id="TinyLlama_TinyLlama-1.1B-Chat-v1.0")
    recounts = recompute_counts(config_ids=[tiny.pk], source="api")
    assert [r.model_id for r in recounts] == [tiny.model_id]
    assert (
        ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1").total_params
        != PUBLISHED["mistralai_Mistral-7B-v0.1"][0]
    )


def test_recompute_of_no_configs_is_empty():
    """An empty registry recomputes to nothing."""
    assert recompute_counts(source="api") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("specs", {"vocab_size": 2**40, "hidden_size": 2**40}),  # one layer's count overflows
        ("count", 2**40),  # each layer fits, the total overflows
    ],
)
def test_recompute_overflow_writes_nothing(loaded_fixtures, field, value):
    """A count past 2**63-1 raises CountOverflow; no other fix in the same pass is written."""
    _tamper("mistralai_Mistral-7B-v0.1", "attention", 1)
    config = ModelConfig.objects.get(model_id="TinyLlama_TinyLlama-1.1B-Chat-v1.0")
    LayerType.objects.filter(config=config, name="embedding").update(**{field: value})
    snapshot = _snapshot()
    with pytest.raises(CountOverflow):
        recompute_counts(source="api")
    assert _snapshot() == snapshot


def test_upserting_every_fixture_stores_the_published_totals():
    """Each fixture written through the service stores its published total and short form."""
    for model_id in PUBLISHED:
        config_upsert(data=copy.deepcopy(fixture_document(model_id)), source="api")
    stored = {c.model_id: (c.total_params, c.total_params_formatted) for c in ModelConfig.objects.all()}
    assert stored == PUBLISHED


def _hide_stored_from_the_lock(monkeypatch, times: int) -> None:
    """The locked read of the import misses the stored configs ``times`` times: as when another write
    creates them between that read and the insert."""
    from registry.services import imports as import_services

    real = import_services._stored_digests
    calls = {"n": 0}

    def read(*, lock: bool = False, **kwargs):
        if lock and calls["n"] < times:
            calls["n"] += 1
            return iter(())
        return real(lock=lock, **kwargs)

    monkeypatch.setattr(import_services, "_stored_digests", read)


@pytest.mark.django_db
def test_an_import_racing_a_create_judges_its_inputs_again(monkeypatch):
    """The insert meets a config created meanwhile: the import starts its locked half again and sees it."""
    stored = store(small_config())
    other = small_config(model_id="acme_other", hf_model_id="acme/other")
    _hide_stored_from_the_lock(monkeypatch, times=1)
    report = import_configs(items=_items(small_config(), other), replace=False)
    assert [s.status for s in report.sources] == ["unchanged", "created"]
    assert report.ok and report.written
    assert ModelConfig.objects.get(model_id=stored.model_id).digest == stored.digest


@pytest.mark.django_db
def test_an_import_that_keeps_racing_fails_cleanly(monkeypatch):
    """Twice in a row: the created inputs fail with already_exists, nothing is written, nothing is raised."""
    store(small_config())
    _hide_stored_from_the_lock(monkeypatch, times=2)
    report = import_configs(items=_items(small_config()))
    assert [(s.status, [i.code for i in s.errors]) for s in report.sources] == [("failed", ["already_exists"])]
    assert not report.written
    assert ModelConfig.objects.count() == 1
