"""RULES_VERSION follows the validation rules: a changed rule without a new version fails here."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from registry.core import document, keys, validation

RULES_SOURCES = (Path(validation.__file__),)
# The key lists a document is checked against (which keys it may and must hold) are data the rules read.
KEY_LISTS = Path(keys.__file__).with_name("keys.json")


def rules_fingerprint() -> str:
    """The rules' code, comments and layout aside (its syntax tree), and the key lists, as a short hash."""
    trees = [ast.dump(ast.parse(path.read_text(encoding="utf-8"))) for path in RULES_SOURCES]
    trees.append(json.dumps(json.loads(KEY_LISTS.read_bytes()), sort_keys=True))
    return hashlib.sha256("\n".join(trees).encode()).hexdigest()[:16]


def test_the_rules_version_names_these_rules():
    """Stored digests are salted with RULES_VERSION (and the catalogue's shape); unchanged files skip
    validation only while it matches. When this fails, the rules changed: bump RULES_VERSION in
    registry/core/document.py and set RULES_FINGERPRINT there to the value below."""
    assert rules_fingerprint() == document.RULES_FINGERPRINT, (
        f"registry/core/validation.py or keys.json changed: bump RULES_VERSION (now {document.RULES_VERSION}) and set "
        f"RULES_FINGERPRINT = {rules_fingerprint()!r}"
    )
