"""Layer classes beyond the core ones in ``registry.core.catalogue``: one module per concern.

Each module calls ``catalogue.register`` for its classes. ``registry.core.catalogue`` imports every
module here, in name order, when it is first imported, so the catalogue is complete whoever reads it.
"""

from __future__ import annotations

import importlib
import pkgutil


def load() -> None:
    """Import every module (each registers its classes once)."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
