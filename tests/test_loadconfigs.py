"""loadconfigs: validate every file first, then write all of them in one transaction, or nothing."""

from __future__ import annotations

import json
import re
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registry.core import format_params
from registry.models import ConfigRevision, LayerType, ModelConfig
from tests.conftest import (
    FIXTURE_IDS,
    FIXTURES,
    PUBLISHED,
    SPEC_EXAMPLE,
    SPEC_EXAMPLE_ID,
    N,
    fixture_document,
    manage,
    small_config,
    subprocess_database_url,
    write_config,
)

pytestmark = pytest.mark.django_db

SUMMARY_RE = re.compile(r"(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) failed")


def load(*args: str) -> tuple[str, str]:
    """Run loadconfigs; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("loadconfigs", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def load_failing(*args: str) -> tuple[str, str]:
    """Run loadconfigs expecting a CommandError; return (error message, stderr)."""
    err = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("loadconfigs", *args, "--no-progress", stdout=StringIO(), stderr=err)
    return str(excinfo.value), err.getvalue()


def summary(text: str) -> tuple[int, int, int, int]:
    """(created, updated, unchanged, failed) from the summary line."""
    match = SUMMARY_RE.search(text)
    assert match, text
    return tuple(int(n) for n in match.groups())  # type: ignore[return-value]


def _state() -> tuple:
    return (
        sorted(ModelConfig.objects.values_list("model_id", "digest", "updated", "total_params")),
        sorted(LayerType.objects.values_list("pk", "parameter_count")),
        ConfigRevision.objects.count(),
    )


# ---- the happy path ---------------------------------------------------------------------------------


def test_loads_fixtures_by_default():
    """With no path, loadconfigs reads fixtures/ and creates every config with their published totals."""
    out, err = load()
    assert err == ""
    assert summary(out) == (N, 0, 0, 0)
    stored = {c.model_id: (c.total_params, c.total_params_formatted) for c in ModelConfig.objects.all()}
    assert stored == PUBLISHED
    assert LayerType.objects.count() == sum(len(fixture_document(m)["layer_types"]) for m in FIXTURE_IDS)
    assert set(ConfigRevision.objects.values_list("action", "source")) == {("created", "loadconfigs")}
    for model_id in PUBLISHED:
        assert f"created: {model_id}" in out


def test_round_trip_reproduces_fixtures_byte_for_byte(tmp_path):
    """loadconfigs then dumpconfigs writes every fixture file back with the same bytes."""
    load(str(FIXTURES))
    call_command("dumpconfigs", "--output", str(tmp_path), stdout=StringIO())
    dumped = sorted(p.name for p in tmp_path.iterdir())
    assert dumped == sorted(p.name for p in FIXTURES.glob("*.json"))
    for name in dumped:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name


def test_a_second_run_reports_unchanged_and_writes_nothing():
    """Loading the same files again: all unchanged, no row touched, no revision added."""
    load()
    before = _state()
    out, _ = load()
    assert summary(out) == (0, 0, N, 0)
    assert _state() == before


def test_a_stored_file_skips_validation_until_the_rules_change(monkeypatch):
    """A file identical to its stored document is unchanged without being validated again; once the
    rules' version changes, every file is validated again and stamped with them, its digest (ETag) unchanged."""
    from registry.core import document
    from registry.core import validate_config as real_validate

    load()
    calls: list[str | None] = []

    def counting(data, **kwargs):
        calls.append(kwargs.get("filename"))
        return real_validate(data, **kwargs)

    monkeypatch.setattr("registry.services.imports.validate_config", counting)
    out, _ = load()
    assert summary(out) == (0, 0, N, 0)
    assert calls == []

    from registry.models import ConfigRevision, ModelConfig

    digests = dict(ModelConfig.objects.values_list("model_id", "digest"))
    revisions = ConfigRevision.objects.count()
    monkeypatch.setattr(document, "RULES_VERSION", document.RULES_VERSION + "-next")
    document.rules_stamp.cache_clear()
    try:
        out, _ = load()
        assert summary(out) == (0, 0, N, 0)  # validated again, accepted as they are
        assert sorted(calls) == sorted(f"{m}.json" for m in FIXTURE_IDS)
        assert dict(ModelConfig.objects.values_list("model_id", "digest")) == digests  # the ETags stay
        assert ConfigRevision.objects.count() == revisions
        assert set(ModelConfig.objects.values_list("rules", flat=True)) == {document.rules_stamp()}
        calls.clear()
        out, _ = load()
        assert summary(out) == (0, 0, N, 0)
        assert calls == []
    finally:
        monkeypatch.undo()
        document.rules_stamp.cache_clear()


def test_a_changed_file_is_updated_and_the_rest_unchanged(fixture_copy):
    """Editing one file updates that config only, with an 'updated' revision."""
    load(str(fixture_copy))
    path = fixture_copy / "mistralai_Mistral-7B-v0.1.json"
    doc = json.loads(path.read_text())
    doc["validation_notes"] = "Edited."
    write_config(fixture_copy, doc)
    out, _ = load(str(fixture_copy))
    assert summary(out) == (0, 1, N - 1, 0)
    assert ModelConfig.objects.get(model_id=doc["model_id"]).validation_notes == "Edited."
    revision = ConfigRevision.objects.get(action="updated")
    assert (revision.model_id, revision.after["validation_notes"]) == (doc["model_id"], "Edited.")


def test_loads_the_specs_worked_example_as_it_is(tmp_path):
    """The format document's example, named after its model_id, loads with its own 69.5B total."""
    shutil.copy(SPEC_EXAMPLE, tmp_path / f"{SPEC_EXAMPLE_ID}.json")
    out, _ = load(str(tmp_path))
    assert summary(out) == (1, 0, 0, 0)
    config = ModelConfig.objects.get(model_id=SPEC_EXAMPLE_ID)
    assert (config.total_params, config.total_params_formatted) == (69502369792, "69.5B")
    assert config.to_document() == json.loads(SPEC_EXAMPLE.read_text())


def test_loads_single_files_and_folders_together(tmp_path):
    """Paths may be files or folders, mixed."""
    folder = write_config(tmp_path / "more", small_config()).parent
    out, _ = load(str(FIXTURES / "mistralai_Mistral-7B-v0.1.json"), str(folder))
    assert summary(out) == (2, 0, 0, 0)
    assert sorted(ModelConfig.objects.values_list("model_id", flat=True)) == [
        "acme_tiny-1",
        "mistralai_Mistral-7B-v0.1",
    ]


def test_loads_a_file_without_derived_values(tmp_path):
    """Derived values may be left out of a file; they are computed and stored."""
    write_config(tmp_path, small_config())
    load(str(tmp_path))
    config = ModelConfig.objects.get()
    assert (config.total_params, config.total_params_formatted) == (187200, format_params(187200))


# ---- all or nothing -----------------------------------------------------------------------------------


def test_one_bad_file_among_good_ones_writes_nothing(fixture_copy):
    """A folder of good files plus one bad file: CommandError, the bad file listed with all its errors, DB empty."""
    bad = small_config(num_layers=0)
    bad["layer_types"][0]["specs"]["num_kv_heads"] = 3
    bad_path = write_config(fixture_copy, bad)
    message, err = load_failing(str(fixture_copy))
    assert summary(message) == (0, 0, 0, 1)
    assert f"1 failed, {N} valid but not written. Nothing was written: 1 of {N + 1} files failed." in message
    assert f"{bad_path}: 2 error(s)" in err
    assert "num_layers: expected a positive integer, got 0 [not_positive]" in err
    assert "layer_types[0].specs.num_kv_heads: expected a divisor of num_heads (4), got 3 [heads_not_divisible]" in err
    for model_id in PUBLISHED:  # the good files are not reported as errors
        assert f"{model_id}.json:" not in err
    assert not ModelConfig.objects.exists()
    assert not ConfigRevision.objects.exists()


def test_a_failed_run_leaves_stored_configs_as_they_were(fixture_copy):
    """With configs stored, a run with an edit and one bad file changes none of them."""
    load(str(fixture_copy))
    before = _state()
    doc = fixture_document("mistralai_Mistral-7B-v0.1")
    doc["name"] = "Renamed"
    write_config(fixture_copy, doc)
    write_config(fixture_copy, small_config(colour="blue"))
    _, err = load_failing(str(fixture_copy))
    assert "colour" in err and "[unknown_key]" in err
    assert _state() == before
    assert ModelConfig.objects.get(model_id=doc["model_id"]).name != "Renamed"


def test_every_failing_file_is_listed(tmp_path):
    """Several bad files are each listed, and counted as failed."""
    write_config(tmp_path, small_config(name=""))
    write_config(tmp_path, small_config(model_id="acme_b", hf_model_id="acme/b", vocab_size=-1))
    (tmp_path / "broken.json").write_text("{")
    message, err = load_failing(str(tmp_path))
    assert summary(message) == (0, 0, 0, 3)
    assert "acme_tiny-1.json: 1 error(s)" in err and "[blank]" in err
    assert "acme_b.json: 1 error(s)" in err and "[not_positive]" in err
    assert "broken.json: 1 error(s)" in err and "[invalid_json]" in err


@pytest.mark.parametrize(
    ("content", "code", "detail"),
    [
        (b'{\n  "model_id": "x",\n  "name": "y",\n}\n', "invalid_json", "line 4, column 1"),
        (b'{"model_id": "x" "name": "y"}', "invalid_json", "line 1, column 18"),
        (b"", "empty_file", "the file is empty"),
        (b"  \n", "empty_file", "the file is empty"),
        ('{"name": "café"}'.encode("latin-1"), "not_utf8", "byte 13"),
        (b"[]", "not_an_object", "got a list"),
        (b'"a string"', "not_an_object", "got a string"),
    ],
)
def test_an_unreadable_file_is_reported_by_name(tmp_path, content, code, detail):
    """Bad JSON (with line and column), an empty file, non-UTF-8 bytes and a non-object top level fail by name."""
    write_config(tmp_path, small_config())
    (tmp_path / "bad.json").write_bytes(content)
    message, err = load_failing(str(tmp_path))
    assert summary(message) == (0, 0, 0, 1)
    assert f"{tmp_path / 'bad.json'}: 1 error(s)" in err
    assert "$: " in err and detail in err and f"[{code}]" in err
    assert not ModelConfig.objects.exists()


def test_a_misnamed_file_fails_with_filename_mismatch(tmp_path):
    """A file must be named <model_id>.json."""
    write_config(tmp_path, small_config(), filename="tiny.json")
    _, err = load_failing(str(tmp_path))
    assert "tiny.json: 1 error(s)" in err
    assert "model_id: expected the file to be named 'acme_tiny-1.json'" in err
    assert "[filename_mismatch]" in err
    assert not ModelConfig.objects.exists()


def test_one_model_id_in_two_files_fails(tmp_path):
    """Two files (in two folders) describing the same model_id: the second fails, nothing is written."""
    first = write_config(tmp_path / "a", small_config())
    second = write_config(tmp_path / "b", small_config(name="Other"))
    message, err = load_failing(str(tmp_path))
    assert summary(message) == (0, 0, 0, 1)
    assert f"{second}: 1 error(s)" in err
    assert f"model_id 'acme_tiny-1' is also defined by {first} [duplicate_model_id]" in err
    assert not ModelConfig.objects.exists()


def test_a_missing_path_is_a_command_error(tmp_path):
    """A path that does not exist is named, before anything is read."""
    message, _ = load_failing(str(tmp_path / "nowhere"))
    assert "No such file or folder" in message and "nowhere" in message


def test_an_empty_folder_loads_nothing(tmp_path):
    """A folder with no *.json files is not an error; the summary counts zero."""
    out, _ = load(str(tmp_path))
    assert summary(out) == (0, 0, 0, 0)


# ---- options ------------------------------------------------------------------------------------------


def test_dry_run_reports_would_be_counts_and_writes_nothing(fixture_copy):
    """--dry-run reports created/updated/unchanged as a real run would, and stores nothing."""
    out, _ = load(str(fixture_copy), "--dry-run")
    assert summary(out) == (N, 0, 0, 0)
    assert "Dry run: nothing was written." in out
    assert not ModelConfig.objects.exists()

    load(str(fixture_copy))
    before = _state()
    doc = fixture_document("mistralai_Mistral-7B-v0.1")
    doc["name"] = "Renamed"
    write_config(fixture_copy, doc)
    write_config(fixture_copy, small_config())
    out, _ = load(str(fixture_copy), "--dry-run")
    assert summary(out) == (1, 1, N - 1, 0)
    assert _state() == before


def test_dry_run_still_fails_on_a_bad_file(tmp_path):
    """--dry-run validates as a real run does."""
    write_config(tmp_path, small_config(hidden_size="64"))
    _, err = load_failing(str(tmp_path), "--dry-run")
    assert "hidden_size: expected a positive integer, got a string" in err and "[not_an_integer]" in err


def test_recompute_replaces_stale_derived_values(tmp_path):
    """A stale parameter_count fails without --recompute and is replaced (and reported) with it."""
    doc = fixture_document("mistralai_Mistral-7B-v0.1")
    doc["layer_types"][1]["specs"]["parameter_count"] = 1
    doc["total_params"] = 2
    doc["total_params_formatted"] = "2"
    write_config(tmp_path, doc)

    _, err = load_failing(str(tmp_path))
    assert "layer_types[1].specs.parameter_count: expected 176160768" in err
    assert "[parameter_count_mismatch]" in err
    assert "[total_params_mismatch]" in err and "[total_params_formatted_mismatch]" in err
    assert not ModelConfig.objects.exists()

    out, _ = load(str(tmp_path), "--recompute")
    assert summary(out) == (1, 0, 0, 0)
    assert "recomputed layer_types[1].specs.parameter_count" in out
    config = ModelConfig.objects.get()
    assert (config.total_params, config.total_params_formatted) == PUBLISHED[doc["model_id"]]
    assert config.layer_types.get(name="feedforward").parameter_count == 176160768
    assert config.to_document() == fixture_document(doc["model_id"])


def test_prune_deletes_configs_whose_file_is_gone(fixture_copy):
    """--prune deletes stored configs not among the inputs; without it they stay."""
    load(str(fixture_copy))
    gone = "meta-llama_Llama-3.1-405B-Instruct"
    (fixture_copy / f"{gone}.json").unlink()

    out, _ = load(str(fixture_copy))
    assert summary(out) == (0, 0, N - 1, 0)
    assert ModelConfig.objects.filter(model_id=gone).exists()

    out, _ = load(str(fixture_copy), "--prune", "--dry-run")
    assert f"would prune: {gone}" in out and "1 pruned" in out
    assert ModelConfig.objects.filter(model_id=gone).exists()

    out, _ = load(str(fixture_copy), "--prune")
    assert f"pruned: {gone}" in out
    assert summary(out) == (0, 0, N - 1, 0) and "1 pruned" in out
    assert sorted(ModelConfig.objects.values_list("model_id", flat=True)) == sorted(set(PUBLISHED) - {gone})
    revision = ConfigRevision.objects.get(action="deleted")
    assert (revision.model_id, revision.before["model_id"]) == (gone, gone)


def test_prune_does_not_run_when_a_file_fails(fixture_copy):
    """A failing run prunes nothing either."""
    load(str(fixture_copy))
    (fixture_copy / "meta-llama_Llama-3.1-405B-Instruct.json").unlink()
    (fixture_copy / "bad.json").write_text("[]")
    load_failing(str(fixture_copy), "--prune")
    assert ModelConfig.objects.count() == N


def test_prune_refuses_an_input_without_config_files(fixture_copy, tmp_path):
    """--prune over a folder with no *.json would empty the registry: refused, nothing deleted."""
    load(str(fixture_copy))
    empty = tmp_path / "empty"
    empty.mkdir()
    message, _ = load_failing(str(empty), "--prune")
    assert "--prune would delete every stored config. Nothing was done." in message
    assert ModelConfig.objects.count() == N


def test_verbosity_zero_prints_only_the_summary_and_two_lists_unchanged(fixture_copy):
    """-v0 prints no per-file line; -v2 lists unchanged files too."""
    out, _ = load(str(fixture_copy), "--verbosity", "0")
    assert "created:" not in out and summary(out) == (N, 0, 0, 0)
    out, _ = load(str(fixture_copy), "--verbosity", "2")
    assert out.count("unchanged: ") == N


# ---- as a process -------------------------------------------------------------------------------------


def test_exit_status_is_non_zero_for_a_bad_folder(tmp_path):
    """python manage.py loadconfigs BAD_DIR exits 1 and names the bad file with its errors on stderr."""
    write_config(tmp_path, small_config())
    write_config(tmp_path, small_config(model_id="acme_x", hf_model_id="acme/y"))
    done = manage("loadconfigs", str(tmp_path), database_url=subprocess_database_url())
    assert done.returncode == 1
    assert "acme_x.json: 1 error(s)" in done.stderr
    assert "[model_id_mismatch]" in done.stderr
    assert "0 created, 0 updated, 0 unchanged, 1 failed" in done.stderr
    assert not ModelConfig.objects.exists()


def test_exit_status_is_zero_for_a_dry_run_of_the_fixtures():
    """python manage.py loadconfigs --dry-run over fixtures/ exits 0 with the would-be summary."""
    done = manage("loadconfigs", "--dry-run", database_url=subprocess_database_url())
    assert done.returncode == 0, done.stderr
    assert f"{N} created, 0 updated, 0 unchanged, 0 failed. Dry run: nothing was written." in done.stdout
