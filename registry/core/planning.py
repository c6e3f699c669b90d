"""Deployment plans: weights, KV cache, FLOPs, training states and fit per device, for one config or all at once.

Every figure comes from one vectorized pass over layer rows (``plan_stacks``); a single config is a stack of
one. The pass composes named steps: ``stacking`` (the rows as arrays), ``shard_rows`` (each row's formulas split
by tp and ep), ``refusals`` (degrees that cannot place a config), ``stage_layout`` (layers per pipeline stage),
``Cache`` (KV cache and states at any context), ``overflows``, ``training_states``, ``fit`` (usable bytes,
max_context); then each plan's outputs (``registry.core.plan_outputs``). The deployment and its parameters are
``registry.core.plan_parameters``'s. Definitions (the README's "Planning a deployment" repeats them):

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
  0-3, Ψ the parameters of the heaviest device; activations (``training_activations``) as
  ``registry.core.activations`` counts them, per stage with its micro-batches in flight.
- With an engine (``engine_budget``): the engine's budget and KV-cache layout, ``registry.core.engines``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, overload

from registry.core import activations, catalogue, counts, engines
from registry.core.catalogue import LayerKind
from registry.core.engines import Engine
from registry.core.issues import Code, Issue
from registry.core.plan_outputs import (
    PlanBudget,
    PlanDeployment,
    PlanDevice,
    PlanFigures,
    PlanFit,
    PlanFlops,
    PlanKVCache,
    PlanLayer,
    PlanTraining,
    to_dict,
)
from registry.core.plan_parameters import (
    DEVICES,
    DTYPE_BITS,
    MAX_CONTEXT,
    PARAMETERS,
    Deployment,
    Mode,
    parse_deployment,
    parse_memory,
)

if TYPE_CHECKING:
    import numpy as np

_LIMIT = 2**62  # int64 headroom: figures past it are refused rather than wrapped


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
    outputs: PlanFigures | None = None  # None with errors
    layers: list[PlanLayer] = field(default_factory=list)  # with ``detail`` only

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def fits(self) -> bool | None:
        """Whether the heaviest device fits device_memory; None without a fit (no device_memory, or errors)."""
        fit = self.outputs.fit if self.outputs is not None else None
        return None if fit is None else fit.fits

    @property
    def figures(self) -> dict[str, Any]:
        """The figures as the JSON writes them (empty with errors)."""
        return {} if self.outputs is None else to_dict(self.outputs)

    @property
    def layer_types(self) -> list[dict[str, Any]]:
        return to_dict(self.layers)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model_id": self.model_id,
            "deployment": _deployment_dict(self.deployment) | {"context": self.context},
            "errors": [i.as_dict() for i in self.errors],
            "notes": self.notes,
        }
        if self.outputs is not None:
            out.update(to_dict(self.outputs))
        if self.layers:
            out["layer_types"] = to_dict(self.layers)
        return out


@lru_cache(maxsize=64)
def _deployment_dict(d: Deployment) -> dict[str, Any]:
    """The deployment as a plan writes it, its context left null (the plan's own replaces it in place)."""
    values = {p: getattr(d, p) for p in PARAMETERS if p not in ("mode", "context")}
    return to_dict(PlanDeployment(**values, mode=d.mode.value, context=None, devices=d.devices))


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


@overload
def _ceil_div(a: int, b: int) -> int: ...
@overload
def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray: ...
def _ceil_div(a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
    return -(-a // b)


def plan_stacks(
    configs: Sequence[StackConfig], rows: Sequence[StackRow], deployment: Deployment, *, detail: bool = False
) -> list[Plan]:
    """The plans of many configs in one numpy pass over their layer rows (no loop per config).

    ``detail`` adds each plan's per-layer-type rows (a loop over rows, for one config's page).
    """
    import numpy as np

    d = deployment
    stack = stacking(configs, rows, d)
    plans = [Plan(c.model_id, d, d.context or c.context_length) for c in configs]
    shards = shard_rows(stack, d)
    for i, issues in refusals(stack, shards, d).items():
        plans[i].errors += issues
    layout = stage_layout(stack)
    weights = stack.per_stage(layout, shards.device_params)
    cache = Cache(stack, layout, shards, d)
    for i in overflows(stack, shards, cache, weights, d):
        plans[i].errors.append(Issue("context", Code.TOO_LARGE, "the figures of this plan exceed 2**62 bits"))
    ok = np.array([p.ok for p in plans], dtype=bool)
    context = np.where(ok, cache.context, 0)
    acts = training_activations(stack, layout, context, d) if d.mode is Mode.TRAINING else None
    figures = _figures(stack, shards, cache, weights, context, d, acts)
    if d.engine is not Engine.NONE and d.device_memory is not None and d.mode is Mode.INFERENCE:
        figures.budget = engine_budget(stack, shards, layout, figures, context, d)
    for i in stack.with_mtp:
        plans[i].notes.append(_MTP_NOTE)
    for i, plan in enumerate(plans):
        if plan.ok:
            _fill(plan, i, figures, stack, shards, layout, d, detail=detail)
    return plans


_MTP_NOTE = (
    "The multi-token-prediction layer types (mtp) are not planned: they are outside total_params, and an "
    "engine loads them only for speculative decoding."
)


@dataclass(slots=True)  # built once per pass, read only
class Stack:
    """The layer rows of many configs as arrays: each row's config (``owner``), count, class and kind."""

    configs: Sequence[StackConfig]
    rows: Sequence[StackRow]
    owner: np.ndarray
    count: np.ndarray
    classes: list[catalogue.LayerClass | None]
    kinds: list[LayerKind | None]
    num_layers: np.ndarray
    stages: int  # columns of the per-stage arrays
    with_mtp: frozenset[int]  # configs whose mtp rows were left out
    # With rows config by config: the configs that have rows, and the index of each one's first row.
    segments: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_configs(self) -> int:
        return len(self.configs)

    def per_config(self, values: np.ndarray, dtype: Any = None) -> np.ndarray:
        """Row values summed per config."""
        import numpy as np

        return self._sum(np.zeros(self.n_configs, dtype=dtype or np.int64), values)

    def per_stage(self, on_stage: np.ndarray, values: np.ndarray, dtype: Any = None) -> np.ndarray:
        """Row values times the row's layers on each stage, summed per (config, stage)."""
        import numpy as np

        return self._sum(np.zeros((self.n_configs, self.stages), dtype=dtype or np.int64), on_stage * values[:, None])

    def _sum(self, out: np.ndarray, products: np.ndarray) -> np.ndarray:
        """Add each row's products into its config's entry of ``out``. Integers (exact in any order) are summed
        at once for one config, by segments when the rows come config by config (as they do from the database);
        floats row by row, in row order."""
        import numpy as np

        if out.dtype.kind != "i" or products.dtype.kind != "i":
            np.add.at(out, self.owner, products)
        elif len(out) == 1:
            out[0] = products.sum(axis=0)
        elif self.segments is not None:
            present, firsts = self.segments
            out[present] = np.add.reduceat(products, firsts, axis=0)
        else:
            np.add.at(out, self.owner, products)
        return out

    def any_per_config(self, flags: np.ndarray) -> np.ndarray:
        import numpy as np

        out = np.zeros(self.n_configs, dtype=bool)
        np.logical_or.at(out, self.owner, flags)
        return out


def stacking(configs: Sequence[StackConfig], rows: Sequence[StackRow], d: Deployment) -> Stack:
    """The rows as arrays, without the multi-token-prediction module (not built by transformers nor loaded to
    serve); as many stages as pp asks, up to the deepest config's layers (shallower configs are refused)."""
    import numpy as np

    mtp = [catalogue.is_mtp(r.class_name, r.specs) for r in rows]
    with_mtp = frozenset(r.config for r, m in zip(rows, mtp, strict=True) if m)
    if with_mtp:
        rows = [r for r, m in zip(rows, mtp, strict=True) if not m]
    classes = [catalogue.get(r.class_name) for r in rows]
    owner = np.fromiter((r.config for r in rows), dtype=np.int64, count=len(rows))
    # Segments serve many configs only (one config's rows are summed at once).
    grouped = len(configs) > 1 and len(rows) > 0 and bool((owner[1:] >= owner[:-1]).all())
    return Stack(
        configs=configs,
        rows=rows,
        owner=owner,
        count=np.fromiter((r.count for r in rows), dtype=np.int64, count=len(rows)),
        classes=classes,
        kinds=[c.kind if c is not None else None for c in classes],
        num_layers=np.fromiter((c.num_layers for c in configs), dtype=np.int64, count=len(configs)),
        stages=max(1, min(d.pp, max((c.num_layers for c in configs), default=1))),
        with_mtp=with_mtp,
        segments=np.unique(owner, return_index=True) if grouped else None,
    )


@dataclass(slots=True)  # built once per pass, read only
class Shards:
    """Per row: one layer's figures on one device (split by tp and ep) and whole, from the catalogue's formulas."""

    device_params: np.ndarray
    full_params: np.ndarray
    active_params: np.ndarray
    kv_elements: np.ndarray  # per token, one device
    whole_kv_elements: np.ndarray
    attention_flops: np.ndarray
    window: np.ndarray  # tokens the cache and attention span at most (MAX_CONTEXT without a window)
    state_bits: np.ndarray  # per sequence, one device
    whole_state_bits: np.ndarray
    recurrent_bits: np.ndarray  # bits per value of each row's recurrent state
    failures: list[counts.ShardFailure]


def shard_rows(
    stack: Stack, d: Deployment, *, cols: counts.Columns | None = None, base: Shards | None = None
) -> Shards:
    """Evaluate every row's formulas once, split by the deployment's degrees (a tied head is untied when the
    pipeline may put it on another stage than its embedding). ``cols``: the rows' columns, if already built;
    ``base``: shards of the same rows and kv_dtype under other degrees, whose whole figures are reused."""
    import numpy as np

    rows = stack.rows
    if cols is None:
        cols = counts.columns([r.class_name for r in rows], [r.specs for r in rows])
    degrees = {"tp": d.tp, "ep": d.ep}
    untie = {"tie_word_embeddings": 0} if stack.stages > 1 else None
    device_params, failures = counts.evaluate(cols, lambda c: c.formula, degrees=degrees, overrides=untie)
    if base is None:
        recurrent_bits = _recurrent_bits(rows, d)
        base = Shards(
            device_params=device_params,
            full_params=counts.evaluate(cols, lambda c: c.formula)[0],
            active_params=counts.evaluate(cols, lambda c: c.token_formula)[0],
            kv_elements=device_params,
            whole_kv_elements=counts.evaluate(cols, lambda c: c.kv_elements)[0],
            attention_flops=counts.evaluate(cols, lambda c: c.attention_flops)[0],
            window=np.fromiter((_window(r) for r in rows), dtype=np.int64, count=len(rows)),
            state_bits=device_params,
            whole_state_bits=_state_bits(cols, recurrent_bits, d, None),
            recurrent_bits=recurrent_bits,
            failures=failures,
        )
    return dataclasses.replace(
        base,
        device_params=device_params,
        kv_elements=counts.evaluate(cols, lambda c: c.kv_elements, degrees=degrees)[0],
        state_bits=_state_bits(cols, base.recurrent_bits, d, degrees),
        failures=failures,
    )


def refusals(stack: Stack, shards: Shards, d: Deployment) -> dict[int, list[Issue]]:
    """Why the degrees cannot place a config, by config (only those refused): a spec they do not divide, ep
    without experts, pp past num_layers."""
    import numpy as np

    out: dict[int, list[Issue]] = defaultdict(list)
    if shards.failures:
        positions: dict[int, int] = {}  # each row's index in its config's layer_types
        position = []
        for r in stack.rows:
            position.append(positions.get(r.config, 0))
            positions[r.config] = position[-1] + 1
        for failure in shards.failures:
            r = stack.rows[failure.row]
            out[r.config].append(_shard_issue(failure, r, position[failure.row]))
    if d.ep > 1:
        has_experts = stack.any_per_config(np.fromiter((bool(c and c.has_experts) for c in stack.classes), dtype=bool))
        for i in np.flatnonzero(~has_experts).tolist():
            out[i].append(
                Issue("ep", Code.NO_EXPERTS, f"ep={d.ep} splits routed experts, and this config has no MoELayer")
            )
    for i in np.flatnonzero(stack.num_layers < d.pp).tolist():
        out[i].append(
            Issue(
                "pp", Code.TOO_MANY_STAGES, f"pp={d.pp} exceeds the config's num_layers ({stack.configs[i].num_layers})"
            )
        )
    return out


def stage_layout(stack: Stack) -> np.ndarray:
    """How many layers of each row sit on each pipeline stage (rows × stages)."""
    return _stage_counts(stack.rows, stack.kinds, stack.count, stack.owner, stack.num_layers, stack.stages)


class Cache:
    """The KV cache and per-sequence states: bits per (config, stage) at any context, and per token."""

    def __init__(self, stack: Stack, on_stage: np.ndarray, shards: Shards, d: Deployment) -> None:
        import numpy as np

        self.stack, self.on_stage, self.shards, self.d = stack, on_stage, shards, d
        self.kv_bits = DTYPE_BITS[d.kv_dtype]
        # Per config: the context planned for (0: unknown).
        self.context = np.fromiter(
            (d.context or c.context_length or 0 for c in stack.configs), dtype=np.int64, count=stack.n_configs
        )
        self.per_token = stack.per_stage(on_stage, shards.kv_elements)  # elements, all tokens held
        self._states = shards.state_bits * d.batch  # bits per row, whatever the context

    def bits_at(self, tokens: np.ndarray) -> np.ndarray:
        """Cache bits per (config, stage) for ``tokens`` per sequence (an array per config): what grows with the
        tokens held (up to a window or chunk), and the per-sequence states that do not."""
        import numpy as np

        held = np.minimum(tokens[self.stack.owner], self.shards.window)
        per_device = _ceil_div(held, self.d.cp) * (self.d.batch * self.kv_bits)
        return self.stack.per_stage(self.on_stage, self.shards.kv_elements * per_device + self._states)

    def approx_bits(self) -> np.ndarray:
        """bits_at(context) in floats (at least one token), to find figures past int64."""
        import numpy as np

        s, d = self.shards, self.d
        held = np.minimum(np.maximum(self.context, 1)[self.stack.owner], s.window).astype(float) / d.cp + 1
        return self.stack.per_stage(
            self.on_stage, (s.kv_elements * self.kv_bits * held + s.state_bits) * d.batch, float
        )

    def rate(self) -> np.ndarray:
        """Cache bits per token of context per (config, stage), windows aside: the max_context search's bound."""
        s, d = self.shards, self.d
        return self.stack.per_stage(self.on_stage, s.kv_elements * self.kv_bits * d.batch, float)


def overflows(stack: Stack, shards: Shards, cache: Cache, weights: np.ndarray, d: Deployment) -> list[int]:
    """The configs whose figures (bits of weights, of the cache at the context) pass 2**62: refused, not wrapped."""
    import numpy as np

    too_large = (cache.approx_bits() >= _LIMIT).any(axis=1) | (
        weights.astype(float) * DTYPE_BITS[d.dtype] >= _LIMIT
    ).any(axis=1)
    return np.flatnonzero(too_large).tolist()


def training_states(psi: np.ndarray, d: Deployment) -> np.ndarray:
    """ZeRO's model states (mixed-precision Adam, K = 12) of the parameters ``psi``, for d.zero over d.dp."""
    dp = d.dp
    states: np.ndarray
    if d.zero == 0:
        states = 16 * psi
    elif d.zero == 1:
        states = 4 * psi + _ceil_div(12 * psi, dp)
    elif d.zero == 2:
        states = 2 * psi + _ceil_div(14 * psi, dp)
    else:
        states = _ceil_div(16 * psi, dp)
    return states


@dataclass(slots=True)  # built once per pass, read only
class Fit:
    """Against one device: its usable bytes; for inference, the longest context per config and its flags."""

    usable: int | None
    max_context: np.ndarray | None = None
    unbounded: np.ndarray | None = None
    capped: np.ndarray | None = None


def fit(stack: Stack, shards: Shards, cache: Cache, weight_bytes: np.ndarray, d: Deployment) -> Fit:
    """Usable bytes (exactly floor(memory × utilization), the fraction as written) and, for inference, the
    longest context that fits (a bisection bounded where the cache would pass 2**61 bits)."""
    import numpy as np

    if d.device_memory is None:
        return Fit(None)
    usable = int(Decimal(d.device_memory) * Decimal(repr(d.utilization)))
    if d.mode is Mode.TRAINING:
        return Fit(usable)
    bound = np.minimum(MAX_CONTEXT, (2.0**61 / np.maximum(cache.rate().max(axis=1), 1))).astype(np.int64)
    grows = (shards.kv_elements > 0) & (shards.window >= MAX_CONTEXT)  # a cache without a window or chunk
    found = _max_context(cache.bits_at, weight_bytes, usable, stack.owner, grows, cache.on_stage, bound)
    return Fit(usable, *found)


@dataclass(slots=True)  # built once per pass, read only
class Figures:
    """Every config's figures as plain lists, per config (those per stage: on its heaviest device's stage)."""

    heaviest: list[int]  # the stage
    weights: list[int]
    weight_bytes: list[int]
    kv_bytes: list[int]
    kv_per_token: list[int]
    state_on_stage: list[int]
    states: list[int]
    context: list[int]
    total_params: list[int]
    active: list[int]
    kv_whole: list[int]
    kv_growing: list[int]
    state_whole: list[int]
    has_tied_copy: list[bool]
    forward_matrix: list[int]
    forward: list[int]
    fit: Fit
    need: list[int]  # the heaviest device's total
    acts: TrainingActivations | None = None
    budget: engines.Budget | None = None


def _figures(
    stack: Stack,
    shards: Shards,
    cache: Cache,
    weights: np.ndarray,
    context: np.ndarray,
    d: Deployment,
    acts: TrainingActivations | None = None,
) -> Figures:
    """The figures of every config from the arrays (``context`` 0 for refused configs), in one pass."""
    import numpy as np

    count = stack.count
    weight_bytes = _ceil_div(weights * DTYPE_BITS[d.dtype], 8)
    kv_bytes = _ceil_div(cache.bits_at(context), 8)
    states = training_states(weights, d)
    need = states + acts.per_stage + (d.reserved_bytes or 0) if acts is not None else weight_bytes + kv_bytes
    # A tied head on another stage than its embedding holds a copy of the embedding's weights.
    tied_copy = np.fromiter(
        (
            stack.stages > 1 and k is LayerKind.OUTPUT_HEAD and bool(r.specs.get("tie_word_embeddings"))
            for r, k in zip(stack.rows, stack.kinds, strict=True)
        ),
        dtype=bool,
        count=len(stack.rows),
    )
    matrix, attention = flops(stack, shards, context)
    heaviest = np.argmax(need, axis=1)

    def on_heaviest(per_stage: np.ndarray) -> list[int]:
        values: list[int] = per_stage[np.arange(stack.n_configs), heaviest].tolist()
        return values

    return Figures(
        heaviest=heaviest.tolist(),
        weights=on_heaviest(weights),
        weight_bytes=on_heaviest(weight_bytes),
        kv_bytes=on_heaviest(kv_bytes),
        kv_per_token=on_heaviest(cache.per_token),
        state_on_stage=on_heaviest(stack.per_stage(cache.on_stage, shards.state_bits)),
        states=on_heaviest(states),
        context=context.tolist(),
        total_params=stack.per_config(count * shards.full_params).tolist(),
        active=stack.per_config(count * shards.active_params).tolist(),
        kv_whole=stack.per_config(count * shards.whole_kv_elements).tolist(),  # elements per token
        # elements per token past every window and chunk
        kv_growing=stack.per_config(count * shards.whole_kv_elements * (shards.window >= MAX_CONTEXT)).tolist(),
        state_whole=stack.per_config(count * shards.whole_state_bits).tolist(),  # bits per sequence
        has_tied_copy=stack.any_per_config(tied_copy).tolist(),
        forward_matrix=matrix.tolist(),
        forward=(matrix + attention).tolist(),
        fit=fit(stack, shards, cache, weight_bytes, d),
        need=on_heaviest(need),
        acts=acts,
    )


def _fill(
    plan: Plan, i: int, f: Figures, stack: Stack, shards: Shards, on_stage: np.ndarray, d: Deployment, *, detail: bool
) -> None:
    """Config ``i``'s outputs and notes from the figures (its heaviest device's column)."""
    s, n = f.heaviest[i], f.context[i]
    bits, kv_bits = DTYPE_BITS[d.dtype], DTYPE_BITS[d.kv_dtype]
    training = d.mode is Mode.TRAINING
    kv_device = f.kv_bytes[i] if n and not training else None
    total = f.need[i] if training else f.weight_bytes[i] + (f.kv_bytes[i] if n else 0)
    if training:
        plan.notes.append(
            "Training: ZeRO's mixed-precision Adam states (K = 12; the weights and their gradients included, "
            "whatever dtype says) + activations (Korthikanti et al. 2022, per micro-batch in flight); no KV cache."
        )
    plan.outputs = PlanFigures(
        total_params=f.total_params[i],
        active_params=f.active[i],
        weight_bytes=_ceil_div(f.total_params[i] * bits, 8),
        device=PlanDevice(
            stage=s,
            parameters=f.weights[i],
            weight_bytes=f.weight_bytes[i],
            kv_cache_bytes=kv_device,
            training_state_bytes=f.states[i] if training else None,
            total_bytes=total,
        ),
        kv_cache=PlanKVCache(
            bytes_per_token=_ceil_div(f.kv_whole[i] * kv_bits, 8),
            bytes_per_token_beyond_windows=_ceil_div(f.kv_growing[i] * kv_bits, 8),
            bytes_per_token_per_device=_ceil_div(f.kv_per_token[i] * kv_bits, 8),
            bytes_per_device=kv_device,
            state_bytes_per_sequence=_ceil_div(f.state_whole[i], 8),
            state_bytes_per_sequence_per_device=_ceil_div(f.state_on_stage[i], 8),
        ),
        flops_per_token=PlanFlops(
            forward=f.forward[i] if n else None,
            forward_without_attention=f.forward_matrix[i],
            training=3 * f.forward[i] if n else None,
        ),
        fit=_fit_output(plan, i, total, f, d),
        budget=_budget_output(plan, i, f, d),
        training=_training_output(plan, i, f, d),
    )
    _context_notes(plan, n, stack.configs[i].context_length)
    if d.dtype in ("fp8", "int8", "int4"):
        plan.notes.append(f"{d.dtype} weights: quantization scales and zero points are not counted.")
    if f.has_tied_copy[i]:
        plan.notes.append("The tied output head sits on the last stage and holds a copy of the embedding there.")
    if detail:
        plan.layers = [
            _layer_row(r, j, s, on_stage, shards.device_params, shards.kv_elements, shards.state_bits, bits, d)
            for j, r in enumerate(stack.rows)
            if r.config == i
        ]


def _fit_output(plan: Plan, i: int, total: int, f: Figures, d: Deployment) -> PlanFit | None:
    """Config ``i``'s fit on the device (None without device_memory), with notes on its max_context."""
    fit = f.fit
    if fit.usable is None or d.device_memory is None:  # both or neither: fit() reads device_memory
        return None
    if f.budget is not None:  # the engine's rule: it starts, and the batch's cache fits what it leaves
        b = f.budget
        kv_needed = f.kv_bytes[i] if f.context[i] else 0
        plan.notes.append(
            f"fits follows {b.engine.value}'s budget (will_start); max_context is null: see "
            "budget.kv_cache_tokens and budget.max_concurrency."
        )
        return PlanFit(
            device_memory=d.device_memory,
            usable_bytes=int(b.engine_memory[i]),
            fits=engines.start_reason(b, i, d.device_memory) is None,
            headroom_bytes=int(b.kv_cache[i]) - kv_needed,
            max_context=None,
        )
    if d.mode is Mode.TRAINING:
        plan.notes.append("max_context is null in training: the fit there is training.max_micro_batch.")
    unbounded = capped = False
    max_context = None
    if fit.max_context is not None and fit.unbounded is not None and fit.capped is not None:  # inference
        unbounded, capped = bool(fit.unbounded[i]), bool(fit.capped[i])
        max_context = None if unbounded else int(fit.max_context[i])
    if capped:
        plan.notes.append(f"max_context is at least {MAX_CONTEXT:,} tokens: the search stops there.")
    if unbounded:
        plan.notes.append(
            "max_context is null: every layer's cache is bounded (sliding windows, chunks, per-sequence "
            "states), so the cache stops growing and memory sets no limit on the context."
        )
    return PlanFit(
        device_memory=d.device_memory,
        usable_bytes=fit.usable,
        fits=total <= fit.usable,
        headroom_bytes=fit.usable - total,
        max_context=max_context,
    )


def _context_notes(plan: Plan, n: int, context_length: int | None) -> None:
    if not n:
        plan.notes.append(
            "No context: the config gives no context length and none was asked for, so the KV cache and "
            "attention FLOPs are given per token only."
        )
    elif context_length is not None and n > context_length:
        plan.notes.append(
            f"The context ({n}) exceeds the config's context length ({context_length}); planned all the same."
        )


def _window(r: StackRow) -> int:
    """Tokens a layer's cache (and its attention) spans at most: its sliding window or attention chunk;
    MAX_CONTEXT without one. Rows that cache nothing per token and compute no attention are unaffected by it."""
    specs = r.specs
    if "sliding_window" not in specs and "attention_chunk_size" not in specs:
        return MAX_CONTEXT
    window: int = min(specs[k] for k in ("sliding_window", "attention_chunk_size") if k in specs)
    return window


def _state_bits(
    cols: counts.Columns, recurrent_bits: np.ndarray, d: Deployment, degrees: Mapping[str, int] | None
) -> np.ndarray:
    """Bits of one layer's per-sequence state (convolution windows in kv_dtype, the recurrent state in
    ``recurrent_bits``), on one device with ``degrees``, else whole."""
    conv, _ = counts.evaluate(cols, lambda c: c.state_elements, degrees=degrees)
    recurrent, _ = counts.evaluate(cols, lambda c: c.recurrent_state_elements, degrees=degrees)
    bits: np.ndarray = conv * DTYPE_BITS[d.kv_dtype] + recurrent * recurrent_bits
    return bits


def _recurrent_bits(rows: Sequence[StackRow], d: Deployment) -> np.ndarray:
    """Bits per value of each row's recurrent state: its state_dtype, auto meaning kv_dtype."""
    import numpy as np

    kv_bits = DTYPE_BITS[d.kv_dtype]
    bits = catalogue.STATE_DTYPE_BITS
    default = catalogue.STATE_DTYPE.default
    return np.fromiter(
        (bits[r.specs.get("state_dtype", default)] or kv_bits for r in rows), dtype=np.int64, count=len(rows)
    )


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
    decoder_list = [k in catalogue.PER_DECODER_LAYER_KINDS for k in kinds]
    decoder = np.array(decoder_list, dtype=bool)
    # Each per-decoder-layer row starts where the earlier rows of its kind (same config) end.
    first_list = [0] * n_rows
    running: dict[tuple[int, Any], int] = {}
    for j, (r, k, is_decoder) in enumerate(zip(rows, kinds, decoder_list, strict=True)):
        if is_decoder:
            first_list[j] = start = running.get((r.config, k), 0)
            running[(r.config, k)] = start + r.count
    first = np.array(first_list, dtype=np.int64)
    lo = np.maximum(first[:, None], starts[owner])
    hi = np.minimum((first + count)[:, None], ends[owner])
    out[decoder] = np.maximum(hi - lo, 0)[decoder]
    _interleave(rows, kinds, decoder_list, num_layers, starts, ends, out)
    _place_the_rest(kinds, decoder_list, count, owner, num_layers, starts, ends, out)
    return out


def _place_the_rest(
    kinds: list[Any],
    decoder: list[bool],
    count: np.ndarray,
    owner: np.ndarray,
    num_layers: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    out: np.ndarray,
) -> None:
    """The rows that are not per decoder layer: norms spread with the layers (the rest on the last stage), the
    first embedding of a config and position embeddings on the first stage, heads (and the rest of that
    embedding row: untied heads) on the last."""
    import numpy as np

    last = out.shape[1] - 1
    norm, embedding, position, other = [], [], [], []
    seen_embedding: set[int] = set()
    for j, (k, config) in enumerate(zip(kinds, owner.tolist(), strict=True)):
        if decoder[j]:
            continue
        if k is LayerKind.NORM:
            norm.append(j)
        elif k is LayerKind.EMBEDDING and config not in seen_embedding:
            seen_embedding.add(config)
            embedding.append(j)
        elif k is LayerKind.POSITION_EMBEDDING:
            position.append(j)
        else:  # output heads, untied heads written as embeddings
            other.append(j)
    if norm:
        rows, configs = np.array(norm), owner[norm]
        layers = num_layers[configs]
        per_layer = np.where(count[rows] >= layers, count[rows] // layers, 0)
        sizes = ends[configs] - starts[configs]
        sizes[:, -1] = layers - starts[configs][:, -1]
        out[rows] = per_layer[:, None] * sizes
        out[rows, last] += count[rows] - per_layer * layers
    if embedding:
        out[embedding, 0] += 1  # the input embedding; more of this row are untied heads
        out[embedding, last] += count[embedding] - 1
    if position:
        out[position, 0] += count[position]
    if other:
        out[other, last] += count[other]


def _interleave(
    rows: Sequence[StackRow],
    kinds: list[Any],
    decoder: list[bool],
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
    for j, (r, k, is_decoder) in enumerate(zip(rows, kinds, decoder, strict=True)):
        if is_decoder:
            by_kind.setdefault((r.config, k), []).append(j)
    for (config, _), members in by_kind.items():
        if len(members) < 2:
            continue
        layers, period = int(num_layers[config]), len(members)
        layer_idx = [rows[j].specs.get("layer_idx") for j in members]
        phases = [p for p in layer_idx if p is not None]
        if sorted(phases) != list(range(period)):  # so none is missing: phases pairs with members
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


def flops(stack: Stack, shards: Shards, context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward FLOPs per token of each config at ``context``: the matrix part 2 · (active parameters − input and
    position embeddings, a tied head's V · h counted once), and attention's, each layer at min(n, W) tokens."""
    import numpy as np

    matrix_params = stack.count * shards.active_params
    inputs, positions, tied, tied_params = [], [], [], []
    seen: set[int] = set()
    for j, (r, k) in enumerate(zip(stack.rows, stack.kinds, strict=True)):
        if k is LayerKind.EMBEDDING and r.config not in seen:
            seen.add(r.config)
            inputs.append(j)  # one input embedding; the rest of this row are heads
        elif k is LayerKind.POSITION_EMBEDDING:
            positions.append(j)
        elif k is LayerKind.OUTPUT_HEAD and r.specs.get("tie_word_embeddings"):
            tied.append(j)
            tied_params.append(r.count * r.specs["vocab_size"] * r.specs["hidden_size"])
    matrix_params[inputs] -= shards.full_params[inputs]
    matrix_params[positions] = 0
    matrix_params[tied] = np.array(tied_params, dtype=np.int64)
    held = np.minimum(context[stack.owner], shards.window)
    return stack.per_config(2 * matrix_params), stack.per_config(stack.count * shards.attention_flops * held)


def _max_context(
    kv_bits_at: Callable[[np.ndarray], np.ndarray],
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
        need: np.ndarray = weight_bytes + _ceil_div(kv_bits_at(tokens), 8)
        fitting: np.ndarray = np.all(need <= usable, axis=1)  # one flag per config (need is 2-D)
        return fitting

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
) -> PlanLayer:
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
    return PlanLayer(
        name=r.name,
        class_name=r.class_name,
        count=r.count,
        count_on_device=layers,
        parameters_per_layer=int(device_params[j]),
        parameters=params,
        weight_bytes=_ceil_div(params * bits, 8),
        split="; ".join(splits) or ("replicated" if d.tp > 1 or d.ep > 1 else "whole"),
        cache_rule=layer_class.cache_rule(r.specs),
        kv_cache_bytes_per_token=_ceil_div(layers * int(kv_elements[j]) * DTYPE_BITS[d.kv_dtype], 8),
        state_bytes_per_sequence=_ceil_div(layers * int(state_bits[j]), 8),
    )


@dataclass(slots=True)  # built once per pass, read only
class TrainingActivations:
    """mode=training, per (config, stage): the activations' numerators over ``denominator`` (tp × the schedule's
    ``over``) for one sequence per micro-batch, and their bytes at ``micro_batch``."""

    layers: np.ndarray  # object ints: the decoder layers, micro-batches in flight included
    embedding: np.ndarray  # per config, on the first stage
    output: np.ndarray  # per config, with pp = 1
    denominator: int
    per_stage: np.ndarray  # bytes at micro_batch, every line (int64)
    approximate: np.ndarray  # per config


def training_activations(stack: Stack, layout: np.ndarray, context: np.ndarray, d: Deployment) -> TrainingActivations:
    """Every config's activations per stage (``registry.core.activations``), at the plan's context."""
    import numpy as np

    terms = [activations.row_terms(r.class_name, k, r.specs) for r, k in zip(stack.rows, stack.kinds, strict=True)]
    tokens = context[stack.owner].tolist()
    sp = d.sequence_parallel
    numerators = np.empty(len(terms), dtype=object)
    numerators[:] = activations.row_numerators(terms, tokens, d.tp, d.recompute, sp)
    schedule = activations.Schedule.of(d.pp, d.interleave, stack.stages)
    in_flight = np.empty(stack.stages, dtype=object)
    in_flight[:] = list(schedule.in_flight)
    layers = stack.per_stage(layout, numerators, dtype=object) * in_flight[None, :]
    hidden, vocab = [0] * stack.n_configs, [0] * stack.n_configs
    for r, k in zip(stack.rows, stack.kinds, strict=True):
        if k is LayerKind.EMBEDDING and not hidden[r.config]:
            hidden[r.config], vocab[r.config] = r.specs["hidden_size"], r.specs["vocab_size"]
    contexts = context.tolist()
    embedding = np.empty(stack.n_configs, dtype=object)
    embedding[:] = [
        activations.embedding_numerator(c, h, d.tp, sp) * schedule.in_flight[0]
        for c, h in zip(contexts, hidden, strict=True)
    ]
    output = np.zeros(stack.n_configs, dtype=object)
    if d.pp == 1:
        output[:] = [
            activations.output_numerator(c, h, v, d.tp, sp) * schedule.over
            for c, h, v in zip(contexts, hidden, vocab, strict=True)
        ]
    denominator = d.tp * schedule.over
    everything = layers.copy()
    everything[:, 0] += embedding + output
    per_stage = np.array(
        [[activations.ceil_div(x * d.micro_batch, denominator) for x in row] for row in everything.tolist()],
        dtype=np.int64,
    ).reshape(stack.n_configs, stack.stages)
    approximate_rows = np.fromiter((t.approximate for t in terms), dtype=bool, count=len(terms))
    approximate = stack.any_per_config(approximate_rows & (layout.sum(axis=1) > 0))
    return TrainingActivations(layers, embedding, output, denominator, per_stage, approximate)


def _training_output(plan: Plan, i: int, f: Figures, d: Deployment) -> PlanTraining | None:
    a = f.acts
    if a is None:
        return None
    s, b = f.heaviest[i], d.micro_batch
    first = s == 0
    layers = activations.ceil_div(int(a.layers[i, s]) * b, a.denominator)
    embedding = activations.ceil_div(int(a.embedding[i]) * b, a.denominator) if first else 0
    output = activations.ceil_div(int(a.output[i]) * b, a.denominator) if first else 0
    reserved = d.reserved_bytes or 0
    max_micro_batch = None
    if f.fit.usable is not None:
        per_sequence = int(a.layers[i, s]) + (int(a.embedding[i]) + int(a.output[i]) if first else 0)
        room = f.fit.usable - f.states[i] - reserved
        max_micro_batch = max(room, 0) * a.denominator // per_sequence if per_sequence else None
    if bool(a.approximate[i]):
        plan.notes.append(
            "Activations of Mamba, linear-attention and other non-attention mixers are approximated as a "
            "multi-head attention of their width without scores."
        )
    return PlanTraining(
        recompute=d.recompute.value,
        sequence_parallel=d.sequence_parallel,
        micro_batch=b,
        interleave=d.interleave,
        micro_batches_in_flight=max(d.pp - s, 1),
        activation_bytes=layers,
        embedding_activation_bytes=embedding,
        output_activation_bytes=output,
        activations_approximate=bool(a.approximate[i]),
        state_bytes=f.states[i],
        reserved_bytes=reserved,
        total_bytes=f.states[i] + layers + embedding + output + reserved,
        max_micro_batch=max_micro_batch,
    )


def engine_budget(
    stack: Stack, shards: Shards, layout: np.ndarray, f: Figures, context: np.ndarray, d: Deployment
) -> engines.Budget:
    """The engine's budget and KV-cache layout of every config on its heaviest stage (``registry.core.engines``)."""
    import numpy as np

    heaviest = np.array(f.heaviest, dtype=np.int64)
    on_stage = layout[np.arange(len(stack.rows)), heaviest[stack.owner]] if len(stack.rows) else stack.count
    kv_bits = DTYPE_BITS[d.kv_dtype]
    kinds = [
        engines.cache_kind(r.specs, int(kv), int(st))
        for r, kv, st in zip(stack.rows, shards.kv_elements.tolist(), shards.state_bits.tolist(), strict=True)
    ]
    # vLLM keeps an indexer's keys in fp8 with a float32 scale per 128 values, whatever kv_dtype says.
    indexer = np.fromiter((r.class_name in engines.FP8_INDEXERS for r in stack.rows), dtype=bool, count=len(stack.rows))
    indexer_bytes = np.fromiter(
        (engines.indexer_bytes(r.specs) if r.class_name in engines.FP8_INDEXERS else 0 for r in stack.rows),
        dtype=np.int64,
        count=len(stack.rows),
    )
    rows = engines.CacheRows(
        owner=stack.owner,
        count=stack.count,
        on_stage=on_stage,
        kind=np.fromiter((k for k, _ in kinds), dtype=np.int64, count=len(kinds)),
        window=np.fromiter((w for _, w in kinds), dtype=np.int64, count=len(kinds)),
        token_bytes=np.where(indexer, indexer_bytes, _ceil_div(shards.kv_elements * kv_bits, 8)),
        state_bytes=_ceil_div(shards.state_bits, 8),
    )
    # The activation peak estimate: the residual stream + the largest layer's intermediates, or the logits.
    width = 4 if d.dtype == "fp32" else 2
    tokens = d.max_num_batched_tokens
    row_peak = np.fromiter(
        (engines.peak_elements(r.class_name, k, r.specs, d.tp) for r, k in zip(stack.rows, stack.kinds, strict=True)),
        dtype=np.int64,
        count=len(stack.rows),
    )
    largest = np.zeros(stack.n_configs, dtype=np.int64)
    np.maximum.at(largest, stack.owner, np.where(on_stage > 0, row_peak, 0))
    hidden = np.zeros(stack.n_configs, dtype=np.int64)
    vocab = np.zeros(stack.n_configs, dtype=np.int64)
    specs_h = np.fromiter((r.specs.get("hidden_size", 0) for r in stack.rows), dtype=np.int64, count=len(stack.rows))
    specs_v = np.fromiter((r.specs.get("vocab_size", 0) for r in stack.rows), dtype=np.int64, count=len(stack.rows))
    np.maximum.at(hidden, stack.owner, specs_h)
    np.maximum.at(vocab, stack.owner, specs_v)
    logits = 2 * d.max_num_seqs * _ceil_div(vocab, d.tp) * 4
    peak = tokens * width * 2 * hidden + np.maximum(tokens * width * largest, logits)
    length = np.full(stack.n_configs, d.max_model_len) if d.max_model_len else context  # 0: unknown
    weights = np.array(f.weight_bytes, dtype=np.int64)
    return engines.budget(d, rows, stack.n_configs, weights, peak, length)


def _budget_output(plan: Plan, i: int, f: Figures, d: Deployment) -> PlanBudget | None:
    b = f.budget
    if b is None or d.device_memory is None:
        return None
    c = b.capacity
    reason = engines.start_reason(b, i, d.device_memory)
    used = int(b.weights[i]) + int(b.activation_peak[i]) + int(b.non_torch[i]) + int(b.cuda_graph[i])
    kv = int(b.kv_cache[i])
    cached, length = bool(c.cached[i]), int(b.length[i])
    tokens = int(c.tokens[i])
    if not length:
        plan.notes.append("max_concurrency is null: give max_model_len (or a context) for its L.")
    if b.engine is Engine.VLLM:
        per_request = int(c.blocks_per_request[i])
        concurrency = int(c.num_blocks[i]) / per_request if cached and per_request and length else None
        version = engines.VLLM_VERSION
    else:
        concurrency = tokens / length if cached and length else None
        version = engines.SGLANG_VERSION if b.engine is Engine.SGLANG else engines.TRTLLM_VERSION
    estimated = d.profile_activation_bytes is None and not (b.engine is Engine.VLLM and d.kv_cache_memory)
    if b.engine is Engine.SGLANG:
        estimated = False
    if estimated or d.reserved_bytes is None:
        plan.notes.append(
            "Budget lines marked estimated (activation peak, memory outside PyTorch, CUDA graphs) are this "
            "registry's estimates: give profile_activation_bytes and reserved_bytes from your engine's log for "
            "its exact figures."
        )
    if not cached:
        plan.notes.append("No layer caches anything: the engine's KV cache holds no tokens.")
    return PlanBudget(
        engine=b.engine.value,
        version=version,
        device_memory=d.device_memory,
        fraction=b.fraction,
        engine_memory_bytes=int(b.engine_memory[i]),
        weight_bytes=int(b.weights[i]),
        activation_peak_bytes=int(b.activation_peak[i]),
        activation_peak_estimated=estimated,
        non_torch_bytes=int(b.non_torch[i]),
        cuda_graph_bytes=int(b.cuda_graph[i]),
        reserved_estimated=d.reserved_bytes is None and not (b.engine is Engine.VLLM and d.kv_cache_memory),
        kv_cache_bytes=kv,
        free_bytes=d.device_memory - used - kv,
        will_start=reason is None,
        reason=reason,
        kv_cache_groups=int(c.groups[i]),
        block_size=int(c.block_size[i]),
        num_blocks=int(c.num_blocks[i]),
        kv_cache_tokens=tokens,
        max_concurrency=concurrency,
        max_concurrency_tokens=length,
        max_total_num_tokens=tokens if b.engine is Engine.SGLANG else None,
    )


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
