"""A device's document in canonical form: what the database stores, the API serves and ``dumpdevices`` writes.

``device_document(spec)`` is the inverse of ``parse_device``: keys in one fixed order (storage such as jsonb
reorders them), latencies, efficiencies and prices as floats. The fixture ``fixtures/devices/devices.json`` is
kept in this form, so loading it and dumping it back gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from registry.core.devices import DEFAULT_ENGINE, PEAK_DTYPES, SOURCED, DeviceSpec, parse_device


def device_document(spec: DeviceSpec) -> dict[str, Any]:
    """The canonical document of ``spec`` (``parse_device`` of it gives ``spec`` back)."""
    doc: dict[str, Any] = {"name": spec.name, "aliases": list(spec.aliases), "vendor": spec.vendor}
    if spec.notes:
        doc["notes"] = spec.notes
    doc["memory_bytes"] = spec.memory_bytes
    doc["memory_bandwidth"] = spec.memory_bandwidth
    doc["peak_flops"] = {d: spec.peak_flops[d] for d in PEAK_DTYPES if d in spec.peak_flops}
    doc["scale_up"] = {
        "bandwidth": spec.scale_up.bandwidth,
        "domain": spec.scale_up.domain,
        "latency_us": float(spec.scale_up.latency_us),
    }
    doc["scale_out"] = {"bandwidth": spec.scale_out.bandwidth, "latency_us": float(spec.scale_out.latency_us)}
    doc["tdp_watts"] = spec.tdp_watts
    doc["price_per_hour"] = float(spec.price_per_hour)
    engines = [DEFAULT_ENGINE, *sorted(e for e in spec.efficiency if e != DEFAULT_ENGINE)]
    doc["efficiency"] = {e: _efficiency(spec, e) for e in engines}
    doc["sources"] = {k: {"source": spec.sources[k].source, "date": spec.sources[k].date} for k in SOURCED}
    return doc


def _efficiency(spec: DeviceSpec, engine: str) -> dict[str, float]:
    eff = spec.efficiency[engine]
    out = {"compute": float(eff.compute), "memory": float(eff.memory), "overhead_us": float(eff.overhead_us)}
    for key in ("request_overhead_ms", "request_overhead_per_concurrent_ms"):  # optional: written when set
        if getattr(eff, key):
            out[key] = float(getattr(eff, key))
    return out


def canonical(doc: Any) -> dict[str, Any] | None:
    """``doc`` in canonical form if it is a valid device, else None."""
    spec, _ = parse_device(doc)
    return device_document(spec) if spec is not None else None


def catalogue_document(specs: Iterable[DeviceSpec]) -> dict[str, Any]:
    """The fixture document of these devices, in the order given."""
    return {"devices": [device_document(s) for s in specs]}


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``sources.price_per_hour.date``), or None where any step is missing."""
    value: Any = doc
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted path, creating objects on the way; ``None`` removes the key (an optional
    figure left blank), except for ``tdp_watts``, where null means "the maker publishes none"."""
    *head, last = path.split(".")
    target = doc
    for step in head:
        target = target.setdefault(step, {})
    if value is None and path != "tdp_watts":
        target.pop(last, None)
    else:
        target[last] = value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
