"""The format's key lists: which keys a document holds, which of them are derived, authored, stored as columns.

Apart from the rules (``validation``): a list that callers share is no rule of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

# The lists a document is checked against are data (keys.json), so that the client package (registry_client),
# which cannot import this one, ships the same file for its offline checks: client/src/registry_client/keys.json
# is a link to it.
_KEYS = json.loads(Path(__file__).with_name("keys.json").read_bytes())

# Every top-level key, in the format's order.
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(_KEYS["top_level_keys"])
# Ids that /models/<id> cannot name: the API's own routes under /models/ (registry/api/urls.py).
RESERVED_MODEL_IDS: frozenset[str] = frozenset(_KEYS["reserved_model_ids"])
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
REQUIRED_TOP_LEVEL: tuple[str, ...] = tuple(_KEYS["required_top_level"])
LAYER_TYPE_KEYS: tuple[str, ...] = tuple(_KEYS["layer_type_keys"])
