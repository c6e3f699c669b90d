"""What a plan gives, defined once: a small tree of dataclasses whose fields are the JSON's keys, in order.

``Plan.as_dict`` writes them (``to_dict``), the API's serializers are built from them, and the command and the
admin panel read them; adding an output is a field here (and its figure in ``planning.plan_stacks``). A field's
metadata (``out``) holds its help text, its JSON key when it is not the attribute's name, whether it is left out
when None (rather than written as null), whether it may be negative and its choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, overload

from registry.core.activations import Recompute
from registry.core.engines import Engine
from registry.core.plan_parameters import Mode


def out(
    help: str = "",
    *,
    key: str | None = None,
    omit_none: bool = False,
    signed: bool = False,
    choices: tuple[str, ...] = (),
) -> Any:
    """A field of an output: see the module's docstring."""
    meta = {"help": help, "key": key, "omit_none": omit_none, "signed": signed, "choices": choices}
    return dataclasses.field(default=None, metadata=meta) if omit_none else dataclasses.field(metadata=meta)


@dataclass(kw_only=True, slots=True)
class PlanDeployment:
    """The deployment planned for (``PlanDeploymentSerializer``)."""

    mode: str = out(choices=tuple(m.value for m in Mode))
    dtype: str = out()
    kv_dtype: str = out()
    context: int | None = out("Tokens per sequence; null when neither asked nor in the config.")
    batch: int = out()
    tp: int = out()
    pp: int = out()
    ep: int = out()
    cp: int = out()
    dp: int = out()
    zero: int = out()
    devices: int = out("tp × pp × ep × cp × dp.")
    device_memory: int | None = out("Bytes of one device, when asked.")
    utilization: float = out()
    device: str | None = out("The device named, if one was.")
    engine: str = out(choices=tuple(e.value for e in Engine))
    gpu_memory_utilization: float = out()
    block_size: int = out()
    max_num_batched_tokens: int = out()
    max_num_seqs: int = out()
    max_model_len: int | None = out("null: the plan's context.")
    kv_cache_memory: int | None = out()
    enforce_eager: bool = out()
    mem_fraction_static: float = out()
    page_size: int = out()
    free_gpu_memory_fraction: float = out()
    tokens_per_block: int = out()
    profile_activation_bytes: int | None = out()
    reserved_bytes: int | None = out()
    recompute: str = out(choices=tuple(r.value for r in Recompute))
    sequence_parallel: bool = out()
    micro_batch: int = out()
    interleave: int = out()
    isl: int | None = out("Input tokens per request; null: no performance estimate.")
    osl: int | None = out("Output tokens per request; null: no performance estimate.")
    concurrency: int = out("Requests in flight per replica.")
    price_per_hour: float | None = out("US dollars per device-hour as asked; null: the catalogue's.")


@dataclass(kw_only=True, slots=True)
class PlanDevice:
    """The heaviest device."""

    stage: int = out("The pipeline stage of the heaviest device (0 first).")
    parameters: int = out("Parameters the heaviest device holds.")
    weight_bytes: int = out()
    kv_cache_bytes: int | None = out(
        "At the context and batch; null without a context, and in training (no KV cache is held)."
    )
    training_state_bytes: int | None = out("mode=training: ZeRO model states (K = 12).", omit_none=True)
    total_bytes: int = out(
        "Weights + KV cache (inference) or training states + activations + reserved_bytes (training)."
    )


@dataclass(kw_only=True, slots=True)
class PlanKVCache:
    bytes_per_token: int = out("The whole model's cache for one token (every layer that caches tokens).")
    bytes_per_token_beyond_windows: int = out(
        "What each token adds once the context is past every sliding window and chunk: the layers whose "
        "cache grows with the context."
    )
    bytes_per_token_per_device: int = out()
    bytes_per_device: int | None = out("At the context and batch, per-sequence states included.")
    state_bytes_per_sequence: int = out(
        "The whole model's per-sequence state (linear attention, Mamba), whatever the context."
    )
    state_bytes_per_sequence_per_device: int = out()


@dataclass(kw_only=True, slots=True)
class PlanFlops:
    forward: int | None = out("Forward FLOPs per token at the context (PaLM's accounting).")
    forward_without_attention: int = out("2 × (active parameters − embeddings, a tied head once).")
    training: int | None = out("3 × forward.")


@dataclass(kw_only=True, slots=True)
class PlanFit:
    device_memory: int = out()
    usable_bytes: int = out("device_memory × utilization.")
    fits: bool = out()
    headroom_bytes: int = out("usable_bytes − total_bytes (negative: does not fit).", signed=True)
    max_context: int | None = out(
        "The longest context that fits at this batch (0: the weights alone do not fit); null when "
        "memory sets no limit (every cache bounded: sliding windows, chunks, per-sequence states) or in training."
    )


@dataclass(kw_only=True, slots=True)
class PlanBudget:
    """The engine's memory budget on the heaviest device, line by line in the order the engine takes it, and
    its KV-cache layout (``registry.core.engines``)."""

    engine: str = out(choices=tuple(e.value for e in Engine if e is not Engine.NONE))
    version: str = out("The engine version whose code (or documented rule) is followed.")
    device_memory: int = out("Total memory of one device.")
    fraction: float = out(
        "gpu_memory_utilization (vllm), mem_fraction_static (sglang), free_gpu_memory_fraction (trtllm)."
    )
    engine_memory_bytes: int = out(
        "What the engine may use: device_memory × fraction (vllm, sglang); device_memory (trtllm, whose "
        "fraction applies to what is left)."
    )
    weight_bytes: int = out()
    activation_peak_bytes: int = out("The activation peak of the engine's profile run (0 with kv_cache_memory).")
    activation_peak_estimated: bool = out("An estimate; replace it with profile_activation_bytes.")
    non_torch_bytes: int = out("Memory outside PyTorch: NCCL buffers, cuBLAS workspaces.")
    cuda_graph_bytes: int = out("The CUDA-graph reserve (0 with enforce_eager).")
    reserved_estimated: bool = out("non_torch and cuda_graph are estimates; replace them with reserved_bytes.")
    kv_cache_bytes: int = out("What is left for the KV cache (negative: the engine will not start).", signed=True)
    free_bytes: int = out("device_memory − every line above (what the engine leaves unused).", signed=True)
    will_start: bool = out()
    reason: str | None = out("Why the engine will not start; null when it will.")
    kv_cache_groups: int = out("vLLM's KV-cache groups (1 for sglang and trtllm; 0: nothing cached).")
    block_size: int = out("Tokens per block (vLLM's smallest group block, after hybrid adjustments).")
    num_blocks: int = out()
    kv_cache_tokens: int = out("vLLM's 'GPU KV cache size: N tokens'; SGLang's max_total_num_tokens.")
    max_concurrency: float | None = out(
        "vLLM's 'Maximum concurrency for L tokens per request' (blocks over one request's blocks); "
        "kv_cache_tokens / L otherwise. null when nothing is cached."
    )
    max_concurrency_tokens: int = out("L: tokens per request (max_model_len).")
    max_total_num_tokens: int | None = out("engine=sglang: SGLang's max_total_num_tokens.", omit_none=True)


@dataclass(kw_only=True, slots=True)
class PlanTraining:
    """mode=training: activations (Korthikanti et al. 2022; ``registry.core.activations``) and the fit."""

    recompute: str = out(choices=tuple(r.value for r in Recompute))
    sequence_parallel: bool = out()
    micro_batch: int = out()
    interleave: int = out()
    micro_batches_in_flight: int = out("On the first stage: pp (1F1B).")
    activation_bytes: int = out(
        "The decoder layers' activations on the heaviest device (the first stage), as the paper's Figure 1."
    )
    embedding_activation_bytes: int = out("The embedding's input and dropout mask (Megatron-LM).")
    output_activation_bytes: int = out("pp = 1: the output layer's input and the loss (Megatron-LM).")
    activations_approximate: bool = out("Some mixer (Mamba, linear attention) is approximated.")
    state_bytes: int = out("ZeRO model states (K = 12).")
    reserved_bytes: int = out("reserved_bytes, as given (0 without).")
    total_bytes: int = out("state + activations (the three lines) + reserved.")
    max_micro_batch: int | None = out("The largest micro_batch that fits device_memory × utilization.", omit_none=True)


@dataclass(kw_only=True, slots=True)
class PlanPerformance:
    """With isl, osl and a device: the performance model's estimates (``registry.core.performance``; roofline
    times from the exact work per layer, calibrated efficiencies: estimates, not measurements) and the cost."""

    device: str = out("The catalogue's device (an alias resolves to its name).")
    efficiency: str = out("The efficiencies read: the engine's on this device, or the device's default.")
    replica_devices: int = out("tp × pp × ep: the devices of one replica.")
    ttft_ms: float = out(
        "Time to first token (estimate): the prefill of one prompt, queued behind the others' at this concurrency, "
        "plus the device's serving overhead."
    )
    tpot_ms: float = out(
        "Time per output token (estimate); excludes the first token: (request latency − TTFT) / (osl − 1), the "
        "decode step stalled by the other requests' prefills."
    )
    request_latency_ms: float = out("TTFT + (osl − 1) × TPOT (estimate).")
    decode_step_ms: float = out("One decode step of the batch at context isl + osl/2, no prefill in between.")
    output_tokens_per_second: float = out("The replica's: concurrency × osl / request latency.")
    output_tokens_per_second_per_device: float = out("output_tokens_per_second / replica_devices.")
    input_tokens_per_second: float = out("The replica's prompt rate: concurrency × isl / TTFT.")
    price_per_hour: float = out("US dollars per device-hour: price_per_hour, or the catalogue's list price.")
    cost_per_million_output_tokens: float = out(
        "US dollars: price_per_hour × replica_devices / (output tokens/s × 3600) × 10⁶."
    )
    cost_per_million_input_tokens: float = out("US dollars, from the prompt rate likewise.")
    fits: bool = out(
        "fit.fits: the plan's memory answer at context isl + osl and batch ceil(concurrency / ep), the one "
        "answer on fit."
    )


@dataclass(kw_only=True, slots=True)
class PlanLayer:
    """One layer type on the heaviest device (``PlanLayerSerializer``)."""

    name: str = out()
    class_name: str = out(key="class")
    count: int = out()
    count_on_device: int = out("Layers of this type on the heaviest device's stage.")
    parameters_per_layer: int = out("One layer's share on one device.")
    parameters: int = out()
    weight_bytes: int = out()
    split: str = out("How the layer type was split.")
    cache_rule: str = out(
        "What one layer caches: per_token, window W, chunk C, state per sequence (or per_token + state "
        "per sequence), shared (an earlier layer's KV), none."
    )
    kv_cache_bytes_per_token: int = out()
    state_bytes_per_sequence: int = out("The layers on the device, for one sequence.")


@dataclass(kw_only=True, slots=True)
class PlanFigures:
    """A plan's figures (a plan with errors has none): they follow ``errors`` and ``notes`` in its JSON."""

    total_params: int = out()
    active_params: int = out()
    weight_bytes: int = out("The whole model's weights in dtype.")
    device: PlanDevice = out()  # noqa: RUF009 (out is a field)
    kv_cache: PlanKVCache = out()  # noqa: RUF009 (out is a field)
    flops_per_token: PlanFlops = out()  # noqa: RUF009 (out is a field)
    fit: PlanFit | None = out("With device_memory.", omit_none=True)  # noqa: RUF009 (out is a field)
    budget: PlanBudget | None = out("With an engine and device_memory.", omit_none=True)  # noqa: RUF009
    training: PlanTraining | None = out("mode=training.", omit_none=True)  # noqa: RUF009 (out is a field)
    performance: PlanPerformance | None = out(  # noqa: RUF009 (out is a field)
        "With isl, osl and a device (inference): speed and cost, estimated.", omit_none=True
    )


@dataclass(frozen=True, slots=True)
class OutputField:
    """One field of an output class, as ``to_dict`` and the serializers read it."""

    attr: str
    key: str
    help: str
    omit_none: bool
    signed: bool
    choices: tuple[str, ...]
    type: str  # the annotation, as written: "int | None", "PlanDevice", ...


@cache
def output_fields(cls: type) -> tuple[OutputField, ...]:
    """The fields of an output class, in order."""
    return tuple(
        OutputField(f.name, f.metadata["key"] or f.name, f.metadata["help"], f.metadata["omit_none"],
                    f.metadata["signed"], f.metadata["choices"], str(f.type))
        for f in dataclasses.fields(cls)
    )  # fmt: skip


Output = (
    PlanDeployment
    | PlanDevice
    | PlanKVCache
    | PlanFlops
    | PlanFit
    | PlanBudget
    | PlanTraining
    | PlanPerformance
    | PlanLayer
    | PlanFigures
)
OUTPUTS: tuple[type, ...] = get_args(Output)  # the output classes, in the order above


@overload
def to_dict(value: Output) -> dict[str, Any]: ...
@overload
def to_dict(value: list[PlanLayer]) -> list[dict[str, Any]]: ...
def to_dict(value: Output | list[PlanLayer]) -> dict[str, Any] | list[dict[str, Any]]:
    """An output (or a list of them) as JSON-ready dicts: keys in field order, ``omit_none`` fields left out."""
    if isinstance(value, list):
        return [to_dict(v) for v in value]
    cls: type = type(value)  # as ``type``: mypy takes no type[X] for Hashable (as lru_cache wants)
    return _writer(cls)(value)


@cache
def _writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    """The function writing an instance of ``cls`` as a dict, generated once (as ``dataclasses`` generates
    ``__init__``): the API writes thousands of plans per request."""
    nested = {c.__name__: c for c in OUTPUTS}
    namespace: dict[str, Any] = {}
    body = ["def write(v):", "    d = {}"]
    for f in output_fields(cls):
        base, _, rest = f.type.partition(" | ")
        body.append(f"    x = v.{f.attr}")
        value = "x"
        if base in nested:
            namespace[f"write_{base}"] = _writer(nested[base])
            value = f"None if x is None else write_{base}(x)" if rest else f"write_{base}(x)"
        put = f"d[{f.key!r}] = {value}"
        body.append(f"    if x is not None: {put}" if f.omit_none else f"    {put}")
    body.append("    return d")
    exec("\n".join(body), namespace)  # the source is built from the fields above, never from input
    write: Callable[[Any], dict[str, Any]] = namespace["write"]
    return write
