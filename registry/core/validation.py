"""The one validation of a config document: every problem at once, each with where and what."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.core import catalogue
from registry.core.catalogue import LayerClass, Spec, SpecKind
from registry.core.counts import BIGINT_MAX, format_params
from registry.core.document import ConfigDoc, LayerTypeDoc
from registry.core.issues import Code, Issue
from registry.core.keys import (
    LAYER_TYPE_KEYS,
    REQUIRED_TOP_LEVEL,
    RESERVED_MODEL_IDS,
    TOP_LEVEL_KEYS,
)

# The characters of a model_id, and the pattern of a whole one (the database's CHECK, the URLs and the
# schema are built from these).
MODEL_ID_CHARS = "A-Za-z0-9._-"
MODEL_ID_PATTERN = rf"^[{MODEL_ID_CHARS}]+$"
MODEL_ID_RE = re.compile(MODEL_ID_PATTERN)
# A Hugging Face repo id as the Hub allows it, ORG/NAME: the one rule for documents, import-hf and the admin's link.
HF_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 200
MAX_LAYER_NAME_LENGTH = 100
MAX_FORMATTED_LENGTH = 32  # total_params_formatted, active_params_formatted
# Caps on what one document may hold: enough for one layer type per layer of the deepest models (a few
# hundred), and notes of a few pages; beyond them a config is refused rather than slowing every reader.
MAX_LAYER_TYPES = 512
MAX_NOTES_LENGTH = 10_000
MAX_SOURCE_LENGTH = 500  # published_total_params_source: a URL or a short citation
# Characters no name may hold: C0 and C1 controls (with DEL) and the Unicode Bidi_Control characters, which
# reorder the text around them (U+202E shows "txt.exe" as "exe.txt"). Notes may keep tabs and line breaks.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
NAME_CONTROL_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
NOTES_CONTROL_RE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")

_TOP_LEVEL_SET = dict.fromkeys(TOP_LEVEL_KEYS).keys()
_LAYER_TYPE_SET = dict.fromkeys(LAYER_TYPE_KEYS).keys()


@dataclass
class Validation:
    """The outcome: errors, warnings, stale derived values, and the normalized config when valid."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # Derived values the input gave wrongly, replaced because ``recompute`` was asked for.
    recomputed: list[Issue] = field(default_factory=list)
    config: ConfigDoc | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction" if not value.is_integer() else "a number written with a decimal point"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Checker:
    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, loc: str, code: str, msg: str) -> None:
        self.errors.append(Issue(loc, code, msg))

    def integer(self, loc: str, value: Any, *, minimum: int = 1) -> int | None:
        """``value`` if it is an integer >= minimum that fits a bigint, else None (after an error)."""
        if type(value) is int and minimum <= value <= BIGINT_MAX:
            return value
        wanted = "a positive integer" if minimum == 1 else "a non-negative integer"
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(loc, Code.NOT_AN_INTEGER, f"expected {wanted}, got {_json_type(value)} ({_show(value)})")
            return None
        if value < minimum:
            code = Code.NOT_POSITIVE if minimum == 1 else Code.NEGATIVE
            self.error(loc, code, f"expected {wanted}, got {value}")
            return None
        if value > BIGINT_MAX:
            self.error(loc, Code.TOO_LARGE, f"expected an integer of at most {BIGINT_MAX}, got {value}")
            return None
        number: int = value
        return number

    def boolean(self, loc: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.error(loc, Code.NOT_A_BOOLEAN, f"expected true or false, got {_json_type(value)} ({_show(value)})")
            return None
        return value

    def string(
        self,
        loc: str,
        value: Any,
        *,
        max_length: int | None,
        blank: bool = False,
        controls: re.Pattern[str] | None = None,
    ) -> str | None:
        """``value`` if it is a string within ``max_length`` and free of the ``controls`` characters, else None."""
        if not isinstance(value, str):
            self.error(loc, Code.NOT_A_STRING, f"expected a string, got {_json_type(value)} ({_show(value)})")
            return None
        if "\x00" in value:  # PostgreSQL text and jsonb cannot store it
            self.error(loc, Code.NUL_CHARACTER, "expected text without NUL (\\u0000) characters")
            return None
        if not blank and not value.strip():
            self.error(loc, Code.BLANK, "expected a non-empty string")
            return None
        if max_length is not None and len(value) > max_length:
            self.error(loc, Code.TOO_LONG, f"expected at most {max_length} characters, got {len(value)}")
            return None
        found = controls.search(value) if controls is not None else None
        if found is not None:
            char = found.group()
            what = unicodedata.name(char, "a control character")
            allowed = "" if controls is NAME_CONTROL_RE else " (tabs and line breaks are allowed)"
            self.error(
                loc,
                Code.CONTROL_CHARACTER,
                f"expected no control or bidirectional-control characters{allowed}, "
                f"got U+{ord(char):04X} ({what}) at character {found.start() + 1}",
            )
            return None
        return value

    def spec(self, loc: str, spec: Spec, value: Any) -> Any:
        if spec.kind is SpecKind.BOOL:
            return self.boolean(loc, value)
        if spec.kind is SpecKind.CHOICE:
            if isinstance(value, str) and value in spec.choices:
                return value
            self.error(
                loc,
                Code.INVALID_CHOICE,
                f"expected one of {', '.join(map(repr, spec.choices))}, got {_json_type(value)} ({_show(value)})",
            )
            return None
        return self.integer(loc, value, minimum=spec.minimum)

    def unknown_keys(self, prefix: str, obj: Mapping[str, Any], allowed: Collection[str]) -> None:
        if not obj.keys() - allowed:  # set difference in C: the common case costs little
            return
        allowed = list(allowed)
        for key in obj:
            if key in allowed:
                continue
            near = catalogue.suggest(str(key), allowed)
            hint = f"; did you mean {near!r}?" if near else f"; allowed keys: {', '.join(allowed)}"
            self.error(f"{prefix}{key}", Code.UNKNOWN_KEY, f"unknown key {key!r}{hint}")


# A number as JSON writes it (RFC 8259): ASCII digits, a leading minus only, no leading zero, nothing around it.
_JSON_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
_MAX_INTEGER_DIGITS = len(str(BIGINT_MAX))


def integer_from_text(loc: str, text: str, *, minimum: int = 1) -> tuple[int | None, list[Issue]]:
    """The integer a form's ``text`` writes, judged as the JSON format judges the same characters in a document.

    ``768`` is one; ``768.0`` and ``7.68e2`` are numbers with a decimal point, refused as they are in a
    document; `` 768``, ``+768``, ``0768`` and digits of other scripts are not numbers in JSON, refused too.
    """
    wanted = "a positive integer" if minimum == 1 else "a non-negative integer"
    if not _JSON_NUMBER_RE.fullmatch(text):
        msg = f"expected {wanted} written as JSON writes it (ASCII digits, nothing around them), got {_show(text)}"
        return None, [Issue(loc, Code.NOT_AN_INTEGER, msg)]
    digits = text.lstrip("-")
    if digits.isdigit() and len(digits) > _MAX_INTEGER_DIGITS:  # int() of thousands of digits is refused
        if text[0] == "-":
            code = Code.NOT_POSITIVE if minimum == 1 else Code.NEGATIVE
            return None, [Issue(loc, code, f"expected {wanted}, got a negative number of {len(digits)} digits")]
        msg = f"expected an integer of at most {BIGINT_MAX}, got {len(digits)} digits"
        return None, [Issue(loc, Code.TOO_LARGE, msg)]
    number = json.loads(text)
    if isinstance(number, float):  # shown as typed: the float of 1e3 is 1000.0
        kind = "a number with an exponent" if "e" in text.lower() else _json_type(number)
        return None, [Issue(loc, Code.NOT_AN_INTEGER, f"expected {wanted}, got {kind} ({text[:40]})")]
    check = _Checker()
    value = check.integer(loc, number, minimum=minimum)
    return value, check.errors


def hf_id_issue(loc: str, value: Any) -> Issue | None:
    """The issue with ``value`` as a Hugging Face repo id (ORG/NAME), or None when it is one."""
    if isinstance(value, str) and HF_ID_RE.fullmatch(value):
        return None
    return Issue(
        loc,
        Code.INVALID_HF_ID,
        "expected a Hub id ORG/NAME (letters, digits, '.', '_', '-'; each part starting with a letter or digit), "
        f"got {_show(value)}",
    )


def published_window(published: int) -> tuple[int, int]:
    """The derived totals a published total allows, ``[low, high)``, at the precision it is written with.

    Its trailing zeros are taken as rounding: 70_600_000_000 ("70.6B") is the last non-zero digit's unit
    (10**8) wide, and a publisher may round to it or cut at it, so the window is [p - unit/2, p + unit).
    A figure without trailing zeros is exact: [p, p + 1).
    """
    unit = 1
    while published % (unit * 10) == 0:
        unit *= 10
    return published - unit // 2, published + unit


def published_total_agrees(total: int, published: int | None) -> bool:
    """Whether a derived total agrees with the published one (True without a published total)."""
    if published is None:
        return True
    low, high = published_window(published)
    return low <= total < high


def model_id_for(hf_model_id: str) -> str:
    """The model_id of a Hugging Face repo id: ``/`` becomes ``_`` (``meta-llama/X`` -> ``meta-llama_X``)."""
    return hf_model_id.replace("/", "_")


@dataclass
class _OwnValues:
    model_id: str | None
    hf_model_id: str | None
    name: str | None
    sizes: dict[str, int | None]
    context: int | None
    validated: bool | None
    notes: str | None
    published: int | None = None
    published_source: str = ""


def _check_own_values(check: _Checker, data: Mapping[str, Any], *, filename: str | None = None) -> _OwnValues:
    """The config's own values (ids, name, sizes, context length, flags), checked; None where invalid."""
    model_id = hf_model_id = name = None
    if "model_id" in data:
        model_id = check.string("model_id", data["model_id"], max_length=MAX_ID_LENGTH)
        if model_id is not None and not MODEL_ID_RE.fullmatch(model_id):
            check.error(
                "model_id",
                Code.MODEL_ID_CHARACTERS,
                f"expected only the characters {MODEL_ID_CHARS} in model_id, got {_show(model_id)}",
            )
            model_id = None
        elif model_id is not None and (model_id in RESERVED_MODEL_IDS or not model_id.strip(".")):
            check.error(
                "model_id",
                Code.MODEL_ID_RESERVED,
                f"expected a model_id other than {model_id!r}: it is a path segment of its own "
                f"(only dots, or one of {', '.join(sorted(RESERVED_MODEL_IDS))}), so /models/{model_id} "
                "could not name the config",
            )
            model_id = None
    if "hf_model_id" in data:
        hf_model_id = check.string("hf_model_id", data["hf_model_id"], max_length=MAX_ID_LENGTH)
        if hf_model_id is not None and (issue := hf_id_issue("hf_model_id", hf_model_id)) is not None:
            check.errors.append(issue)
            hf_model_id = None
    if "name" in data:
        name = check.string("name", data["name"], max_length=MAX_NAME_LENGTH, controls=NAME_CONTROL_RE)
    if model_id is not None and hf_model_id is not None and model_id != model_id_for(hf_model_id):
        expected = model_id_for(hf_model_id)
        check.error(
            "model_id",
            Code.MODEL_ID_MISMATCH,
            f"expected model_id to be hf_model_id with '/' replaced by '_': {expected!r}, got {model_id!r}",
        )
    if filename is not None and model_id is not None and filename != f"{model_id}.json":
        check.error(
            "model_id",
            Code.FILENAME_MISMATCH,
            f"expected the file to be named {model_id + '.json'!r} after its model_id, got {filename!r}",
        )

    sizes = {k: check.integer(k, data[k]) for k in ("hidden_size", "num_layers", "vocab_size") if k in data}
    context = None
    if data.get("max_position_embeddings") is not None:
        context = check.integer("max_position_embeddings", data["max_position_embeddings"])
    validated = check.boolean("validated", data["validated"]) if "validated" in data else False
    notes: str | None = ""
    if data.get("validation_notes") is not None:
        notes = check.string(
            "validation_notes",
            data["validation_notes"],
            max_length=MAX_NOTES_LENGTH,
            blank=True,
            controls=NOTES_CONTROL_RE,
        )

    published, source = _check_published(check, data)
    return _OwnValues(model_id, hf_model_id, name, sizes, context, validated, notes, published, source)


def _check_published(check: _Checker, data: Mapping[str, Any]) -> tuple[int | None, str]:
    """The published total and its source (both or neither; null or absent is neither)."""
    published = None
    if data.get("published_total_params") is not None:
        published = check.integer("published_total_params", data["published_total_params"])
    source: str | None = ""
    if data.get("published_total_params_source") not in (None, ""):
        source = check.string(
            "published_total_params_source",
            data["published_total_params_source"],
            max_length=MAX_SOURCE_LENGTH,
            controls=NAME_CONTROL_RE,
        )
        if source and data.get("published_total_params") is None:
            check.error(
                "published_total_params_source",
                Code.SOURCE_WITHOUT_PUBLISHED_TOTAL,
                "expected a published_total_params for this source, or no source",
            )
    elif published is not None:
        check.error(
            "published_total_params_source",
            Code.MISSING_SOURCE,
            "expected where the published total comes from (a URL such as the model card's, or a citation)",
        )
    return published, source or ""


def validate_own_values(data: Mapping[str, Any]) -> list[Issue]:
    """The rules on a config's own values (naming, sizes, flags), without its layer types: for model validation."""
    check = _Checker()
    _check_own_values(check, data)
    return check.errors


def validate_layer_type(item: Any, *, sizes: Mapping[str, int | None] | None = None) -> list[Issue]:
    """The rules one layer type obeys alone (class, count, typed and required specs), locs relative to it.

    ``sizes`` (the config's hidden_size and vocab_size) are checked against its specs when given.
    """
    check = _Checker()
    _check_layer_types(check, [item], sizes or {})
    prefix = "layer_types[0]"
    return [Issue(i.loc.removeprefix(prefix).lstrip(".") or "$", i.code, i.msg) for i in check.errors]


def validate_config(data: Any, *, filename: str | None = None, recompute: bool = False) -> Validation:
    """Check a config document against every rule of the format and return all problems at once.

    ``filename``, when given, must be ``<model_id>.json``. Derived values (``parameter_count``,
    ``total_params``, ``total_params_formatted``) may be omitted and are computed; where given
    they must match, unless ``recompute`` is true, in which case they are replaced and reported
    in ``Validation.recomputed``. Never raises on bad input.
    """
    check = _Checker()
    if not isinstance(data, dict):
        check.error("$", Code.NOT_AN_OBJECT, f"expected a JSON object at the top level, got {_json_type(data)}")
        return Validation(errors=check.errors)

    check.unknown_keys("", data, _TOP_LEVEL_SET)
    for key in REQUIRED_TOP_LEVEL:
        if key not in data:
            check.error(key, Code.REQUIRED, f"{key!r} is required")

    own = _check_own_values(check, data, filename=filename)
    model_id, hf_model_id, name, sizes = own.model_id, own.hf_model_id, own.name, own.sizes
    context, validated, notes = own.context, own.validated, own.notes
    published = own.published

    layers: list[LayerTypeDoc] | None = None
    if "layer_types" in data:
        layers = _check_layer_types(check, data["layer_types"], sizes)
        if layers is not None:
            _check_stack(check, layers, sizes.get("num_layers"))

    total = formatted = None
    recomputed: list[Issue] = []
    if layers is not None:
        for i, layer in enumerate(layers):
            given = data["layer_types"][i]["specs"].get("parameter_count")
            if given is not None and given != layer.parameter_count:
                recomputed.append(
                    Issue(
                        f"layer_types[{i}].specs.parameter_count",
                        Code.PARAMETER_COUNT_MISMATCH,
                        f"expected {layer.parameter_count} ({layer.class_name}: "
                        f"{catalogue.require(layer.class_name).formula_text}), got {given}",
                    )
                )
        total = sum(layer.count * layer.parameter_count for layer in layers if not layer.mtp)
        if total > BIGINT_MAX:
            check.error("total_params", Code.TOO_LARGE, f"the derived total {total} exceeds {BIGINT_MAX}")
        elif total == 0:
            check.error("total_params", Code.NO_PARAMETERS, "expected a model with parameters; every layer type has 0")
        formatted = format_params(total)
        recomputed += _stale_derived(check, data, "total_params", total, "Σ count × parameter_count")
        active = _check_active(check, data, layers)
        if active is not None:
            why = "every parameter but the routed experts, of which num_experts_per_tok of num_experts"
            recomputed += _stale_derived(check, data, "active_params", active, why)
        recomputed += _check_mtp(check, data, layers)
        if not published_total_agrees(total, published):
            assert published is not None
            low, high = published_window(published)
            check.warnings.append(
                Issue(
                    "published_total_params",
                    Code.PUBLISHED_TOTAL_MISMATCH,
                    f"the derived total_params {total} ({formatted}) is not the published {published} "
                    f"({format_params(published)}) at its precision: expected {low} <= total < {high}; "
                    "the published figure may count what the format leaves out (a vision tower, "
                    "multi-token-prediction layers)",
                )
            )
    else:
        active = None
        if "total_params" in data:
            check.integer("total_params", data["total_params"])
        if "total_params_formatted" in data:
            check.string("total_params_formatted", data["total_params_formatted"], max_length=MAX_FORMATTED_LENGTH)

    if not recompute:
        check.errors.extend(recomputed)
        recomputed = []
    if check.errors:
        return Validation(errors=check.errors, warnings=check.warnings)

    # No error: every required value was given and valid.
    assert layers is not None and total is not None and formatted is not None
    assert model_id is not None and hf_model_id is not None and name is not None
    hidden_size, num_layers, vocab_size = sizes["hidden_size"], sizes["num_layers"], sizes["vocab_size"]
    assert hidden_size is not None and num_layers is not None and vocab_size is not None
    config = ConfigDoc(
        model_id=model_id,
        hf_model_id=hf_model_id,
        name=name,
        hidden_size=hidden_size,
        num_layers=num_layers,
        vocab_size=vocab_size,
        total_params=total,
        total_params_formatted=formatted,
        layer_types=tuple(layers),
        validated=bool(validated),
        validation_notes=notes or "",
        max_position_embeddings=context,
        active_params=active,
        active_params_formatted=format_params(active) if active is not None else None,
        published_total_params=published,
        published_total_params_source=own.published_source,
    )
    return Validation(warnings=check.warnings, recomputed=recomputed, config=config)


_MISMATCH_CODES = {
    "total_params": (Code.TOTAL_PARAMS_MISMATCH, Code.TOTAL_PARAMS_FORMATTED_MISMATCH),
    "active_params": (Code.ACTIVE_PARAMS_MISMATCH, Code.ACTIVE_PARAMS_FORMATTED_MISMATCH),
}


def _stale_derived(check: _Checker, data: Mapping[str, Any], key: str, value: int, why: str) -> list[Issue]:
    """``key`` and ``<key>_formatted`` where the input gives them and they differ from the derived ``value``."""
    stale: list[Issue] = []
    code, formatted_code = _MISMATCH_CODES[key]
    if key in data:
        given = check.integer(key, data[key])
        if given is not None and given != value:
            stale.append(Issue(key, code, f"expected {value} ({why}), got {given}"))
    formatted, formatted_key = format_params(value), f"{key}_formatted"
    if formatted_key in data:
        given_text = check.string(formatted_key, data[formatted_key], max_length=MAX_FORMATTED_LENGTH)
        if given_text is not None and given_text != formatted:
            stale.append(
                Issue(
                    formatted_key, formatted_code, f"expected {formatted!r} for {value} parameters, got {given_text!r}"
                )
            )
    return stale


def _check_mtp(check: _Checker, data: Mapping[str, Any], layers: list[LayerTypeDoc]) -> list[Issue]:
    """A given mtp_params: an error without multi-token-prediction layer types, stale when it differs."""
    if "mtp_params" not in data:
        return []
    given = check.integer("mtp_params", data["mtp_params"])
    rows = [layer for layer in layers if layer.mtp]
    if not rows:
        check.error(
            "mtp_params",
            Code.MTP_PARAMS_WITHOUT_MTP,
            "expected no mtp_params: only a config with multi-token-prediction layer types (mtp true) has one",
        )
        return []
    value = sum(layer.count * layer.parameter_count for layer in rows)
    if given is not None and given != value:
        return [
            Issue(
                "mtp_params",
                Code.MTP_PARAMS_MISMATCH,
                f"expected {value} (Σ count × parameter_count of the layer types with mtp true), got {given}",
            )
        ]
    return []


def _check_active(check: _Checker, data: Mapping[str, Any], layers: list[LayerTypeDoc]) -> int | None:
    """The derived active_params: None without routed experts (and then the input must not give one)."""
    layers = [layer for layer in layers if not layer.mtp]
    classes = [catalogue.require(layer.class_name) for layer in layers]
    if not any(c.has_experts for c in classes):
        for key in ("active_params", "active_params_formatted"):
            if key in data:
                check.error(
                    key,
                    Code.ACTIVE_PARAMS_WITHOUT_EXPERTS,
                    f"expected no {key}: only a config with routed experts (MoELayer) has one; "
                    "every parameter of this config is active",
                )
        return None
    return sum(
        layer.count * (c.active_parameter_count(layer.specs) if c.has_experts else layer.parameter_count)
        for layer, c in zip(layers, classes, strict=True)
    )


def _check_layer_types(check: _Checker, value: Any, sizes: Mapping[str, int | None]) -> list[LayerTypeDoc] | None:
    """Check the list of layer types; return them normalized when every one is valid."""
    if not isinstance(value, list):
        check.error("layer_types", Code.NOT_A_LIST, f"expected a list of layer types, got {_json_type(value)}")
        return None
    if not value:
        check.error("layer_types", Code.EMPTY, "expected at least one layer type")
        return None
    if len(value) > MAX_LAYER_TYPES:
        check.error(
            "layer_types",
            Code.TOO_MANY,
            f"expected at most {MAX_LAYER_TYPES} layer types (one per layer of the deepest models), got {len(value)}",
        )
        return None
    errors_before = len(check.errors)
    seen: dict[str, int] = {}
    out: list[LayerTypeDoc] = []
    for i, item in enumerate(value):
        loc = f"layer_types[{i}]"
        if not isinstance(item, dict):
            check.error(loc, Code.NOT_AN_OBJECT, f"expected a layer type object, got {_json_type(item)}")
            continue
        check.unknown_keys(f"{loc}.", item, _LAYER_TYPE_SET)
        for key in LAYER_TYPE_KEYS:
            if key not in item:
                check.error(f"{loc}.{key}", Code.REQUIRED, f"{key!r} is required")
        name = None
        if "name" in item:
            name = check.string(f"{loc}.name", item["name"], max_length=MAX_LAYER_NAME_LENGTH, controls=NAME_CONTROL_RE)
            if name is not None:
                if name in seen:
                    check.error(
                        f"{loc}.name",
                        Code.DUPLICATE_NAME,
                        f"expected layer names to be unique; {name!r} is also layer_types[{seen[name]}]",
                    )
                else:
                    seen[name] = i
        layer_class: LayerClass | None = None
        if "class" in item:
            class_name = check.string(f"{loc}.class", item["class"], max_length=MAX_LAYER_NAME_LENGTH)
            if class_name is not None:
                layer_class = catalogue.get(class_name)
                if layer_class is None:
                    valid = catalogue.names()
                    near = catalogue.suggest(class_name, valid)
                    hint = f"did you mean {near!r}? " if near else ""
                    check.error(
                        f"{loc}.class",
                        Code.UNKNOWN_CLASS,
                        f"unknown layer class {class_name!r}; {hint}valid classes: {', '.join(valid)}",
                    )
        count = check.integer(f"{loc}.count", item["count"]) if "count" in item else None
        specs = None
        if "specs" in item:
            specs = _check_specs(check, f"{loc}.specs", item["specs"], layer_class, sizes)
        if name is not None and layer_class is not None and count is not None and specs is not None:
            out.append(
                LayerTypeDoc(
                    name=name,
                    class_name=layer_class.name,
                    count=count,
                    specs=specs,
                    parameter_count=layer_class.parameter_count(specs),
                )
            )
    if len(check.errors) != errors_before:
        return None
    return out


def _check_stack(check: _Checker, layers: list[LayerTypeDoc], num_layers: int | None) -> None:
    """Rules across layer types: decoder layers add up, a tied head has an embedding to tie to, a head exists."""
    by_kind: dict[catalogue.LayerKind, list[int]] = {}
    for i, layer in enumerate(layers):
        if layer.mtp:  # the multi-token-prediction module: outside the decoder's stack
            continue
        layer_class = catalogue.get(layer.class_name)
        assert layer_class is not None
        by_kind.setdefault(layer_class.kind, []).append(i)
    decoder_rows = [i for kind in catalogue.PER_DECODER_LAYER_KINDS for i in by_kind.get(kind, [])]
    # Blocks of one mixer each (Nemotron-H: a Mamba, attention or MLP block per layer) add up between the kinds.
    one_per_block = sum(layers[i].count for i in decoder_rows) == num_layers
    for kind, rows in by_kind.items():
        if kind not in catalogue.PER_DECODER_LAYER_KINDS or num_layers is None or one_per_block:
            continue
        total = sum(layers[i].count for i in rows)
        if total == num_layers:
            continue
        if len(rows) == 1:
            msg = f"this class usually occurs once per decoder layer ({num_layers}), got count {total}"
        else:
            parts = " + ".join(f"{layers[i].count} ({layers[i].name})" for i in rows)
            msg = (
                f"the {kind.value} layer types usually make up one per decoder layer between them ({num_layers}), "
                f"got {parts} = {total}"
            )
        check.warnings.append(Issue(f"layer_types[{rows[0]}].count", Code.COUNT_NOT_NUM_LAYERS, msg))
    embeddings = by_kind.get(catalogue.LayerKind.EMBEDDING, [])
    heads = by_kind.get(catalogue.LayerKind.OUTPUT_HEAD, [])
    for i in heads:
        if layers[i].specs.get("tie_word_embeddings") and not embeddings:
            check.error(
                f"layer_types[{i}].specs.tie_word_embeddings",
                Code.TIED_WITHOUT_EMBEDDING,
                "expected an EmbeddingLayer to tie to: a tied output head reuses the token embedding's weights",
            )
    # An untied head written as a second EmbeddingLayer (the format's first convention) counts as one.
    if not heads and sum(layers[i].count for i in embeddings) < 2:
        check.warnings.append(
            Issue(
                "layer_types",
                Code.NO_OUTPUT_HEAD,
                "no output head: add an OutputHeadLayer (with tie_word_embeddings true if the model ties it to "
                "the token embedding) or, for an untied head, a second EmbeddingLayer",
            )
        )


def _check_specs(
    check: _Checker, loc: str, value: Any, layer_class: LayerClass | None, sizes: Mapping[str, int | None]
) -> dict[str, Any] | None:
    """Check one layer type's specs; return them in document order, parameter_count left out."""
    if not isinstance(value, dict):
        check.error(loc, Code.NOT_AN_OBJECT, f"expected an object of specs, got {_json_type(value)}")
        return None
    if layer_class is None:
        # The class is unknown or missing: its specs cannot be judged beyond their shape.
        return None
    errors_before = len(check.errors)
    allowed = layer_class.allowed
    check.unknown_keys(f"{loc}.", value, allowed.keys())
    for spec in layer_class.required:
        if spec.name not in value:
            check.error(
                f"{loc}.{spec.name}",
                Code.REQUIRED,
                f"{spec.name!r} is required for {layer_class.name} ({spec.kind.value})",
            )
    clean: dict[str, Any] = {}
    for key, spec in allowed.items():
        if key not in value:
            continue
        v = value[key]
        if spec.kind is SpecKind.POSITIVE_INT and type(v) is int and 0 < v <= BIGINT_MAX:
            clean[key] = v  # the common case, without building a loc
            continue
        checked = check.spec(f"{loc}.{key}", spec, v)
        if checked is not None:
            clean[key] = checked
    for key in ("hidden_size", "vocab_size"):
        if key in clean and sizes.get(key) is not None and clean[key] != sizes[key]:
            code = Code.HIDDEN_SIZE_MISMATCH if key == "hidden_size" else Code.VOCAB_SIZE_MISMATCH
            check.error(f"{loc}.{key}", code, f"expected the config's {key} {sizes[key]}, got {clean[key]}")
    _check_spec_rules(check, loc, clean)
    for whole, part in layer_class.divisors:
        if whole in clean and part in clean and clean[whole] % clean[part]:
            check.error(
                f"{loc}.{part}",
                Code.HEADS_NOT_DIVISIBLE,
                f"expected a divisor of {whole} ({clean[whole]}), got {clean[part]}",
            )
    if len(check.errors) != errors_before:
        return None
    clean.pop("parameter_count", None)
    return clean


def _check_spec_rules(check: _Checker, loc: str, specs: Mapping[str, Any]) -> None:
    """Specs that contradict each other within one layer type."""
    if specs.get("num_experts_per_tok", 0) > specs.get("num_experts", BIGINT_MAX):
        check.error(
            f"{loc}.num_experts_per_tok",
            Code.EXPERTS_PER_TOKEN,
            f"expected at most num_experts ({specs['num_experts']}) experts per token, "
            f"got {specs['num_experts_per_tok']}",
        )
    if specs.get("shared_expert_gate") and "shared_expert_intermediate_size" not in specs:
        check.error(
            f"{loc}.shared_expert_gate",
            Code.SHARED_GATE_WITHOUT_SHARED_EXPERT,
            "expected shared_expert_intermediate_size with shared_expert_gate: the gate scales the shared expert",
        )
    if specs.get("has_bias") and specs.get("elementwise_affine") is False:
        check.error(
            f"{loc}.has_bias",
            Code.BIAS_WITHOUT_WEIGHTS,
            "expected has_bias false with elementwise_affine false: a norm without weights has no bias either",
        )
