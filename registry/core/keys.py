"""The format's key lists: which keys a document holds, which of them are derived, authored, stored as columns.

Apart from the rules (``validation``): a list that callers share is no rule of its own.
"""

from __future__ import annotations

TOP_LEVEL_KEYS = (
    "model_id",
    "hf_model_id",
    "name",
    "hidden_size",
    "num_layers",
    "vocab_size",
    "max_position_embeddings",
    "total_params",
    "total_params_formatted",
    "active_params",
    "active_params_formatted",
    "mtp_params",
    "layer_types",
    "published_total_params",
    "published_total_params_source",
    "validated",
    "validation_notes",
)
# Ids that /models/<id> cannot name: the API's own routes under /models/ (registry/api/urls.py).
RESERVED_MODEL_IDS = frozenset({"validate", "import-hf"})
# A config's own values, stored as its row's columns: every top-level key but its layer types.
CONFIG_VALUE_KEYS = tuple(key for key in TOP_LEVEL_KEYS if key not in ("layer_types", "mtp_params"))
# The top-level values derived from the layer types (mtp_params is no column: the layer types give it).
DERIVED_TOP_LEVEL_KEYS = (
    "total_params",
    "total_params_formatted",
    "active_params",
    "active_params_formatted",
    "mtp_params",
)
# The config's own values that an author writes (forms, PATCH): the rest are derived.
AUTHORED_VALUE_KEYS = tuple(key for key in CONFIG_VALUE_KEYS if key not in DERIVED_TOP_LEVEL_KEYS)
REQUIRED_TOP_LEVEL = ("model_id", "hf_model_id", "name", "hidden_size", "num_layers", "vocab_size", "layer_types")
LAYER_TYPE_KEYS = ("name", "class", "count", "specs")
