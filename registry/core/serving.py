"""Plans with their serving estimate: ``planning.plan_stacks`` and, with isl, osl and a device, the performance
model (``performance.estimate_stacks``) for every config in one numpy pass, as each plan's ``performance``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from registry.core import planning
from registry.core.devices import DEFAULT_ENGINE, DeviceSpec
from registry.core.engines import Engine
from registry.core.performance import Estimates, Layout, Workload, estimate_stacks, stack_of
from registry.core.plan_outputs import PlanPerformance
from registry.core.plan_parameters import Deployment

# The admin chart's concurrencies: the curve of throughput per device against TPOT.
CURVE_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64, 128, 256)
ESTIMATE_NOTE = (
    "performance is an estimate (a roofline over the exact work per layer, with fitted efficiencies; "
    "docs/performance.md gives its definitions and measured error); the memory figures are exact."
)


def layout_of(d: Deployment) -> Layout:
    return Layout(d.tp, d.pp, d.ep)


def workload_of(d: Deployment) -> Workload:
    assert d.isl is not None and d.osl is not None, "a serving deployment has isl and osl"
    return Workload(d.isl, d.osl, d.concurrency)


def estimate(
    configs: Sequence[planning.StackConfig], rows: Sequence[planning.StackRow], d: Deployment, device: DeviceSpec
) -> Estimates:
    """The performance model for every config of the stack under ``d`` on ``device`` (one column)."""
    prices = {device.name: d.price_per_hour} if d.price_per_hour is not None else None
    engine = None if d.engine is Engine.NONE else d.engine.value
    return estimate_stacks(
        configs,
        rows,
        layout_of(d),
        workload_of(d),
        [device],
        dtype=d.dtype,
        kv_dtype=d.kv_dtype,
        engine=engine,
        prices=prices,
        utilization=d.utilization,
    )


def plan_stacks(
    configs: Sequence[planning.StackConfig],
    rows: Sequence[planning.StackRow],
    deployment: Deployment,
    device: DeviceSpec | None = None,
    *,
    detail: bool = False,
) -> list[planning.Plan]:
    """``planning.plan_stacks``, and on a serving deployment (isl, osl) with ``device`` each valid plan's
    ``performance`` from one vectorized estimate of every config (its ``fits`` is the plan's own)."""
    plans = planning.plan_stacks(configs, rows, deployment, detail=detail)
    if device is None or not deployment.serving:
        return plans
    e = estimate(configs, rows, deployment, device)
    for plan, performance in zip(plans, performances(e, deployment, device, plans), strict=True):
        if performance is not None and plan.outputs is not None:
            plan.outputs.performance = performance
            plan.notes.append(ESTIMATE_NOTE)
    return plans


def plan_config(document: Mapping[str, Any], deployment: Deployment, device: DeviceSpec | None = None) -> planning.Plan:
    """The plan of one valid config document, with its performance on ``device`` when the deployment serves."""
    configs, rows = stack_of(document)
    return plan_stacks(configs, rows, deployment, device, detail=True)[0]


def performances(
    e: Estimates, d: Deployment, device: DeviceSpec, plans: Sequence[planning.Plan]
) -> list[PlanPerformance | None]:
    """Each config's ``PlanPerformance`` from the estimate's first device column (None where the plan or the
    estimate has errors); figures read in bulk, one object per config."""
    columns = [
        e.ttft_ms,
        e.tpot_ms,
        e.request_latency_ms,
        e.decode_step_ms,
        e.output_tps,
        e.output_tps_per_device,
        e.input_tps,
        e.cost_per_m_output,
        e.cost_per_m_input,
    ]
    figures = [c[:, 0].tolist() for c in columns]
    ok = e.ok.tolist()
    engine = d.engine.value if d.engine is not Engine.NONE and d.engine.value in device.efficiency else DEFAULT_ENGINE
    price = d.price_per_hour if d.price_per_hour is not None else device.price_per_hour
    out: list[PlanPerformance | None] = []
    for i, plan in enumerate(plans):
        if not ok[i] or plan.fits is None:
            out.append(None)
            continue
        ttft, tpot, latency, step, tps, tps_device, input_tps, cost_out, cost_in = (f[i] for f in figures)
        out.append(
            PlanPerformance(
                device=device.name,
                efficiency=engine,
                replica_devices=e.layout.devices,
                ttft_ms=ttft,
                tpot_ms=tpot,
                request_latency_ms=latency,
                decode_step_ms=step,
                output_tokens_per_second=tps,
                output_tokens_per_second_per_device=tps_device,
                input_tokens_per_second=input_tps,
                price_per_hour=price,
                cost_per_million_output_tokens=cost_out,
                cost_per_million_input_tokens=cost_in,
                fits=plan.fits,
            )
        )
    return out


def concurrency_curve(
    document: Mapping[str, Any],
    deployment: Deployment,
    device: DeviceSpec,
    levels: Sequence[int] = CURVE_CONCURRENCY,
) -> list[dict[str, Any]]:
    """One config on one device at each concurrency of ``levels``: TPOT, output tokens/s per device, TTFT, cost
    per million output tokens and the fit (the admin chart's curve); levels whose batch cannot be placed are
    left out."""
    configs, rows = stack_of(document)
    points = []
    for c in levels:
        d = replace(deployment, concurrency=c, batch=-(-c // deployment.ep))
        plan = planning.plan_stacks(configs, rows, d)[0]
        if not plan.ok:
            continue
        (p,) = performances(estimate(configs, rows, d, device), d, device, [plan])
        if p is None:
            continue
        points.append(
            {
                "concurrency": c,
                "tpot_ms": p.tpot_ms,
                "ttft_ms": p.ttft_ms,
                "tokens_per_second_per_device": p.output_tokens_per_second_per_device,
                "cost_per_million_output_tokens": p.cost_per_million_output_tokens,
                "fits": p.fits,
            }
        )
    return points
