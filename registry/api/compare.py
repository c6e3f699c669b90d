"""Several stored configs side by side (registry.core.diff.side_by_side)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry.api.errors import Invalid, query_error, query_issues
from registry.api.schema import READ_ERRORS, errors
from registry.api.views import RegistryAPIView
from registry.core import Code, Issue
from registry.core.diff import MAX_COMPARED, compared_ids, side_by_side
from registry.core.validation import MODEL_ID_CHARS
from registry.selectors import documents_of

MODEL_IDS = OpenApiParameter(
    "model_ids",
    {
        "type": "string",
        "pattern": rf"^[{MODEL_ID_CHARS}]+(,[{MODEL_ID_CHARS}]+){{1,{MAX_COMPARED - 1}}}$",
    },
    required=True,
    description=f"2 to {MAX_COMPARED} model_ids, comma-separated, each once; the columns in this order.",
    examples=[
        OpenApiExample(
            "Three Llamas",
            value="meta-llama_Llama-3.3-70B-Instruct,meta-llama_Llama-3.1-405B-Instruct,TinyLlama_TinyLlama-1.1B-Chat-v1.0",
        )
    ],
)


class RowSerializer(serializers.Serializer):
    key = serializers.CharField()
    values = serializers.ListField(
        child=serializers.JSONField(allow_null=True), help_text="One per config, in model_ids order; null: not given."
    )
    differs = serializers.BooleanField(help_text="Whether the values are not all equal.")


def _per_config(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.IntegerField(allow_null=True, min_value=0), help_text=help_text)


class LayerTypeRowSerializer(serializers.Serializer):
    name = serializers.CharField()
    differs = serializers.BooleanField(help_text="Missing in some config, or any value differs.")
    locals()["class"] = serializers.ListField(child=serializers.CharField(allow_null=True))
    count = _per_config("One per config; null where it has no layer type of this name.")
    parameter_count = _per_config("Parameters of one layer, per config.")
    subtotal = _per_config("count × parameter_count, per config.")
    specs = RowSerializer(many=True, help_text="Every spec any of them gives (parameter_count aside).")


class SideBySideSerializer(serializers.Serializer):
    model_ids = serializers.ListField(child=serializers.CharField(), help_text="The columns' configs.")
    values = RowSerializer(many=True, help_text="Every top-level value any of them gives (derived totals aside).")
    layer_types = LayerTypeRowSerializer(many=True, help_text="Matched by name, in order of first appearance.")
    total_params = serializers.ListField(child=serializers.IntegerField(min_value=0))
    active_params = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="When any has routed experts; a config without counts all of its parameters.",
    )


class CompareView(RegistryAPIView):
    """Several stored configs side by side."""

    query_params = {"get": ("model_ids",)}

    @extend_schema(
        operation_id="compare",
        summary="Compare configs side by side",
        description=f"2 to {MAX_COMPARED} configs: every top-level value, every layer type matched by name with "
        "its specs, and the totals, one value per config, each row marked when the values differ. 404 names "
        "each model_id not stored. GET /models/{model_id}/diff/{other_model_id} gives the deltas of two.",
        parameters=[MODEL_IDS],
        responses={200: SideBySideSerializer, **errors(400, 404, *READ_ERRORS)},
    )
    def get(self, request: Any) -> Any:
        text = request.query_params.get("model_ids")
        if text is None:
            raise query_error("model_ids", Code.REQUIRED, f"expected 2 to {MAX_COMPARED} comma-separated model_ids")
        ids, issues = compared_ids(text)
        if issues:
            raise Invalid(query_issues(issues))
        documents = documents_of(ids)
        missing = [i for i in ids if i not in documents]
        if missing:
            raise Invalid(
                [Issue("$", Code.NOT_FOUND, f"no config with model_id {i!r}") for i in missing], status_code=404
            )
        return Response(side_by_side([(i, documents[i]) for i in ids]))
