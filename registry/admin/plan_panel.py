"""The Plan panel of a config's change page: weights per dtype, KV cache, the memory chart's series."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from registry.core import serving
from registry.core.devices import DeviceSpec
from registry.core.planning import DTYPE_BITS, Deployment, Plan, plan_config
from registry.forms import PlanForm
from registry.models import ModelConfig

# The plan chart's contexts: from 1k tokens (an eighth of a shorter context) up to the config's, two per doubling.
CHART_START = 1024
CHART_DEFAULT_CONTEXT = 131072  # for a config that gives no context length
CHART_POINTS_PER_DOUBLING = 2


def byte_size(value: int | None) -> dict[str, Any] | None:
    """``141107412992`` as ``{"bytes": ..., "human": "131.42 GiB", "exact": "141,107,412,992 bytes"}``.

    Powers of 1024, as devices' memory is counted (an H100-80GB holds 80 GiB) and the plan command writes them.
    """
    if value is None:
        return None
    human = f"{value:,} B"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            human = f"{value / size:,.2f} {unit}"
            break
    return {"bytes": value, "human": human, "exact": f"{value:,} bytes"}


def _weight_bytes(plan: Plan) -> int | None:
    """The whole model's weights of a plan, None when it has errors."""
    return plan.outputs.weight_bytes if plan.outputs is not None else None


def chart_contexts(top: int) -> list[int]:
    """Log-spaced context lengths ending at ``top``."""
    start = CHART_START if top >= 8 * CHART_START else max(1, top // 8)
    steps = max(1, math.ceil(CHART_POINTS_PER_DOUBLING * math.log2(top / start)))
    return sorted({round(start * (top / start) ** (i / steps)) for i in range(steps + 1)})


def plan_panel(config: ModelConfig, form: PlanForm, *, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Plan panel of a config's page: whole-model weights per dtype, KV cache per token, the chart's series.

    Every figure is the core's (plan_config); the chart is a plan per context length, so sliding windows
    and rounding show as the core counts them. ``document``: the change form's unsaved values, planned
    instead of the saved config's.
    """
    if document is None:
        document = config.to_document()
    context_length = document.get("max_position_embeddings")
    by_dtype = {dtype: plan_config(document, Deployment(dtype=dtype)) for dtype in DTYPE_BITS}
    bf16 = by_dtype["bf16"].outputs
    panel: dict[str, Any] = {
        "form": form,
        "context_length": context_length,
        "weights": [(dtype, byte_size(_weight_bytes(p))) for dtype, p in by_dtype.items()],
        "kv_per_token": byte_size(bf16.kv_cache.bytes_per_token if bf16 is not None else None),
        "state_per_sequence": byte_size(bf16.kv_cache.state_bytes_per_sequence if bf16 is not None else None),
        "cache_rules": [(row.name, row.cache_rule) for row in by_dtype["bf16"].layers],
        "chart_context": context_length or CHART_DEFAULT_CONTEXT,
        "context_text": f"{context_length:,} tokens"
        if context_length
        else f"not given (the chart goes to {CHART_DEFAULT_CONTEXT:,} tokens)",
        "issues": [],
        "chart": None,
    }
    deployment = form.deployment
    if deployment is None:
        return panel
    top = plan_config(document, replace(deployment, context=panel["chart_context"]))
    contexts = chart_contexts(panel["chart_context"])
    # The fit (usable memory, max_context) is the top plan's; the points skip its max_context search.
    points = [plan_config(document, replace(deployment, context=n, device_memory=None)) for n in contexts]
    issues = list(dict.fromkeys(i.msg for plan in (top, *points) for i in plan.errors))
    if issues:
        panel["issues"] = issues
        return panel
    devices = [plan.outputs.device for plan in points if plan.outputs is not None]
    fit = top.outputs.fit if top.outputs is not None else None
    assert fit is not None  # the form always asks for a device
    panel["notes"] = top.notes
    panel["usable"] = byte_size(fit.usable_bytes)
    panel["device_memory"] = byte_size(fit.device_memory)
    panel["max_context_text"] = _max_context_text(fit.max_context)
    panel["budget"] = budget_bar(top, deployment)
    if top.outputs is not None and top.outputs.budget is not None:
        b = top.outputs.budget
        concurrency = "-" if b.max_concurrency is None else f"{b.max_concurrency:,.2f}×"
        panel["max_context_text"] = (
            f"{b.kv_cache_tokens:,} tokens of KV cache; {concurrency} requests of {b.max_concurrency_tokens:,} tokens"
        )
    panel["chart"] = {
        "model_id": config.model_id,
        "device": deployment.device or form.cleaned_data["device"],
        "tp": deployment.tp,
        "dtype": deployment.dtype,
        "kv_dtype": deployment.kv_dtype,
        "batch": deployment.batch,
        "device_memory": fit.device_memory,
        "usable_bytes": fit.usable_bytes,
        "utilization": deployment.utilization,
        "fits": fit.fits,
        "max_context": fit.max_context,
        "contexts": contexts,
        "weight_bytes": [d.weight_bytes for d in devices],
        "kv_cache_bytes": [d.kv_cache_bytes for d in devices],
        "total_bytes": [d.total_bytes for d in devices],
    }
    if form.serving is not None and form.device_spec is not None:
        panel["speed"] = speed(config.model_id, document, form.serving, form.device_spec)
    return panel


def speed(model_id: str, document: dict[str, Any], d: Deployment, device: DeviceSpec) -> dict[str, Any] | None:
    """The speed chart's series (output tokens/s per device against TPOT as concurrency grows, and the cost per
    million output tokens) and the cost line at the form's concurrency; None when that plan has errors."""
    plan = serving.plan_config(document, d, device)
    p = plan.outputs.performance if plan.outputs is not None else None
    if p is None:
        return None
    levels = sorted({*serving.CURVE_CONCURRENCY, d.concurrency})
    return {
        "model_id": model_id,
        "device": device.name,
        "tp": d.tp,
        "dtype": d.dtype,
        "isl": d.isl,
        "osl": d.osl,
        "concurrency": d.concurrency,
        "points": serving.concurrency_curve(document, d, device, levels),
        "at": {
            "ttft_ms": p.ttft_ms,
            "tpot_ms": p.tpot_ms,
            "tokens_per_second_per_device": p.output_tokens_per_second_per_device,
            "tokens_per_second": p.output_tokens_per_second,
            "cost_per_million_output_tokens": p.cost_per_million_output_tokens,
            "cost_per_million_input_tokens": p.cost_per_million_input_tokens,
            "price_per_hour": p.price_per_hour,
            "fits": p.fits,
        },
    }


def budget_bar(plan: Plan, deployment: Deployment) -> dict[str, Any] | None:
    """The stacked bar of one device's memory: weights, activations, reserves, KV cache, free (bytes), in the
    engine's order, with its lines (``PlanBudget``); without an engine, weights + KV cache and the rest."""
    if plan.outputs is None or plan.outputs.fit is None:
        return None
    fit, b = plan.outputs.fit, plan.outputs.budget
    if b is None:
        device = plan.outputs.device
        kv = device.kv_cache_bytes or 0
        segments = [("Weights", device.weight_bytes), ("Activations", 0), ("Reserves", 0), ("KV cache", kv)]
        segments.append(("Free", fit.device_memory - device.weight_bytes - kv))
        lines = [
            ("Device memory", fit.device_memory, False),
            (f"Usable (× {deployment.utilization})", fit.usable_bytes, False),
            ("Weights", device.weight_bytes, False),
            ("KV cache at the context and batch", kv, False),
        ]
        return {"engine": "none", "segments": segments, "lines": _sized(lines), "will_start": fit.fits,
                "reason": None if fit.fits else "weights + KV cache exceed the usable memory"}  # fmt: skip
    reserves = b.non_torch_bytes + b.cuda_graph_bytes
    segments = [("Weights", b.weight_bytes), ("Activations", b.activation_peak_bytes), ("Reserves", reserves)]
    segments += [("KV cache", max(b.kv_cache_bytes, 0)), ("Free", b.free_bytes)]
    lines = [
        ("Device memory", b.device_memory, False),
        (f"The engine's share (× {b.fraction})", b.engine_memory_bytes, False),
        ("− weights", b.weight_bytes, False),
        ("− activation peak", b.activation_peak_bytes, b.activation_peak_estimated),
        ("− non-PyTorch (NCCL, workspaces)", b.non_torch_bytes, b.reserved_estimated),
        ("− CUDA graphs", b.cuda_graph_bytes, b.reserved_estimated),
        ("= KV cache", b.kv_cache_bytes, False),
        ("Free (left unused)", b.free_bytes, False),
    ]
    return {"engine": b.engine, "version": b.version, "segments": segments, "lines": _sized(lines),
            "will_start": b.will_start, "reason": b.reason}  # fmt: skip


def _sized(lines: list[tuple[str, int, bool]]) -> list[dict[str, Any]]:
    return [{"name": name, "size": byte_size(value), "estimated": estimated} for name, value, estimated in lines]


def _max_context_text(tokens: int | None) -> str:
    if tokens is None:
        return "unbounded (every layer's cache is bounded: sliding windows, chunks, per-sequence states)"
    if tokens == 0:
        return "none (the weights alone exceed the usable memory)"
    return f"{tokens:,} tokens"
