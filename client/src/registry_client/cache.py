"""The on-disk cache: one file per registry and model_id, holding the last document and its ETag.

A file is its metadata as one JSON line, then the response body as the server sent it. It is written to a
temporary file in the same folder and renamed over the old one (``os.replace``, atomic on POSIX and Windows), so
any number of processes may read and write at once: each sees an old file or a new one, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ENTRY_BYTES = 64 * 1024 * 1024


def default_cache_dir() -> Path:
    """``REGISTRY_CACHE_DIR``, else ``$XDG_CACHE_HOME/registry_client``, else ``~/.cache/registry_client``."""
    explicit = os.environ.get("REGISTRY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "registry_client"


@dataclass(frozen=True)
class Entry:
    """A cached answer: the body's bytes, its ETag, and when the server last confirmed it (Unix time: the file's
    modification time, set again by each 304)."""

    etag: str | None
    body: bytes
    checked: float
    url: str

    def document(self) -> Any:
        return json.loads(self.body)


class Cache:
    """The cached documents of one registry (``base_url``) under ``root``."""

    def __init__(self, root: Path, base_url: str) -> None:
        digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
        self.folder = Path(root) / digest

    def path(self, model_id: str) -> Path:
        return self.folder / f"{model_id}.json"

    def get(self, model_id: str) -> Entry | None:
        """The entry of ``model_id``, or None when there is none or it cannot be read whole."""
        try:
            with self.path(model_id).open("rb") as f:
                raw = f.read(MAX_ENTRY_BYTES + 1)
                checked = os.fstat(f.fileno()).st_mtime
        except OSError:
            return None
        head, sep, body = raw.partition(b"\n")
        if not sep or len(raw) > MAX_ENTRY_BYTES:
            return None
        try:
            meta = json.loads(head)
            json.loads(body)
            return Entry(etag=meta["etag"], body=body, checked=checked, url=str(meta["url"]))
        except (ValueError, KeyError, TypeError):
            return None  # not a file this cache wrote whole: treat as absent

    def put(self, model_id: str, entry: Entry) -> None:
        """Write the entry of ``model_id`` atomically (a temporary file renamed over the old one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        head = json.dumps({"etag": entry.etag, "url": entry.url}).encode()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{model_id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head + b"\n" + entry.body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(model_id))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def touch(self, model_id: str) -> None:
        """Record that the server has just confirmed the entry (a 304)."""
        with contextlib.suppress(OSError):  # replaced or removed meanwhile: the other process's entry stands
            os.utime(self.path(model_id))

    def delete(self, model_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(model_id).unlink()
