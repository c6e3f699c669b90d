"""A normalized config and its canonical JSON document (the format's key order)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from registry.core import catalogue


@dataclass(frozen=True)
class LayerTypeDoc:
    """One entry of ``layer_types``; ``specs`` holds no ``parameter_count`` (it is derived)."""

    name: str
    class_name: str
    count: int
    specs: dict[str, Any]
    parameter_count: int

    @property
    def mtp(self) -> bool:
        """Whether it belongs to the multi-token-prediction module (outside total_params)."""
        return catalogue.is_mtp(self.class_name, self.specs)

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": self.class_name,
            "count": self.count,
            "specs": {**self.specs, "parameter_count": self.parameter_count},
        }


@dataclass(frozen=True)
class ConfigDoc:
    """A valid config with its derived values computed."""

    model_id: str
    hf_model_id: str
    name: str
    hidden_size: int
    num_layers: int
    vocab_size: int
    total_params: int
    total_params_formatted: str
    layer_types: tuple[LayerTypeDoc, ...]
    validated: bool
    validation_notes: str
    # Optional: absent from the document when None (a config without them dumps as before they existed).
    max_position_embeddings: int | None = None
    active_params: int | None = None
    active_params_formatted: str | None = None
    # The publisher's total and where it says so: both or neither ("" without a published total).
    published_total_params: int | None = None
    published_total_params_source: str = ""

    @property
    def mtp_params(self) -> int | None:
        """Parameters of the multi-token-prediction layer types (None without any): total_params + mtp_params is
        what the checkpoint holds."""
        rows = [layer for layer in self.layer_types if layer.mtp]
        return sum(layer.count * layer.parameter_count for layer in rows) if rows else None

    def to_document(self) -> dict[str, Any]:
        """The config as the format writes it, keys in the spec's order; optional ones only when set."""
        document: dict[str, Any] = {
            "model_id": self.model_id,
            "hf_model_id": self.hf_model_id,
            "name": self.name,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "vocab_size": self.vocab_size,
        }
        if self.max_position_embeddings is not None:
            document["max_position_embeddings"] = self.max_position_embeddings
        document["total_params"] = self.total_params
        document["total_params_formatted"] = self.total_params_formatted
        if self.active_params is not None:
            document["active_params"] = self.active_params
            document["active_params_formatted"] = self.active_params_formatted
        if (mtp := self.mtp_params) is not None:
            document["mtp_params"] = mtp
        document["layer_types"] = [layer.to_document() for layer in self.layer_types]
        if self.published_total_params is not None:
            document["published_total_params"] = self.published_total_params
            document["published_total_params_source"] = self.published_total_params_source
        document["validated"] = self.validated
        document["validation_notes"] = self.validation_notes
        return document


def merge_patch(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A stored document with a PATCH's top-level keys merged in (``layer_types`` as a whole).

    Derived values are dropped first, so they are computed afresh unless the patch gives them (and
    then they must match).
    """
    from registry.core.keys import DERIVED_TOP_LEVEL_KEYS

    base = {key: value for key, value in document.items() if key not in DERIVED_TOP_LEVEL_KEYS}
    base["layer_types"] = [
        {**layer, "specs": {k: v for k, v in layer["specs"].items() if k != "parameter_count"}}
        for layer in document["layer_types"]
    ]
    return {**base, **patch}


def dumps(document: dict[str, Any]) -> str:
    """The file text of a document: 2-space indent, non-ASCII kept, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def compact(document: dict[str, Any]) -> str:
    """The document as compact JSON text, keys in document order."""
    return orjson.dumps(document).decode()


# Bump when a validation rule changes: a config stamped with another version (``rules_stamp``) is validated
# again by loadconfigs (and re-stamped by ``manage.py revalidate``) instead of being taken as unchanged. Its
# digest, the ETag, does not change with it: it is the hash of the document alone.
# 2: reserved model_ids; 3: architectures (biases, MoE, MLA, tied heads, context length);
# 4: limits (layer types, notes length) and no control or bidi characters in names and notes;
# 5: no new rule (key lists, codes and model_id_for moved into it), bumped to be safe, as every change of
# validation.py is; 6: the 2026 architectures (multi-token prediction, one-mixer blocks, heads that divide);
# 7: hf_model_id a Hub id (ORG/NAME, import-hf's rule), the published total with its source and its warning
RULES_VERSION = "7"
# The syntax tree of validation.py and the key lists (keys.json) this version names (tests/test_rules_version.py):
# a rule changed without a new RULES_VERSION fails that test instead of letting unchanged files skip the new rule.
RULES_FINGERPRINT = "6016e5594081b0bc"


@functools.cache
def rules_stamp() -> str:
    """The rules a config is validated under, as hex: RULES_VERSION and the catalogue's shape (stored per config)."""
    shape = [
        (
            c.name,
            [(s.name, s.kind.value, s.choices) for s in c.allowed.values()],
            sorted(c.required_names),
            c.formula_text,
            c.active_formula_text,
            c.divisors,
        )
        for c in catalogue.classes()
    ]
    return hashlib.sha256(orjson.dumps([RULES_VERSION, shape])).hexdigest()


# What ``digest`` gives: SHA-256 in lowercase hex.
DIGEST_RE = re.compile(r"[0-9a-f]{64}")


def digest(document: dict[str, Any], text: str | None = None) -> str:
    """The hash of a document as served; equal documents have equal digests (a strong ETag), whatever the release.

    ``text``, when given, is ``compact(document)`` already computed.
    """
    body = text if text is not None else compact(document)
    return hashlib.sha256(body.encode()).hexdigest()


def order_specs(class_name: str, specs: dict[str, Any]) -> dict[str, Any]:
    """``specs`` in the document order of its class (storage such as jsonb may reorder keys)."""
    layer_class = catalogue.get(class_name)
    return in_key_order(specs, list(layer_class.allowed) if layer_class else [])


def in_key_order(mapping: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """``mapping`` with its keys in ``order``; keys not in it last, as they came."""
    rank = {key: i for i, key in enumerate(order)}
    return dict(sorted(mapping.items(), key=lambda kv: rank.get(kv[0], len(rank))))
