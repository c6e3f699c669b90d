"""The cheapest deployment: every device × tp × pp × ep that places and fits a config, the cheapest per output token
that meets the latency limits, and the Pareto front of cost against TPOT. Vectorized over configs × devices ×
layouts (``performance.estimate_layouts``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from registry.core import counts, planning
from registry.core.devices import DeviceSpec
from registry.core.performance import Estimates, Layout, Workload, estimate_layouts

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Limits:
    """What a deployment must meet: latency limits (ms; None: none), the most devices per replica, the
    degrees tried (powers of two up to ``max_devices``), and optionally a target output throughput (tokens/s)
    that sets how many replicas are needed."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    max_devices: int = 8
    target_tps: float | None = None
    max_pp: int = 4


@dataclass(frozen=True)
class Candidate:
    """One deployment the search evaluated that fits and meets the limits."""

    model_id: str
    device: str
    layout: Layout
    ttft_ms: float
    tpot_ms: float
    output_tps: float
    cost_per_m_output: float
    cost_per_m_input: float
    replicas: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "device": self.device,
            "tp": self.layout.tp,
            "pp": self.layout.pp,
            "ep": self.layout.ep,
            "devices": self.layout.devices,
            "replicas": self.replicas,
            "ttft_ms": self.ttft_ms,
            "tpot_ms": self.tpot_ms,
            "output_tokens_per_second": self.output_tps,
            "cost_per_million_output_tokens": self.cost_per_m_output,
            "cost_per_million_input_tokens": self.cost_per_m_input,
        }


@dataclass
class Recommendation:
    """Per config: the cheapest candidate (None when nothing fits and meets the limits) and the Pareto front of
    cost per million output tokens against TPOT (ascending TPOT); ``evaluated`` counts deployments."""

    best: dict[str, Candidate | None] = field(default_factory=dict)
    pareto: dict[str, list[Candidate]] = field(default_factory=dict)
    evaluated: int = 0


def layouts(limits: Limits, *, moe: bool = True) -> Iterator[Layout]:
    """Every tp × pp × ep of powers of two with at most ``max_devices`` devices (ep > 1 only for MoE)."""
    powers = [2**i for i in range(0, limits.max_devices.bit_length()) if 2**i <= limits.max_devices]
    for pp in (p for p in powers if p <= limits.max_pp):
        for tp in powers:
            for ep in powers if moe else [1]:
                if tp * pp * ep <= limits.max_devices:
                    yield Layout(tp, pp, ep)


def search(
    configs: Sequence[planning.StackConfig],
    rows: Sequence[planning.StackRow],
    workload: Workload,
    devices: Sequence[DeviceSpec],
    limits: Limits = Limits(),
    *,
    dtype: str = "bf16",
    kv_dtype: str = "bf16",
    engine: str | None = None,
    prices: Mapping[str, float] | None = None,
) -> Recommendation:
    """Search every device × layout for every config: the cheapest per output token meeting the limits, and the
    Pareto front. A layout whose degrees do not divide a config is skipped for it (the planner's refusal).

    One array per figure over configs × (layout, device) pairs: the best is the least cost, then TPOT, then
    devices, then the first pair in layout-then-device order; the front is ``pareto_front`` of the same order.
    Only the chosen deployments become ``Candidate`` objects."""
    import numpy as np

    out = Recommendation()
    moe = any(r.specs.get("num_experts") for r in rows)
    grid = list(layouts(limits, moe=moe))
    out.evaluated = len(configs) * len(devices) * len(grid)
    if not configs:
        return out
    cols = counts.columns([r.class_name for r in rows], [r.specs for r in rows])
    estimates = estimate_layouts(
        configs, rows, grid, workload, devices, dtype=dtype, kv_dtype=kv_dtype, engine=engine, prices=prices, cols=cols
    )

    def pairs(name: str) -> np.ndarray:  # configs × (layout, device) pairs, layout-major; inf where not met
        values: np.ndarray = np.stack([getattr(e, name) for e in estimates], axis=1).reshape(len(configs), -1)
        values[~meets] = np.inf
        return values

    meets: np.ndarray = np.stack([_meets(e, limits) for e in estimates], axis=1).reshape(len(configs), -1)
    cost, tpot = pairs("cost_per_m_output"), pairs("tpot_ms")
    size = np.repeat(np.array([lt.devices for lt in grid], dtype=np.int64), len(devices))
    has: np.ndarray = np.asarray(meets.any(axis=1))
    best = _first_least(cost, tpot, size, meets)
    front_i, front_k = _fronts(cost, tpot, size, meets)
    picks = {(int(i), int(k)) for i, k in zip(np.flatnonzero(has).tolist(), best[has].tolist(), strict=True)}
    picks.update(zip(front_i.tolist(), front_k.tolist(), strict=True))
    made = _candidates(configs, estimates, len(devices), sorted(picks), limits)
    for i, config in enumerate(configs):
        out.best[config.model_id] = made[(i, int(best[i]))] if has[i] else None
        out.pareto[config.model_id] = []
    for i, k in zip(front_i.tolist(), front_k.tolist(), strict=True):
        out.pareto[configs[i].model_id].append(made[(i, k)])
    return out


def _meets(e: Estimates, limits: Limits) -> Any:
    meets = e.fits & e.ok[:, None]
    if limits.ttft_ms is not None:
        meets &= e.ttft_ms <= limits.ttft_ms
    if limits.tpot_ms is not None:
        meets &= e.tpot_ms <= limits.tpot_ms
    return meets


def _first_least(cost: np.ndarray, tpot: np.ndarray, size: np.ndarray, meets: np.ndarray) -> np.ndarray:
    """Per config, the index of the least (cost, TPOT, devices) among the pairs that meet the limits, the first
    of equals (``sorted`` is stable); ties on cost are rare, so only their configs break them."""
    import numpy as np

    best: np.ndarray = np.argmin(cost, axis=1)
    least = np.take_along_axis(cost, best[:, None], axis=1)
    rows = np.arange(len(best))
    tied = np.flatnonzero((((cost == least) & meets).sum(axis=1) > 1) | (meets.any(axis=1) & ~meets[rows, best]))
    for i in tied.tolist():
        at = np.flatnonzero(meets[i] & (cost[i] == least[i, 0]))
        best[i] = at[np.lexsort((size[at], tpot[i, at]))[0]]
    return best


def _fronts(cost: np.ndarray, tpot: np.ndarray, size: np.ndarray, meets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto fronts as (config, pair index) arrays, each config's in ascending TPOT: ``pareto_front`` on the
    pairs in order of (TPOT, cost, devices, index); pairs that do not meet the limits are inf on both."""
    import numpy as np

    order = np.lexsort((np.broadcast_to(size, cost.shape), cost, tpot), axis=1)
    sorted_cost = np.take_along_axis(cost, order, axis=1)
    on_front = sorted_cost < np.inf
    on_front[:, 1:] &= sorted_cost[:, 1:] < np.minimum.accumulate(sorted_cost, axis=1)[:, :-1]
    front_i, at = np.nonzero(on_front)
    return front_i, order[front_i, at]


def _candidates(
    configs: Sequence[planning.StackConfig],
    estimates: Sequence[Estimates],
    n_devices: int,
    picks: Sequence[tuple[int, int]],
    limits: Limits,
) -> dict[tuple[int, int], Candidate]:
    """The Candidate of each (config, layout-major pair index) in ``picks``, its figures read in bulk."""
    import numpy as np

    if not picks:
        return {}
    at = np.array(picks, dtype=np.int64)
    i, layout, j = at[:, 0], at[:, 1] // n_devices, at[:, 1] % n_devices
    names = ("ttft_ms", "tpot_ms", "output_tps", "cost_per_m_output", "cost_per_m_input")
    figures = np.empty((len(names), len(picks)))
    for n, e in enumerate(estimates):
        here = layout == n
        for f, name in enumerate(names):
            figures[f, here] = getattr(e, name)[i[here], j[here]]
    out = {}
    for (ci, ck), ttft, tpot, tps, cost, cost_in in zip(picks, *figures.tolist(), strict=True):
        e = estimates[ck // n_devices]
        replicas = 1 if limits.target_tps is None else max(1, -(-int(limits.target_tps) // max(int(tps), 1)))
        out[(ci, ck)] = Candidate(
            configs[ci].model_id, e.devices[ck % n_devices], e.layout, ttft, tpot, tps, cost, cost_in, replicas
        )
    return out


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates no other beats on both cost per million output tokens and TPOT, by ascending TPOT."""
    front: list[Candidate] = []
    best_cost = float("inf")
    for c in sorted(candidates, key=lambda c: (c.tpot_ms, c.cost_per_m_output)):
        if c.cost_per_m_output < best_cost:
            front.append(c)
            best_cost = c.cost_per_m_output
    return front
