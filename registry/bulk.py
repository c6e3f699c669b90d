"""Bulk inserts of plain rows: PostgreSQL's COPY where available, ``bulk_create`` elsewhere."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from django.db import connections, models, router


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk job (usable as a decorator; nests).

    A bulk job holds many small containers (parsed files, documents, rows) alive to its end; the collector
    would walk them again and again to find no cycle, a third of an import's time. Reference counting
    still frees memory meanwhile, and the collector runs again on exit.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The field ``name`` (or attname) of ``model`` that has a column: not a reverse relation or a generic key."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model._meta.label}.{name} is not a concrete field")
    return field


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys from the table's sequence (PostgreSQL), so rows can refer to them before insert."""
    meta = model._meta
    with connections[router.db_for_write(model)].cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        return [value for (value,) in cursor.fetchall()]


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *, return_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (values for ``fields``, JSON fields as Python objects or pre-encoded ``RawJson``).

    On PostgreSQL the rows are written with one COPY, several times faster than ``bulk_create``,
    which binds every value as a parameter. With ``return_ids`` the primary keys are reserved
    first and returned in row order; otherwise the list is empty.
    """
    if not rows:
        return []
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    field_objs = [concrete_field(model, name) for name in fields]
    if connection.vendor != "postgresql":
        objs = [
            model(
                **{f.attname: (v.value if isinstance(v, RawJson) else v) for f, v in zip(field_objs, row, strict=True)}
            )
            for row in rows
        ]
        model._default_manager.using(alias).bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs] if return_ids else []
    json_columns = [i for i, f in enumerate(field_objs) if isinstance(f, models.JSONField)]
    columns = [f.column for f in field_objs]
    if return_ids:
        ids = reserve_ids(model, len(rows))
        columns.insert(0, meta.pk.column)
        json_columns = [i + 1 for i in json_columns]
        rows = [[pk, *row] for pk, row in zip(ids, rows, strict=True)]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN"
    # cursor.cursor is the psycopg cursor under Django's wrapper: COPY is not in Django's API, so its
    # errors are turned into Django's (IntegrityError, ...) here, as Django does for execute().
    # psycopg formats and escapes each row in C (text format); JSON goes in as its text.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if json_columns:
                row = list(row)
                for i in json_columns:
                    if row[i] is not None:
                        row[i] = _json_text(row[i])
            copy.write_row(row)
    return ids if return_ids else []


class RawJson:
    """A JSON value with its text already encoded (saves encoding it twice)."""

    __slots__ = ("text", "value")

    def __init__(self, value: Any, text: str) -> None:
        self.value = value
        self.text = text


def _json_text(value: Any) -> str:
    if isinstance(value, RawJson):
        return value.text
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson does not take (integers beyond 64 bits, ...) the json module does
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
