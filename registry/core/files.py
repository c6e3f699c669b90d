"""Reading config files: JSON parse errors become issues with line and column."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from registry.core.issues import Code, Issue

# orjson reads an integer of 20 or more digits (beyond 64 bits) as a float, which would hide a
# too-large value from validation; a file holding such a digit run goes to the stdlib parser.
# Digits become "0" and every other byte "x", so the run is one fast substring search.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 20
# A \u escape of ":" (hex digits in either case) would hide a colon from the duplicate-key count in _loads.
_ESCAPED_COLONS = (b"\\u003a", b"\\u003A")


def parse_config_bytes(raw: bytes) -> tuple[Any, Issue | None]:
    """The JSON value in ``raw``, or an issue saying why it cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, Issue("$", Code.NOT_UTF8, f"expected UTF-8 text; byte {exc.start} is not valid UTF-8")
    if not text.strip():
        return None, Issue("$", Code.EMPTY_FILE, "expected a JSON object; the file is empty")
    try:
        return _loads(raw, text), None
    except json.JSONDecodeError as exc:
        return None, Issue("$", Code.INVALID_JSON, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:
        return None, Issue("$", Code.INVALID_JSON, "invalid JSON: nested too deeply")
    except _DuplicateKey as exc:
        return None, Issue(
            exc.loc,
            Code.DUPLICATE_KEY,
            f"expected each key once in an object; {exc.key!r} is given {exc.times} times "
            "(JSON readers differ on which one counts)",
        )
    except _LoneSurrogate:
        return None, Issue(
            "$",
            Code.INVALID_JSON,
            "invalid JSON text: a \\u escape gives half of a UTF-16 surrogate pair (\\ud800-\\udfff) "
            "without the other half, which is not a character",
        )
    except ValueError:  # Python's limit on the digits of an integer
        limit = sys.get_int_max_str_digits()
        return None, Issue("$", Code.INVALID_JSON, f"invalid JSON: a number of more than {limit} digits")


class _LoneSurrogate(ValueError):
    pass


class _DuplicateKey(ValueError):
    def __init__(self, loc: str, key: str, times: int) -> None:
        super().__init__(loc)
        self.loc, self.key, self.times = loc, key, times


class _Repeats(dict[str, Any]):
    """An object whose text gives ``key`` ``times`` times (the last value kept, as json.loads does)."""

    key: str
    times: int


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: dict[str, int] = {}
    for key, _ in pairs:
        seen[key] = seen.get(key, 0) + 1
    repeats = _Repeats(obj)
    repeats.key, repeats.times = next((key, n) for key, n in seen.items() if n > 1)
    return repeats


def _first_repeat(value: Any) -> _DuplicateKey | None:
    """The first object (depth first, in document order) that repeats a key, with its loc; iterative, as
    the value may be nested as deeply as the parser allows."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Repeats):
            return _DuplicateKey(f"{loc}.{node.key}" if loc else node.key, node.key, node.times)
        if isinstance(node, dict):
            stack.extend((f"{loc}.{key}" if loc else key, child) for key, child in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((f"{loc or '$'}[{i}]", node[i]) for i in reversed(range(len(node))))
    return None


def _loads(raw: bytes, text: str) -> Any:
    """json.loads, faster: orjson where it reads exactly the same value, the stdlib elsewhere.

    What orjson refuses (NaN, lone surrogates, deep nesting, bad syntax) is parsed again by the
    stdlib, so values and error messages are the stdlib's. A key given twice in one object raises
    _DuplicateKey naming it; both parsers would silently keep the last value.
    """
    if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_ONLY):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            # Outside strings a colon ends a key, and orjson writes each kept key with one colon and every
            # string as it read it: the colons of the text and of the value written again differ exactly
            # when a repeated key (and its value) was dropped. Only then is the text parsed again, slowly.
            try:
                written = orjson.dumps(value)
            except orjson.JSONEncodeError:  # nested deeper than orjson writes (255)
                written = b""
            if raw.count(b":") == written.count(b":") and not any(e in raw for e in _ESCAPED_COLONS):
                return value
    value = json.loads(text, object_pairs_hook=_object)
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise _LoneSurrogate from None
    repeat = _first_repeat(value)
    if repeat is not None:
        raise repeat
    return value


# The largest config file read (REGISTRY_MAX_FILE_BYTES in the settings): the largest real config is a few KB.
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


def read_file_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[bytes | None, Issue | None]:
    """The bytes of the regular file at ``path`` (symlinks followed), or an issue saying why not.

    A FIFO, a device (``/dev/zero``), a socket or a folder is refused before anything is read, and so is a
    file of more than ``max_bytes`` (also one that grows past it while read): none of them can block the
    reader or fill its memory. The file is opened without blocking, so a FIFO with no writer returns at once.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, Issue("$", Code.NOT_FOUND, f"no such file: {path}")
    except OSError as exc:
        return None, Issue("$", Code.UNREADABLE, f"cannot read {path}: {exc.strerror}")
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return None, Issue("$", Code.UNREADABLE, f"cannot read {path}: it is a folder")
        if not stat.S_ISREG(mode):
            return None, Issue(
                "$", Code.NOT_A_REGULAR_FILE, f"{path} is {_kind(mode)}, not a regular file: nothing was read from it"
            )
        with os.fdopen(fd, "rb") as file:
            fd = -1  # the file object closes it
            raw = file.read(max_bytes + 1)
    except OSError as exc:
        return None, Issue("$", Code.UNREADABLE, f"cannot read {path}: {exc.strerror}")
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > max_bytes:
        return None, Issue(
            "$", Code.FILE_TOO_LARGE, f"{path} is larger than {max_bytes:,} bytes, the most a config file may hold"
        )
    return raw, None


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def read_config_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[Any, Issue | None]:
    """The JSON value in the regular file at ``path``, or an issue saying why it cannot be read."""
    raw, error = read_file_bytes(path, max_bytes)
    if raw is None:
        return None, error
    return parse_config_bytes(raw)


def is_candidate(path: Path) -> bool:
    """Whether a path found in a folder is an input to read (and refuse if it is not a regular file): anything
    that exists but a folder. A FIFO or a symlink to a device is listed, so that it is refused by name, not
    skipped without a word."""
    return path.exists() and not path.is_dir()


# Subfolders of a config folder that hold other fixtures (fixtures/devices/: the device catalogue), never configs.
NOT_CONFIG_FOLDERS = frozenset({"devices"})


def config_paths(paths: Iterable[Path]) -> list[Path]:
    """The ``*.json`` files named or found (recursively) under the given files and folders, sorted; a folder's
    ``NOT_CONFIG_FOLDERS`` subfolders are skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    (
                        p
                        for p in path.rglob("*.json")
                        if is_candidate(p) and p.relative_to(path).parts[0] not in NOT_CONFIG_FOLDERS
                    ),
                    key=str,
                )
            )
        else:
            found.append(path)
    return found
