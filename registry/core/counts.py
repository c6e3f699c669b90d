"""Parameter counts: exact for one config, vectorized with numpy for many."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from registry.core import catalogue

if TYPE_CHECKING:
    import numpy as np

BIGINT_MAX = 2**63 - 1
_UNITS = (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3))


class CountOverflow(ArithmeticError):
    """A derived count does not fit a signed 64-bit integer (PostgreSQL bigint)."""

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


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


def total_params(layers: Sequence[tuple[int, int]]) -> int:
    """Σ count × parameter_count over ``(count, parameter_count)`` pairs."""
    return sum(count * per_layer for count, per_layer in layers)


def parameter_counts(class_names: Sequence[str], specs: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Parameters of one layer for each (class, specs) row, in one numpy pass per class.

    Rows are grouped by class and by which specs they carry, so a formula sees exactly
    the keys a single-row call would. Raises ``CountOverflow`` naming the rows whose
    count exceeds int64, and ``KeyError`` for a class not in the catalogue.
    """
    import numpy as np  # only the vectorized paths need it; validation starts faster without

    out = np.zeros(len(class_names), dtype=np.int64)
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for row, (name, row_specs) in enumerate(zip(class_names, specs, strict=True)):
        layer_class = catalogue.get(name)
        if layer_class is None:
            raise KeyError(name)
        keys = tuple(s.name for s in layer_class.specs if s.name in row_specs)
        groups[(name, keys)].append(row)
    for (name, keys), rows in groups.items():
        formula = catalogue.get(name).formula  # type: ignore[union-attr]
        ints = {k: np.asarray([specs[r][k] for r in rows], dtype=np.int64) for k in keys}
        exact = np.asarray(formula(ints), dtype=np.int64)
        # The same formula in float64 cannot wrap around: it tells which rows overflowed.
        approx = np.asarray(formula({k: v.astype(np.float64) for k, v in ints.items()}), dtype=np.float64)
        bad = np.flatnonzero(approx >= float(BIGINT_MAX))
        if bad.size:
            bad_rows = [rows[i] for i in bad]
            raise CountOverflow(f"parameter count exceeds {BIGINT_MAX} in rows {bad_rows[:10]}", bad_rows)
        out[np.asarray(rows, dtype=np.int64)] = np.broadcast_to(exact, (len(rows),))
    return out


def totals(owner: np.ndarray, counts: np.ndarray, per_layer: np.ndarray, size: int) -> np.ndarray:
    """Σ count × parameter_count per owner index (0..size-1), as int64 with an overflow check."""
    import numpy as np

    owner = np.asarray(owner, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    per_layer = np.asarray(per_layer, dtype=np.int64)
    approx = np.zeros(size, dtype=np.float64)
    np.add.at(approx, owner, counts.astype(np.float64) * per_layer.astype(np.float64))
    bad = np.flatnonzero(approx >= float(BIGINT_MAX))
    if bad.size:
        raise CountOverflow(f"total parameter count exceeds {BIGINT_MAX} for configs {bad[:10].tolist()}", bad)
    exact = np.zeros(size, dtype=np.int64)
    np.add.at(exact, owner, counts * per_layer)
    return exact
