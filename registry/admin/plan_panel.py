"""The Plan panel of a config's change page: weights per dtype, KV cache, the memory chart's series."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from registry.core.planning import DTYPE_BITS, Deployment, Plan, plan_config
from registry.forms import PlanForm
from registry.models import ModelConfig

# The plan chart's contexts: from 1k tokens (an eighth of a shorter context) up to the config's, two per doubling.
CHART_START = 1024
CHART_DEFAULT_CONTEXT = 131072  # for a config that gives no context length
CHART_POINTS_PER_DOUBLING = 2


def byte_size(value: int | None) -> dict[str, Any] | None:
    """``141107412992`` as ``{"bytes": ..., "human": "141.11 GB", "exact": "141,107,412,992 bytes"}``.

    Powers of 1000, as device makers and the plan command write them.
    """
    if value is None:
        return None
    human = f"{value:,} B"
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if value >= size:
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


def plan_panel(config: ModelConfig, form: PlanForm) -> dict[str, Any]:
    """The Plan panel of a config's page: whole-model weights per dtype, KV cache per token, the chart's series.

    Every figure is the core's (plan_config); the chart is a plan per context length, so sliding windows
    and rounding show as the core counts them.
    """
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
    panel["chart"] = {
        "model_id": config.model_id,
        "device": form.cleaned_data["device"],
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
    return panel


def _max_context_text(tokens: int | None) -> str:
    if tokens is None:
        return "unbounded (every layer's cache is bounded: sliding windows, chunks, per-sequence states)"
    if tokens == 0:
        return "none (the weights alone exceed the usable memory)"
    return f"{tokens:,} tokens"
