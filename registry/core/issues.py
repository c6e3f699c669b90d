"""The registry's vocabulary of problems: every stable error code, and an issue (where, code, what).

Apart from the rules (``validation``) so that a new code is no new rule: the rules' fingerprint
(tests/test_rules_version.py) covers validation.py alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Code(enum.StrEnum):
    """Every stable error code, in one place; tests and API clients match on these, not on messages.

    Members are strings (``Code.REQUIRED == "required"``). Names that mean the same code are aliases.
    """

    NOT_AN_OBJECT = "not_an_object"
    NOT_A_LIST = "not_a_list"
    NOT_AN_INTEGER = "not_an_integer"
    NOT_A_BOOLEAN = "not_a_boolean"
    NOT_A_STRING = "not_a_string"
    NOT_POSITIVE = "not_positive"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"
    BLANK = "blank"
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    CONTROL_CHARACTER = "control_character"
    REQUIRED = "required"
    UNKNOWN_KEY = "unknown_key"
    EMPTY = "empty"
    DUPLICATE_NAME = "duplicate_name"
    UNKNOWN_CLASS = "unknown_class"
    MODEL_ID_CHARACTERS = "model_id_characters"
    MODEL_ID_MISMATCH = "model_id_mismatch"
    MODEL_ID_RESERVED = "model_id_reserved"
    FILENAME_MISMATCH = "filename_mismatch"
    HIDDEN_SIZE_MISMATCH = "hidden_size_mismatch"
    VOCAB_SIZE_MISMATCH = "vocab_size_mismatch"
    HEADS_NOT_DIVISIBLE = "heads_not_divisible"
    PARAMETER_COUNT_MISMATCH = "parameter_count_mismatch"
    TOTAL_PARAMS_MISMATCH = "total_params_mismatch"
    TOTAL_PARAMS_FORMATTED_MISMATCH = "total_params_formatted_mismatch"
    COUNT_NOT_NUM_LAYERS = "count_not_num_layers"
    NUL_CHARACTER = "nul_character"
    INVALID_CHOICE = "invalid_choice"
    EXPERTS_PER_TOKEN = "experts_per_tok_exceeds_experts"
    SHARED_GATE_WITHOUT_SHARED_EXPERT = "shared_gate_without_shared_expert"
    BIAS_WITHOUT_WEIGHTS = "bias_without_weights"
    TIED_WITHOUT_EMBEDDING = "tied_without_embedding"
    NO_OUTPUT_HEAD = "no_output_head"
    NO_PARAMETERS = "no_parameters"
    ACTIVE_PARAMS_MISMATCH = "active_params_mismatch"
    ACTIVE_PARAMS_FORMATTED_MISMATCH = "active_params_formatted_mismatch"
    ACTIVE_PARAMS_WITHOUT_EXPERTS = "active_params_without_experts"
    MTP_PARAMS_MISMATCH = "mtp_params_mismatch"
    MTP_PARAMS_WITHOUT_MTP = "mtp_params_without_mtp"
    PUBLISHED_TOTAL_MISMATCH = "published_total_mismatch"  # a warning
    SOURCE_WITHOUT_PUBLISHED_TOTAL = "source_without_published_total"
    # Reading files and bodies (registry.core.files)
    EMPTY_FILE = "empty_file"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    DUPLICATE_KEY = "duplicate_key"
    NOT_FOUND = "not_found"
    UNREADABLE = "unreadable"
    NOT_A_REGULAR_FILE = "not_a_regular_file"
    FILE_TOO_LARGE = "file_too_large"
    # Hugging Face config.json (registry.core.hf)
    UNSUPPORTED_MODEL_TYPE = "unsupported_model_type"
    MISSING_DIMENSION = "missing_dimension"
    INVALID_VALUE = "invalid_value"
    INVALID = "invalid_value"
    UNSUPPORTED_KEY = "unsupported_architecture_key"
    CONTRADICTION = "contradictory_values"
    INVALID_HF_ID = "invalid_hf_model_id"
    # Devices (registry.core.devices)
    MISSING_SOURCE = "missing_source"
    INVALID_DATE = "invalid_date"
    UNKNOWN_DEVICE = "unknown_device"
    # Deployment plans (registry.core.planning)
    NOT_DIVISIBLE = "not_divisible"
    NO_EXPERTS = "no_experts"
    TOO_MANY_STAGES = "too_many_stages"
    NOT_FOR_INFERENCE = "training_only"
    # Writes and requests (registry.services, registry.api)
    ALREADY_EXISTS = "already_exists"
    MODEL_ID_CHANGED = "model_id_changed"
    DUPLICATE_MODEL_ID = "duplicate_model_id"
    UNKNOWN_PARAMETER = "unknown_parameter"
    REPEATED_PARAMETER = "repeated_parameter"
    PRECONDITION_FAILED = "precondition_failed"
    PRECONDITION_REQUIRED = "precondition_required"
    REQUIRES_DEVICE_MEMORY = "requires_device_memory"
    OUT_OF_RANGE = "out_of_range"
    SERVER_ERROR = "server_error"
    BAD_REQUEST = "bad_request"
    PERMISSION_DENIED = "permission_denied"
    DATABASE_UNAVAILABLE = "database_unavailable"
    THROTTLED = "throttled"
    MIGRATIONS_PENDING = "migrations_pending"
    STATIC_FILES_MISSING = "static_files_missing"
    # A request value that DRF or Django refused without a code of its own
    INVALID_REQUEST = "invalid"
    # Admin forms (registry.forms)
    STALE = "stale"
    CONFIG_INVALID = "config_invalid"
    ONE_SOURCE = "one_source"
    SAME_CONFIG = "same_config"


@dataclass(frozen=True)
class Issue:
    """One problem: where (``layer_types[0].specs.num_kv_heads``), a stable code, and what was expected."""

    loc: str
    code: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "code": self.code, "msg": self.msg}

    def __str__(self) -> str:
        return f"{self.loc}: {self.msg} [{self.code}]"
