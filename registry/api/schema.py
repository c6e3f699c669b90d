"""OpenAPI details drf-spectacular cannot infer: public reads, error bodies, query and header parameters."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS

from registry.api.filters import ORDERING_FIELDS
from registry.api.permissions import reads_require_auth
from registry.api.serializers import ErrorSerializer
from registry.core import catalogue
from registry.core.counts import BIGINT_MAX
from registry.core.validation import MODEL_ID_CHARS, MODEL_ID_PATTERN, RESERVED_MODEL_IDS


class RegistryAutoSchema(AutoSchema):
    """Reads (and ``/models/validate``) need no credentials unless REGISTRY_READS_REQUIRE_AUTH."""

    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        is_read = self.method in SAFE_METHODS or getattr(self.view, "read_only_post", False)
        if is_read and not reads_require_auth() and {} not in auths:
            auths.append({})
        return auths


_ERRORS = {
    400: "Rejected: every problem at once, each with loc, code and msg.",
    401: "No or invalid credentials.",
    403: "Authenticated, but without the permission this needs.",
    404: "No such config or layer class.",
    406: "The Accept header asks for a type the API cannot give.",
    409: "A config with this model_id already exists (or a concurrent write won).",
    412: "If-Match names a version that is no longer current; nothing was written.",
    413: "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
    415: "The body is not application/json.",
    429: "Too many requests (writes per user, or failed token attempts per address); see Retry-After.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses, all ``{"errors": [{"loc", "code", "msg"}]}``."""
    return {code: OpenApiResponse(ErrorSerializer, description=_ERRORS[code]) for code in codes}


READ_ERRORS = (401, 403, 406, 429)
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified: If-None-Match names the current ETag.")}

VALIDATORS = [
    OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 201, 304],
        description="Strong validator: the SHA-256 of the config's document, quoted.",
    ),
    OpenApiParameter(
        "Last-Modified",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 201, 304],
        description="When the config last changed (HTTP date).",
    ),
]
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier response: 304 when the config has not changed since.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag the write is based on: 412 (nothing written) when the config has changed since.",
)
RECOMPUTE = OpenApiParameter(
    "recompute",
    str,
    enum=["true", "false"],
    description="true: replace wrong derived values (parameter_count, total_params, total_params_formatted) "
    "instead of rejecting them. Default false.",
)
MODEL_ID = OpenApiParameter(
    "model_id",
    str,
    OpenApiParameter.PATH,
    # The reserved ids are routes of their own (/models/validate, /models/import-hf), not configs.
    pattern=rf"^(?!(?:{'|'.join(sorted(RESERVED_MODEL_IDS))})$)[{MODEL_ID_CHARS}]+$",
    description="The config's model_id (hf_model_id with '/' replaced by '_').",
    examples=[OpenApiExample("Llama 3.3 70B", value="meta-llama_Llama-3.3-70B-Instruct")],
)


def _integer(name: str, description: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "integer", "minimum": minimum, "maximum": maximum}, description=description)


LIST_PARAMETERS = [
    _integer("limit", "Items per page: 1 to 500, default 50.", 1, 500),
    _integer("offset", "Items to skip, default 0."),
    OpenApiParameter("expand", str, enum=["layer_types"], description="layer_types: items are full documents."),
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": 200, "pattern": r"^[^\x00]*$"},
        description="Substring (case-insensitive) of model_id, hf_model_id or name.",
    ),
    OpenApiParameter(
        "layer_class", str, enum=list(catalogue.names()), description="Only configs with a layer type of this class."
    ),
    _integer("min_params", "total_params at least this."),
    _integer("max_params", "total_params at most this."),
    _integer("min_active_params", "Parameters per token at least this (active_params; a dense config's total)."),
    _integer("max_active_params", "Parameters per token at most this (active_params; a dense config's total)."),
    _integer("num_layers", "num_layers equal to this."),
    _integer("hidden_size", "hidden_size equal to this."),
    OpenApiParameter("validated", str, enum=["true", "false"], description="validated is this."),
    OpenApiParameter(
        "ordering",
        {"type": "array", "items": {"type": "string", "enum": [p for f in ORDERING_FIELDS for p in (f, f"-{f}")]}},
        style="form",
        explode=False,
        description="Comma-separated fields, '-' for descending; ties broken by model_id. Default model_id. "
        "active_params orders a dense config by its total_params (all of its parameters are active).",
    ),
]


def _plan_parameters() -> list[OpenApiParameter]:
    from registry.core.planning import DEVICES, DTYPE_BITS, MAX_BATCH, MAX_CONTEXT, MAX_DEGREE

    dtypes = list(DTYPE_BITS)
    degree = "Degree of {}: the layer types split as their classes allow (default 1)."
    return [
        OpenApiParameter("mode", str, enum=["inference", "training"], description="Default inference."),
        OpenApiParameter(
            "dtype",
            str,
            enum=dtypes,
            description="Weight dtype (4, 2, 2, 1, 1, ½ bytes per parameter; quantization scales not counted). "
            "Default bf16.",
        ),
        OpenApiParameter("kv_dtype", str, enum=dtypes, description="KV-cache dtype. Default bf16."),
        _integer(
            "context",
            "Tokens per sequence. Default the config's context length (max_position_embeddings).",
            1,
            MAX_CONTEXT,
        ),
        _integer("batch", "Sequences held at once. Default 1.", 1, MAX_BATCH),
        _integer("tp", degree.format("tensor parallelism"), 1, MAX_DEGREE),
        _integer("pp", degree.format("pipeline parallelism (decoder layers in stages)"), 1, MAX_DEGREE),
        _integer("ep", degree.format("expert parallelism (routed experts)"), 1, MAX_DEGREE),
        _integer("cp", degree.format("context parallelism (KV-cache tokens)"), 1, MAX_DEGREE),
        _integer("dp", "Data-parallel degree (mode=training; ZeRO partitions over it). Default 1.", 1, MAX_DEGREE),
        _integer("zero", "ZeRO stage 0-3 (mode=training). Default 0.", 0, 3),
        OpenApiParameter(
            "device_memory",
            {"type": "string", "pattern": r"^[ -~]{1,40}$"},
            description="Memory of one device, to check the fit: bytes, a size (80GB, 80GiB) or a device "
            f"({', '.join(DEVICES)}).",
        ),
        OpenApiParameter(
            "utilization",
            {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
            description="The fraction of device_memory usable. Default 0.9.",
        ),
    ]


PLAN_PARAMETERS = _plan_parameters()

# ---- history and comparison (registry/api/history.py) ------------------------------------------------

REVISION = OpenApiParameter(
    "revision",
    {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
    OpenApiParameter.PATH,
    description="A revision's id, as the config's history lists it.",
)
OTHER_MODEL_ID = OpenApiParameter(
    "other_model_id",
    {"type": "string", "pattern": MODEL_ID_PATTERN},
    OpenApiParameter.PATH,
    description="The model_id of the config to compare with (b; model_id is a).",
    examples=[OpenApiExample("Llama 3.1 405B", value="meta-llama_Llama-3.1-405B-Instruct")],
)
