"""The importer's model_types beyond the core ones in ``registry.core.hf``: one module per family.

Each module calls ``hf.register_arch`` for its model_types (their keys, defaults, aliases and, where
the flags of ``hf.Arch`` do not describe the decoder, a ``layers`` builder). ``registry.core.hf``
imports every module here, in name order, when it is first imported.
"""

from __future__ import annotations

import importlib
import pkgutil


def load() -> None:
    """Import every family module (each registers its model_types once)."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
