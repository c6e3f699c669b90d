"""The deployment parameters of a plan, defined once: ``TABLE`` drives the parser (``parse_deployment``), the
API's query parameters and their OpenAPI schema, the ``plan`` command's options and the admin's plan form.

Each ``Parameter`` has a name, a kind (a choice, an integer in bounds, a memory size, a fraction), its bounds or
choices, help text and the modes it applies to; its default is the ``Deployment`` field's. Adding a parameter is
a field of ``Deployment`` and a row of ``TABLE`` (an import-time check keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from registry.core.activations import Recompute
from registry.core.engines import Engine
from registry.core.issues import Code, Issue

if TYPE_CHECKING:
    from registry.core.devices import DeviceSpec

# Bits per value: int4 is half a byte, so byte counts are bits / 8 rounded up.
DTYPE_BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4}
# Nominal memory of common accelerators, as their makers state it: GiB of HBM/GDDR (2**30 bytes), whatever the
# "GB" in a marketing name says (H100-80GB holds 80 GiB = 85.9 GB). H100-SXM is the H100-80GB's usual name.
DEVICES = {
    "A100-40GB": 40 * 2**30,
    "A100-80GB": 80 * 2**30,
    "H100-80GB": 80 * 2**30,
    "H100-SXM": 80 * 2**30,
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
MAX_MEMORY_TEXT = 40  # characters of a device_memory or utilization value
MAX_TOKENS = 2**24  # isl, osl: tokens of one request
MAX_CONCURRENCY = 2**16  # requests in flight per replica
MAX_PRICE = 1e4  # US dollars per device-hour, as the catalogue bounds it
DEVICE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # the catalogue's names and aliases


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
    device: str | None = None  # a name in DEVICES: sets device_memory
    engine: Engine = Engine.NONE
    gpu_memory_utilization: float = 0.9
    block_size: int = 16
    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    max_model_len: int | None = None  # None: the plan's context
    kv_cache_memory: int | None = None  # bytes
    enforce_eager: bool = False
    mem_fraction_static: float = 0.88
    page_size: int = 1
    free_gpu_memory_fraction: float = 0.9
    tokens_per_block: int = 32
    profile_activation_bytes: int | None = None
    reserved_bytes: int | None = None
    recompute: Recompute = Recompute.NONE
    sequence_parallel: bool = False
    micro_batch: int = 1
    interleave: int = 1
    isl: int | None = None  # input tokens per request: with osl, the performance estimate
    osl: int | None = None
    concurrency: int = 1  # requests in flight per replica
    price_per_hour: float | None = None  # US dollars per device-hour; None: the catalogue's

    @property
    def devices(self) -> int:
        return self.tp * self.pp * self.ep * self.cp * self.dp

    @property
    def serving(self) -> bool:
        """Whether the plan estimates serving speed (inference with a workload: isl and osl)."""
        return self.mode is Mode.INFERENCE and self.isl is not None and self.osl is not None


Kind = Literal["choice", "integer", "memory", "fraction", "number", "device", "devices"]
ALL_MODES = (Mode.INFERENCE, Mode.TRAINING)


@dataclass(frozen=True)
class Parameter:
    """One deployment parameter: how it is read, its bounds or choices, what it means, where it applies."""

    name: str
    kind: Kind
    help: str  # what it is, without its default (``help_text`` adds it)
    minimum: int | float | None = None
    maximum: int | float | None = None
    choices: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = ALL_MODES
    default_text: str | None = None  # the default in words, when it is not a plain value
    value: Callable[[str], Any] = str  # a valid choice's value (mode: a Mode)
    owner: Any = None  # the dataclass whose field holds the default (None: Deployment)

    @property
    def default(self) -> Any:
        return (self.owner or Deployment).__dataclass_fields__[self.name].default

    @property
    def default_text_value(self) -> str | None:
        """The default as the parser reads it (``false`` for a flag), None without one."""
        default = self.default
        if isinstance(default, bool):
            return "true" if default else "false"
        return None if default is None else str(default)

    @property
    def option(self) -> str:
        """The command's option: ``--kv-dtype``."""
        return "--" + self.name.replace("_", "-")

    @property
    def help_text(self) -> str:
        """The help with where it applies and its default: the API's description, the command's help."""
        only = "" if self.modes == ALL_MODES else f" Only with mode={'/'.join(m.value for m in self.modes)}."
        default = f" {self.default_text}" if self.default_text else ""
        if not default and self.default is not None:
            default = f" Default {self.default}."
        return f"{self.help}{only}{default}"

    @property
    def bounds(self) -> tuple[int | float, int | float]:
        """(minimum, maximum) of an integer or a fraction."""
        assert self.minimum is not None and self.maximum is not None, self.name
        return self.minimum, self.maximum

    def json_schema(self) -> dict[str, Any]:
        """The value's JSON schema (a query parameter's)."""
        if self.kind == "choice":
            return {"type": "string", "enum": list(self.choices)}
        if self.kind == "integer":
            return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.kind == "fraction":
            return {"type": "number", "minimum": self.minimum, "exclusiveMinimum": True, "maximum": self.maximum}
        if self.kind == "number":
            return {"type": "number", "minimum": self.minimum, "maximum": self.maximum}
        if self.kind == "device":
            return {"type": "string", "pattern": rf"^{DEVICE_NAME}$"}
        if self.kind == "devices":
            return {"type": "string", "pattern": rf"^{DEVICE_NAME}(,{DEVICE_NAME}){{0,63}}$"}
        return {"type": "string", "pattern": rf"^[ -~]{{1,{MAX_MEMORY_TEXT}}}$"}

    def parse(self, text: str) -> tuple[Any, Issue | None]:
        """The value of ``text``, or the issue (loc = name) saying what was expected."""
        if self.kind == "choice":
            if text in self.choices:
                return self.value(text), None
            return None, Issue(self.name, Code.INVALID_CHOICE, f"expected {_one_of(self.choices)}, got {text!r}")
        if self.kind == "integer":
            low, high = self.bounds
            if re.fullmatch(r"[0-9]{1,19}", text.strip()) and low <= int(text) <= high:
                return int(text), None
            return None, Issue(self.name, Code.INVALID, f"expected an integer from {low} to {high}, got {text!r}")
        if self.kind in ("fraction", "number"):
            try:
                number = float(text) if text.isascii() and len(text) <= MAX_MEMORY_TEXT else -1.0
            except ValueError:
                number = -1.0
            low, high = self.bounds
            if self.kind == "number" and low <= number <= high:
                return number, None
            if self.kind == "number":
                return None, Issue(self.name, Code.INVALID, f"expected a number from {low} to {high}, got {text!r}")
            if low < number <= high:
                return number, None
            return None, Issue(self.name, Code.INVALID, f"expected a fraction in ({low}, {high}], got {text!r}")
        if self.kind == "device":  # checked against a catalogue by the caller (``device_named``)
            if re.fullmatch(DEVICE_NAME, text):
                return text, None
            return None, Issue(self.name, Code.UNKNOWN_DEVICE, f"expected a device's name, got {text!r}")
        if self.kind == "devices":
            names = text.split(",")
            if len(names) <= 64 and all(re.fullmatch(DEVICE_NAME, n) for n in names):
                return tuple(names), None
            return None, Issue(self.name, Code.INVALID, f"expected device names separated by commas, got {text!r}")
        memory = parse_memory(text)
        if memory is not None:
            return memory, None
        expected = f"bytes, a size such as 80GB or 80GiB, or a device ({', '.join(DEVICES)})"
        return None, Issue(self.name, Code.INVALID, f"expected {expected}, got {text!r}")


def _one_of(choices: tuple[str, ...]) -> str:
    return " or ".join(choices) if len(choices) == 2 else f"one of {', '.join(choices)}"


def _degree(name: str, what: str, maximum: int = MAX_DEGREE) -> Parameter:
    help = f"Degree of {what}: the layer types split as their classes allow."
    return Parameter(name, "integer", help, 1, maximum)


_DTYPES = tuple(DTYPE_BITS)
# In the order the parser reports problems (the API's error bodies keep it).
TABLE: tuple[Parameter, ...] = (
    Parameter(
        "dtype",
        "choice",
        "Weight dtype (4, 2, 2, 1, 1, ½ bytes per parameter; quantization scales not counted).",
        choices=_DTYPES,
    ),
    Parameter("kv_dtype", "choice", "KV-cache dtype.", choices=_DTYPES),
    Parameter(
        "context",
        "integer",
        "Tokens per sequence.",
        1,
        MAX_CONTEXT,
        default_text="Default the config's context length (max_position_embeddings).",
    ),
    Parameter("batch", "integer", "Sequences held at once.", 1, MAX_BATCH),
    _degree("tp", "tensor parallelism"),
    _degree("ep", "expert parallelism (routed experts)"),
    _degree("cp", "context parallelism (KV-cache tokens)"),
    Parameter(
        "dp", "integer", "Data-parallel degree (ZeRO partitions over it).", 1, MAX_DEGREE, modes=(Mode.TRAINING,)
    ),
    _degree("pp", f"pipeline parallelism (decoder layers in stages, at most {MAX_STAGES})", MAX_STAGES),
    Parameter("zero", "integer", "ZeRO stage 0-3.", 0, 3, modes=(Mode.TRAINING,)),
    Parameter("mode", "choice", "What the plan is for.", choices=tuple(m.value for m in Mode), value=Mode),
    Parameter(
        "device_memory",
        "memory",
        f"Memory of one device, to check the fit: bytes, a size (80GB, 80GiB) or a device ({', '.join(DEVICES)}).",
    ),
    Parameter("utilization", "fraction", "The fraction of device_memory usable (engine=none).", 0, 1),
    Parameter(
        "device",
        "device",
        "A device of the catalogue (GET /devices/), by name or alias: sets device_memory to its memory and, "
        "with isl and osl, the performance estimate reads its bandwidth, peak FLOP/s, links and price. "
        "The memory-only names of earlier releases (" + ", ".join(DEVICES) + ") are its names or aliases.",
    ),
    Parameter(
        "engine",
        "choice",
        "The serving engine whose memory budget and KV-cache layout to follow (none: weights + KV cache against "
        "device_memory × utilization).",
        choices=tuple(e.value for e in Engine),
        value=Engine,
    ),
    Parameter("gpu_memory_utilization", "fraction", "engine=vllm: the fraction of device_memory vLLM may use.", 0, 1),
    Parameter("block_size", "integer", "engine=vllm: tokens per KV-cache block.", 1, 2**16),
    Parameter(
        "max_num_batched_tokens", "integer", "engine=vllm: tokens per scheduler step (the profile run's).", 1, 2**24
    ),
    Parameter("max_num_seqs", "integer", "engine=vllm: sequences per step (the sampler's profile).", 1, 2**20),
    Parameter(
        "max_model_len",
        "integer",
        "engine=vllm: the longest request (max_concurrency's L).",
        1,
        MAX_CONTEXT,
        default_text="Default the plan's context.",
    ),
    Parameter(
        "kv_cache_memory",
        "memory",
        "engine=vllm: vLLM's --kv-cache-memory, bytes for the KV cache (no profiling, no estimate).",
    ),
    Parameter(
        "enforce_eager",
        "choice",
        "engine=vllm: no CUDA graphs (no CUDA-graph reserve).",
        choices=("false", "true"),
        default_text="Default false.",
        value=lambda text: text == "true",
    ),
    Parameter("mem_fraction_static", "fraction", "engine=sglang: the fraction for weights and the KV pool.", 0, 1),
    Parameter("page_size", "integer", "engine=sglang: tokens per page.", 1, 2**16),
    Parameter(
        "free_gpu_memory_fraction",
        "fraction",
        "engine=trtllm: the fraction of the memory still free (after weights and activations) for the KV cache.",
        0,
        1,
    ),
    Parameter("tokens_per_block", "integer", "engine=trtllm: tokens per KV-cache block.", 1, 2**16),
    Parameter(
        "profile_activation_bytes",
        "memory",
        "The activation peak your engine measured (vLLM's log: 'PyTorch activation peak memory'), instead of "
        "the estimate.",
    ),
    Parameter(
        "reserved_bytes",
        "memory",
        "Memory outside PyTorch your engine measured (NCCL, CUDA graphs), instead of the estimates; in training, "
        "a reserve added to the fit.",
    ),
    Parameter(
        "recompute",
        "choice",
        "Activation recomputation: none, selective (attention scores) or full (each layer keeps its input).",
        choices=tuple(r.value for r in Recompute),
        modes=(Mode.TRAINING,),
        value=Recompute,
    ),
    Parameter(
        "sequence_parallel",
        "choice",
        "Sequence parallelism (splits the activations tensor parallelism leaves whole).",
        choices=("false", "true"),
        modes=(Mode.TRAINING,),
        default_text="Default false.",
        value=lambda text: text == "true",
    ),
    Parameter("micro_batch", "integer", "Sequences per micro-batch.", 1, MAX_BATCH, modes=(Mode.TRAINING,)),
    Parameter(
        "interleave",
        "integer",
        "Model chunks per device of an interleaved pipeline schedule (v; 1: plain 1F1B).",
        1,
        MAX_STAGES,
        modes=(Mode.TRAINING,),
    ),
    Parameter(
        "isl",
        "integer",
        "Input tokens per request: with osl and a device, the plan estimates serving speed and cost (its "
        "context is then isl + osl and its batch ceil(concurrency / ep)).",
        1,
        MAX_TOKENS,
        modes=(Mode.INFERENCE,),
        default_text="Default none: no estimate.",
    ),
    Parameter(
        "osl",
        "integer",
        "Output tokens per request (with isl).",
        1,
        MAX_TOKENS,
        modes=(Mode.INFERENCE,),
        default_text="Default none: no estimate.",
    ),
    Parameter(
        "concurrency",
        "integer",
        "Requests in flight per replica (tp × pp × ep devices), each replaced when it ends (with isl and osl).",
        1,
        MAX_CONCURRENCY,
        modes=(Mode.INFERENCE,),
    ),
    Parameter(
        "price_per_hour",
        "number",
        "US dollars per device-hour, instead of the catalogue's list price (with isl and osl).",
        0,
        MAX_PRICE,
        modes=(Mode.INFERENCE,),
        default_text="Default the device's price in the catalogue.",
    ),
)
BY_NAME: Mapping[str, Parameter] = {p.name: p for p in TABLE}
# What parse_deployment reads: the Deployment's fields, by name.
PARAMETERS = tuple(f.name for f in dataclasses.fields(Deployment))
if set(PARAMETERS) != set(BY_NAME):  # pragma: no cover - a parameter added to one and not the other
    raise ImportError(f"plan parameters: Deployment {sorted(PARAMETERS)} != TABLE {sorted(BY_NAME)}")


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


def parse_values(table: Sequence[Parameter], params: Mapping[str, str | None]) -> tuple[dict[str, Any], list[Issue]]:
    """Each given parameter of ``table`` read from its text: the values by name, and every issue (loc = name)."""
    issues: list[Issue] = []
    values: dict[str, Any] = {}
    for parameter in table:
        text = params.get(parameter.name)
        if text is None:
            continue
        value, issue = parameter.parse(text)
        if issue is not None:
            issues.append(issue)
        else:
            values[parameter.name] = value
    return values, issues


def parse_deployment(
    params: Mapping[str, str | None], devices: Mapping[str, DeviceSpec] | None = None
) -> tuple[Deployment | None, list[Issue]]:
    """A deployment from text parameters (query string, command options); every problem at once, loc = name.

    ``devices``: the catalogue by name and alias (``selectors.device_catalogue``); ``device`` names one of them
    and takes its memory, its canonical name kept. Without it (the core alone), ``device`` names one of the
    memory-only ``DEVICES``.
    """
    values, issues = parse_values(TABLE, params)
    mode = values.get("mode", Deployment.mode)
    for parameter in TABLE:
        name = parameter.name
        if mode not in parameter.modes and name in values and values[name] != parameter.default:
            modes = "/".join(m.value for m in parameter.modes)
            issues.append(Issue(name, Code.NOT_FOR_INFERENCE, f"{name} applies to mode={modes} only"))
    if "device" in values:
        found = device_named(values["device"], devices)
        if found is None:
            known = sorted({d.name for d in devices.values()}) if devices is not None else list(DEVICES)
            listed = ", ".join(known) or "none: load the catalogue"
            msg = f"expected a device of the catalogue ({listed}), got {values['device']!r}"
            issues.append(Issue("device", Code.UNKNOWN_DEVICE, msg))
            del values["device"]
        else:
            name, memory = found
            if values.get("device_memory", memory) != memory:
                issues.append(Issue("device", Code.INVALID, "device and device_memory disagree: give one of them"))
            values["device"], values["device_memory"] = name, memory
    if mode is Mode.INFERENCE:
        issues += _workload(values, params)
    if issues:
        return None, issues
    return Deployment(**values), []


def device_named(name: str, devices: Mapping[str, DeviceSpec] | None) -> tuple[str, int] | None:
    """(canonical name, memory bytes) of the device ``name`` names (case-insensitive), None if unknown."""
    if devices is None:
        memory = {n.lower(): (n, size) for n, size in DEVICES.items()}
        return memory.get(name.lower())
    spec = devices.get(name) or {k.lower(): v for k, v in devices.items()}.get(name.lower())
    return None if spec is None else (spec.name, spec.memory_bytes)


def _workload(values: dict[str, Any], params: Mapping[str, str | None]) -> list[Issue]:
    """The serving workload's rules: isl and osl together, on a device; the plan's context and batch follow
    them (isl + osl, ceil(concurrency / ep)) so the memory answer and the estimate's agree."""
    given = [name for name in ("concurrency", "price_per_hour") if params.get(name) is not None]
    if "isl" not in values and "osl" not in values:
        if given and params.get("isl") is None and params.get("osl") is None:  # isl or osl wrong: already said
            return [Issue("isl", Code.REQUIRED, f"{given[0]} needs isl and osl (the workload)")]
        return []
    issues = [
        Issue(name, Code.REQUIRED, f"{other} needs {name}: isl and osl go together")
        for name, other in (("isl", "osl"), ("osl", "isl"))
        if name not in values and other in values and params.get(name) is None
    ]
    if "isl" not in values or "osl" not in values:
        return issues
    if values.get("device") is None and params.get("device") is None:  # a bad device: already said
        issues.append(Issue("device", Code.REQUIRED, "isl and osl need a device (the estimate reads its figures)"))
    if values.get("cp", 1) != 1:
        issues.append(Issue("cp", Code.INVALID, "the performance model has no context parallelism: cp=1 with isl"))
    context = values["isl"] + values["osl"]
    if values.setdefault("context", context) != context:
        issues.append(Issue("context", Code.CONTRADICTION, f"context and isl + osl ({context}) disagree: give one"))
    batch = -(-values.get("concurrency", 1) // values.get("ep", 1))
    if values.setdefault("batch", batch) != batch:
        msg = f"batch and ceil(concurrency / ep) ({batch}) disagree: give concurrency"
        issues.append(Issue("batch", Code.CONTRADICTION, msg))
    return issues
