"""The client's offline rules (registry_client.validation) against the server's validator, and directory mode."""

from __future__ import annotations

import copy
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from registry_client import NotFound, ValidationFailed, load_model_config, structural_issues
from registry_client import validation as client_validation

from registry.core import validate_config
from registry.core.files import parse_config_bytes
from tests.conftest import FIXTURE_IDS, FIXTURES, fixture_document

ROOT = Path(__file__).resolve().parent.parent
LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
# Top-level keys whose checks need the catalogue (whether the config has experts or multi-token prediction).
CATALOGUE_KEYS = ("active_params", "active_params_formatted", "mtp_params")


def _set(path: str, value: Any):
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str):
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


# One broken document per structural rule (and some the client leaves to the server), from the Llama fixture.
BROKEN = {
    "not an object": lambda doc: doc.clear() or doc.update({"$": []}),
    "unknown key": _set("colour", "blue"),
    "missing name": _drop("name"),
    "missing layer_types": _drop("layer_types"),
    "model_id not a string": _set("model_id", 7),
    "model_id characters": _set("model_id", "meta llama"),
    "model_id reserved": _set("model_id", "validate"),
    "model_id dots": _set("model_id", ".."),
    "model_id mismatch": _set("model_id", "meta-llama_Other"),
    "model_id too long": _set("model_id", "x" * 201),
    "hf_model_id blank": _set("hf_model_id", "  "),
    "hf_model_id not ORG/NAME": _set("hf_model_id", "meta-llama/Llama/3"),
    "published total a string": _set("published_total_params", "70B"),
    "published total without source": _drop("published_total_params_source"),
    "source without published total": _drop("published_total_params"),
    "source too long": _set("published_total_params_source", "x" * 501),
    "name with NUL": _set("name", "a\x00b"),
    "name with bidi control": _set("name", "a\u202eb"),
    "hidden_size zero": _set("hidden_size", 0),
    "num_layers a string": _set("num_layers", "80"),
    "vocab_size a bool": _set("vocab_size", True),
    "vocab_size too large": _set("vocab_size", 2**63),
    "vocab_size a float": _set("vocab_size", 128256.0),
    "context negative": _set("max_position_embeddings", -1),
    "validated a string": _set("validated", "yes"),
    "notes not a string": _set("validation_notes", 5),
    "notes control": _set("validation_notes", "a\x07b"),
    "notes too long": _set("validation_notes", "x" * 10_001),
    "total_params a string": _set("total_params", "70B"),
    "total_params_formatted too long": _set("total_params_formatted", "x" * 33),
    "layer_types not a list": _set("layer_types", {}),
    "layer_types empty": _set("layer_types", []),
    "too many layer types": lambda doc: doc.update(layer_types=doc["layer_types"] * 103),
    "layer type not an object": _set("layer_types.1", "attention"),
    "layer type unknown key": _set("layer_types.0.colour", "red"),
    "layer type missing specs": _drop("layer_types.0.specs"),
    "layer name duplicate": lambda doc: doc["layer_types"][1].update(name=doc["layer_types"][0]["name"]),
    "layer name too long": _set("layer_types.0.name", "n" * 101),
    "layer class not a string": _set("layer_types.0.class", 3),
    "layer count zero": _set("layer_types.0.count", 0),
    "specs not an object": _set("layer_types.0.specs", []),
    # Rules of the catalogue: the server's alone; the client must report nothing false about them.
    "unknown class": _set("layer_types.0.class", "NoSuchLayer"),
    "spec not an integer": _set("layer_types.1.specs.num_heads", "64"),
    "heads not divisible": _set("layer_types.1.specs.num_kv_heads", 7),
    "stale total": _set("total_params", 1),
    "active params without experts": _set("active_params", "x"),
    "several at once": lambda doc: doc.update(hidden_size=-1, colour=1, layer_types=[{"name": 1}]),
}


CATALOGUE_CASES = (
    "unknown class",
    "spec not an integer",
    "heads not divisible",
    "stale total",
    "active params without experts",
)


def _pairs(issues: Any) -> set[tuple[str, str]]:
    return {(i["loc"], i["code"]) if isinstance(i, dict) else (i.loc, i.code) for i in issues}


def _broken(case: str) -> dict[str, Any]:
    doc = copy.deepcopy(fixture_document(LLAMA))
    BROKEN[case](doc)
    return doc


def _agree(doc: Any, filename: str | None = None) -> set[tuple[str, str]]:
    """Asserts the client's structural issues are exactly the server's structural ones; returns them."""
    client = _pairs(structural_issues(doc, filename=filename))
    server = _pairs(validate_config(doc, filename=filename).errors)
    assert client <= server, f"the client reports what the server does not: {client - server}"
    structural = {
        (loc, code)
        for loc, code in server
        if code in client_validation.CODES and ".specs." not in loc and loc not in CATALOGUE_KEYS
    }
    assert client == structural, f"the server reports what the client misses: {structural - client}"
    return client


@pytest.mark.parametrize("model_id", FIXTURE_IDS)
def test_every_fixture_passes_both(model_id):
    doc = fixture_document(model_id)
    assert structural_issues(doc, filename=f"{model_id}.json") == []
    assert validate_config(doc, filename=f"{model_id}.json").ok


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_client_and_the_server_agree_on_a_broken_document(case):
    found = _agree(_broken(case))
    if case not in CATALOGUE_CASES:
        assert found, "a structural case the client does not catch"


def test_they_agree_on_the_file_name():
    assert _agree(fixture_document(LLAMA), filename="other.json") == {("model_id", "filename_mismatch")}


def test_the_cases_cover_every_structural_code():
    """Every code the client reports is met by at least one case (so none is untested against the server)."""
    met = {code for case in BROKEN for _, code in _pairs(structural_issues(_broken(case)))}
    assert client_validation.CODES - met == {"filename_mismatch"}


def test_the_client_ships_the_servers_key_lists():
    """The client's keys.json is the server's file: a link to it in the repository, its content in the package."""
    from registry.core import keys

    server_file = Path(keys.__file__).with_name("keys.json")
    assert (ROOT / "client/src/registry_client/keys.json").resolve() == server_file.resolve()
    assert resources.files("registry_client").joinpath("keys.json").read_bytes() == server_file.read_bytes()


def test_the_clients_lists_are_the_servers():
    """The key lists and limits the structural rules use are the server's (registry.core), value for value."""
    from registry.core import keys
    from registry.core import validation as server

    assert client_validation.TOP_LEVEL_KEYS == keys.TOP_LEVEL_KEYS
    assert client_validation.REQUIRED_TOP_LEVEL == keys.REQUIRED_TOP_LEVEL
    assert client_validation.LAYER_TYPE_KEYS == keys.LAYER_TYPE_KEYS
    assert client_validation.RESERVED_MODEL_IDS == keys.RESERVED_MODEL_IDS
    for name in ("MAX_ID_LENGTH", "MAX_NAME_LENGTH", "MAX_LAYER_NAME_LENGTH", "MAX_FORMATTED_LENGTH",
                 "MAX_LAYER_TYPES", "MAX_NOTES_LENGTH", "MAX_SOURCE_LENGTH"):  # fmt: skip
        assert getattr(client_validation, name) == getattr(server, name), name
    assert client_validation.NAME_CONTROL_RE.pattern == server.NAME_CONTROL_RE.pattern
    assert client_validation.NOTES_CONTROL_RE.pattern == server.NOTES_CONTROL_RE.pattern
    assert client_validation.HF_ID_RE.pattern == server.HF_ID_RE.pattern
    assert client_validation.BIGINT_MAX == 2**63 - 1


@pytest.mark.parametrize(
    "raw",
    [b"", b"  \n", b"\xff{}", b"{", b'{"a": 1, "a": 2}', b'{"layer_types": [{"specs": {"x": 1, "x": 1}}]}', b"[]"],
)
def test_the_client_reads_a_file_as_the_server_does(raw):
    """Unreadable JSON gets the server's loc and code (not_utf8, empty_file, invalid_json, duplicate_key)."""
    value, issue = client_validation.parse_document(raw)
    server_value, server_issue = parse_config_bytes(raw)
    assert (issue and (issue["loc"], issue["code"])) == (server_issue and (server_issue.loc, server_issue.code))
    assert value == server_value


# ---- directory mode without a server -----------------------------------------------------------------------------


@pytest.fixture
def no_server(monkeypatch):
    monkeypatch.delenv("REGISTRY_URL", raising=False)


@pytest.mark.parametrize("model_id", FIXTURE_IDS)
def test_directory_mode_loads_the_projects_fixtures(no_server, model_id):
    assert load_model_config(model_id, directory=FIXTURES) == json.loads((FIXTURES / f"{model_id}.json").read_text())


def test_directory_mode_refuses_a_broken_file_with_its_path_and_code(no_server, tmp_path):
    doc = _broken("layer count zero")
    path = tmp_path / f"{LLAMA}.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValidationFailed) as caught:
        load_model_config(LLAMA, directory=tmp_path)
    assert caught.value.file == str(path) and str(path) in str(caught.value)
    assert [(i["loc"], i["code"]) for i in caught.value.errors] == [("layer_types[0].count", "not_positive")]


def test_directory_mode_refuses_a_file_not_named_after_its_model_id(no_server, tmp_path):
    (tmp_path / "acme_other.json").write_bytes((FIXTURES / f"{LLAMA}.json").read_bytes())
    with pytest.raises(ValidationFailed) as caught:
        load_model_config("acme_other", directory=tmp_path)
    assert caught.value.codes == ["filename_mismatch"]


def test_directory_mode_refuses_unreadable_files_unread(no_server, tmp_path):
    (tmp_path / "acme_dup.json").write_text('{"model_id": "a", "model_id": "b"}')
    with pytest.raises(ValidationFailed) as caught:
        load_model_config("acme_dup", directory=tmp_path)
    assert [(i["loc"], i["code"]) for i in caught.value.errors] == [("model_id", "duplicate_key")]
    os.mkfifo(tmp_path / "acme_fifo.json")  # open().read() would block forever
    with pytest.raises(ValidationFailed) as caught:
        load_model_config("acme_fifo", directory=tmp_path)
    assert caught.value.codes == ["unreadable"]
    with pytest.raises(NotFound):
        load_model_config("acme_missing", directory=tmp_path)
    with pytest.raises(ValidationFailed):
        load_model_config("../fixtures/x", directory=tmp_path)


def test_the_client_imports_no_django():
    """The client stands alone: importing it in a fresh interpreter loads no django (nor the registry)."""
    import subprocess
    import sys

    code = (
        "import sys, registry_client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'registry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path("/"), check=True)
    assert out.stdout.strip() == "[]"
