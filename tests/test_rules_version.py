"""RULES_VERSION follows the validation rules: a changed rule without a new version fails here."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from registry.core import document, validation

RULES_SOURCES = (Path(validation.__file__),)


def rules_fingerprint() -> str:
    """The rules' code, comments and layout aside (its syntax tree), as a short hash."""
    trees = [ast.dump(ast.parse(path.read_text(encoding="utf-8"))) for path in RULES_SOURCES]
    return hashlib.sha256("\n".join(trees).encode()).hexdigest()[:16]


def test_the_rules_version_names_these_rules():
    """Stored digests are salted with RULES_VERSION (and the catalogue's shape); unchanged files skip
    validation only while it matches. When this fails, the rules changed: bump RULES_VERSION in
    registry/core/document.py and set RULES_FINGERPRINT there to the value below."""
    assert rules_fingerprint() == document.RULES_FINGERPRINT, (
        f"registry/core/validation.py changed: bump RULES_VERSION (now {document.RULES_VERSION}) and set "
        f"RULES_FINGERPRINT = {rules_fingerprint()!r}"
    )
