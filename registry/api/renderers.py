"""CSV for the config list (``?format=csv`` or ``Accept: text/csv``): a header row, then one row per item."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer

# A spreadsheet runs a cell that starts with one of these as a formula: such text gets a leading quote.
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CSVRenderer(BaseRenderer):
    """Renders ``{"columns": [...], "rows": [{column: value}]}``: absent or null values are empty cells,
    booleans ``true``/``false``, integers exact."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    @staticmethod
    def is_table(data: Any) -> bool:
        """Whether ``data`` is what this renderer writes (anything else is answered as JSON)."""
        return isinstance(data, Mapping) and "columns" in data and "rows" in data

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        columns: Sequence[str] = data["columns"]
        rows: Sequence[Mapping[str, Any]] = data["rows"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
        writer.writerow(columns)
        writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
        return out.getvalue().encode(self.charset)
