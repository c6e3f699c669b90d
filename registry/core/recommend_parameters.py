"""The parameters of a recommendation (the cheapest deployment search), defined once: ``TABLE`` drives the parser
(``parse_search``), the API's query parameters and their schema, and the ``recommend`` command's options, as
``plan_parameters.TABLE`` does for a plan. A parameter is a field of ``Search`` and a row of ``TABLE``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.core.devices import DeviceSpec
from registry.core.engines import Engine
from registry.core.issues import Code, Issue
from registry.core.performance import Workload
from registry.core.plan_parameters import (
    DTYPE_BITS,
    MAX_CONCURRENCY,
    MAX_TOKENS,
    Parameter,
    device_named,
    parse_values,
)
from registry.core.planning import StackConfig, StackRow
from registry.core.recommend import Candidate, Limits, search

MAX_REPLICA = 64  # devices per replica the search may try
MAX_LATENCY_MS = 1e7
MAX_TPS = 1e12


@dataclass(frozen=True)
class Search:
    """A workload, its constraints and what to search over."""

    isl: int = 1024
    osl: int = 1024
    concurrency: int = 16
    dtype: str = "bf16"
    kv_dtype: str = "bf16"
    engine: Engine = Engine.NONE
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    devices: tuple[str, ...] | None = None  # canonical names; None: the whole catalogue
    max_devices: int = 8
    max_pp: int = 4
    target_tps: float | None = None

    @property
    def workload(self) -> Workload:
        return Workload(self.isl, self.osl, self.concurrency)

    @property
    def limits(self) -> Limits:
        return Limits(self.ttft_ms, self.tpot_ms, self.max_devices, self.target_tps, self.max_pp)

    @property
    def engine_name(self) -> str | None:
        """The efficiency row to read (None: the devices' defaults)."""
        return None if self.engine is Engine.NONE else self.engine.value


def _p(name: str, kind: Any, help: str, low: float | None = None, high: float | None = None, **kw: Any) -> Parameter:
    return Parameter(name, kind, help, low, high, owner=Search, **kw)


_DTYPES = tuple(DTYPE_BITS)
TABLE: tuple[Parameter, ...] = (
    _p("isl", "integer", "Input tokens per request.", 1, MAX_TOKENS),
    _p("osl", "integer", "Output tokens per request.", 1, MAX_TOKENS),
    _p("concurrency", "integer", "Requests in flight per replica.", 1, MAX_CONCURRENCY),
    _p("dtype", "choice", "Weight dtype.", choices=_DTYPES),
    _p("kv_dtype", "choice", "KV-cache dtype.", choices=_DTYPES),
    _p(
        "engine",
        "choice",
        "Whose efficiencies to read (a device without the engine's uses its default).",
        choices=tuple(e.value for e in Engine),
        value=Engine,
    ),
    _p(
        "ttft_ms",
        "number",
        "The longest time to first token allowed (ms).",
        0,
        MAX_LATENCY_MS,
        default_text="Default none.",
    ),
    _p(
        "tpot_ms",
        "number",
        "The longest time per output token allowed (ms; excludes the first token).",
        0,
        MAX_LATENCY_MS,
        default_text="Default none.",
    ),
    _p(
        "devices",
        "devices",
        "The devices to consider, names or aliases of the catalogue separated by commas.",
        default_text="Default every device of the catalogue.",
    ),
    _p("max_devices", "integer", "The most devices per replica (tp × pp × ep, powers of two).", 1, MAX_REPLICA),
    _p("max_pp", "integer", "The most pipeline stages tried.", 1, MAX_REPLICA),
    _p(
        "target_tps",
        "number",
        "Output tokens per second wanted: each candidate says how many replicas reach it.",
        0,
        MAX_TPS,
        default_text="Default none (one replica).",
    ),
)
BY_NAME: Mapping[str, Parameter] = {p.name: p for p in TABLE}
if {p.name for p in TABLE} != {f.name for f in dataclasses.fields(Search)}:  # pragma: no cover
    raise ImportError("recommend parameters: Search and TABLE differ")


def parse_search(
    params: Mapping[str, str | None], devices: Mapping[str, DeviceSpec]
) -> tuple[Search | None, list[Issue]]:
    """A search from text parameters; every problem at once (loc = name). ``devices``: the catalogue by name and
    alias; the search's devices are its canonical names."""
    values, issues = parse_values(TABLE, params)
    if "devices" in values:
        names: list[str] = []
        for name in values["devices"]:
            found = device_named(name, devices)
            if found is None:
                issues.append(Issue("devices", Code.UNKNOWN_DEVICE, f"no device {name!r} in the catalogue"))
            elif found[0] not in names:
                names.append(found[0])
        values["devices"] = tuple(names)
    if not devices:
        issues.append(Issue("devices", Code.EMPTY, "the device catalogue is empty: load it (manage.py loadconfigs)"))
    if issues:
        return None, issues
    return Search(**values), []


def chosen(search: Search, devices: Mapping[str, DeviceSpec]) -> Sequence[DeviceSpec]:
    """The devices the search considers, in the catalogue's order, each once."""
    unique = list({d.name: d for d in devices.values()}.values())
    if search.devices is None:
        return unique
    return [d for d in unique if d.name in search.devices]


def recommendations(
    configs: Sequence[StackConfig], rows: Sequence[StackRow], s: Search, devices: Sequence[DeviceSpec]
) -> list[dict[str, Any]]:
    """Every config's recommendation as the API writes it, from one search over all of them."""
    found = search(
        configs, rows, s.workload, devices, s.limits, dtype=s.dtype, kv_dtype=s.kv_dtype, engine=s.engine_name
    )
    described = search_dict(s, devices)
    per_config = found.evaluated // max(len(configs), 1)

    def candidate(c: Candidate | None) -> dict[str, Any] | None:
        return None if c is None else c.as_dict()

    return [
        {
            "model_id": c.model_id,
            "search": described,
            "evaluated": per_config,
            "best": candidate(found.best.get(c.model_id)),
            "pareto": [x.as_dict() for x in found.pareto.get(c.model_id, [])],
        }
        for c in configs
    ]


def search_dict(s: Search, devices: Sequence[DeviceSpec]) -> Mapping[str, Any]:
    return {
        "isl": s.isl,
        "osl": s.osl,
        "concurrency": s.concurrency,
        "dtype": s.dtype,
        "kv_dtype": s.kv_dtype,
        "engine": s.engine.value,
        "ttft_ms": s.ttft_ms,
        "tpot_ms": s.tpot_ms,
        "devices": [d.name for d in devices],
        "max_devices": s.max_devices,
        "max_pp": s.max_pp,
        "target_tps": s.target_tps,
    }
