"""The one write path: validate with the core, then write configs, layer types and history atomically.

A module per concern (``configs``: one config at a time; ``curation``: checks and the validated flag over a
selection; ``imports``: bulk and Hugging Face imports; ``recounts``: derived counts and re-checks under the
current rules); every public name is importable from here, as callers use them.
"""

from __future__ import annotations

from registry.services.configs import (
    ConfigRejected,
    PreconditionFailed,
    WriteResult,
    config_delete,
    config_patch,
    config_restore,
    config_upsert,
)
from registry.services.curation import (
    CHECKS_MARKER,
    ConfigOutcome,
    Outcome,
    config_mark_validated,
    config_run_checks,
    notes_with_checks,
)
from registry.services.imports import (
    HFSource,
    ImportItem,
    ImportReport,
    SourceReport,
    Status,
    config_import_hf,
    hf_document,
    hf_items,
    import_configs,
    import_hf,
)
from registry.services.recounts import Recheck, Recount, recompute_counts, revalidate
from registry.writer import Source

__all__ = [
    "CHECKS_MARKER",
    "ConfigOutcome",
    "ConfigRejected",
    "HFSource",
    "ImportItem",
    "ImportReport",
    "Outcome",
    "PreconditionFailed",
    "Recheck",
    "Recount",
    "Source",
    "SourceReport",
    "Status",
    "WriteResult",
    "config_delete",
    "config_import_hf",
    "config_mark_validated",
    "config_patch",
    "config_restore",
    "config_run_checks",
    "config_upsert",
    "hf_document",
    "hf_items",
    "import_configs",
    "import_hf",
    "notes_with_checks",
    "recompute_counts",
    "revalidate",
]
