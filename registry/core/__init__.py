"""The registry's rules in plain Python (no Django): catalogue, counts, validation, documents."""

from registry.core.counts import CountError, CountOverflow, format_params
from registry.core.document import ConfigDoc, LayerTypeDoc, digest, dumps
from registry.core.issues import Code, Issue
from registry.core.validation import Validation, validate_config

__all__ = [
    "Code",
    "ConfigDoc",
    "CountError",
    "CountOverflow",
    "Issue",
    "LayerTypeDoc",
    "Validation",
    "digest",
    "dumps",
    "format_params",
    "validate_config",
]
