"""Parameter counts: exact for one config, vectorized with numpy for many."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.core import catalogue
from registry.core.catalogue import SpecKind

if TYPE_CHECKING:
    import numpy as np

BIGINT_MAX = 2**63 - 1
_UNITS = (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3))


def format_params(total: int) -> str:
    """``total`` with one decimal and a K/M/B/T suffix: 70553706496 -> "70.6B"."""
    for i, (suffix, scale) in enumerate(_UNITS):
        if total >= scale:
            value = round(total / scale, 1)
            # 999.96B rounds to "1000.0B"; write it in the next unit up instead.
            if value >= 1000 and i > 0:
                prev_suffix, prev_scale = _UNITS[i - 1]
                return f"{total / prev_scale:.1f}{prev_suffix}"
            return f"{value:.1f}{suffix}"
    return str(total)


# float64 cannot wrap around, but near 2**63 it is not exact: rows past this line are rechecked
# with Python integers.
_NEAR_LIMIT = float(2**62)


class CountError(ValueError):
    """Stored specs that cannot be counted (a class not in the catalogue, a value beyond int64).

    ``rows`` are the indices of the inputs concerned, for the caller to name them.
    """

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


class CountOverflow(CountError, ArithmeticError):
    """A derived count does not fit a signed 64-bit integer (PostgreSQL bigint)."""


def parameter_counts(
    class_names: Sequence[str], specs: Sequence[Mapping[str, Any]], *, active: bool = False
) -> np.ndarray:
    """Parameters of one layer for each (class, specs) row, in one numpy pass per class.

    With ``active``, the parameters one token uses (``LayerClass.active_parameter_count``).
    Raises ``CountOverflow`` naming every row whose count exceeds int64, and ``CountError`` for a
    class not in the catalogue.
    """

    def pick(layer_class: catalogue.LayerClass) -> catalogue.Formula:
        return layer_class.token_formula if active else layer_class.formula

    return evaluate(columns(class_names, specs), pick)[0]


@dataclass(frozen=True)
class ShardFailure:
    """A row whose spec the degree does not split (``Shard.rule``): the plan cannot place it."""

    row: int
    shard: catalogue.Shard
    value: int
    degree: int


@dataclass(frozen=True)
class _Group:
    layer_class: catalogue.LayerClass
    rows: list[int]
    ints: dict[str, Any]  # spec name -> int64 column
    fixed: dict[str, Any]  # choice spec name -> its (shared) string


@dataclass(frozen=True)
class Columns:
    """Layer rows grouped for vectorized formulas: by class, the specs they carry and their choice values.

    A formula then sees numeric columns and plain strings, exactly the keys a single-row call would.
    """

    size: int
    groups: list[_Group]


def columns(class_names: Sequence[str], specs: Sequence[Mapping[str, Any]]) -> Columns:
    """Group rows once for any number of ``evaluate`` calls. Raises ``CountError`` for an unknown class."""
    import numpy as np  # only the vectorized paths need it; validation starts faster without

    groups: dict[tuple[str, tuple[str, ...], tuple[tuple[str, Any], ...]], list[int]] = defaultdict(list)
    shapes: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for row, (name, row_specs) in enumerate(zip(class_names, specs, strict=True)):
        shape = shapes.get((name, tuple(row_specs)))
        if shape is None:
            layer_class = catalogue.get(name)
            if layer_class is None:
                raise CountError(f"layer class {name!r} is not in the catalogue", [row])
            present = [s for s in layer_class.specs if s.name in row_specs]
            shape = (
                tuple(s.name for s in present if s.kind is not SpecKind.CHOICE),
                tuple(s.name for s in present if s.kind is SpecKind.CHOICE),
            )
            shapes[(name, tuple(row_specs))] = shape
        keys, choice_names = shape
        groups[(name, keys, tuple((c, row_specs[c]) for c in choice_names))].append(row)
    out = []
    for (name, keys, choices), rows in groups.items():
        try:
            ints = {k: np.asarray([specs[r][k] for r in rows], dtype=np.int64) for k in keys}
        except OverflowError as exc:
            raise CountOverflow(f"a spec of class {name} exceeds {BIGINT_MAX}", rows) from exc
        out.append(_Group(catalogue.require(name), rows, ints, dict(choices)))
    return Columns(len(class_names), out)


def evaluate(
    cols: Columns,
    pick: Callable[[catalogue.LayerClass], catalogue.Formula | None],
    *,
    degrees: Mapping[str, int] | None = None,
    overrides: Mapping[str, int] | None = None,
) -> tuple[np.ndarray, list[ShardFailure]]:
    """A class formula (``pick``) for each row of ``cols``, in one numpy pass per group of rows.

    With ``degrees`` (``{"tp": 8, "ep": 1}``) each class's shards split the specs first: the result
    is one device's share, and rows a degree does not split come back as failures (their value 0).
    ``overrides`` replace the values of specs the rows carry. Rows whose class has no such formula are 0.
    """
    import numpy as np

    out = np.zeros(cols.size, dtype=np.int64)
    overflowed: list[int] = []
    failures: list[ShardFailure] = []
    for group in cols.groups:
        formula = pick(group.layer_class)
        if formula is None:
            continue
        rows = group.rows
        ints = dict(group.ints)
        for key, value in (overrides or {}).items():
            if key in ints:
                ints[key] = np.full(len(rows), value, dtype=np.int64)
        if degrees is not None:
            failures += _shard(group.layer_class, ints, degrees, rows)
        fixed = group.fixed
        exact = np.broadcast_to(np.asarray(formula({**ints, **fixed}), dtype=np.int64), (len(rows),)).copy()
        floats = {k: v.astype(np.float64) for k, v in ints.items()}
        approx = np.asarray(formula({**floats, **fixed}), dtype=np.float64)
        for i in np.flatnonzero(np.broadcast_to(approx, (len(rows),)) >= _NEAR_LIMIT).tolist():
            value = int(formula({**{k: int(v[i]) for k, v in ints.items()}, **fixed}))
            if value > BIGINT_MAX:
                overflowed.append(rows[i])
            else:
                exact[i] = value
        out[np.asarray(rows, dtype=np.int64)] = exact
    if overflowed:
        overflowed.sort()
        raise CountOverflow(f"parameter count exceeds {BIGINT_MAX}", overflowed)
    for failure in failures:
        out[failure.row] = 0
    return out, failures


def _shard(
    layer_class: catalogue.LayerClass, ints: dict[str, Any], degrees: Mapping[str, int], rows: list[int]
) -> list[ShardFailure]:
    """Split the spec columns in place by the class's shards; return the rows a degree does not split."""
    import numpy as np

    failures: list[ShardFailure] = []
    for shard in layer_class.shards:
        if shard.spec not in ints:
            continue
        values, degree = ints[shard.spec], degrees.get(shard.degree, 1)
        if shard.rule == "ceil":
            bad, split = np.zeros(len(values), dtype=bool), -(-values // degree)
        elif shard.rule == "kv_heads":
            fewer = degree > values  # more ranks than KV heads: each rank keeps one (replicated)
            bad = np.where(fewer, degree % np.maximum(values, 1) != 0, values % degree != 0)
            split = np.where(fewer, 1, values // degree)
        else:
            bad, split = values % degree != 0, values // degree
        failures += [ShardFailure(rows[i], shard, int(values[i]), degree) for i in np.flatnonzero(bad).tolist()]
        ints[shard.target] = split
    return failures


def totals(owner: np.ndarray, counts: np.ndarray, per_layer: np.ndarray, size: int) -> np.ndarray:
    """Σ count × parameter_count per owner index (0..size-1), as int64 with an overflow check."""
    import numpy as np

    owner = np.asarray(owner, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    per_layer = np.asarray(per_layer, dtype=np.int64)
    approx = np.zeros(size, dtype=np.float64)
    np.add.at(approx, owner, counts.astype(np.float64) * per_layer.astype(np.float64))
    exact = np.zeros(size, dtype=np.int64)
    near = np.flatnonzero(approx >= _NEAR_LIMIT)
    if near.size:
        # Exact Python sums for the owners near the limit; numpy's int64 would wrap silently.
        sums = dict.fromkeys(near.tolist(), 0)
        for o, c, p in zip(owner.tolist(), counts.tolist(), per_layer.tolist(), strict=True):
            if o in sums:
                sums[o] += c * p
        bad = sorted(o for o, total in sums.items() if total > BIGINT_MAX)
        if bad:
            raise CountOverflow(f"total parameter count exceeds {BIGINT_MAX}", bad)
        safe = ~np.isin(owner, near)
        np.add.at(exact, owner[safe], counts[safe] * per_layer[safe])
        for o, total in sums.items():
            exact[o] = total
        return exact
    np.add.at(exact, owner, counts * per_layer)
    return exact


def active_totals(
    class_names: Sequence[str], specs: Sequence[Mapping[str, Any]], owner: np.ndarray, counts: np.ndarray, size: int
) -> list[int | None]:
    """Each owner's active_params, as validation derives it: Σ count × parameters one token uses, for an owner
    with routed experts; None for one without (every parameter of it is active)."""
    per_layer = parameter_counts(class_names, specs, active=True)
    sums = totals(owner, counts, per_layer, size)
    with_experts = {int(o) for o, name in zip(owner, class_names, strict=True) if catalogue.require(name).has_experts}
    return [int(sums[i]) if i in with_experts else None for i in range(size)]
