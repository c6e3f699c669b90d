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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from registry.core.issues import Code, Issue

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
MAX_MEMORY_TEXT = 40  # characters of a device_memory or utilization value


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


Kind = Literal["choice", "integer", "memory", "fraction"]
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

    @property
    def default(self) -> Any:
        return Deployment.__dataclass_fields__[self.name].default

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
        if self.kind == "fraction":
            try:
                fraction = float(text) if text.isascii() and len(text) <= MAX_MEMORY_TEXT else -1.0
            except ValueError:
                fraction = -1.0
            low, high = self.bounds
            if low < fraction <= high:
                return fraction, None
            return None, Issue(self.name, Code.INVALID, f"expected a fraction in ({low}, {high}], got {text!r}")
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
    Parameter("utilization", "fraction", "The fraction of device_memory usable.", 0, 1),
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


def parse_deployment(params: Mapping[str, str | None]) -> tuple[Deployment | None, list[Issue]]:
    """A deployment from text parameters (query string, command options); every problem at once, loc = name."""
    issues: list[Issue] = []
    values: dict[str, Any] = {}
    for parameter in TABLE:
        text = params.get(parameter.name)
        if text is None:
            continue
        value, issue = parameter.parse(text)
        if issue is not None:
            issues.append(issue)
        else:
            values[parameter.name] = value
    mode = values.get("mode", Deployment.mode)
    for parameter in TABLE:
        name = parameter.name
        if mode not in parameter.modes and name in values and values[name] != parameter.default:
            modes = "/".join(m.value for m in parameter.modes)
            issues.append(Issue(name, Code.NOT_FOR_INFERENCE, f"{name} applies to mode={modes} only"))
    if issues:
        return None, issues
    return Deployment(**values), []
