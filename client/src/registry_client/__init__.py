"""Python client of the LLM config registry: ``load_model_config(model_id)`` returns the documented dict."""

from registry_client.client import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    Loaded,
    OfflineWarning,
    Registry,
    __version__,
    check_file_offline,
    load_model_config,
)
from registry_client.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RateLimited,
    RegistryError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from registry_client.types import (
    ConfigSummary,
    Issue,
    LayerClass,
    LayerType,
    ModelConfig,
    ParameterBreakdown,
    Plan,
    ValidationReport,
)
from registry_client.validation import structural_issues

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "ConfigSummary",
    "Conflict",
    "Forbidden",
    "Issue",
    "LayerClass",
    "LayerType",
    "Loaded",
    "ModelConfig",
    "NotFound",
    "OfflineWarning",
    "ParameterBreakdown",
    "Plan",
    "PreconditionFailed",
    "RateLimited",
    "Registry",
    "RegistryError",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "ValidationReport",
    "__version__",
    "check_file_offline",
    "load_model_config",
    "structural_issues",
]
