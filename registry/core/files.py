"""Reading config files: JSON parse errors become issues with line and column."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from registry.core.validation import Issue


class FileCode:
    EMPTY_FILE = "empty_file"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_FOUND = "not_found"
    UNREADABLE = "unreadable"


def parse_config_bytes(raw: bytes) -> tuple[Any, Issue | None]:
    """The JSON value in ``raw``, or an issue saying why it cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, Issue("$", FileCode.NOT_UTF8, f"expected UTF-8 text; byte {exc.start} is not valid UTF-8")
    if not text.strip():
        return None, Issue("$", FileCode.EMPTY_FILE, "expected a JSON object; the file is empty")
    try:
        # The stdlib parser, not orjson: orjson reads integers beyond 64 bits as floats.
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Issue(
            "$", FileCode.INVALID_JSON, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
    except RecursionError:
        return None, Issue("$", FileCode.INVALID_JSON, "invalid JSON: nested too deeply")


def read_config_file(path: Path) -> tuple[Any, Issue | None]:
    """The JSON value in the file at ``path``, or an issue saying why it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, Issue("$", FileCode.NOT_FOUND, f"no such file: {path}")
    except OSError as exc:
        return None, Issue("$", FileCode.UNREADABLE, f"cannot read {path}: {exc.strerror}")
    return parse_config_bytes(raw)


def config_paths(paths: Iterable[Path]) -> list[Path]:
    """The ``*.json`` files named or found (recursively) under the given files and folders, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted((p for p in path.rglob("*.json") if p.is_file()), key=str))
        else:
            found.append(path)
    return found
