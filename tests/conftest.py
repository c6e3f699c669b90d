"""Shared builders for the tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DATA = Path(__file__).resolve().parent / "data"


def fixture_document(model_id: str) -> dict[str, Any]:
    """One of the shipped fixture files, parsed."""
    return json.loads((FIXTURES / f"{model_id}.json").read_text())


def small_config(**overrides: Any) -> dict[str, Any]:
    """A small valid config document with no derived values; override top-level keys with kwargs."""
    doc: dict[str, Any] = {
        "model_id": "acme_tiny-1",
        "hf_model_id": "acme/tiny-1",
        "name": "Acme Tiny 1",
        "hidden_size": 64,
        "num_layers": 2,
        "vocab_size": 1000,
        "layer_types": [
            {
                "name": "attention",
                "class": "GroupedQueryAttentionLayer",
                "count": 2,
                "specs": {"layer_idx": 0, "hidden_size": 64, "num_heads": 4, "num_kv_heads": 2, "head_dim": 16},
            },
            {
                "name": "feedforward",
                "class": "GatedMLPLayer",
                "count": 2,
                "specs": {"layer_idx": 0, "hidden_size": 64, "intermediate_size": 256},
            },
            {"name": "norm", "class": "NormLayer", "count": 5, "specs": {"hidden_size": 64, "has_bias": False}},
            {"name": "embedding", "class": "EmbeddingLayer", "count": 1, "specs": {"vocab_size": 1000, "hidden_size": 64}},
        ],
        "validated": False,
        "validation_notes": "",
    }
    doc.update(copy.deepcopy(overrides))
    return doc


@pytest.fixture
def config_data() -> dict[str, Any]:
    return small_config()


@pytest.fixture
def loaded_fixtures(db) -> None:
    """The four shipped configs in the database, through loadconfigs."""
    from django.core.management import call_command

    call_command("loadconfigs", str(FIXTURES), verbosity=0)
