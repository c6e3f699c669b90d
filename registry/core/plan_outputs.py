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
from typing import Any, overload

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


@dataclass(kw_only=True, slots=True)
class PlanDevice:
    """The heaviest device."""

    stage: int = out("The pipeline stage of the heaviest device (0 first).")
    parameters: int = out("Parameters the heaviest device holds.")
    weight_bytes: int = out()
    kv_cache_bytes: int | None = out("At the context and batch; null without a context.")
    training_state_bytes: int | None = out("mode=training: ZeRO model states (K = 12).", omit_none=True)
    total_bytes: int = out("Weights + KV cache (inference) or training states (training).")


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


Output = PlanDeployment | PlanDevice | PlanKVCache | PlanFlops | PlanFit | PlanLayer | PlanFigures


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


OUTPUTS = (PlanDeployment, PlanDevice, PlanKVCache, PlanFlops, PlanFit, PlanLayer, PlanFigures)
