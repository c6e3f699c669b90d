"""The format's structural rules, for documents checked without a server.

The server's validator (the registry's ``registry.core.validation``) also applies the catalogue's rules (each
class's specs, parameter counts, divisibility, experts); this module checks only what needs no catalogue, with
the same locs and codes. tests/test_client_validation.py runs both on the fixtures and on broken documents:
every issue reported here is one the server reports, and the server reports nothing structural this misses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from importlib import resources
from typing import Any

from registry_client.types import Issue

# The format's key lists: this package's keys.json is the server's file (a link to registry/core/keys.json in
# the repository, whose content a wheel carries).
_KEYS = json.loads(resources.files("registry_client").joinpath("keys.json").read_bytes())
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(_KEYS["top_level_keys"])
REQUIRED_TOP_LEVEL: tuple[str, ...] = tuple(_KEYS["required_top_level"])
LAYER_TYPE_KEYS: tuple[str, ...] = tuple(_KEYS["layer_type_keys"])
RESERVED_MODEL_IDS: frozenset[str] = frozenset(_KEYS["reserved_model_ids"])
# The server's limits and patterns, rules of its validation.py (tests/test_client_validation.py holds them equal).
MODEL_ID_RE = re.compile(r"[A-Za-z0-9._-]+")
HF_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_ID_LENGTH = MAX_NAME_LENGTH = 200
MAX_LAYER_NAME_LENGTH = 100
MAX_FORMATTED_LENGTH = 32
MAX_LAYER_TYPES = 512
MAX_NOTES_LENGTH = 10_000
MAX_SOURCE_LENGTH = 500
BIGINT_MAX = 2**63 - 1
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
NAME_CONTROL_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
NOTES_CONTROL_RE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")

# The codes this module reports; the server's other codes need its catalogue.
CODES = frozenset(
    {
        "not_an_object",
        "not_a_list",
        "not_an_integer",
        "not_a_boolean",
        "not_a_string",
        "not_positive",
        "too_large",
        "blank",
        "too_long",
        "too_many",
        "control_character",
        "nul_character",
        "required",
        "unknown_key",
        "empty",
        "duplicate_name",
        "model_id_characters",
        "model_id_reserved",
        "model_id_mismatch",
        "filename_mismatch",
        "invalid_hf_model_id",
        "source_without_published_total",
        "missing_source",
    }
)


# JSON's kinds as json.loads gives them, bool before int (a bool is an int to isinstance).
_KINDS: tuple[tuple[type[Any], str], ...] = (
    (type(None), "null"),
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def _kind(value: Any) -> str:
    return next((name for kind, name in _KINDS if isinstance(value, kind)), type(value).__name__)


class _Check:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def error(self, loc: str, code: str, msg: str) -> None:
        self.issues.append({"loc": loc, "code": code, "msg": msg})

    def integer(self, loc: str, value: Any) -> bool:
        """Whether ``value`` is a positive integer that fits a bigint (an issue when not)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(loc, "not_an_integer", f"expected a positive integer, got {_kind(value)}")
        elif value < 1:
            self.error(loc, "not_positive", f"expected a positive integer, got {value}")
        elif value > BIGINT_MAX:
            self.error(loc, "too_large", f"expected an integer of at most {BIGINT_MAX}, got {value}")
        else:
            return True
        return False

    def string(
        self, loc: str, value: Any, *, max_length: int, blank: bool = False, controls: re.Pattern[str] | None = None
    ) -> str | None:
        if not isinstance(value, str):
            self.error(loc, "not_a_string", f"expected a string, got {_kind(value)}")
            return None
        if "\x00" in value:
            self.error(loc, "nul_character", "expected text without NUL (\\u0000) characters")
            return None
        if not blank and not value.strip():
            self.error(loc, "blank", "expected a non-empty string")
            return None
        if len(value) > max_length:
            self.error(loc, "too_long", f"expected at most {max_length} characters, got {len(value)}")
            return None
        found = controls.search(value) if controls is not None else None
        if found is not None:
            self.error(
                loc,
                "control_character",
                f"expected no control or bidirectional-control characters, got U+{ord(found.group()):04X}",
            )
            return None
        return value

    def unknown_keys(self, prefix: str, obj: Mapping[str, Any], allowed: Collection[str]) -> None:
        for key in obj:
            if key not in allowed:
                self.error(f"{prefix}{key}", "unknown_key", f"unknown key {key!r}; allowed keys: {', '.join(allowed)}")


def structural_issues(data: Any, *, filename: str | None = None) -> list[Issue]:
    """Every structural problem of a config document (no catalogue rules), as the server words its locs and codes.

    ``filename``, when given, must be ``<model_id>.json``.
    """
    check = _Check()
    if not isinstance(data, dict):
        check.error("$", "not_an_object", f"expected a JSON object at the top level, got {_kind(data)}")
        return check.issues
    check.unknown_keys("", data, TOP_LEVEL_KEYS)
    for key in REQUIRED_TOP_LEVEL:
        if key not in data:
            check.error(key, "required", f"{key!r} is required")
    model_id = hf_model_id = None
    if "model_id" in data:
        model_id = check.string("model_id", data["model_id"], max_length=MAX_ID_LENGTH)
        if model_id is not None and not MODEL_ID_RE.fullmatch(model_id):
            check.error("model_id", "model_id_characters", "expected only the characters A-Za-z0-9._- in model_id")
            model_id = None
        elif model_id is not None and (model_id in RESERVED_MODEL_IDS or not model_id.strip(".")):
            check.error("model_id", "model_id_reserved", f"expected a model_id other than {model_id!r}")
            model_id = None
    if "hf_model_id" in data:
        hf_model_id = check.string("hf_model_id", data["hf_model_id"], max_length=MAX_ID_LENGTH)
        if hf_model_id is not None and not HF_ID_RE.fullmatch(hf_model_id):
            check.error("hf_model_id", "invalid_hf_model_id", f"expected a Hub id ORG/NAME, got {hf_model_id!r}")
            hf_model_id = None
    if "name" in data:
        check.string("name", data["name"], max_length=MAX_NAME_LENGTH, controls=NAME_CONTROL_RE)
    if model_id is not None and hf_model_id is not None and model_id != hf_model_id.replace("/", "_"):
        expected = hf_model_id.replace("/", "_")
        check.error("model_id", "model_id_mismatch", f"expected hf_model_id with '/' replaced by '_': {expected!r}")
    if filename is not None and model_id is not None and filename != f"{model_id}.json":
        check.error("model_id", "filename_mismatch", f"expected the file to be named {model_id + '.json'!r}")
    for key in ("hidden_size", "num_layers", "vocab_size"):
        if key in data:
            check.integer(key, data[key])
    if data.get("max_position_embeddings") is not None:
        check.integer("max_position_embeddings", data["max_position_embeddings"])
    if "validated" in data and not isinstance(data["validated"], bool):
        check.error("validated", "not_a_boolean", f"expected true or false, got {_kind(data['validated'])}")
    if data.get("validation_notes") is not None:
        check.string(
            "validation_notes",
            data["validation_notes"],
            max_length=MAX_NOTES_LENGTH,
            blank=True,
            controls=NOTES_CONTROL_RE,
        )
    _published(check, data)
    if "total_params" in data:
        check.integer("total_params", data["total_params"])
    if "total_params_formatted" in data:
        check.string("total_params_formatted", data["total_params_formatted"], max_length=MAX_FORMATTED_LENGTH)
    if "layer_types" in data:
        _layer_types(check, data["layer_types"])
    return check.issues


def _published(check: _Check, data: Mapping[str, Any]) -> None:
    """The published total and its source: both or neither (null, absent or "" is neither)."""
    published = data.get("published_total_params")
    valid = published is not None and check.integer("published_total_params", published)
    source = data.get("published_total_params_source")
    if source not in (None, ""):
        text = check.string(
            "published_total_params_source", source, max_length=MAX_SOURCE_LENGTH, controls=NAME_CONTROL_RE
        )
        if text and published is None:
            check.error(
                "published_total_params_source",
                "source_without_published_total",
                "expected a published_total_params for this source, or no source",
            )
    elif valid:
        check.error("published_total_params_source", "missing_source", "expected where the published total comes from")


def _layer_types(check: _Check, value: Any) -> None:
    if not isinstance(value, list):
        check.error("layer_types", "not_a_list", f"expected a list of layer types, got {_kind(value)}")
        return
    if not value:
        check.error("layer_types", "empty", "expected at least one layer type")
        return
    if len(value) > MAX_LAYER_TYPES:
        check.error("layer_types", "too_many", f"expected at most {MAX_LAYER_TYPES} layer types, got {len(value)}")
        return
    seen: dict[str, int] = {}
    for i, item in enumerate(value):
        loc = f"layer_types[{i}]"
        if not isinstance(item, dict):
            check.error(loc, "not_an_object", f"expected a layer type object, got {_kind(item)}")
            continue
        check.unknown_keys(f"{loc}.", item, LAYER_TYPE_KEYS)
        for key in LAYER_TYPE_KEYS:
            if key not in item:
                check.error(f"{loc}.{key}", "required", f"{key!r} is required")
        if "name" in item:
            name = check.string(f"{loc}.name", item["name"], max_length=MAX_LAYER_NAME_LENGTH, controls=NAME_CONTROL_RE)
            if name is not None and name in seen:
                check.error(f"{loc}.name", "duplicate_name", f"{name!r} is also layer_types[{seen[name]}]")
            elif name is not None:
                seen[name] = i
        if "class" in item:
            check.string(f"{loc}.class", item["class"], max_length=MAX_LAYER_NAME_LENGTH)
        if "count" in item:
            check.integer(f"{loc}.count", item["count"])
        if "specs" in item and not isinstance(item["specs"], dict):
            check.error(f"{loc}.specs", "not_an_object", f"expected an object of specs, got {_kind(item['specs'])}")


class _Repeats(dict[str, Any]):
    """An object whose text gives a key more than once (``key``, ``times``)."""

    key: str
    times: int


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    counts: dict[str, int] = {}
    for key, _ in pairs:
        counts[key] = counts.get(key, 0) + 1
    repeats = _Repeats(obj)
    repeats.key, repeats.times = next((k, n) for k, n in counts.items() if n > 1)
    return repeats


def _first_repeat(value: Any) -> Issue | None:
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Repeats):
            where = f"{loc}.{node.key}" if loc else node.key
            msg = f"expected each key once in an object; {node.key!r} is given {node.times} times"
            return {"loc": where, "code": "duplicate_key", "msg": msg}
        if isinstance(node, dict):
            stack.extend((f"{loc}.{k}" if loc else k, child) for k, child in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((f"{loc or '$'}[{i}]", node[i]) for i in reversed(range(len(node))))
    return None


def parse_document(raw: bytes) -> tuple[Any, Issue | None]:
    """The JSON value of a config file, or the issue that stops it being read (the server's codes:
    ``not_utf8``, ``empty_file``, ``invalid_json``, ``duplicate_key``)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, {"loc": "$", "code": "not_utf8", "msg": f"expected UTF-8 text; byte {exc.start} is not"}
    if not text.strip():
        return None, {"loc": "$", "code": "empty_file", "msg": "expected a JSON object; the file is empty"}
    try:
        value = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        return None, {"loc": "$", "code": "invalid_json", "msg": msg}
    except (RecursionError, ValueError) as exc:
        return None, {"loc": "$", "code": "invalid_json", "msg": f"invalid JSON: {exc}"}
    repeat = _first_repeat(value)
    if repeat is not None:
        return None, repeat
    return value, None
