"""The list's filters on layer-type spec values: ``NAME__OP:VALUE``, typed by the catalogue's spec kinds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from registry.core import catalogue
from registry.core.counts import BIGINT_MAX
from registry.core.issues import Code, Issue

OPERATORS = ("exact", "gte", "lte", "gt", "lt")
# Operators each kind of value takes: flags and choices are equal or not, integers are ordered.
KIND_OPERATORS: dict[catalogue.SpecKind, tuple[str, ...]] = {
    catalogue.SpecKind.POSITIVE_INT: OPERATORS,
    catalogue.SpecKind.NON_NEGATIVE_INT: OPERATORS,
    catalogue.SpecKind.BOOL: ("exact",),
    catalogue.SpecKind.CHOICE: ("exact",),
}
MAX_SPEC_FILTERS = 10
SYNTAX = "NAME[__OP]:VALUE, OP one of " + ", ".join(OPERATORS) + " (default exact)"
_FORM = re.compile(r"(?P<name>[a-z0-9_]+?)(?:__(?P<op>[a-z]+))?:(?P<value>.*)", re.DOTALL)


@dataclass(frozen=True)
class SpecFilter:
    """Configs with a layer type whose spec ``name`` compares by ``op`` with ``value``."""

    name: str
    op: str
    value: int | bool | str


def spec_kinds() -> dict[str, catalogue.Spec]:
    """Every spec name of the catalogue (metadata included) and its Spec; one kind per name across classes."""
    specs: dict[str, catalogue.Spec] = {s.name: s for s in catalogue.METADATA_SPECS}
    for layer_class in catalogue.classes():
        for spec in layer_class.specs:
            specs.setdefault(spec.name, spec)
    return specs


def parse_spec_filters(values: list[str], loc: str = "spec") -> tuple[list[SpecFilter], list[Issue]]:
    """Each ``NAME[__OP]:VALUE`` as a SpecFilter, or every problem with its path ``loc[i]`` and code."""
    if len(values) > MAX_SPEC_FILTERS:
        return [], [Issue(loc, Code.TOO_MANY, f"expected at most {MAX_SPEC_FILTERS} spec filters, got {len(values)}")]
    known = spec_kinds()
    filters: list[SpecFilter] = []
    issues: list[Issue] = []
    for i, text in enumerate(values):
        at = f"{loc}[{i}]"
        match = _FORM.fullmatch(text)
        if match is None:
            code = Code.BLANK if text.strip() == "" else Code.INVALID_VALUE
            issues.append(Issue(at, code, f"expected {SYNTAX}, got {text!r}"))
            continue
        name, op, raw = match["name"], match["op"] or "exact", match["value"]
        spec = known.get(name)
        if spec is None:
            hint = catalogue.suggest(name, sorted(known))
            more = f"; did you mean {hint!r}?" if hint else ""
            issues.append(Issue(at, Code.UNKNOWN_KEY, f"no spec {name!r} in the layer-class catalogue{more}"))
            continue
        allowed = KIND_OPERATORS[spec.kind]
        if op not in allowed:
            issues.append(
                Issue(at, Code.INVALID_CHOICE, f"{name} ({spec.kind.value}) takes {', '.join(allowed)}, got {op!r}")
            )
            continue
        value, issue = _typed(spec, raw, at)
        if issue is not None:
            issues.append(issue)
            continue
        filters.append(SpecFilter(name, op, value))
    return filters, issues


def _typed(spec: catalogue.Spec, raw: str, at: str) -> tuple[Any, Issue | None]:
    if spec.kind is catalogue.SpecKind.BOOL:
        if raw not in ("true", "false"):
            return None, Issue(at, Code.NOT_A_BOOLEAN, f"{spec.name}: expected true or false, got {raw!r}")
        return raw == "true", None
    if spec.kind is catalogue.SpecKind.CHOICE:
        if raw not in spec.choices:
            return None, Issue(at, Code.INVALID_CHOICE, f"{spec.name}: expected one of {', '.join(spec.choices)}")
        return raw, None
    if not re.fullmatch(r"[0-9]{1,19}", raw):
        return None, Issue(at, Code.NOT_AN_INTEGER, f"{spec.name}: expected a whole number, got {raw!r}")
    value = int(raw)
    if value > BIGINT_MAX:
        return None, Issue(at, Code.TOO_LARGE, f"{spec.name}: expected at most {BIGINT_MAX}, got {raw}")
    return value, None
