"""Deployment plans: weights, KV cache, FLOPs, training states and fit per device, for one config or all at once.

Every figure comes from one vectorized pass over layer rows (``plan_stacks``); a single config is a stack of
one. Definitions (the README's "Planning a deployment" repeats them):

- Per-device weights: each layer type split by its class's shards (``catalogue.Shard``; a class without
  tensor parallelism is replicated); pipeline stages take the decoder layers as evenly as possible (the first
  ``num_layers % pp`` stages one more), layer types of one kind in document order (or alternating, see
  ``_interleave``); the input embedding and
  position embeddings on the first stage, the output head, an untied head written as a second
  ``EmbeddingLayer`` and the final norm on the last; a tied head on another stage than the embedding holds a
  copy of it. The heaviest device is reported.
- Cache: per layer and token, the class's ``kv_elements`` (2 · KV heads · head_dim; MLA its latent; none for
  a layer reading an earlier layer's KV) on one tensor-parallel rank, for ``min(n, sliding_window or
  attention_chunk_size)`` tokens split over ``cp``; plus, per sequence and whatever the context, the class's
  ``state_elements`` (in kv_dtype) and ``recurrent_state_elements`` (in the layer's state_dtype) of linear
  attention and Mamba layers. ``LayerClass.cache_rule`` names the rule each layer type follows.
- FLOPs per token (forward): 2 · (active parameters − input and position embeddings, a tied head's V · h
  counted once) + Σ attention layers 2 · heads · (qk + v head dims) · min(n, W); training 3×.
- Training states (mixed-precision Adam, ZeRO's K = 12): 16Ψ, 4Ψ + 12Ψ/dp, 2Ψ + 14Ψ/dp, 16Ψ/dp for stages
  0-3, Ψ the parameters of the heaviest device; activations are not estimated.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from registry.core import catalogue, counts
from registry.core.catalogue import LayerKind
from registry.core.validation import Code, Issue

if TYPE_CHECKING:
    import numpy as np

# Bits per value: int4 is half a byte, so byte counts are bits / 8 rounded up.
DTYPE_BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4}
# Nominal memory of common accelerators, as their makers state it (GiB of HBM/GDDR).
DEVICES = {
    "A100-40GB": 40 * 2**30,
    "A100-80GB": 80 * 2**30,
    "H100-80GB": 80 * 2**30,
    "H100-NVL": 94 * 2**30,
    "H200": 141 * 2**30,
    "B200": 192 * 2**30,
    "L4": 24 * 2**30,
    "L40S": 48 * 2**30,
    "RTX-4090": 24 * 2**30,
    "MI250X": 128 * 2**30,
    "MI300X": 192 * 2**30,
    "MI325X": 256 * 2**30,
    "TPU-v5e": 16 * 2**30,
    "TPU-v5p": 95 * 2**30,
}
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20}
_UNITS |= {"GIB": 2**30, "TIB": 2**40}
_MEMORY_RE = re.compile(r"^\s*([0-9]{1,15}(?:\.[0-9]{1,15})?)\s*([A-Za-z]*)\s*$")
MAX_CONTEXT = 2**31  # tokens: the search for max_context stops here
MAX_BATCH = 2**20
MAX_DEGREE = 2**20
MAX_STAGES = 1024  # pipeline stages: arrays of layer rows × stages are built
MAX_MEMORY = 2**50  # bytes of one device (a petabyte): beyond it, a typo
_LIMIT = 2**62  # int64 headroom: figures past it are refused rather than wrapped


class Mode(enum.StrEnum):
    INFERENCE = "inference"
    TRAINING = "training"


@dataclass(frozen=True)
class Deployment:
    """How a model is to run: dtypes, sizes, parallel degrees, and optionally the device to fit on."""

    dtype: str = "bf16"
    kv_dtype: str = "bf16"
    context: int | None = None  # tokens per sequence; None: the config's context length
    batch: int = 1
    tp: int = 1
    pp: int = 1
    ep: int = 1
    cp: int = 1
    mode: Mode = Mode.INFERENCE
    dp: int = 1
    zero: int = 0
    device_memory: int | None = None  # bytes
    utilization: float = 0.9

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.ep * self.cp * self.dp


# What parse_deployment reads: the Deployment's fields, by name.
PARAMETERS = tuple(f.name for f in dataclasses.fields(Deployment))


def parse_memory(text: str) -> int | None:
    """Bytes from ``80GB``, ``80GiB``, ``141 GB``, ``85899345920`` or a name in ``DEVICES``; None if unreadable."""
    names = {name.lower(): size for name, size in DEVICES.items()}
    if text.strip().lower() in names:
        return names[text.strip().lower()]
    match = _MEMORY_RE.match(text)
    if not match or match.group(2).upper() not in _UNITS:
        return None
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    return int(value) if 1 <= value <= MAX_MEMORY else None


def parse_deployment(params: Mapping[str, str | None]) -> tuple[Deployment | None, list[Issue]]:
    """A deployment from text parameters (query string, command options); every problem at once, loc = name."""
    issues: list[Issue] = []
    values: dict[str, Any] = {}

    def integer(name: str, low: int, high: int) -> None:
        text = params.get(name)
        if text is None:
            return
        if not re.fullmatch(r"[0-9]{1,19}", text.strip()) or not low <= int(text) <= high:
            issues.append(Issue(name, Code.INVALID, f"expected an integer from {low} to {high}, got {text!r}"))
            return
        values[name] = int(text)

    for name in ("dtype", "kv_dtype"):
        text = params.get(name)
        if text is not None:
            if text not in DTYPE_BITS:
                choices = ", ".join(DTYPE_BITS)
                issues.append(Issue(name, Code.INVALID_CHOICE, f"expected one of {choices}, got {text!r}"))
            else:
                values[name] = text
    integer("context", 1, MAX_CONTEXT)
    integer("batch", 1, MAX_BATCH)
    for name in ("tp", "ep", "cp", "dp"):
        integer(name, 1, MAX_DEGREE)
    integer("pp", 1, MAX_STAGES)
    integer("zero", 0, 3)
    mode = params.get("mode")
    if mode is not None:
        if mode not in {m.value for m in Mode}:
            issues.append(Issue("mode", Code.INVALID_CHOICE, f"expected inference or training, got {mode!r}"))
        else:
            values["mode"] = Mode(mode)
    memory = params.get("device_memory")
    if memory is not None:
        parsed = parse_memory(memory)
        if parsed is None:
            issues.append(
                Issue(
                    "device_memory",
                    Code.INVALID,
                    f"expected bytes, a size such as 80GB or 80GiB, or a device ({', '.join(DEVICES)}), got {memory!r}",
                )
            )
        else:
            values["device_memory"] = parsed
    utilization = params.get("utilization")
    if utilization is not None:
        try:
            fraction = float(utilization) if utilization.isascii() and len(utilization) <= 40 else -1.0
        except ValueError:
            fraction = -1.0
        if not 0 < fraction <= 1:
            issues.append(Issue("utilization", Code.INVALID, f"expected a fraction in (0, 1], got {utilization!r}"))
        else:
            values["utilization"] = fraction
    if values.get("mode", Mode.INFERENCE) is Mode.INFERENCE:
        for name in ("dp", "zero"):
            if name in values and values[name] != Deployment.__dataclass_fields__[name].default:
                issues.append(Issue(name, Code.NOT_FOR_INFERENCE, f"{name} applies to mode=training only"))
    if issues:
        return None, issues
    return Deployment(**values), []


@dataclass(frozen=True)
class StackRow:
    """One layer type of a config, as planning reads it."""

    config: int  # index of the config in the stack
    name: str
    class_name: str
    count: int
    specs: Mapping[str, Any]


@dataclass(frozen=True)
class StackConfig:
    model_id: str
    num_layers: int
    context_length: int | None


@dataclass
class Plan:
    """One config's plan: figures, a row per layer type on the heaviest device, notes; or errors."""

    model_id: str
    deployment: Deployment
    context: int | None = None  # tokens per sequence planned for
    errors: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    layer_types: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        d = self.deployment
        out: dict[str, Any] = {
            "model_id": self.model_id,
            "deployment": {
                "mode": d.mode.value,
                "dtype": d.dtype,
                "kv_dtype": d.kv_dtype,
                "context": self.figures.get("context", self.context),
                "batch": d.batch,
                "tp": d.tp,
                "pp": d.pp,
                "ep": d.ep,
                "cp": d.cp,
                "dp": d.dp,
                "zero": d.zero,
                "devices": d.devices,
                "device_memory": d.device_memory,
                "utilization": d.utilization,
            },
            "errors": [i.as_dict() for i in self.errors],
            "notes": self.notes,
        }
        out.update(self.figures)
        out.pop("context", None)
        if self.layer_types:
            out["layer_types"] = self.layer_types
        return out


def plan_config(document: Mapping[str, Any], deployment: Deployment) -> Plan:
    """The plan of one valid config document."""
    config = StackConfig(document["model_id"], document["num_layers"], document.get("max_position_embeddings"))
    rows = [
        StackRow(
            0, lt["name"], lt["class"], lt["count"], {k: v for k, v in lt["specs"].items() if k != "parameter_count"}
        )
        for lt in document["layer_types"]
    ]
    return plan_stacks([config], rows, deployment, detail=True)[0]


def _ceil_div(a: Any, b: Any) -> Any:
    return -(-a // b)


def plan_stacks(
    configs: Sequence[StackConfig], rows: Sequence[StackRow], deployment: Deployment, *, detail: bool = False
) -> list[Plan]:
    """The plans of many configs in one numpy pass over their layer rows (no loop per config).

    ``detail`` adds each plan's per-layer-type rows (a loop over rows, for one config's page).
    """
    import numpy as np

    d = deployment
    # The multi-token-prediction module is not built by transformers nor loaded to serve: not planned.
    with_mtp = {r.config for r in rows if catalogue.is_mtp(r.class_name, r.specs)}
    if with_mtp:
        rows = [r for r in rows if not catalogue.is_mtp(r.class_name, r.specs)]
    n_configs, n_rows = len(configs), len(rows)
    # Configs with fewer layers than pp are refused below; arrays need no more stages than the deepest has.
    stages = max(1, min(d.pp, max((c.num_layers for c in configs), default=1)))
    plans = [Plan(c.model_id, d, d.context or c.context_length) for c in configs]
    for i in with_mtp:
        plans[i].notes.append(
            "The multi-token-prediction layer types (mtp) are not planned: they are outside total_params, and an "
            "engine loads them only for speculative decoding."
        )
    owner = np.fromiter((r.config for r in rows), dtype=np.int64, count=n_rows)
    count = np.fromiter((r.count for r in rows), dtype=np.int64, count=n_rows)
    classes = [catalogue.get(r.class_name) for r in rows]
    kinds = [c.kind if c is not None else None for c in classes]
    num_layers = np.fromiter((c.num_layers for c in configs), dtype=np.int64, count=n_configs)

    # A tied head on another stage than its embedding holds a copy of the embedding's weights.
    tied_copy = np.fromiter(
        (
            stages > 1 and k is LayerKind.OUTPUT_HEAD and bool(r.specs.get("tie_word_embeddings"))
            for r, k in zip(rows, kinds, strict=True)
        ),
        dtype=bool,
        count=n_rows,
    )
    cols = counts.columns([r.class_name for r in rows], [r.specs for r in rows])
    degrees = {"tp": d.tp, "ep": d.ep}
    untie = {"tie_word_embeddings": 0} if stages > 1 else None
    device_params, failures = counts.evaluate(cols, lambda c: c.formula, degrees=degrees, overrides=untie)
    full_params, _ = counts.evaluate(cols, lambda c: c.formula)
    active_params, _ = counts.evaluate(cols, lambda c: c.token_formula)
    kv_elements, _ = counts.evaluate(cols, lambda c: c.kv_elements, degrees=degrees)
    whole_kv_elements, _ = counts.evaluate(cols, lambda c: c.kv_elements)
    attention_flops, _ = counts.evaluate(cols, lambda c: c.attention_flops)
    window = np.fromiter((_window(r) for r in rows), dtype=np.int64, count=n_rows)
    # Per-sequence state (linear attention, Mamba): bits of one layer for one sequence, on one device and whole.
    state_bits = _state_bits(cols, rows, d, degrees)
    whole_state_bits = _state_bits(cols, rows, d, None)

    positions = np.zeros(n_rows, dtype=np.int64)  # each row's index in its config's layer_types
    seen_rows: dict[int, int] = {}
    for j, r in enumerate(rows):
        positions[j] = seen_rows.get(r.config, 0)
        seen_rows[r.config] = positions[j] + 1
    for failure in failures:
        plans[rows[failure.row].config].errors.append(
            _shard_issue(failure, rows[failure.row], int(positions[failure.row]))
        )
    has_experts = np.zeros(n_configs, dtype=bool)
    np.logical_or.at(has_experts, owner, np.fromiter((bool(c and c.has_experts) for c in classes), dtype=bool))
    if d.ep > 1:
        for i in np.flatnonzero(~has_experts).tolist():
            plans[i].errors.append(
                Issue("ep", Code.NO_EXPERTS, f"ep={d.ep} splits routed experts, and this config has no MoELayer")
            )
    for i in np.flatnonzero(num_layers < d.pp).tolist():
        plans[i].errors.append(
            Issue("pp", Code.TOO_MANY_STAGES, f"pp={d.pp} exceeds the config's num_layers ({configs[i].num_layers})")
        )

    on_stage = _stage_counts(rows, kinds, count, owner, num_layers, stages)  # rows × stages

    bits, kv_bits = DTYPE_BITS[d.dtype], DTYPE_BITS[d.kv_dtype]
    weights = np.zeros((n_configs, stages), dtype=np.int64)
    np.add.at(weights, owner, on_stage * device_params[:, None])
    kv_per_token = np.zeros((n_configs, stages), dtype=np.int64)  # elements, all tokens held
    np.add.at(kv_per_token, owner, on_stage * kv_elements[:, None])

    context = np.fromiter(
        (d.context or c.context_length or 0 for c in configs), dtype=np.int64, count=n_configs
    )  # 0: unknown

    def kv_bits_at(tokens: np.ndarray) -> np.ndarray:
        """Cache bits per (config, stage) for ``tokens`` per sequence (an array per config): what grows with the
        tokens held (up to a window or chunk), and the per-sequence states that do not."""
        held = np.minimum(tokens[owner], window)
        per_device = _ceil_div(held, d.cp) * d.batch * kv_bits
        out = np.zeros((n_configs, stages), dtype=np.int64)
        np.add.at(out, owner, on_stage * (kv_elements * per_device + state_bits * d.batch)[:, None])
        return out

    # Refuse figures past int64 rather than wrap: bits of weights and of the cache at the context.
    held = np.minimum(np.maximum(context, 1)[owner], window).astype(float) / d.cp + 1
    approx = np.zeros((n_configs, stages))
    np.add.at(approx, owner, on_stage * ((kv_elements * kv_bits * held + state_bits) * d.batch)[:, None])
    too_large = (approx >= _LIMIT).any(axis=1) | (weights.astype(float) * bits >= _LIMIT).any(axis=1)
    for i in np.flatnonzero(too_large).tolist():
        plans[i].errors.append(Issue("context", Code.TOO_LARGE, "the figures of this plan exceed 2**62 bits"))
    ok = np.array([p.ok for p in plans], dtype=bool)
    safe_context = np.where(ok, context, 0)

    kv_whole = np.zeros(n_configs, dtype=np.int64)  # elements per token, the whole model
    np.add.at(kv_whole, owner, count * whole_kv_elements)
    kv_growing = np.zeros(n_configs, dtype=np.int64)  # elements per token past every window and chunk
    np.add.at(kv_growing, owner, count * whole_kv_elements * (window >= MAX_CONTEXT))
    state_whole = np.zeros(n_configs, dtype=np.int64)  # bits per sequence, the whole model
    np.add.at(state_whole, owner, count * whole_state_bits)
    state_on_stage = np.zeros((n_configs, stages), dtype=np.int64)
    np.add.at(state_on_stage, owner, on_stage * state_bits[:, None])
    has_tied_copy = np.zeros(n_configs, dtype=bool)
    np.logical_or.at(has_tied_copy, owner, tied_copy)
    weight_bytes = _ceil_div(weights * bits, 8)
    kv_bytes = _ceil_div(kv_bits_at(safe_context), 8)
    total_params = np.zeros(n_configs, dtype=np.int64)
    np.add.at(total_params, owner, count * full_params)
    active = np.zeros(n_configs, dtype=np.int64)
    np.add.at(active, owner, count * active_params)

    # Training: ZeRO's model states of the heaviest device's parameters Ψ (K = 12).
    psi = weights
    dp = d.dp
    states = {
        0: 16 * psi,
        1: 4 * psi + _ceil_div(12 * psi, dp),
        2: 2 * psi + _ceil_div(14 * psi, dp),
        3: _ceil_div(16 * psi, dp),
    }[d.zero]
    training = d.mode is Mode.TRAINING
    need = states if training else weight_bytes + kv_bytes
    heaviest = np.argmax(need, axis=1)

    flops = _flops(
        rows, kinds, owner, count, active_params, full_params, attention_flops, window, safe_context, n_configs
    )

    usable = None
    if d.device_memory is not None:  # exactly floor(memory × utilization), the fraction as written
        usable = int(Decimal(d.device_memory) * Decimal(repr(d.utilization)))
    max_context = unbounded = capped = None
    if usable is not None and not training:
        rate = np.zeros((n_configs, stages))  # cache bits per token of context, windows aside: the search's bound
        np.add.at(rate, owner, on_stage * (kv_elements * kv_bits * d.batch)[:, None])
        bound = np.minimum(MAX_CONTEXT, (2.0**61 / np.maximum(rate.max(axis=1), 1))).astype(np.int64)
        grows = (kv_elements > 0) & (window >= MAX_CONTEXT)  # a cache without a window or chunk
        max_context, unbounded, capped = _max_context(kv_bits_at, weight_bytes, usable, owner, grows, on_stage, bound)

    for i, plan in enumerate(plans):
        if not plan.ok:
            continue
        s = int(heaviest[i])
        n = int(context[i])
        figures: dict[str, Any] = {
            "context": n or None,
            "total_params": int(total_params[i]),
            "active_params": int(active[i]),
            "weight_bytes": _ceil_div(int(total_params[i]) * bits, 8),
            "device": {
                "stage": s,
                "parameters": int(weights[i, s]),
                "weight_bytes": int(weight_bytes[i, s]),
                "kv_cache_bytes": int(kv_bytes[i, s]) if n else None,
            },
            "kv_cache": {
                "bytes_per_token": _ceil_div(int(kv_whole[i]) * kv_bits, 8),
                "bytes_per_token_beyond_windows": _ceil_div(int(kv_growing[i]) * kv_bits, 8),
                "bytes_per_token_per_device": _ceil_div(int(kv_per_token[i, s]) * kv_bits, 8),
                "bytes_per_device": int(kv_bytes[i, s]) if n else None,
                "state_bytes_per_sequence": _ceil_div(int(state_whole[i]), 8),
                "state_bytes_per_sequence_per_device": _ceil_div(int(state_on_stage[i, s]), 8),
            },
        }
        figures["flops_per_token"] = {
            "forward": int(flops[0][i] + flops[1][i]) if n else None,
            "forward_without_attention": int(flops[0][i]),
            "training": 3 * int(flops[0][i] + flops[1][i]) if n else None,
        }
        if training:
            figures["device"]["training_state_bytes"] = int(states[i, s])
            figures["device"]["total_bytes"] = int(states[i, s])
            plan.notes.append(
                "Training states follow ZeRO's mixed-precision Adam accounting (K = 12; the weights and their "
                "gradients included, whatever dtype says); activations are not estimated."
            )
        else:
            figures["device"]["total_bytes"] = int(weight_bytes[i, s] + (kv_bytes[i, s] if n else 0))
        if usable is not None:
            total = figures["device"]["total_bytes"]
            figures["fit"] = {
                "device_memory": d.device_memory,
                "usable_bytes": usable,
                "fits": total <= usable,
                "headroom_bytes": usable - total,
                "max_context": None if training or unbounded[i] else int(max_context[i]),
            }
            if not training and capped[i]:
                plan.notes.append(f"max_context is at least {MAX_CONTEXT:,} tokens: the search stops there.")
            if not training and unbounded[i]:
                plan.notes.append(
                    "max_context is null: every layer's cache is bounded (sliding windows, chunks, per-sequence "
                    "states), so the cache stops growing and memory sets no limit on the context."
                )
        if not n:
            plan.notes.append(
                "No context: the config gives no context length and none was asked for, so the KV cache and "
                "attention FLOPs are given per token only."
            )
        elif configs[i].context_length is not None and n > configs[i].context_length:
            plan.notes.append(
                f"The context ({n}) exceeds the config's context length ({configs[i].context_length}); "
                "planned all the same."
            )
        if d.dtype in ("fp8", "int8", "int4"):
            plan.notes.append(f"{d.dtype} weights: quantization scales and zero points are not counted.")
        if has_tied_copy[i]:
            plan.notes.append("The tied output head sits on the last stage and holds a copy of the embedding there.")
        plan.figures = figures
        if detail:
            plan.layer_types = [
                _layer_row(r, j, s, on_stage, device_params, kv_elements, state_bits, bits, d)
                for j, r in enumerate(rows)
                if r.config == i
            ]
    return plans


def _window(r: StackRow) -> int:
    """Tokens a layer's cache (and its attention) spans at most: its sliding window or attention chunk;
    MAX_CONTEXT without one. Rows that cache nothing per token and compute no attention are unaffected by it."""
    limits = [r.specs[k] for k in ("sliding_window", "attention_chunk_size") if k in r.specs]
    return min(limits, default=MAX_CONTEXT)


def _state_bits(
    cols: counts.Columns, rows: Sequence[StackRow], d: Deployment, degrees: Mapping[str, int] | None
) -> np.ndarray:
    """Bits of one layer's per-sequence state (convolution windows in kv_dtype, the recurrent state in its
    state_dtype, auto meaning kv_dtype), on one device with ``degrees``, else whole."""
    import numpy as np

    conv, _ = counts.evaluate(cols, lambda c: c.state_elements, degrees=degrees)
    recurrent, _ = counts.evaluate(cols, lambda c: c.recurrent_state_elements, degrees=degrees)
    kv_bits = DTYPE_BITS[d.kv_dtype]
    recurrent_bits = np.fromiter(
        (
            catalogue.STATE_DTYPE_BITS[r.specs.get("state_dtype", catalogue.STATE_DTYPE.default)] or kv_bits
            for r in rows
        ),
        dtype=np.int64,
        count=len(rows),
    )
    return conv * kv_bits + recurrent * recurrent_bits


def _stage_counts(
    rows: Sequence[StackRow],
    kinds: list[Any],
    count: np.ndarray,
    owner: np.ndarray,
    num_layers: np.ndarray,
    stages: int,
) -> np.ndarray:
    """How many layers of each row sit on each pipeline stage (rows × stages)."""
    import numpy as np

    n_rows = len(rows)
    out = np.zeros((n_rows, stages), dtype=np.int64)
    base, extra = num_layers // stages, num_layers % stages
    s = np.arange(stages)
    starts = s[None, :] * base[:, None] + np.minimum(s[None, :], extra[:, None])  # configs × stages
    ends = starts + base[:, None] + (s[None, :] < extra[:, None])
    ends[:, -1] = np.iinfo(np.int64).max  # counts past num_layers stay on the last stage
    decoder = np.fromiter((k in catalogue.PER_DECODER_LAYER_KINDS for k in kinds), dtype=bool, count=n_rows)
    # Each per-decoder-layer row starts where the earlier rows of its kind (same config) end.
    first = np.zeros(n_rows, dtype=np.int64)
    running: dict[tuple[int, Any], int] = {}
    for j, (r, k) in enumerate(zip(rows, kinds, strict=True)):
        if decoder[j]:
            first[j] = running.get((r.config, k), 0)
            running[(r.config, k)] = first[j] + r.count
    lo = np.maximum(first[:, None], starts[owner])
    hi = np.minimum((first + count)[:, None], ends[owner])
    out[decoder] = np.maximum(hi - lo, 0)[decoder]
    _interleave(rows, kinds, decoder, num_layers, starts, ends, out)
    last = stages - 1
    seen_embedding: set[int] = set()
    for j, (r, k) in enumerate(zip(rows, kinds, strict=True)):
        if decoder[j]:
            continue
        if k is LayerKind.NORM:
            layers = int(num_layers[r.config])
            per_layer = r.count // layers if r.count >= layers else 0
            sizes = (ends[r.config] - starts[r.config]).copy()
            sizes[-1] = layers - int(starts[r.config][-1])
            out[j] = per_layer * sizes
            out[j, last] += r.count - per_layer * layers
        elif k is LayerKind.EMBEDDING and r.config not in seen_embedding:
            seen_embedding.add(r.config)
            out[j, 0] += 1  # the input embedding; more of this row are untied heads
            out[j, last] += r.count - 1
        elif k is LayerKind.POSITION_EMBEDDING:
            out[j, 0] += r.count
        else:  # output heads, untied heads written as embeddings
            out[j, last] += r.count
    return out


def _interleave(
    rows: Sequence[StackRow],
    kinds: list[Any],
    decoder: np.ndarray,
    num_layers: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    out: np.ndarray,
) -> None:
    """Layer types of one kind that alternate (Gemma-2's sliding and global attention) instead of blocks.

    They alternate when their ``layer_idx`` are exactly 0..k-1 and their counts are those of layers
    ``i % k == layer_idx`` among num_layers: layer type j then holds every k-th layer from j.
    """
    import numpy as np

    by_kind: dict[tuple[int, Any], list[int]] = {}
    for j, (r, k) in enumerate(zip(rows, kinds, strict=True)):
        if decoder[j]:
            by_kind.setdefault((r.config, k), []).append(j)
    for (config, _), members in by_kind.items():
        if len(members) < 2:
            continue
        layers, period = int(num_layers[config]), len(members)
        phases = [rows[j].specs.get("layer_idx") for j in members]
        if sorted(p for p in phases if p is not None) != list(range(period)):
            continue
        if any(
            rows[j].count != (layers - phase + period - 1) // period for j, phase in zip(members, phases, strict=True)
        ):
            continue
        a, b = starts[config], np.minimum(ends[config], layers)
        for j, phase in zip(members, phases, strict=True):
            # Layers i < x with i % period == phase, for x = a stage's end and start.
            out[j] = np.maximum(0, (b - phase + period - 1) // period) - np.maximum(
                0, (a - phase + period - 1) // period
            )


def _flops(
    rows: Sequence[StackRow],
    kinds: list[Any],
    owner: np.ndarray,
    count: np.ndarray,
    active_params: np.ndarray,
    full_params: np.ndarray,
    attention_flops: np.ndarray,
    window: np.ndarray,
    context: np.ndarray,
    n_configs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Forward FLOPs per token: the matrix part 2 · (active − input/position embeddings + tied head), and attention."""
    import numpy as np

    matrix_params = count * active_params
    seen: set[int] = set()
    for j, (r, k) in enumerate(zip(rows, kinds, strict=True)):
        if k is LayerKind.EMBEDDING and r.config not in seen:
            seen.add(r.config)
            matrix_params[j] -= full_params[j]  # one input embedding; the rest of this row are heads
        elif k is LayerKind.POSITION_EMBEDDING:
            matrix_params[j] = 0
        elif k is LayerKind.OUTPUT_HEAD and r.specs.get("tie_word_embeddings"):
            matrix_params[j] = r.count * r.specs["vocab_size"] * r.specs["hidden_size"]
    matrix = np.zeros(n_configs, dtype=np.int64)
    np.add.at(matrix, owner, 2 * matrix_params)
    attention = np.zeros(n_configs, dtype=np.int64)
    np.add.at(attention, owner, count * attention_flops * np.minimum(context[owner], window))
    return matrix, attention


def _max_context(
    kv_bits_at: Any,
    weight_bytes: np.ndarray,
    usable: int,
    owner: np.ndarray,
    grows: np.ndarray,
    on_stage: np.ndarray,
    bound: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The largest context per config whose heaviest device fits ``usable`` bytes (a vectorized bisection).

    ``bound`` caps each config's search where its cache would pass 2**61 bits (no int64 wraps; no device holds
    that much). Returns the contexts, whether memory sets no limit, and whether the search cap was reached.
    """
    import numpy as np

    n_configs = weight_bytes.shape[0]

    def fits(tokens: np.ndarray) -> np.ndarray:
        return (weight_bytes + _ceil_div(kv_bits_at(tokens), 8) <= usable).all(axis=1)

    lo = np.zeros(n_configs, dtype=np.int64)  # fits (or 0 when the weights alone do not)
    hi = bound.copy()
    top = fits(hi) & (hi >= MAX_CONTEXT)
    for _ in range(32):
        mid = (lo + hi + 1) // 2
        ok = fits(mid)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid - 1)
    lo = np.where(fits(np.zeros(n_configs, dtype=np.int64)), lo, 0)
    # Unbounded: no layer present holds a cache that grows with the context, and even the longest context fits.
    growing = np.zeros(n_configs, dtype=bool)
    np.logical_or.at(growing, owner, grows & (on_stage.sum(axis=1) > 0))
    return lo, top & ~growing, top & growing


def _shard_issue(failure: counts.ShardFailure, r: StackRow, position: int) -> Issue:
    shard = failure.shard
    if shard.rule == "kv_heads":
        expected = f"divide {shard.spec} ({failure.value}) or be a multiple of it"
    else:
        expected = f"divide {shard.spec} ({failure.value})"
    return Issue(
        shard.degree,
        Code.NOT_DIVISIBLE,
        f"{shard.degree}={failure.degree} must {expected} of layer_types[{position}] ({r.name}, {r.class_name})",
    )


def _layer_row(
    r: StackRow,
    j: int,
    stage: int,
    on_stage: np.ndarray,
    device_params: np.ndarray,
    kv_elements: np.ndarray,
    state_bits: np.ndarray,
    bits: int,
    d: Deployment,
) -> dict[str, Any]:
    layer_class = catalogue.get(r.class_name)
    assert layer_class is not None
    splits = []
    for shard in layer_class.shards:
        if shard.spec not in r.specs:
            continue
        degree = getattr(d, shard.degree)
        value = r.specs[shard.spec]
        if degree == 1:
            continue
        if shard.rule == "kv_heads" and degree > value:
            splits.append(f"{shard.spec} {value} < {shard.degree} {degree}: one per device (replicated)")
        elif shard.rule == "ceil":
            splits.append(f"{shard.spec} {value} / {shard.degree} {degree}, rounded up: {math.ceil(value / degree)}")
        else:
            splits.append(f"{shard.spec} {value} / {shard.degree} {degree} = {value // degree}")
    layers = int(on_stage[j, stage])
    params = layers * int(device_params[j])
    return {
        "name": r.name,
        "class": r.class_name,
        "count": r.count,
        "count_on_device": layers,
        "parameters_per_layer": int(device_params[j]),
        "parameters": params,
        "weight_bytes": _ceil_div(params * bits, 8),
        "split": "; ".join(splits) or ("replicated" if d.tp > 1 or d.ep > 1 else "whole"),
        "cache_rule": layer_class.cache_rule(r.specs),
        "kv_cache_bytes_per_token": _ceil_div(layers * int(kv_elements[j]) * DTYPE_BITS[d.kv_dtype], 8),
        "state_bytes_per_sequence": _ceil_div(layers * int(state_bits[j]), 8),
    }


__all__ = [
    "DEVICES",
    "DTYPE_BITS",
    "PARAMETERS",
    "Code",
    "Deployment",
    "Mode",
    "Plan",
    "StackConfig",
    "StackRow",
    "parse_deployment",
    "parse_memory",
    "plan_config",
    "plan_stacks",
]
