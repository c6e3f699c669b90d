"""The core's diff engine: changed paths of a revision, and the comparison of two configs (no database)."""

from __future__ import annotations

import random

from registry.core import validate_config
from registry.core.diff import changed_paths, compare, flat_diff, in_order
from tests.conftest import fixture_document, small_config

LLAMA_70B = "meta-llama_Llama-3.3-70B-Instruct"
LLAMA_405B = "meta-llama_Llama-3.1-405B-Instruct"
MISTRAL = "mistralai_Mistral-7B-v0.1"
MIXTRAL = "mistralai_Mixtral-8x7B-v0.1"


def stored(document: dict) -> dict:
    """``document`` with its keys shuffled, as jsonb gives it back."""
    rng = random.Random(7)

    def shuffled(mapping: dict) -> dict:
        items = list(mapping.items())
        rng.shuffle(items)
        return dict(items)

    out = shuffled(document)
    out["layer_types"] = [shuffled({**lt, "specs": shuffled(lt["specs"])}) for lt in document["layer_types"]]
    return out


# ---- flat diff (the history's changed paths) ------------------------------------------------------------


def test_flat_diff_lists_changed_values_by_path():
    """The diff names each changed value by a path keyed on layer names; a reorder is one 'order' change."""
    before = small_config()
    after = small_config(name="Renamed")
    after["layer_types"][1]["specs"]["intermediate_size"] = 512
    after["layer_types"][0], after["layer_types"][1] = after["layer_types"][1], after["layer_types"][0]
    assert flat_diff(before, after) == [
        ("name", "Acme Tiny 1", "Renamed"),
        (
            "layer_types (order)",
            "attention, feedforward, norm, embedding, lm_head",
            "feedforward, attention, norm, embedding, lm_head",
        ),
        ("layer_types[feedforward].specs.intermediate_size", 256, 512),
    ]
    assert ("model_id", None, "acme_tiny-1") in flat_diff(None, before)


def test_changed_paths_of_a_creation_and_a_deletion_cover_the_whole_document():
    """A creation (nothing before) and a deletion (nothing after) change every path, in the format's order."""
    document = small_config()
    paths = changed_paths(None, document)
    assert paths == changed_paths(document, None)
    assert paths[:3] == ["model_id", "hf_model_id", "name"]
    assert "layer_types[attention].specs.num_kv_heads" in paths
    assert changed_paths(document, document) == []


def test_stored_key_order_is_no_change():
    """A document read back with its keys reordered (jsonb) differs from the original in nothing."""
    document = fixture_document(LLAMA_70B)
    assert changed_paths(document, stored(document)) == []
    assert in_order(stored(document)) == document
    assert list(in_order(stored(document))) == list(document)


# ---- compare ------------------------------------------------------------------------------------------


def test_compare_llama_70b_with_405b():
    """Same layer types, wider and deeper: every layer type changed, with spec differences and deltas."""
    a, b = fixture_document(LLAMA_70B), fixture_document(LLAMA_405B)
    h = {"key": "hidden_size", "a": 8192, "b": 16384}
    assert compare(a, b) == {
        "values": [
            {"key": "model_id", "a": LLAMA_70B, "b": LLAMA_405B},
            {"key": "hf_model_id", "a": "meta-llama/Llama-3.3-70B-Instruct", "b": "meta-llama/Llama-3.1-405B-Instruct"},
            {"key": "name", "a": "Meta Llama 3.3 70B Instruct", "b": "Meta Llama 3.1 405B Instruct"},
            h,
            {"key": "num_layers", "a": 80, "b": 126},
            {"key": "published_total_params", "a": 70_600_000_000, "b": 405_000_000_000},
            {
                "key": "published_total_params_source",
                "a": a["published_total_params_source"],
                "b": b["published_total_params_source"],
            },
            {"key": "validation_notes", "a": a["validation_notes"], "b": b["validation_notes"]},
        ],
        "layer_types": {
            "added": [],
            "removed": [],
            "changed": [
                {
                    "name": "attention",
                    "fields": [{"key": "count", "a": 80, "b": 126}],
                    "specs": [h, {"key": "num_heads", "a": 64, "b": 128}],
                    "parameter_count": {"a": 150994944, "b": 570425344, "delta": 419430400},
                    "subtotal": {"a": 12079595520, "b": 71873593344, "delta": 59793997824},
                },
                {
                    "name": "feedforward",
                    "fields": [{"key": "count", "a": 80, "b": 126}],
                    "specs": [h, {"key": "intermediate_size", "a": 28672, "b": 53248}],
                    "parameter_count": {"a": 704643072, "b": 2617245696, "delta": 1912602624},
                    "subtotal": {"a": 56371445760, "b": 329772957696, "delta": 273401511936},
                },
                {
                    "name": "norm",
                    "fields": [{"key": "count", "a": 161, "b": 253}],
                    "specs": [h],
                    "parameter_count": {"a": 8192, "b": 16384, "delta": 8192},
                    "subtotal": {"a": 1318912, "b": 4145152, "delta": 2826240},
                },
                {
                    "name": "embedding",
                    "fields": [],
                    "specs": [h],
                    "parameter_count": {"a": 1050673152, "b": 2101346304, "delta": 1050673152},
                    "subtotal": {"a": 1050673152, "b": 2101346304, "delta": 1050673152},
                },
                {
                    "name": "lm_head",
                    "fields": [],
                    "specs": [h],
                    "parameter_count": {"a": 1050673152, "b": 2101346304, "delta": 1050673152},
                    "subtotal": {"a": 1050673152, "b": 2101346304, "delta": 1050673152},
                },
            ],
        },
        "total_params": {"a": 70553706496, "b": 405853388800, "delta": 335299682304},
    }


def test_compare_dense_with_experts_gives_active_params():
    """Mistral 7B against Mixtral 8x7B: the feedforward changes class, and active_params compares per-token
    parameters (a dense config's total) against Mixtral's published 12.9B."""
    result = compare(fixture_document(MISTRAL), fixture_document(MIXTRAL))
    feedforward = next(c for c in result["layer_types"]["changed"] if c["name"] == "feedforward")
    assert feedforward == {
        "name": "feedforward",
        "fields": [{"key": "class", "a": "GatedMLPLayer", "b": "MoELayer"}],
        "specs": [
            {"key": "intermediate_size", "a": 14336, "b": None},
            {"key": "num_experts", "a": None, "b": 8},
            {"key": "num_experts_per_tok", "a": None, "b": 2},
            {"key": "moe_intermediate_size", "a": None, "b": 14336},
        ],
        "parameter_count": {"a": 176160768, "b": 1409318912, "delta": 1233158144},
        "subtotal": {"a": 5637144576, "b": 45098205184, "delta": 39461060608},
    }
    assert {"key": "max_position_embeddings", "a": None, "b": 32768} in result["values"]
    assert result["total_params"] == {"a": 7241732096, "b": 46702792704, "delta": 39461060608}
    assert result["active_params"] == {"a": 7241732096, "b": 12879925248, "delta": 5638193152}
    # The deltas of the layer types add up to the total's.
    assert sum(c["subtotal"]["delta"] for c in result["layer_types"]["changed"]) == result["total_params"]["delta"]


def test_compare_matches_layer_types_by_name():
    """A layer type only in b is added, only in a removed; a reorder alone changes nothing."""
    a = validate_config(small_config()).config.to_document()
    b_input = small_config()
    b_input["layer_types"].reverse()
    b_input["layer_types"] = [lt for lt in b_input["layer_types"] if lt["name"] != "lm_head"]
    b_input["layer_types"].append(
        {"name": "head", "class": "OutputHeadLayer", "count": 1, "specs": {"vocab_size": 1000, "hidden_size": 64}}
    )
    b = validate_config(b_input).config.to_document()
    result = compare(a, b)
    assert result["values"] == []
    assert result["layer_types"] == {
        "added": [
            {"name": "head", "class": "OutputHeadLayer", "count": 1, "parameter_count": 64000, "subtotal": 64000}
        ],
        "removed": [{"name": "lm_head", "class": "OutputHeadLayer", "count": 1, "parameter_count": 0, "subtotal": 0}],
        "changed": [],
    }
    assert result["total_params"]["delta"] == 64000
    assert "active_params" not in result


def test_compare_a_document_with_itself_is_empty():
    """No differences, zero deltas, whatever order jsonb gave the keys."""
    document = fixture_document(MIXTRAL)
    assert compare(document, stored(document)) == {
        "values": [],
        "layer_types": {"added": [], "removed": [], "changed": []},
        "total_params": {"a": 46702792704, "b": 46702792704, "delta": 0},
        "active_params": {"a": 12879925248, "b": 12879925248, "delta": 0},
    }
