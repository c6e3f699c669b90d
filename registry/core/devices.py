"""The device catalogue: accelerators' memory, bandwidth, peak FLOP/s, links, power and price, each with its source.

A device document (one entry of ``fixtures/devices/devices.json``) is read by ``parse_device``; the whole file by
``parse_devices``, which also checks that names and aliases are unique. Figures are integers in base units
(bytes, bytes per second, FLOP/s); latencies are microseconds, prices US dollars per device-hour (editable
defaults). Every figure names its source and date in ``sources``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.core.issues import Code, Issue

# Dtypes with a dense peak in the catalogue (fp16 and bf16 are usually one figure, written twice).
PEAK_DTYPES = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8")
# Figures that must name a source and a date.
SOURCED = (
    "memory_bytes",
    "memory_bandwidth",
    "peak_flops",
    "scale_up",
    "scale_out",
    "tdp_watts",
    "price_per_hour",
    "efficiency",
)
DEFAULT_ENGINE = "default"
FIXTURE = Path(__file__).resolve().parent.parent.parent / "fixtures" / "devices" / "devices.json"
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX = 2**62


@dataclass(frozen=True)
class Link:
    """A network a device reaches peers over: bandwidth per direction per device (bytes/s), and a fixed latency
    per collective (µs). ``domain`` is how many devices share the scale-up link (a node or NVLink domain)."""

    bandwidth: int
    latency_us: float
    domain: int = 1


@dataclass(frozen=True)
class Efficiency:
    """What fraction of the peak an engine reaches on this device, a fixed overhead per layer op (µs), and the
    serving overhead a request's time to first token carries besides the GPU's work (tokenization, scheduling, the
    API server handling the other streams): ``request_overhead_ms`` + (concurrency − 1) ·
    ``request_overhead_per_concurrent_ms``. Both optional in the document (absent: 0); fitted, not measured."""

    compute: float
    memory: float
    overhead_us: float
    request_overhead_ms: float = 0.0
    request_overhead_per_concurrent_ms: float = 0.0


@dataclass(frozen=True)
class Source:
    source: str
    date: str


@dataclass(frozen=True)
class DeviceSpec:
    """One accelerator of the catalogue."""

    name: str
    vendor: str
    memory_bytes: int
    memory_bandwidth: int  # bytes/s
    peak_flops: Mapping[str, int]  # dense FLOP/s (int8: OP/s) per dtype in PEAK_DTYPES; absent: not supported
    scale_up: Link
    scale_out: Link
    tdp_watts: int | None
    price_per_hour: float  # US dollars per device-hour
    efficiency: Mapping[str, Efficiency]  # by engine; DEFAULT_ENGINE always present
    sources: Mapping[str, Source]
    aliases: tuple[str, ...] = ()
    notes: str = ""

    def peak(self, dtype: str) -> int:
        """Dense FLOP/s for weights of ``dtype``: its own tensor rate where the device has one, else bf16's
        (weight-only quantization computes in bf16)."""
        compute = {"bf16": "bf16", "fp16": "fp16", "fp32": "fp32", "fp8": "fp8", "int8": "int8", "fp4": "fp4"}
        own = compute.get(dtype)
        if own is not None and own in self.peak_flops:
            return self.peak_flops[own]
        return self.peak_flops.get("bf16") or self.peak_flops.get("fp16") or max(self.peak_flops.values())

    def efficiency_for(self, engine: str | None = None) -> Efficiency:
        """The engine's efficiencies on this device, the device's default where the engine has none."""
        return self.efficiency.get(engine or DEFAULT_ENGINE, self.efficiency[DEFAULT_ENGINE])


@dataclass(frozen=True)
class DeviceCatalogue:
    """Devices by name, reachable by name or alias (case-insensitive)."""

    devices: tuple[DeviceSpec, ...]
    _index: Mapping[str, DeviceSpec] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        index = {}
        for d in self.devices:
            for key in (d.name, *d.aliases):
                index[key.lower()] = d
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[DeviceSpec]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def get(self, name: str) -> DeviceSpec | None:
        """The device named ``name`` or aliased so (``H200`` is ``H200-SXM``); None if unknown."""
        return self._index.get(name.strip().lower())

    def names(self) -> list[str]:
        return [d.name for d in self.devices]

    def aliases(self) -> dict[str, str]:
        """Every alias and the device name it stands for."""
        return {a: d.name for d in self.devices for a in d.aliases}


def _int(doc: Mapping[str, Any], key: str, loc: str, issues: list[Issue], *, optional: bool = False) -> int | None:
    value = doc.get(key)
    where = f"{loc}.{key}" if loc else key
    if value is None:
        if not optional:
            issues.append(Issue(where, Code.REQUIRED, "expected a positive integer"))
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        issues.append(Issue(where, Code.NOT_AN_INTEGER, f"expected a positive integer, got {value!r}"))
        return None
    if value <= 0:
        issues.append(Issue(where, Code.NOT_POSITIVE, f"expected a positive integer, got {value}"))
        return None
    if value >= _MAX:
        issues.append(Issue(where, Code.TOO_LARGE, f"expected at most {_MAX - 1}, got {value}"))
        return None
    return int(value)


def _number(
    doc: Mapping[str, Any], key: str, loc: str, issues: list[Issue], *, low: float = 0.0, high: float = 1e9
) -> float | None:
    value = doc.get(key)
    where = f"{loc}.{key}" if loc else key
    if value is None:
        issues.append(Issue(where, Code.REQUIRED, f"expected a number from {low} to {high}"))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        issues.append(Issue(where, Code.INVALID, f"expected a number from {low} to {high}, got {value!r}"))
        return None
    if not low <= value <= high:
        issues.append(Issue(where, Code.OUT_OF_RANGE, f"expected a number from {low} to {high}, got {value}"))
        return None
    return float(value)


def _object(doc: Mapping[str, Any], key: str, loc: str, issues: list[Issue]) -> Mapping[str, Any] | None:
    value = doc.get(key)
    where = f"{loc}.{key}" if loc else key
    if value is None:
        issues.append(Issue(where, Code.REQUIRED, "expected an object"))
        return None
    if not isinstance(value, dict):
        issues.append(Issue(where, Code.NOT_AN_OBJECT, f"expected an object, got {type(value).__name__}"))
        return None
    return value


def _unknown(doc: Mapping[str, Any], allowed: tuple[str, ...], loc: str, issues: list[Issue]) -> None:
    for key in doc:
        if key not in allowed:
            where = f"{loc}.{key}" if loc else key
            issues.append(Issue(where, Code.UNKNOWN_KEY, f"expected one of {', '.join(allowed)}"))


def _text(value: Any, where: str, issues: list[Issue], what: str = "a non-blank string") -> str | None:
    if not isinstance(value, str):
        issues.append(Issue(where, Code.NOT_A_STRING, f"expected {what}, got {value!r}"))
        return None
    if not value.strip():
        issues.append(Issue(where, Code.BLANK, f"expected {what}"))
        return None
    if len(value) > 1000:
        issues.append(Issue(where, Code.TOO_LONG, "expected at most 1000 characters"))
        return None
    return value


def _link(doc: Mapping[str, Any], key: str, issues: list[Issue], *, domain: bool) -> Link | None:
    obj = _object(doc, key, "", issues)
    if obj is None:
        return None
    allowed = ("bandwidth", "latency_us", "domain") if domain else ("bandwidth", "latency_us")
    _unknown(obj, allowed, key, issues)
    bandwidth = _int(obj, "bandwidth", key, issues)
    latency = _number(obj, "latency_us", key, issues, high=1e6)
    size = _int(obj, "domain", key, issues) if domain else 1
    if bandwidth is None or latency is None or size is None:
        return None
    return Link(bandwidth, latency, size)


_KEYS = ("name", "aliases", "vendor", "notes", *SOURCED, "sources")


def parse_device(doc: Any) -> tuple[DeviceSpec | None, list[Issue]]:
    """A device from its document, or None and every problem (loc relative to the document)."""
    if not isinstance(doc, dict):
        return None, [Issue("$", Code.NOT_AN_OBJECT, "expected a device object")]
    issues: list[Issue] = []
    _unknown(doc, _KEYS, "", issues)
    name = _text(doc.get("name"), "name", issues, "a device name")
    if name is not None and not _NAME.fullmatch(name):
        issues.append(Issue("name", Code.INVALID, "expected letters, digits, '.', '_' or '-' (at most 64)"))
    aliases: list[str] = []
    raw_aliases = doc.get("aliases", [])
    if not isinstance(raw_aliases, list):
        issues.append(Issue("aliases", Code.NOT_A_LIST, "expected a list of names"))
    else:
        for i, alias in enumerate(raw_aliases):
            text = _text(alias, f"aliases[{i}]", issues, "a device name")
            if text is not None and not _NAME.fullmatch(text):
                issues.append(Issue(f"aliases[{i}]", Code.INVALID, "expected letters, digits, '.', '_' or '-'"))
            elif text is not None:
                aliases.append(text)
    vendor = _text(doc.get("vendor"), "vendor", issues, "the maker's name")
    notes = doc.get("notes", "")
    if notes:
        notes = _text(notes, "notes", issues) or ""
    memory = _int(doc, "memory_bytes", "", issues)
    bandwidth = _int(doc, "memory_bandwidth", "", issues)
    peaks: dict[str, int] = {}
    flops = _object(doc, "peak_flops", "", issues)
    if flops is not None:
        _unknown(flops, PEAK_DTYPES, "peak_flops", issues)
        for dtype in PEAK_DTYPES:
            value = _int(flops, dtype, "peak_flops", issues, optional=True)
            if value is not None:
                peaks[dtype] = value
        if "bf16" not in flops and "fp16" not in flops:
            issues.append(Issue("peak_flops.bf16", Code.REQUIRED, "expected the bf16 (or fp16) dense peak"))
    scale_up = _link(doc, "scale_up", issues, domain=True)
    scale_out = _link(doc, "scale_out", issues, domain=False)
    tdp = None
    if doc.get("tdp_watts") is not None:
        tdp = _int(doc, "tdp_watts", "", issues)
    elif "tdp_watts" not in doc:
        issues.append(Issue("tdp_watts", Code.REQUIRED, "expected watts, or null where the maker publishes none"))
    price = _number(doc, "price_per_hour", "", issues, high=1e4)
    efficiency = _efficiencies(doc, issues)
    sources = _sources(doc, issues)
    if issues:
        return None, issues
    assert name and vendor and memory and bandwidth and scale_up and scale_out and price is not None
    return (
        DeviceSpec(
            name=name,
            vendor=vendor,
            memory_bytes=memory,
            memory_bandwidth=bandwidth,
            peak_flops=peaks,
            scale_up=scale_up,
            scale_out=scale_out,
            tdp_watts=tdp,
            price_per_hour=price,
            efficiency=efficiency,
            sources=sources,
            aliases=tuple(aliases),
            notes=notes,
        ),
        [],
    )


_OPTIONAL_EFFICIENCY = ("request_overhead_ms", "request_overhead_per_concurrent_ms")


def _efficiencies(doc: Mapping[str, Any], issues: list[Issue]) -> dict[str, Efficiency]:
    out: dict[str, Efficiency] = {}
    obj = _object(doc, "efficiency", "", issues)
    if obj is None:
        return out
    if DEFAULT_ENGINE not in obj:
        issues.append(Issue(f"efficiency.{DEFAULT_ENGINE}", Code.REQUIRED, "expected the default efficiencies"))
    for engine, value in obj.items():
        loc = f"efficiency.{engine}"
        if not isinstance(value, dict):
            issues.append(Issue(loc, Code.NOT_AN_OBJECT, "expected {compute, memory, overhead_us}"))
            continue
        _unknown(value, ("compute", "memory", "overhead_us", *_OPTIONAL_EFFICIENCY), loc, issues)
        compute = _number(value, "compute", loc, issues, low=1e-3, high=1.0)
        memory = _number(value, "memory", loc, issues, low=1e-3, high=1.0)
        overhead = _number(value, "overhead_us", loc, issues, high=1e6)
        optional = [_number(value, k, loc, issues, high=1e6) if k in value else 0.0 for k in _OPTIONAL_EFFICIENCY]
        if compute is not None and memory is not None and overhead is not None and None not in optional:
            out[engine] = Efficiency(compute, memory, overhead, *(float(v or 0.0) for v in optional))
    return out


def _sources(doc: Mapping[str, Any], issues: list[Issue]) -> dict[str, Source]:
    out: dict[str, Source] = {}
    obj = _object(doc, "sources", "", issues)
    if obj is None:
        return out
    _unknown(obj, SOURCED, "sources", issues)
    for key in SOURCED:
        loc = f"sources.{key}"
        value = obj.get(key)
        if not isinstance(value, dict):
            issues.append(Issue(loc, Code.MISSING_SOURCE, f"expected {{source, date}} for {key}"))
            continue
        _unknown(value, ("source", "date"), loc, issues)
        text = _text(value.get("source"), f"{loc}.source", issues, "where the figure comes from")
        date = value.get("date")
        if not isinstance(date, str) or not _DATE.fullmatch(date):
            issues.append(Issue(f"{loc}.date", Code.INVALID_DATE, f"expected YYYY-MM or YYYY-MM-DD, got {date!r}"))
            continue
        if text is not None:
            out[key] = Source(text, date)
    return out


def parse_devices(doc: Any) -> tuple[DeviceCatalogue | None, list[Issue]]:
    """The catalogue from a fixture document ``{"devices": [...]}``: every device valid, names and aliases unique
    (case-insensitive); or None and every problem (loc ``devices[i]....``)."""
    if not isinstance(doc, dict):
        return None, [Issue("$", Code.NOT_AN_OBJECT, 'expected {"devices": [...]}')]
    issues: list[Issue] = []
    _unknown(doc, ("devices",), "", issues)
    entries = doc.get("devices")
    if not isinstance(entries, list):
        return None, [*issues, Issue("devices", Code.NOT_A_LIST, "expected a list of devices")]
    if not entries:
        issues.append(Issue("devices", Code.EMPTY, "expected at least one device"))
    devices: list[DeviceSpec] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        device, problems = parse_device(entry)
        issues += [Issue(f"devices[{i}].{p.loc}" if p.loc != "$" else f"devices[{i}]", p.code, p.msg) for p in problems]
        if device is None:
            continue
        for j, key in enumerate((device.name, *device.aliases)):
            loc = f"devices[{i}].name" if j == 0 else f"devices[{i}].aliases[{j - 1}]"
            if key.lower() in seen:
                issues.append(Issue(loc, Code.DUPLICATE_NAME, f"{key!r} already names {seen[key.lower()]}"))
            seen[key.lower()] = device.name
        devices.append(device)
    if issues:
        return None, issues
    return DeviceCatalogue(tuple(devices)), []


def load_devices(path: Path | None = None) -> DeviceCatalogue:
    """The catalogue in the fixture (default ``fixtures/devices/devices.json``); raises ValueError listing every
    problem."""
    from registry.core.files import read_config_file

    data, error = read_config_file(path or FIXTURE)
    if error is not None:
        raise ValueError(str(error))
    catalogue, issues = parse_devices(data)
    if catalogue is None:
        raise ValueError("; ".join(str(i) for i in issues))
    return catalogue
