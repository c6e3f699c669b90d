"""Canonical documents: the format's key order, the file text, and the content digest."""

from __future__ import annotations

import json

import pytest

from registry.core import digest, dumps
from registry.core.document import order_specs
from tests.conftest import (
    FIXTURES,
    PUBLISHED,
    SPEC_EXAMPLE,
    SPEC_GQA_SPEC_ORDER,
    SPEC_KEY_ORDER,
    canonical,
    fixture_document,
    small_config,
)

TOP_LEVEL_ORDER = SPEC_KEY_ORDER


def test_document_keys_follow_the_format():
    """Top-level keys, layer keys and spec keys come in the format's order; parameter_count is last."""
    doc = small_config()
    # Scramble every level's key order on the way in.
    scrambled = dict(reversed(list(doc.items())))
    scrambled["layer_types"] = [
        {**dict(reversed(list(lt.items()))), "specs": dict(reversed(list(lt["specs"].items())))}
        for lt in doc["layer_types"]
    ]
    out = canonical(scrambled)
    assert list(out) == TOP_LEVEL_ORDER
    assert [list(lt) for lt in out["layer_types"]] == [["name", "class", "count", "specs"]] * len(doc["layer_types"])
    assert list(out["layer_types"][0]["specs"]) == SPEC_GQA_SPEC_ORDER
    assert list(out["layer_types"][3]["specs"]) == ["vocab_size", "hidden_size", "parameter_count"]


def test_document_fills_in_the_derived_values():
    """A document written from input without derived values carries them."""
    out = canonical(small_config())
    assert out["total_params"] == 187200
    assert out["total_params_formatted"] == "187.2K"
    assert [lt["specs"]["parameter_count"] for lt in out["layer_types"]] == [12288, 49152, 64, 64000, 0]


@pytest.mark.parametrize("model_id", sorted(PUBLISHED))
def test_each_fixture_file_is_its_own_canonical_text(model_id):
    """Validating a fixture and writing it back reproduces the file byte for byte."""
    raw = (FIXTURES / f"{model_id}.json").read_bytes()
    assert dumps(canonical(json.loads(raw))).encode("utf-8") == raw


def test_the_specs_worked_example_is_its_own_canonical_text():
    """The format's example is already in canonical form."""
    raw = SPEC_EXAMPLE.read_bytes()
    assert dumps(canonical(json.loads(raw))).encode("utf-8") == raw


def test_dumps_writes_two_space_indent_non_ascii_and_a_trailing_newline():
    """File text: 2-space indent, characters kept as they are, one trailing newline."""
    text = dumps({"name": "Ünïcode ✓", "layer_types": [{"count": 1}]})
    assert text == '{\n  "name": "Ünïcode ✓",\n  "layer_types": [\n    {\n      "count": 1\n    }\n  ]\n}\n'


def test_digest_is_equal_for_equal_documents_and_differs_otherwise():
    """The digest is a stable SHA-256 of the content: same document, same digest; any change, another."""
    doc = fixture_document("mistralai_Mistral-7B-v0.1")
    assert digest(doc) == digest(json.loads(json.dumps(doc)))
    assert len(digest(doc)) == 64 and int(digest(doc), 16) >= 0
    changed = json.loads(json.dumps(doc))
    changed["validation_notes"] += "."
    assert digest(changed) != digest(doc)
    changed = json.loads(json.dumps(doc))
    changed["layer_types"][2]["count"] += 1
    assert digest(changed) != digest(doc)


def test_digests_of_the_fixtures_are_distinct():
    """Different configs never share a digest."""
    assert len({digest(fixture_document(m)) for m in PUBLISHED}) == len(PUBLISHED)


def test_order_specs_restores_document_order():
    """Specs read back from storage (jsonb sorts keys) return to the class's order; unknown keys go last."""
    stored = {"num_kv_heads": 8, "head_dim": 128, "hidden_size": 4096, "zzz": 1, "layer_idx": 0, "num_heads": 32}
    assert list(order_specs("GroupedQueryAttentionLayer", stored)) == [
        "layer_idx",
        "hidden_size",
        "num_heads",
        "num_kv_heads",
        "head_dim",
        "zzz",
    ]
    assert order_specs("GroupedQueryAttentionLayer", stored) == stored


def test_order_specs_of_an_unknown_class_keeps_the_specs():
    """A class outside the catalogue loses no spec."""
    assert order_specs("NoSuchLayer", {"b": 1, "a": 2}) == {"b": 1, "a": 2}
