"""Differences between config documents: a flat list of changed paths, a comparison of two, several side by side."""

from __future__ import annotations

from typing import Any

from registry.core.document import in_key_order, order_specs
from registry.core.issues import Code, Issue
from registry.core.keys import AUTHORED_VALUE_KEYS, LAYER_TYPE_KEYS, TOP_LEVEL_KEYS
from registry.core.validation import MODEL_ID_RE

MISSING = object()
ORDER_PATH = "layer_types (order)"


def in_order(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its keys in the format's order (jsonb storage reorders them), specs included."""
    ordered = in_key_order(document, TOP_LEVEL_KEYS)
    if isinstance(ordered.get("layer_types"), list):
        ordered["layer_types"] = [
            {
                key: order_specs(str(layer.get("class")), value) if key == "specs" else value
                for key, value in in_key_order(layer, LAYER_TYPE_KEYS).items()
            }
            for layer in ordered["layer_types"]
        ]
    return ordered


def flatten(document: dict[str, Any] | None) -> dict[str, Any]:
    """A document as ``path -> value``, layer types keyed by their name so a reorder reads as one change."""
    flat: dict[str, Any] = {}
    if document is None:
        return flat
    for key, value in in_order(document).items():
        if key != "layer_types":
            flat[key] = value
            continue
        flat[ORDER_PATH] = ", ".join(str(layer.get("name")) for layer in value)
        for layer in value:
            base = f"layer_types[{layer.get('name')}]"
            for field, item in layer.items():
                if field == "specs":
                    for spec, spec_value in item.items():
                        flat[f"{base}.specs.{spec}"] = spec_value
                elif field != "name":
                    flat[f"{base}.{field}"] = item
    return flat


def flat_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """``(path, before, after)`` for every value that differs; a missing side is None."""
    old, new = flatten(before), flatten(after)
    paths = list(dict.fromkeys([*old, *new]))
    return [(p, old.get(p), new.get(p)) for p in paths if old.get(p, MISSING) != new.get(p, MISSING)]


def changed_paths(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The paths of ``flat_diff(before, after)``."""
    return [path for path, _, _ in flat_diff(before, after)]


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """How document ``b`` differs from document ``a``.

    ``values``: the top-level values that differ (derived totals aside), ``{"key", "a", "b"}``, None for
    an absent key. ``layer_types``: matched by name, ``added`` (in b only) and ``removed`` (in a only) as
    ``{"name", "class", "count", "parameter_count", "subtotal"}``; ``changed`` with the differing
    ``fields`` (class, count) and ``specs`` (parameter_count aside), and ``parameter_count`` and
    ``subtotal`` as ``{"a", "b", "delta"}``. ``total_params`` as ``{"a", "b", "delta"}``; ``active_params``
    the same when either document has it, a config without experts counting all its parameters as active.
    """
    a, b = in_order(a), in_order(b)
    values = [
        {"key": key, "a": a.get(key), "b": b.get(key)}
        for key in AUTHORED_VALUE_KEYS
        if a.get(key, MISSING) != b.get(key, MISSING)
    ]
    layers_a = {layer["name"]: layer for layer in a.get("layer_types", [])}
    layers_b = {layer["name"]: layer for layer in b.get("layer_types", [])}
    result: dict[str, Any] = {
        "values": values,
        "layer_types": {
            "added": [_summary(layer) for name, layer in layers_b.items() if name not in layers_a],
            "removed": [_summary(layer) for name, layer in layers_a.items() if name not in layers_b],
            "changed": [
                change
                for name, layer in layers_a.items()
                if name in layers_b and (change := _layer_change(layer, layers_b[name])) is not None
            ],
        },
        "total_params": _delta(a.get("total_params", 0), b.get("total_params", 0)),
    }
    if "active_params" in a or "active_params" in b:
        result["active_params"] = _delta(_active(a), _active(b))
    return result


def _delta(a: int, b: int) -> dict[str, int]:
    return {"a": a, "b": b, "delta": b - a}


def _active(document: dict[str, Any]) -> int:
    active: int = document.get("active_params", document.get("total_params", 0))
    return active


def _parameter_count(layer: dict[str, Any]) -> int:
    count: int = layer.get("specs", {}).get("parameter_count", 0)
    return count


def _summary(layer: dict[str, Any]) -> dict[str, Any]:
    per_layer = _parameter_count(layer)
    return {
        "name": layer["name"],
        "class": layer.get("class"),
        "count": layer.get("count"),
        "parameter_count": per_layer,
        "subtotal": layer.get("count", 0) * per_layer,
    }


def _layer_change(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    fields = [{"key": k, "a": a.get(k), "b": b.get(k)} for k in ("class", "count") if a.get(k) != b.get(k)]
    specs_a = {k: v for k, v in a.get("specs", {}).items() if k != "parameter_count"}
    specs_b = {k: v for k, v in b.get("specs", {}).items() if k != "parameter_count"}
    specs = [
        {"key": k, "a": specs_a.get(k), "b": specs_b.get(k)}
        for k in dict.fromkeys([*specs_a, *specs_b])
        if specs_a.get(k, MISSING) != specs_b.get(k, MISSING)
    ]
    per_a, per_b = _parameter_count(a), _parameter_count(b)
    if not fields and not specs and per_a == per_b:
        return None
    return {
        "name": a["name"],
        "fields": fields,
        "specs": specs,
        "parameter_count": _delta(per_a, per_b),
        "subtotal": _delta(a.get("count", 0) * per_a, b.get("count", 0) * per_b),
    }


MAX_COMPARED = 10


def side_by_side(documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Several documents side by side, each list in the order of ``documents`` (``(model_id, document)``).

    ``values``: every top-level value any of them has (derived totals aside) as ``{"key", "values",
    "differs"}``, None where a document has no such key. ``layer_types``: matched by name, in order of first
    appearance, ``{"name", "differs", "class", "count", "parameter_count", "subtotal", "specs"}`` with a
    value per document (None where it has no such layer type) and ``specs`` as ``{"key", "values",
    "differs"}`` (parameter_count aside). ``total_params`` a value per document; ``active_params`` too when
    any has it, a config without experts counting all its parameters as active.
    """
    docs = [in_order(document) for _, document in documents]

    def row(key: str, values: list[Any]) -> dict[str, Any]:
        return {"key": key, "values": values, "differs": any(v != values[0] for v in values)}

    keys = [k for k in AUTHORED_VALUE_KEYS if any(k in d for d in docs)]
    by_name = [{layer["name"]: layer for layer in d.get("layer_types", [])} for d in docs]
    names = list(dict.fromkeys(name for layers in by_name for name in layers))
    layer_types = []
    for name in names:
        layers = [layers.get(name) for layers in by_name]
        spec_keys = dict.fromkeys(
            k for layer in layers if layer is not None for k in layer.get("specs", {}) if k != "parameter_count"
        )
        specs = [row(k, [None if ly is None else ly.get("specs", {}).get(k) for ly in layers]) for k in spec_keys]
        summaries = [None if ly is None else _summary(ly) for ly in layers]
        fields = {
            field: [None if s is None else s[field] for s in summaries]
            for field in ("class", "count", "parameter_count", "subtotal")
        }
        differs = any(ly is None for ly in layers) or any(r["differs"] for r in specs)
        differs = differs or any(any(v != vs[0] for v in vs) for vs in fields.values())
        layer_types.append({"name": name, "differs": differs, **fields, "specs": specs})
    result: dict[str, Any] = {
        "model_ids": [model_id for model_id, _ in documents],
        "values": [row(k, [d.get(k) for d in docs]) for k in keys],
        "layer_types": layer_types,
        "total_params": [d.get("total_params", 0) for d in docs],
    }
    if any("active_params" in d for d in docs):
        result["active_params"] = [_active(d) for d in docs]
    return result


def compared_ids(text: str, loc: str = "model_ids") -> tuple[list[str], list[Issue]]:
    """The comma-separated model_ids of a side-by-side comparison: 2 to MAX_COMPARED of them, each once."""
    ids = [part.strip() for part in text.split(",")]
    if any(not i for i in ids):
        return [], [Issue(loc, Code.BLANK, "expected comma-separated model_ids, none of them empty")]
    bad = [i for i in ids if not MODEL_ID_RE.fullmatch(i)]
    if bad:
        return [], [Issue(loc, Code.MODEL_ID_CHARACTERS, f"not a model_id: {', '.join(map(repr, bad))}")]
    repeated = [i for i in dict.fromkeys(ids) if ids.count(i) > 1]
    if repeated:
        return [], [Issue(loc, Code.SAME_CONFIG, f"each config once; repeated: {', '.join(repeated)}")]
    if not 2 <= len(ids) <= MAX_COMPARED:
        return [], [Issue(loc, Code.OUT_OF_RANGE, f"expected 2 to {MAX_COMPARED} model_ids, got {len(ids)}")]
    return ids, []
