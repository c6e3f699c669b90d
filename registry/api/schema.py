"""OpenAPI details drf-spectacular cannot infer: public reads, error bodies, query and header parameters."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS

from registry import conf
from registry.api.filters import ORDERING_FIELDS, RANGE_FIELDS, RANGE_LOOKUPS, SPEC
from registry.api.pagination import StrictLimitOffsetPagination as Page
from registry.api.serializers import ErrorSerializer
from registry.core import catalogue, plan_parameters
from registry.core.counts import BIGINT_MAX
from registry.core.examples import EXAMPLE_CONFIG, EXAMPLE_MODEL_ID
from registry.core.keys import RESERVED_MODEL_IDS
from registry.core.spec_filters import MAX_SPEC_FILTERS, SYNTAX
from registry.core.validation import MAX_NAME_LENGTH, MODEL_ID_CHARS, MODEL_ID_PATTERN


class RegistryAutoSchema(AutoSchema):
    """Reads (and ``/models/validate``) need no credentials unless REGISTRY_READS_REQUIRE_AUTH.

    Also: the config document's cross-field rules in its descriptions, a valid example body for every
    write, and links from each write's response to what can follow it (read, replace, change, delete,
    history), so that generated clients and stateful tests can chain them.
    """

    def get_auth(self) -> list[dict[str, Any]]:
        auths = super().get_auth()
        is_read = self.method in SAFE_METHODS or getattr(self.view, "read_only_post", False)
        if is_read and not conf.reads_require_auth() and {} not in auths:
            auths.append({})
        return auths

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            _add_write_examples(operation)
            _add_links(operation)
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        name = type(serializer).__name__
        if name == "ConfigDocument":
            _describe_document(schema, direction)
        elif name in _SPECS_COMPONENTS:
            for key, rule in SPEC_RULES.items():
                if key in schema["properties"]:
                    schema["properties"][key]["description"] = rule
        if direction == "request" and (name == "ConfigDocument" or name in _LAYER_COMPONENTS):
            # The validator refuses any other key (unknown_key) in a document, a layer type or its specs.
            schema["additionalProperties"] = False
        return schema


# ---- the config document: rules the validator applies across fields, and example writes ----------------

DOCUMENT_RULES = (
    "A config document. Besides each field's own constraints, a write is accepted only when:\n\n"
    "- `model_id` is `hf_model_id` with every '/' replaced by '_' (and, for PUT and PATCH, the path's model_id);\n"
    "- every layer type's `specs.hidden_size` and `specs.vocab_size`, where its class has them, equal the "
    "config's `hidden_size` and `vocab_size`;\n"
    "- layer type names are unique within the config, and `class` is a class of `/layer-classes/` whose "
    "required specs are all given (and only specs the class allows);\n"
    "- `num_kv_heads` divides `num_heads`; `num_experts_per_tok` is at most `num_experts`; "
    "`shared_expert_gate` needs `shared_expert_intermediate_size`; a norm with `elementwise_affine` false "
    "has `has_bias` false;\n"
    "- an output head with `tie_word_embeddings` has an EmbeddingLayer to tie to;\n"
    "- names and ids are not blank (whitespace only), and names hold no control or bidirectional-control "
    "characters;\n"
    "- the derived values (`specs.parameter_count`, `total_params`, `total_params_formatted`, `active_params`, "
    "`active_params_formatted`) are left out or equal what the registry computes (`?recompute=true` replaces "
    "them); `active_params` only for a config with a MoELayer.\n\n"
    "A violation is a 400 listing every problem with its `loc`, `code` and `msg`."
)
FIELD_RULES = {
    "model_id": "hf_model_id with '/' replaced by '_' (a 400 model_id_mismatch otherwise); for PUT and PATCH, "
    "also the path's model_id. Not 'validate', 'import-hf' or only dots.",
    "hf_model_id": "The Hugging Face id (owner/name); model_id is derived from it. Not blank.",
    "name": "Display name: not blank, no control or bidirectional-control characters.",
    "hidden_size": "Width of the model; every layer type's specs.hidden_size must equal it.",
    "vocab_size": "Vocabulary size; every layer type's specs.vocab_size must equal it.",
    "num_layers": "Decoder layers; the per-decoder-layer types' counts should add up to it (a warning if not).",
}
_SPECS_COMPONENTS = frozenset(f"{name}Specs" for name in catalogue.names())
_LAYER_COMPONENTS = _SPECS_COMPONENTS | {f"{name}Type" for name in catalogue.names()}
SPEC_RULES = {
    "hidden_size": "Must equal the config's hidden_size.",
    "vocab_size": "Must equal the config's vocab_size.",
}


def _describe_document(schema: dict[str, Any], direction: str) -> None:
    schema["description"] = DOCUMENT_RULES
    properties = schema["properties"]
    context = properties.get("max_position_embeddings")
    if direction == "request" and context is not None:
        context["nullable"] = True  # the validator takes null as not given
        context["description"] = "Context length: tokens the model was built for (optional; null: not given)."
    for key, rule in FIELD_RULES.items():
        if key in properties:
            properties[key]["description"] = rule
    layer_types = properties.get("layer_types")
    if layer_types is not None:
        # An empty list is refused (code empty); the cap is MAX_LAYER_TYPES (maxItems, from the serializer).
        layer_types["minItems"] = 1
        layer_types["description"] = (
            "At least one layer type; names unique within the config. Each one's specs follow its class."
        )


EXAMPLE_PATCH: dict[str, Any] = {"validated": True, "validation_notes": "Checked against the model card."}


def _body_example(operation: dict[str, Any], name: str, summary: str, value: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None:
        content["examples"] = {name: {"summary": summary, "value": value}}


def _add_write_examples(operation: dict[str, Any]) -> None:
    """A body each write accepts: POST and PUT create (or PUT replaces) a small config, PATCH changes notes."""
    operation_id = operation["operationId"]
    if operation_id == "models_create":
        _body_example(operation, "SmallConfig", "A small valid config", EXAMPLE_CONFIG)
    elif operation_id == "models_update":
        _body_example(operation, "SmallConfig", "A small valid config (created, or replaced)", EXAMPLE_CONFIG)
        # The body's model_id must be the path's: the path's example is the body's.
        for parameter in operation["parameters"]:
            if parameter["in"] == "path" and parameter["name"] == "model_id":
                parameter["examples"] = {"SmallConfig": {"summary": "A small config", "value": EXAMPLE_MODEL_ID}}
    elif operation_id == "models_partial_update":
        _body_example(operation, "MarkValidated", "Mark it checked against the model card", EXAMPLE_PATCH)


# ---- links: what can follow a response (OpenAPI 3 links; stateful tests follow them) ----------------------

_FROM_BODY = {"model_id": "$response.body#/model_id"}
_CONDITIONAL = {**_FROM_BODY, "header.If-Match": "$response.header.ETag"}
# Link bodies are the bodies to send, not to be mixed with generated ones (schemathesis' extension).
_WHOLE_BODY = {"x-schemathesis": {"merge_body": False}}
LINKS: dict[str, dict[str, Any]] = {
    "GetConfig": {
        "operationId": "models_retrieve",
        "parameters": _FROM_BODY,
        "description": "Read the config.",
    },
    "ReplaceConfig": {
        "operationId": "models_update",
        "parameters": _CONDITIONAL,
        "requestBody": "$response.body",
        "description": "Replace it with this version (If-Match: this ETag, so a newer version is a 412).",
        **_WHOLE_BODY,
    },
    "ChangeConfig": {
        "operationId": "models_partial_update",
        "parameters": _CONDITIONAL,
        "requestBody": {"name": "$response.body#/hf_model_id"},
        "description": "Rename it after its Hugging Face id, if this is still the current version.",
        **_WHOLE_BODY,
    },
    "DeleteConfig": {
        "operationId": "models_destroy",
        "parameters": _CONDITIONAL,
        "description": "Delete it, if this is still the current version.",
    },
    "GetHistory": {
        "operationId": "models_history",
        "parameters": _FROM_BODY,
        "description": "The config's revisions.",
    },
}
# operationId: (the statuses whose body is the config's document, the links they get)
_LINKED = {
    "models_create": (("201",), ("GetConfig", "ReplaceConfig", "ChangeConfig", "DeleteConfig", "GetHistory")),
    "models_update": (("200", "201"), ("GetConfig", "ReplaceConfig", "ChangeConfig", "DeleteConfig", "GetHistory")),
    "models_partial_update": (("200",), ("GetConfig", "ReplaceConfig", "ChangeConfig", "DeleteConfig", "GetHistory")),
    "models_retrieve": (("200",), ("ReplaceConfig", "ChangeConfig", "DeleteConfig", "GetHistory")),
}


def _add_links(operation: dict[str, Any]) -> None:
    statuses, names = _LINKED.get(operation["operationId"], ((), ()))
    for status in statuses:
        response = operation["responses"].get(status)
        if response is not None:
            response["links"] = {name: LINKS[name] for name in names}


_ERRORS = {
    400: "Rejected: every problem at once, each with loc, code and msg.",
    401: "No or invalid credentials.",
    403: "Authenticated, but without the permission this needs.",
    404: "No such config or layer class.",
    406: "The Accept header asks for a type the API cannot give.",
    409: "A config with this model_id already exists (or a concurrent write won).",
    412: "If-Match names a version that is no longer current; nothing was written.",
    428: "If-Match is required here (a restore replaces the stored version); nothing was written.",
    413: "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
    415: "The body is not application/json.",
    429: "Too many requests (writes per user, or failed token attempts per address); see Retry-After.",
}


def errors(*codes: int, not_found: str = _ERRORS[404]) -> dict[int, OpenApiResponse]:
    """Error responses, all ``{"errors": [{"loc", "code", "msg"}]}``; ``not_found``: what a 404 did not find."""
    described = {**_ERRORS, 404: not_found}
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


READ_ERRORS = (401, 403, 406, 429)
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified: If-None-Match names the current ETag.")}


def _header(name: str, description: str, **kwargs: Any) -> OpenApiParameter:
    """A string header: of the request, or with ``response`` (its statuses) of the response."""
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, description=description, **kwargs)


def path_parameter(
    name: str, schema: Any, description: str, *, example: tuple[str, str] | None = None, **kwargs: Any
) -> OpenApiParameter:
    """A path parameter; ``example``: its (summary, value)."""
    if example is not None:
        kwargs["examples"] = [OpenApiExample(example[0], value=example[1])]
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description, **kwargs)


VALIDATORS = [
    _header("ETag", "Strong validator: the SHA-256 of the config's document, quoted.", response=[200, 201, 304]),
    _header("Last-Modified", "When the config last changed (HTTP date).", response=[200, 201, 304]),
]
IF_NONE_MATCH = _header("If-None-Match", "An ETag from an earlier response: 304 when the config has not changed since.")
IF_NONE_MATCH_WRITE = _header(
    "If-None-Match",
    "On a write: `*` writes only while no such config exists; ETags write only while the config is at none of "
    "them. 412 otherwise, nothing written.",
)
IF_MATCH = _header(
    "If-Match", "The ETag the write is based on: 412 (nothing written) when the config has changed since."
)
RECOMPUTE = OpenApiParameter(
    "recompute",
    str,
    enum=["true", "false"],
    description="true: replace wrong derived values (parameter_count, total_params, total_params_formatted) "
    "instead of rejecting them. Default false.",
)
MODEL_ID = path_parameter(
    "model_id",
    str,
    "The config's model_id (hf_model_id with '/' replaced by '_').",
    # The reserved ids are routes of their own (/models/validate, /models/import-hf), not configs.
    pattern=rf"^(?!(?:{'|'.join(sorted(RESERVED_MODEL_IDS))})$)[{MODEL_ID_CHARS}]+$",
    example=("Llama 3.3 70B", "meta-llama_Llama-3.3-70B-Instruct"),
)


_LOOKUP_WORDS = {"exact": "equal to", "gte": "at least", "lte": "at most", "gt": "greater than", "lt": "less than"}


def _integer(name: str, description: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "integer", "minimum": minimum, "maximum": maximum}, description=description)


def _range_parameters() -> list[OpenApiParameter]:
    """NAME, NAME__gte, NAME__lte, NAME__gt, NAME__lt for each top-level integer the list filters on."""
    out = []
    for name in RANGE_FIELDS:
        note = " A dense config's active_params is its total_params." if name == "active_params" else ""
        for lookup in ("exact", *RANGE_LOOKUPS):
            key = name if lookup == "exact" else f"{name}__{lookup}"
            out.append(_integer(key, f"{name} {_LOOKUP_WORDS[lookup]} this.{note}"))
    return out


LIST_PARAMETERS = [
    _integer("limit", f"Items per page: 1 to {Page.max_limit}, default {Page.default_limit}.", 1, Page.max_limit),
    _integer("offset", "Items to skip, default 0."),
    OpenApiParameter("expand", str, enum=["layer_types"], description="layer_types: items are full documents."),
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": MAX_NAME_LENGTH, "pattern": r"^[^\x00]*$"},
        description="Substring (case-insensitive) of model_id, hf_model_id or name.",
    ),
    OpenApiParameter(
        "layer_class", str, enum=list(catalogue.names()), description="Only configs with a layer type of this class."
    ),
    _integer("min_params", "total_params at least this."),
    _integer("max_params", "total_params at most this."),
    _integer("min_active_params", "Parameters per token at least this (active_params; a dense config's total)."),
    _integer("max_active_params", "Parameters per token at most this (active_params; a dense config's total)."),
    *_range_parameters(),
    OpenApiParameter(
        SPEC,
        {"type": "array", "items": {"type": "string", "minLength": 3}, "maxItems": MAX_SPEC_FILTERS},
        style="form",
        explode=True,
        description=f"Repeatable, combined with AND: configs with a layer type whose spec compares so: {SYNTAX}; "
        "e.g. num_experts__gte:64, head_dim:128, qk_norm:per_head. Integer specs take every operator, flags "
        "and choices exact only. A spec left out of a layer type matches nothing. A name not in the catalogue, "
        "a bad operator or value is a 400 at query.spec[i].",
        examples=[OpenApiExample("Many experts", value=["num_experts__gte:64"])],
    ),
    OpenApiParameter("validated", str, enum=["true", "false"], description="validated is this."),
    OpenApiParameter(
        "published_mismatch",
        str,
        enum=["true", "false"],
        description="true: total_params disagrees with published_total_params at its precision (the "
        "published_total_mismatch warning); false: the others, configs without a published total included.",
    ),
    OpenApiParameter(
        "ordering",
        {
            "type": "array",
            "items": {"type": "string", "enum": [p for f in ORDERING_FIELDS for p in (f, f"-{f}")]},
            "minItems": 1,  # ordering= (no field) is a 400 (blank)
        },
        style="form",
        explode=False,
        description="Comma-separated fields, '-' for descending; ties broken by model_id. Default model_id. "
        "active_params orders a dense config by its total_params (all of its parameters are active).",
    ),
]


# The list's filters, ordering and paging, for the endpoints that plan or search over the configs it selects.
FILTER_PARAMETERS = [p for p in LIST_PARAMETERS if p.name != "expand"]


def table_parameter(p: plan_parameters.Parameter) -> OpenApiParameter:
    """A query parameter of a core table (``plan_parameters.TABLE``, ``recommend_parameters.TABLE``)."""
    if p.choices:  # as a str with an enum, which drf-spectacular lists sorted
        return OpenApiParameter(p.name, str, enum=list(p.choices), description=p.help_text)
    return OpenApiParameter(p.name, p.json_schema(), description=p.help_text)


# The deployment parameters of ``/models/{model_id}/plan`` and ``/plans/``.
PLAN_PARAMETERS = [table_parameter(p) for p in plan_parameters.TABLE]

# ---- history and comparison (registry/api/history.py) ------------------------------------------------

REVISION = path_parameter(
    "revision",
    {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
    "A revision's id, as the config's history lists it.",
)
OTHER_MODEL_ID = path_parameter(
    "other_model_id",
    {"type": "string", "pattern": MODEL_ID_PATTERN},
    "The model_id of the config to compare with (b; model_id is a).",
    example=("Llama 3.1 405B", "meta-llama_Llama-3.1-405B-Instruct"),
)
