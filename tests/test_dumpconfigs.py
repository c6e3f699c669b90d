"""dumpconfigs: stored configs written as <model_id>.json files in the format."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registry.services import config_upsert
from tests.conftest import FIXTURE_IDS, FIXTURES, SPEC_GQA_SPEC_ORDER, SPEC_KEY_ORDER, N, small_config

pytestmark = pytest.mark.django_db

TOP_LEVEL_ORDER = SPEC_KEY_ORDER


def dump(*args: str) -> str:
    out = StringIO()
    call_command("dumpconfigs", *args, stdout=out)
    return out.getvalue()


def test_writes_every_config_to_the_output_folder(loaded_fixtures, tmp_path):
    """--output receives one <model_id>.json per config, identical to the fixture it was loaded from."""
    out = dump("--output", str(tmp_path / "new"))
    assert f"Wrote {N} config file(s) to {tmp_path / 'new'}" in out
    names = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert names == sorted(f"{m}.json" for m in FIXTURE_IDS)
    for name in names:
        assert (tmp_path / "new" / name).read_bytes() == (FIXTURES / name).read_bytes()


def test_writes_to_the_fixtures_setting_by_default(loaded_fixtures, tmp_path, settings):
    """With no --output, files go to REGISTRY_FIXTURES_DIR."""
    settings.REGISTRY_FIXTURES_DIR = tmp_path
    dump()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{m}.json" for m in FIXTURE_IDS)


def test_writes_only_the_model_ids_given(loaded_fixtures, tmp_path):
    """MODEL_ID arguments select configs."""
    wanted = ["mistralai_Mistral-7B-v0.1", "TinyLlama_TinyLlama-1.1B-Chat-v1.0"]
    out = dump("--output", str(tmp_path), *wanted, "--verbosity", "2")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{m}.json" for m in wanted)
    assert str(tmp_path / "mistralai_Mistral-7B-v0.1.json") in out
    assert "Wrote 2 config file(s)" in out


def test_an_unknown_model_id_is_a_command_error_and_writes_nothing(loaded_fixtures, tmp_path):
    """Asking for an id that is not stored names it and writes no file."""
    with pytest.raises(CommandError, match="No config with model_id: acme_nope"):
        dump("--output", str(tmp_path / "out"), "mistralai_Mistral-7B-v0.1", "acme_nope")
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_file_is_a_command_error(loaded_fixtures, tmp_path):
    """--output must be a folder."""
    target = tmp_path / "file.json"
    target.write_text("{}")
    with pytest.raises(CommandError, match="is not a folder"):
        dump("--output", str(target))
    assert target.read_text() == "{}"


def test_an_empty_registry_writes_no_files(tmp_path):
    """No configs, no files, and a count of zero."""
    out = dump("--output", str(tmp_path))
    assert "Wrote 0 config file(s)" in out
    assert list(tmp_path.iterdir()) == []


def test_file_text_is_in_the_format(tmp_path):
    """A config stored from loose input is written in key order, with 2-space indent and a trailing newline."""
    data = small_config()
    data = dict(reversed(list(data.items())))  # input key order does not matter
    config_upsert(data=data, source="api")
    dump("--output", str(tmp_path))
    text = (tmp_path / "acme_tiny-1.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    doc = json.loads(text)
    assert list(doc) == TOP_LEVEL_ORDER
    assert list(doc["layer_types"][0]) == ["name", "class", "count", "specs"]
    assert list(doc["layer_types"][0]["specs"]) == SPEC_GQA_SPEC_ORDER
    assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    assert text.splitlines()[1] == '  "model_id": "acme_tiny-1",'
    assert (doc["total_params"], doc["total_params_formatted"]) == (187200, "187.2K")


def test_non_ascii_text_is_written_as_is(tmp_path):
    """Names and notes keep their characters (UTF-8, not \\u escapes)."""
    config_upsert(data=small_config(name="Acme Tiny — ünï", validation_notes="✓ checked"), source="api")
    dump("--output", str(tmp_path))
    raw = (tmp_path / "acme_tiny-1.json").read_bytes()
    assert "Acme Tiny — ünï".encode() in raw
    assert "✓ checked".encode() in raw
    assert b"\\u" not in raw


def test_a_dumped_file_loads_back_unchanged(tmp_path):
    """dumpconfigs output is loadconfigs input: loading it back changes nothing."""
    config_upsert(data=small_config(), source="api")
    dump("--output", str(tmp_path))
    out = StringIO()
    call_command("loadconfigs", str(tmp_path), "--no-progress", stdout=out)
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in out.getvalue()


PREVIOUS = FIXTURES.parent / "tests" / "data" / "previous"


@pytest.mark.parametrize("path", sorted(PREVIOUS.glob("*.json")), ids=lambda p: p.stem)
def test_a_file_valid_before_the_2026_catalogue_loads_and_dumps_byte_for_byte(path, tmp_path):
    """Files written before the 2026 classes, specs and mtp_params (DeepSeek-V3 as shipped before its import wrote
    the multi-token-prediction layer types) still load, and dump unchanged."""
    call_command("loadconfigs", str(path), "--no-progress", stdout=StringIO())
    dump("--output", str(tmp_path), path.stem)
    assert (tmp_path / path.name).read_bytes() == path.read_bytes()
