"""How fast and at what cost: per-layer work (exact), communication, and a roofline model over devices × configs.

Definitions (docs/performance.md repeats them):

- A replica is tp × pp × ep devices. Under ep the non-expert layers run data-parallel over the ep ranks (each
  holds ``ceil(concurrency / ep)`` sequences, as the planner's ``batch``) and the routed experts split by ep.
- Per layer and device, from the catalogue's formulas on split specs (so a new class brings its own):
  FLOPs = 2 · matmul parameters · tokens + attention_flops · Σ attended tokens (prefill of n: Σ_{i≤n} min(i, W);
  decode at context n: min(n, W)) + 9 · recurrent state elements · tokens (Mamba, linear attention: the state
  update and read-out, the selective scan's count in state-spaces/mamba issue 110; an approximation for
  delta-rule states); bytes = weights read + KV read and written + states read and written + activations in and
  out (hidden_size values of 16 bits each way). A MoE layer reads its non-expert weights and the experts its
  tokens touch. The input embedding (a config's first ``EmbeddingLayer`` row, one layer of it) and position
  embeddings are lookups (no FLOPs, one row read per token); every other embedding layer is an output head (an
  untied head written as a second ``EmbeddingLayer``, the seed fixtures' convention, or count 2), as is an
  ``OutputHeadLayer``; in prefill a head runs on the last token of each prompt only (vLLM computes logits only
  there). All of these are integers (``LayerWork``); only the expected number of touched experts,
  E · (1 − (1 − k/E)^c), is a real number.
- Communication per layer: under tp an all-reduce of tokens · hidden_size · 2 bytes after each attention (or
  attention-like mixer: Mamba, linear attention) and feed-forward (or MoE) layer; under ep an all-to-all dispatch
  and a combine of tokens · k · width · 2 bytes per MoE layer; under pp a point-to-point send of
  tokens · hidden_size · 2 bytes between consecutive stages. Other rows (norms, embeddings, heads) communicate
  nothing and pay no collective latency.
- Time of an op: max(FLOPs / (peak × compute efficiency), bytes / (bandwidth × memory efficiency)) + overhead;
  of an all-reduce 2 · (tp − 1)/tp · bytes / link + latency; of an all-to-all (ep − 1)/ep · bytes / link + latency;
  of a send bytes / link + latency. The link is the scale-up one while the group fits its domain, else scale-out.
- The decode step: one step of the batch at the mean context isl + ⌊osl/2⌋; the batch prefill: all its prompts
  at once. TTFT and TPOT (which excludes the first token) are the steady state of ``concurrency`` requests in
  flight (``steady_state``: other requests' prefills stall the decode steps, and prompts queue for prefill), as
  the published benchmarks measure them; at concurrency 1 they are the prefill of one prompt and the decode step.
  A per-request serving overhead, data per device and engine and fitted (``request_overhead_ms`` +
  (concurrency − 1) · ``request_overhead_per_concurrent_ms``: tokenization, scheduling, the API server streaming
  the other requests), adds to TTFT and to the request latency, not to the prefill that stalls the decode steps.
  Request latency = TTFT + (osl − 1) · TPOT; output throughput = concurrency · osl / latency.
- Cost: price per hour × devices ÷ throughput, per million tokens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from registry.core import catalogue, counts, planning
from registry.core.catalogue import LayerKind
from registry.core.devices import DeviceSpec
from registry.core.issues import Issue
from registry.core.plan_parameters import DTYPE_BITS, Deployment

if TYPE_CHECKING:
    import numpy as np

ACTIVATION_BITS = 16
# FLOPs per recurrent state element per token: the selective scan's count (state-spaces/mamba issue 110:
# 9 · B · L · D · N); taken for every recurrent state (linear attention's delta rule is of the same order).
RECURRENT_FLOPS = 9
PREFILL, DECODE = "prefill", "decode"
_WHOLE = Deployment()  # one device, bf16


@dataclass(frozen=True)
class Layout:
    """A replica's parallel degrees."""

    tp: int = 1
    pp: int = 1
    ep: int = 1

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.ep


@dataclass(frozen=True)
class Workload:
    """``isl`` input and ``osl`` output tokens per request, ``concurrency`` requests in flight per replica."""

    isl: int
    osl: int
    concurrency: int = 1

    @property
    def context(self) -> int:
        """Tokens per sequence the cache must hold: isl + osl."""
        return self.isl + self.osl

    @property
    def mean_context(self) -> int:
        """The context of the decode step TPOT is taken at: isl + ⌊osl/2⌋."""
        return self.isl + self.osl // 2


@dataclass(frozen=True)
class LayerWork:
    """One layer's work on one device (integers): FLOPs and bytes by what they move."""

    flops: int
    weight_bytes: int
    kv_read_bytes: int
    kv_write_bytes: int
    state_bytes: int
    activation_bytes: int

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.kv_read_bytes + self.kv_write_bytes + self.state_bytes + self.activation_bytes


@dataclass(frozen=True)
class Messages:
    """One layer's collective messages on one device, in bytes (0 where the layout needs none)."""

    all_reduce: int  # per all-reduce (tp); a decoder layer has one after attention and one after its MLP
    dispatch: int  # all-to-all before the routed experts (ep)
    combine: int  # all-to-all after them


def expected_experts(num_experts: Any, per_token: Any, tokens: Any) -> Any:
    """Distinct experts a batch touches in expectation when each of ``tokens`` tokens picks ``per_token`` of
    ``num_experts`` uniformly: E · (1 − (1 − k/E)^c)."""
    return num_experts * (1 - (1 - per_token / num_experts) ** tokens)


def attended(n: Any, window: Any, phase: str) -> Any:
    """Tokens of attention one sequence computes: Σ_{i=1..n} min(i, W) for a prefill of n, min(n, W) for a
    decode step at context n (integers; W ≥ n without a window)."""
    import numpy as np

    if phase == DECODE:
        return np.minimum(n, window)
    w = np.minimum(n, window)
    return w * (w + 1) // 2 + (n - w) * w


def cost_per_million(price_per_hour: Any, devices: Any, tokens_per_second: Any) -> Any:
    """Dollars per million tokens: price per device-hour × devices ÷ tokens per second."""
    return price_per_hour * devices / (tokens_per_second * 3600.0) * 1e6


@dataclass(slots=True)
class RowStatics:
    """Per row of a stack, what no layout changes: spec columns and each row's role (read once per stack)."""

    num_experts: np.ndarray
    experts_per_tok: np.ndarray
    hidden: np.ndarray
    routed: np.ndarray  # bool: the row names num_experts
    moe_width: np.ndarray  # moe_latent_size or hidden_size, for rows with experts
    head: np.ndarray  # bool: the row's multiplying layers are output heads (in prefill, one token per prompt)
    lookup: np.ndarray  # layers of the row that are lookups (input or position embeddings): a row read per token
    matmul_layers: np.ndarray  # layers of the row that multiply (count − lookup)
    tied: np.ndarray  # bool: output heads that reuse the embedding (tie_word_embeddings)
    vocab: np.ndarray
    window: np.ndarray
    recurrent_bits: np.ndarray
    decoder: np.ndarray  # 1 for attention and feed-forward rows (an all-reduce each under tp)
    config_hidden: np.ndarray  # per config: the widest hidden_size (pipeline sends)


def row_statics(stack: planning.Stack, d: Deployment, shards: planning.Shards | None = None) -> RowStatics:
    """The layout-free figures of every row of ``stack`` (one Python pass over the rows; ``d`` gives kv_dtype,
    ``shards`` of the stack under any degrees the windows and state bits)."""
    import numpy as np

    rows, n = stack.rows, len(stack.rows)

    def column(name: str) -> np.ndarray:
        return np.fromiter((r.specs.get(name, 0) for r in rows), dtype=np.int64, count=n)

    hidden = column("hidden_size")
    routed = np.fromiter(("num_experts" in r.specs for r in rows), dtype=bool, count=n)
    latent = np.fromiter((r.specs.get("moe_latent_size", r.specs.get("hidden_size", 0)) for r in rows), np.int64, n)
    kind = np.array([_ROLE.get(k, 0) if k is not None else 0 for k in stack.kinds], dtype=np.int64)
    first = np.zeros(n, dtype=bool)
    embeddings = np.flatnonzero(kind == _ROLE[LayerKind.EMBEDDING])
    if embeddings.size:
        _, at = np.unique(stack.owner[embeddings], return_index=True)
        first[embeddings[at]] = True  # a config's first embedding row is its input embedding
    position = kind == _ROLE[LayerKind.POSITION_EMBEDDING]
    output_head = kind == _ROLE[LayerKind.OUTPUT_HEAD]
    count = stack.count
    tie = np.fromiter((bool(r.specs.get("tie_word_embeddings")) for r in rows), dtype=bool, count=n)
    config_hidden = np.zeros(stack.n_configs, dtype=np.int64)
    np.maximum.at(config_hidden, stack.owner, hidden)
    return RowStatics(
        num_experts=column("num_experts"),
        experts_per_tok=column("num_experts_per_tok"),
        hidden=hidden,
        routed=routed,
        moe_width=np.where(routed, latent, 0),
        head=output_head | (kind == _ROLE[LayerKind.EMBEDDING]),  # past a config's first embedding layer: heads
        lookup=np.where(first, 1, np.where(position, count, 0)),
        matmul_layers=np.where(first, count - 1, np.where(position, 0, count)),
        tied=output_head & tie,
        vocab=column("vocab_size"),
        window=shards.window if shards else np.fromiter((planning._window(r) for r in rows), dtype=np.int64, count=n),
        recurrent_bits=shards.recurrent_bits if shards else planning._recurrent_bits(rows, d),
        decoder=np.array([k in catalogue.PER_DECODER_LAYER_KINDS for k in stack.kinds], dtype=np.int64),
        config_hidden=config_hidden,
    )


_ROLE = {LayerKind.EMBEDDING: 1, LayerKind.POSITION_EMBEDDING: 2, LayerKind.OUTPUT_HEAD: 3}


@dataclass(slots=True)
class RowWork:
    """Per layer row, one device of a layout: the figures the work formulas read (int64 arrays)."""

    count: np.ndarray
    owner: np.ndarray
    matmul_params: np.ndarray  # per token (k experts for MoE)
    matmul_layers: np.ndarray  # layers of the row that multiply (the input embedding does not)
    head: np.ndarray  # output heads: in prefill, one token per prompt
    lookup: np.ndarray  # lookup layers (input or position embeddings): a row read per token
    resident: np.ndarray  # parameters a step reads whatever the experts touched
    expert_params: np.ndarray  # one routed expert's
    local_experts: np.ndarray
    num_experts: np.ndarray
    experts_per_tok: np.ndarray
    moe_width: np.ndarray
    kv_elements: np.ndarray
    attention_flops: np.ndarray
    window: np.ndarray
    state_bits: np.ndarray
    recurrent_elements: np.ndarray  # recurrent state elements per sequence (Mamba, linear attention)
    hidden: np.ndarray
    all_reduces: np.ndarray  # per layer: 1 for attention and feed-forward layers under tp
    all_to_alls: np.ndarray  # per layer: 1 for routed-expert layers under ep (a dispatch and a combine)


def row_work(
    stack: planning.Stack,
    cols: counts.Columns,
    d: Deployment,
    statics: RowStatics | None = None,
    shards: planning.Shards | None = None,
) -> RowWork:
    """Evaluate the catalogue's formulas for every row of ``stack`` on one device of ``d`` (tp, ep); ``statics``
    (``row_statics``) and the planner's ``shards`` under the same degrees may be passed in to reuse them."""
    import numpy as np

    s = statics if statics is not None else row_statics(stack, d)
    degrees = {"tp": d.tp, "ep": d.ep}

    def ev(pick: Any, split: bool = True) -> np.ndarray:
        out: np.ndarray = counts.evaluate(cols, pick, degrees=degrees if split else None)[0]
        return out

    tied = -(-s.vocab // d.tp) * s.hidden
    device = np.where(s.tied, tied, ev(lambda c: c.formula))
    active = np.where(s.tied, tied, ev(lambda c: c.token_formula))
    expert = ev(lambda c: c.expert_formula)
    local = np.where(s.routed, s.num_experts // d.ep, 0)
    return RowWork(
        count=stack.count,
        owner=stack.owner,
        matmul_params=active,
        matmul_layers=s.matmul_layers,
        head=s.head,
        lookup=s.lookup,
        resident=device - local * expert,
        expert_params=expert,
        local_experts=local,
        num_experts=s.num_experts,
        experts_per_tok=s.experts_per_tok,
        moe_width=s.moe_width,
        kv_elements=shards.kv_elements if shards else ev(lambda c: c.kv_elements),
        attention_flops=ev(lambda c: c.attention_flops),
        window=s.window,
        state_bits=shards.state_bits if shards else planning._state_bits(cols, s.recurrent_bits, d, degrees),
        recurrent_elements=ev(lambda c: c.recurrent_state_elements),
        hidden=s.hidden,
        all_reduces=s.decoder * (d.tp > 1),
        all_to_alls=s.routed.astype(np.int64) * (d.ep > 1),
    )


def _bytes(values: Any, bits: int) -> Any:
    return -(-values * bits // 8)


def work(
    w: RowWork, phase: str, n: int, sequences: int, d: Deployment, touched: Any = None, *, lookups: Any = False
) -> dict[str, np.ndarray]:
    """Per row, one layer's FLOPs and bytes on one device: a prefill of ``n`` tokens or a decode step at context
    ``n``, for ``sequences`` sequences on the device. ``touched``: routed experts read per layer on the device
    (default: the expectation for the replica's tokens, E/ep · (1 − (1 − k/E)^tokens), a real number). The figures
    are those of one of the row's multiplying layers, or (``lookups`` true, per row or for all) of one of its
    lookup layers: no FLOPs, one embedding row read per token."""
    import numpy as np

    tokens = sequences * n if phase == PREFILL else sequences
    head_tokens = np.where(w.head, sequences, tokens) if phase == PREFILL else tokens
    flops = (
        2 * w.matmul_params * head_tokens
        + w.attention_flops * sequences * attended(n, w.window, phase)
        + RECURRENT_FLOPS * w.recurrent_elements * tokens
    )
    flops = np.where(lookups, 0, flops)
    if touched is None:  # every ep rank's tokens route over all experts
        e = np.maximum(w.num_experts, 1)
        touched = w.local_experts * (1 - (1 - w.experts_per_tok / e) ** (tokens * d.ep))
    weights = _bytes(w.resident, DTYPE_BITS[d.dtype]) + touched * _bytes(w.expert_params, DTYPE_BITS[d.dtype])
    weights = np.where(lookups, _bytes(tokens * w.hidden, DTYPE_BITS[d.dtype]), weights)
    kv_bits = DTYPE_BITS[d.kv_dtype]
    held = np.minimum(n, w.window)
    kv_read = _bytes(w.kv_elements * held * sequences, kv_bits) if phase == DECODE else 0 * w.kv_elements
    kv_write = _bytes(w.kv_elements * (held if phase == PREFILL else 1) * sequences, kv_bits)
    states = _bytes(w.state_bits * sequences, 1) * (1 if phase == PREFILL else 2)  # bits: written; read and written
    activations = 2 * _bytes(tokens * w.hidden, ACTIVATION_BITS)
    return {
        "flops": flops,
        "weight_bytes": weights,
        "kv_read_bytes": kv_read,
        "kv_write_bytes": kv_write,
        "state_bytes": states,
        "activation_bytes": activations,
    }


def messages(w: RowWork, tokens: int, d: Deployment) -> dict[str, np.ndarray]:
    """Per row, one layer's collective message sizes in bytes for ``tokens`` tokens on the device."""
    all_reduce = w.all_reduces * _bytes(tokens * w.hidden, ACTIVATION_BITS)
    a2a = w.all_to_alls * _bytes(tokens * w.experts_per_tok * w.moe_width, ACTIVATION_BITS)
    return {"all_reduce": all_reduce, "dispatch": a2a, "combine": a2a}


def _one_row(class_name: str, specs: Mapping[str, Any], d: Deployment) -> tuple[RowWork, planning.Stack]:
    rows = [planning.StackRow(0, "layer", class_name, 1, dict(specs))]
    stack = planning.stacking([planning.StackConfig("one", 1, None)], rows, d)
    cols = counts.columns([class_name], [rows[0].specs])
    return row_work(stack, cols, d), stack


def layer_work(
    class_name: str,
    specs: Mapping[str, Any],
    *,
    phase: str,
    n: int,
    sequences: int = 1,
    deployment: Deployment = _WHOLE,
    touched: int | None = None,
) -> LayerWork:
    """One layer's exact work on one device (the vectorized path on a single row): a prefill of ``n`` tokens or a
    decode step at context ``n`` for ``sequences`` sequences; ``touched`` routed experts read (default all)."""
    w, _ = _one_row(class_name, specs, deployment)
    touched_experts = w.local_experts if touched is None else touched
    figures = work(w, phase, n, sequences, deployment, touched_experts, lookups=w.matmul_layers == 0)
    return LayerWork(**{k: int(v[0]) for k, v in figures.items()})


def layer_messages(
    class_name: str, specs: Mapping[str, Any], *, tokens: int, deployment: Deployment = _WHOLE
) -> Messages:
    """One layer's collective message sizes (bytes) for ``tokens`` tokens on one device."""
    w, _ = _one_row(class_name, specs, deployment)
    return Messages(**{k: int(v[0]) for k, v in messages(w, tokens, deployment).items()})


def op_time(flops: Any, nbytes: Any, peak: Any, bandwidth: Any, compute: Any, memory: Any, overhead_s: Any) -> Any:
    """max(FLOPs / (peak × compute), bytes / (bandwidth × memory)) + overhead, in seconds."""
    import numpy as np

    return np.maximum(flops / (peak * compute), nbytes / (bandwidth * memory)) + overhead_s


def ring_all_reduce(nbytes: Any, group: Any, bandwidth: Any, latency_s: Any) -> Any:
    """2 · (n − 1)/n · bytes / bandwidth + latency (0 for a group of one)."""
    return (group > 1) * (2 * (group - 1) / group * nbytes / bandwidth + latency_s)


def all_to_all(nbytes: Any, group: Any, bandwidth: Any, latency_s: Any) -> Any:
    """(n − 1)/n · bytes / bandwidth + latency (0 for a group of one)."""
    return (group > 1) * ((group - 1) / group * nbytes / bandwidth + latency_s)


@dataclass(slots=True)
class DeviceArrays:
    """The devices' figures as arrays (one entry per device) for one dtype and engine."""

    names: list[str]
    peak: np.ndarray
    bandwidth: np.ndarray
    compute: np.ndarray
    memory: np.ndarray
    overhead: np.ndarray  # seconds
    request_overhead: np.ndarray  # seconds per request, added to TTFT
    request_overhead_per_concurrent: np.ndarray  # seconds per other request in flight, added to TTFT
    up_bandwidth: np.ndarray
    up_latency: np.ndarray  # seconds
    up_domain: np.ndarray
    out_bandwidth: np.ndarray
    out_latency: np.ndarray
    price: np.ndarray
    memory_bytes: np.ndarray


def device_arrays(
    devices: Sequence[DeviceSpec], dtype: str, engine: str | None = None, prices: Mapping[str, float] | None = None
) -> DeviceArrays:
    """Arrays of the devices' figures; ``prices`` (by device name) replace their list prices."""
    import numpy as np

    def arr(values: Any) -> np.ndarray:
        return np.array(list(values), dtype=np.float64)

    eff = [d.efficiency_for(engine) for d in devices]
    return DeviceArrays(
        names=[d.name for d in devices],
        peak=arr(d.peak(dtype) for d in devices),
        bandwidth=arr(d.memory_bandwidth for d in devices),
        compute=arr(e.compute for e in eff),
        memory=arr(e.memory for e in eff),
        overhead=arr(e.overhead_us * 1e-6 for e in eff),
        request_overhead=arr(e.request_overhead_ms * 1e-3 for e in eff),
        request_overhead_per_concurrent=arr(e.request_overhead_per_concurrent_ms * 1e-3 for e in eff),
        up_bandwidth=arr(d.scale_up.bandwidth for d in devices),
        up_latency=arr(d.scale_up.latency_us * 1e-6 for d in devices),
        up_domain=np.array([d.scale_up.domain for d in devices], dtype=np.int64),
        out_bandwidth=arr(d.scale_out.bandwidth for d in devices),
        out_latency=arr(d.scale_out.latency_us * 1e-6 for d in devices),
        price=arr((prices or {}).get(d.name, d.price_per_hour) for d in devices),
        memory_bytes=np.array([d.memory_bytes for d in devices], dtype=object),
    )


@dataclass(slots=True)
class Estimates:
    """Per (config, device): the model's outputs for one layout and workload. Times in ms, throughputs in tokens/s,
    costs in dollars per million tokens; ``ok`` false where the layout cannot place the config (``errors``)."""

    layout: Layout
    workload: Workload
    devices: list[str]
    ok: np.ndarray  # configs
    errors: dict[int, list[Issue]]
    need_bytes: np.ndarray  # configs: the planner's heaviest device (weights + cache)
    fits: np.ndarray  # configs × devices
    ttft_ms: np.ndarray
    tpot_ms: np.ndarray
    decode_step_ms: np.ndarray  # one decode step of the batch at the mean context, no prefill in between
    request_latency_ms: np.ndarray
    output_tps: np.ndarray
    output_tps_per_device: np.ndarray
    input_tps: np.ndarray
    cost_per_m_output: np.ndarray
    cost_per_m_input: np.ndarray
    _batch_prefill: Callable[[], np.ndarray] | np.ndarray  # computed when first read (the search never reads it)

    @property
    def batch_prefill_ms(self) -> np.ndarray:
        """The prefill of all the batch's prompts at once (a burst), ms per (config, device)."""
        if callable(self._batch_prefill):
            self._batch_prefill = self._batch_prefill()
        return self._batch_prefill


def steady_state(prompt: Any, step: Any, concurrency: int, osl: int) -> tuple[Any, Any, Any]:
    """TTFT, TPOT and request latency (seconds) with ``concurrency`` requests in flight, each replaced when it ends,
    from ``prompt`` (the prefill of one prompt, P) and ``step`` (one decode step of the batch, T).

    The other c − 1 requests' prefills stall the decode steps: TPOT = T / (1 − (c − 1) · P / L), with the request
    latency L = P + (osl − 1) · TPOT, the larger root of L² − (c·P + (osl − 1)·T)·L + (c − 1)·P² = 0. Prompts
    arrive at c / L per second and wait for the prefills before them (M/D/1): TTFT = P + ρ / (2 (1 − ρ)) · P with
    ρ = c · P / L. With c = 1: TTFT = P, TPOT = T.
    """
    import numpy as np

    a, c = osl - 1, concurrency
    b = c * prompt + a * step
    latency = (b + np.sqrt(np.maximum(b * b - 4 * (c - 1) * prompt * prompt, 0))) / 2
    tpot = np.where(a > 0, (latency - prompt) / max(a, 1), step)
    rho = np.minimum(c * prompt / latency, 0.95) if c > 1 else 0 * prompt
    ttft = prompt + rho / (2 * (1 - rho)) * prompt
    return ttft, tpot, ttft + a * tpot


def _per_config(owner: np.ndarray, segments: Any, values: np.ndarray, n_configs: int) -> np.ndarray:
    import numpy as np

    out = np.zeros((n_configs, *values.shape[1:]), dtype=values.dtype)
    if segments is not None:
        present, firsts = segments
        out[present] = np.add.reduceat(values, firsts, axis=0)
    else:
        np.add.at(out, owner, values)
    return out


def _link(group: int, dev: DeviceArrays) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    inside = group <= dev.up_domain
    return np.where(inside, dev.up_bandwidth, dev.out_bandwidth), np.where(inside, dev.up_latency, dev.out_latency)


def _phase_time(
    w: RowWork, stack: planning.Stack, phase: str, n: int, sequences: int, d: Deployment, dev: DeviceArrays
) -> np.ndarray:
    """Seconds of one phase per (config, device) on the whole pipeline, stage sends aside: Σ rows of the
    multiplying layers × (op time + their collectives) + the lookup layers × a lookup's time. Collectives follow
    only the layers that communicate (an all-reduce after attention-like and feed-forward layers under tp, a
    dispatch and a combine after MoE layers under ep). It reads neither pp nor the stages, so one pass serves
    every pp of a (tp, ep)."""
    import numpy as np

    def seconds(f: dict[str, np.ndarray]) -> np.ndarray:
        nbytes = sum(f[k] for k in ("weight_bytes", "kv_read_bytes", "kv_write_bytes", "state_bytes"))
        nbytes = nbytes + f["activation_bytes"]
        return op_time(  # type: ignore[no-any-return]
            f["flops"].astype(np.float64)[:, None],
            np.asarray(nbytes, dtype=np.float64)[:, None],
            dev.peak,
            dev.bandwidth,
            dev.compute,
            dev.memory,
            dev.overhead,
        )

    t = seconds(work(w, phase, n, sequences, d))
    tokens = sequences * n if phase == PREFILL else sequences
    if d.tp > 1 or d.ep > 1:
        m = messages(w, tokens, d)
        tp_bw, tp_lat = _link(d.tp, dev)
        ep_bw, ep_lat = _link(d.tp * d.ep, dev)
        reduce = ring_all_reduce(m["all_reduce"].astype(np.float64)[:, None], d.tp, tp_bw, tp_lat)
        a2a = 2 * all_to_all(m["dispatch"].astype(np.float64)[:, None], d.ep, ep_bw, ep_lat)
        t = t + (w.all_reduces > 0)[:, None] * reduce + (w.all_to_alls > 0)[:, None] * a2a
    t = t * w.matmul_layers[:, None]
    if w.lookup.any():
        t = t + w.lookup[:, None] * seconds(work(w, phase, n, sequences, d, 0, lookups=True))
    return _per_config(w.owner, stack.segments, t, stack.n_configs)


def _sends(hidden: np.ndarray, tokens: int, d: Deployment, dev: DeviceArrays) -> np.ndarray | float:
    """Seconds of the pp − 1 point-to-point sends of ``tokens`` activations between stages, per (config, device)."""
    import numpy as np

    if d.pp == 1:
        return 0.0
    pp_bw, pp_lat = _link(d.tp * d.ep * d.pp, dev)
    send: np.ndarray = (d.pp - 1) * (np.ceil(tokens * hidden * ACTIVATION_BITS / 8)[:, None] / pp_bw + pp_lat)
    return send


class EstimateOptions(TypedDict, total=False):
    """The keyword options of ``estimate_layouts`` that ``estimate_stacks`` and ``estimate_config`` pass on."""

    dtype: str
    kv_dtype: str
    engine: str | None
    prices: Mapping[str, float] | None
    utilization: float
    cols: counts.Columns | None


def estimate_stacks(
    configs: Sequence[planning.StackConfig],
    rows: Sequence[planning.StackRow],
    layout: Layout,
    workload: Workload,
    devices: Sequence[DeviceSpec],
    *,
    stack: planning.Stack | None = None,
    **options: Unpack[EstimateOptions],
) -> Estimates:
    """The performance model for many configs × devices under one layout and workload, in one numpy pass.

    The fit is the planner's: weights and cache of the heaviest device at context isl + osl with
    ``ceil(concurrency / ep)`` sequences, against floor(memory × utilization). ``cols`` and ``stack`` may be
    passed in to reuse them across layouts of the same pp (``estimate_layouts`` shares more).
    """
    stacks = {layout.pp: stack} if stack is not None else None
    (e,) = estimate_layouts(configs, rows, [layout], workload, devices, stacks=stacks, **options)
    return e


def estimate_layouts(
    configs: Sequence[planning.StackConfig],
    rows: Sequence[planning.StackRow],
    layouts: Sequence[Layout],
    workload: Workload,
    devices: Sequence[DeviceSpec],
    *,
    dtype: str = "bf16",
    kv_dtype: str = "bf16",
    engine: str | None = None,
    prices: Mapping[str, float] | None = None,
    utilization: float = 0.9,
    cols: counts.Columns | None = None,
    stacks: Mapping[int, planning.Stack] | None = None,
) -> list[Estimates]:
    """``estimate_stacks`` for several layouts at once (one ``Estimates`` per layout, in order), each figure
    computed once where layouts share it: the rows' statics and columns once, the per-row work and the phase
    times once per (tp, ep) (pp only adds stage sends), the stage layout once per pp, the planner's shards once
    per (tp, ep, one stage or more). ``stacks`` (by pp) may be passed in."""
    import numpy as np

    given = dict(stacks or {})
    by_pp: dict[int, planning.Stack] = {}
    dev = device_arrays(devices, dtype, engine, prices)
    usable = np.array([int(Decimal(m) * Decimal(repr(utilization))) for m in dev.memory_bytes], dtype=np.int64)
    statics: RowStatics | None = None
    on_stage: dict[int, np.ndarray] = {}
    shards: dict[tuple[int, int, bool], planning.Shards] = {}
    times: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, RowWork]] = {}
    out = []
    for layout in layouts:
        sequences = -(-workload.concurrency // layout.ep)
        d = Deployment(
            dtype=dtype,
            kv_dtype=kv_dtype,
            context=workload.context,
            batch=sequences,
            tp=layout.tp,
            pp=layout.pp,
            ep=layout.ep,
        )
        found = by_pp.get(layout.pp) or given.get(layout.pp)
        if found is None and by_pp:  # the same rows; only the stage count (a rule on the configs) differs
            first = next(iter(by_pp.values()))
            found = dataclasses.replace(first, stages=planning.stacking(configs, (), d).stages)
        stack = by_pp[layout.pp] = found if found is not None else planning.stacking(configs, rows, d)
        if cols is None or cols.size != len(stack.rows):
            cols = counts.columns([r.class_name for r in stack.rows], [r.specs for r in stack.rows])
        key = (layout.tp, layout.ep, stack.stages > 1)
        if key not in shards:
            base = next(iter(shards.values()), None)
            shards[key] = planning.shard_rows(stack, d, cols=cols, base=base)
        if statics is None:
            statics = row_statics(stack, d, shards[key])
        errors = planning.refusals(stack, shards[key], d)
        ok = np.ones(stack.n_configs, dtype=bool)
        ok[list(errors)] = False
        if layout.pp not in on_stage:  # one stage holds every layer of every row
            on_stage[layout.pp] = stack.count[:, None] if stack.stages == 1 else planning.stage_layout(stack)
        weights = stack.per_stage(on_stage[layout.pp], shards[key].device_params)
        cache = planning.Cache(stack, on_stage[layout.pp], shards[key], d)
        need = (-(-weights * DTYPE_BITS[dtype] // 8) + -(-cache.bits_at(np.where(ok, cache.context, 0)) // 8)).max(
            axis=1
        )
        fits = ok[:, None] & (need[:, None] <= usable[None, :])
        if (layout.tp, layout.ep) not in times:
            w = row_work(stack, cols, d, statics, shards[key])
            times[(layout.tp, layout.ep)] = (
                _phase_time(w, stack, PREFILL, workload.isl, 1, d, dev),
                _phase_time(w, stack, DECODE, workload.mean_context, sequences, d, dev),
                w,
            )
        prompt, step, w = times[(layout.tp, layout.ep)]
        hidden = statics.config_hidden
        prompt = prompt + _sends(hidden, workload.isl, d, dev)
        step = step + _sends(hidden, sequences, d, dev)

        def batch_prefill(
            w: RowWork = w, stack: planning.Stack = stack, d: Deployment = d, hidden: np.ndarray = hidden
        ) -> np.ndarray:
            burst = _phase_time(w, stack, PREFILL, workload.isl, d.batch, d, dev)
            return (burst + _sends(hidden, d.batch * workload.isl, d, dev)) * 1e3

        out.append(_outputs(layout, workload, dev, ok, errors, need, fits, prompt, batch_prefill, step))
    return out


def _outputs(
    layout: Layout,
    workload: Workload,
    dev: DeviceArrays,
    ok: np.ndarray,
    errors: Mapping[int, list[Issue]],
    need: np.ndarray,
    fits: np.ndarray,
    prompt: np.ndarray,
    batch_prefill: Callable[[], np.ndarray],
    step: np.ndarray,
) -> Estimates:
    ttft, tpot, latency = steady_state(prompt, step, workload.concurrency, workload.osl)
    serving = dev.request_overhead + (workload.concurrency - 1) * dev.request_overhead_per_concurrent
    ttft, latency = ttft + serving, latency + serving  # the server's, not the GPU's: it stalls no decode step
    output_tps = workload.concurrency * workload.osl / latency
    input_tps = workload.concurrency * workload.isl / ttft
    n_dev = layout.devices
    return Estimates(
        layout=layout,
        workload=workload,
        devices=dev.names,
        ok=ok,
        errors=dict(errors),
        need_bytes=need,
        fits=fits,
        ttft_ms=ttft * 1e3,
        tpot_ms=tpot * 1e3,
        decode_step_ms=step * 1e3,
        request_latency_ms=latency * 1e3,
        output_tps=output_tps,
        output_tps_per_device=output_tps / n_dev,
        input_tps=input_tps,
        cost_per_m_output=cost_per_million(dev.price[None, :], n_dev, output_tps),
        cost_per_m_input=cost_per_million(dev.price[None, :], n_dev, input_tps),
        _batch_prefill=batch_prefill,
    )


def estimate_config(
    document: Mapping[str, Any],
    device: DeviceSpec,
    layout: Layout,
    workload: Workload,
    **options: Unpack[EstimateOptions],
) -> dict[str, Any]:
    """One valid config document on one device: the model's outputs as JSON-ready values (errors when the layout
    cannot place it)."""
    configs, rows = stack_of(document)
    e = estimate_stacks(configs, rows, layout, workload, [device], **options)
    if not e.ok[0]:
        return {"errors": [i.as_dict() for i in e.errors.get(0, [])]}
    return {
        "device": device.name,
        "devices": layout.devices,
        "layout": {"tp": layout.tp, "pp": layout.pp, "ep": layout.ep},
        "workload": {"isl": workload.isl, "osl": workload.osl, "concurrency": workload.concurrency},
        "ttft_ms": float(e.ttft_ms[0, 0]),
        "tpot_ms": float(e.tpot_ms[0, 0]),
        "decode_step_ms": float(e.decode_step_ms[0, 0]),
        "batch_prefill_ms": float(e.batch_prefill_ms[0, 0]),
        "request_latency_ms": float(e.request_latency_ms[0, 0]),
        "output_tokens_per_second": float(e.output_tps[0, 0]),
        "output_tokens_per_second_per_device": float(e.output_tps_per_device[0, 0]),
        "fits": bool(e.fits[0, 0]),
        "memory_bytes_per_device": int(e.need_bytes[0]),
        "cost_per_million_output_tokens": float(e.cost_per_m_output[0, 0]),
        "cost_per_million_input_tokens": float(e.cost_per_m_input[0, 0]),
        "errors": [],
    }


def stack_of(document: Mapping[str, Any]) -> tuple[list[planning.StackConfig], list[planning.StackRow]]:
    """The planner's stack of one config document."""
    config = planning.StackConfig(document["model_id"], document["num_layers"], document.get("max_position_embeddings"))
    rows = [
        planning.StackRow(
            0, lt["name"], lt["class"], lt["count"], {k: v for k, v in lt["specs"].items() if k != "parameter_count"}
        )
        for lt in document["layer_types"]
    ]
    return [config], rows


__all__ = [
    "EstimateOptions",
    "Estimates",
    "LayerWork",
    "Layout",
    "Messages",
    "Workload",
    "all_to_all",
    "attended",
    "cost_per_million",
    "estimate_config",
    "estimate_stacks",
    "expected_experts",
    "layer_messages",
    "layer_work",
    "op_time",
    "ring_all_reduce",
]
