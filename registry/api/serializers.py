"""Serializers: the shapes of the API's bodies, for output and for the OpenAPI schema.

Request bodies are not validated here: the view hands the parsed JSON to ``registry.services``,
whose single validator (``registry.core.validate_config``) reports every problem. The document
serializers below only describe that JSON to drf-spectacular; they are built from the catalogue,
so a new layer class appears in the schema without an edit here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from registry.core import ConfigDoc, catalogue
from registry.core.catalogue import LayerClass, Spec, SpecKind
from registry.core.catalogue_doc import cache_text
from registry.core.counts import BIGINT_MAX
from registry.core.hf import HUB_ID_RE
from registry.core.keys import CONFIG_VALUE_KEYS
from registry.core.plan_outputs import OUTPUTS, OutputField, PlanFigures, output_fields
from registry.core.validation import (
    MAX_FORMATTED_LENGTH,
    MAX_ID_LENGTH,
    MAX_LAYER_NAME_LENGTH,
    MAX_LAYER_TYPES,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    MAX_SOURCE_LENGTH,
    MODEL_ID_RE,
)
from registry.models import ConfigRevision, ModelConfig

REQUEST, RESPONSE = "request", "response"


def _positive(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)


def _spec_field(spec: Spec, *, required: bool) -> serializers.Field:
    if spec.kind is SpecKind.BOOL:
        return serializers.BooleanField(required=required, help_text=_with_default(spec))
    if spec.kind is SpecKind.CHOICE:
        return serializers.ChoiceField(choices=list(spec.choices), required=required, help_text=_with_default(spec))
    return serializers.IntegerField(
        min_value=spec.minimum, max_value=BIGINT_MAX, required=required, help_text=spec.description
    )


def _json_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _with_default(spec: Spec) -> str:
    if spec.default is None:
        return spec.description
    return f"{spec.description} Default: {_json_text(spec.default)}."


# Request and response components share their names: drf-spectacular (COMPONENT_SPLIT_REQUEST)
# suffixes the request ones with "Request", and its enum naming then sees one component per class.
def _specs_serializer(layer_class: LayerClass, direction: str) -> type[serializers.Serializer]:
    required = layer_class.required_names
    fields = {}
    for name, spec in layer_class.allowed.items():
        is_required = name in required or (direction == RESPONSE and spec is catalogue.PARAMETER_COUNT)
        fields[name] = _spec_field(spec, required=is_required)
    return type(f"{layer_class.name}Specs", (serializers.Serializer,), fields)


def _layer_type_serializer(layer_class: LayerClass, direction: str) -> type[serializers.Serializer]:
    fields = {
        "name": serializers.CharField(max_length=MAX_LAYER_NAME_LENGTH, help_text="Unique within the config."),
        "class": serializers.ChoiceField(choices=[layer_class.name], help_text=layer_class.description),
        "count": _positive(help_text="How many layers of this type the model has."),
        "specs": _specs_serializer(layer_class, direction)(),
    }
    return type(f"{layer_class.name}Type", (serializers.Serializer,), fields)


@cache
def document_serializer(direction: str) -> type[serializers.Serializer]:
    """The config document; derived values are optional in requests and always present in responses.

    For PATCH, instantiate the request one with ``partial=True`` (every key optional).
    """
    derived = direction == RESPONSE
    fields = {
        "model_id": serializers.RegexField(
            MODEL_ID_RE.pattern, max_length=MAX_ID_LENGTH, help_text="hf_model_id with '/' replaced by '_'."
        ),
        "hf_model_id": serializers.RegexField(
            rf"^{HUB_ID_RE.pattern}$", max_length=MAX_ID_LENGTH, help_text="The Hugging Face repo id, ORG/NAME."
        ),
        "name": serializers.CharField(max_length=MAX_NAME_LENGTH),
        "hidden_size": _positive(),
        "num_layers": _positive(),
        "vocab_size": _positive(),
        "max_position_embeddings": _positive(
            required=False, help_text="Context length: tokens the model was built for (optional)."
        ),
        "total_params": _positive(required=derived, help_text="Σ count × parameter_count (derived)."),
        "total_params_formatted": serializers.CharField(
            max_length=MAX_FORMATTED_LENGTH, required=derived, help_text="total_params with a K/M/B/T suffix (derived)."
        ),
        "active_params": _positive(
            required=False,
            help_text="Parameters one token uses: every parameter, but of the routed experts only "
            "num_experts_per_tok of num_experts (derived; present only for configs with a MoELayer).",
        ),
        "active_params_formatted": serializers.CharField(
            max_length=MAX_FORMATTED_LENGTH, required=False, help_text="active_params with a K/M/B/T suffix (derived)."
        ),
        "mtp_params": _positive(
            required=False,
            help_text="Parameters of the multi-token-prediction layer types (mtp true), outside total_params: "
            "total_params + mtp_params is the checkpoint's count (derived; present only when there are such "
            "layer types).",
        ),
        # A ListField, not many=True: drf-spectacular writes maxItems only for a field's validators.
        "layer_types": serializers.ListField(
            child=PolymorphicProxySerializer(
                component_name="LayerType",
                serializers={c.name: _layer_type_serializer(c, direction) for c in catalogue.classes()},
                resource_type_field_name="class",
            ),
            max_length=MAX_LAYER_TYPES,
        ),
        "published_total_params": _positive(
            required=False,
            allow_null=not derived,
            help_text="The total its publisher gives (optional; with its source). When the derived total_params "
            "differs from it at its precision, a published_total_mismatch warning.",
        ),
        "published_total_params_source": serializers.CharField(
            required=False,
            allow_null=not derived,
            allow_blank=not derived,
            max_length=MAX_SOURCE_LENGTH,
            help_text="Where the published total comes from: a URL (the model card) or a citation; required with "
            "published_total_params.",
        ),
        "validated": serializers.BooleanField(
            required=derived,
            help_text="Checked against the model card. A write that changes total_params or active_params of a "
            "validated config stores it not validated (unless a PATCH sets validated true).",
        ),
        "validation_notes": serializers.CharField(
            allow_blank=True,
            required=derived,
            allow_null=not derived,
            max_length=MAX_NOTES_LENGTH,
            help_text="Free text: tabs and line breaks, but no other control or bidirectional-control characters.",
        ),
    }
    return type("ConfigDocument", (serializers.Serializer,), fields)


class IssueSerializer(serializers.Serializer):
    loc = serializers.CharField(help_text="Where: a path in the body such as layer_types[0].specs.head_dim.")
    code = serializers.CharField(help_text="A stable code such as heads_not_divisible.")
    msg = serializers.CharField(help_text="What was expected and what was given.")


class ErrorSerializer(serializers.Serializer):
    # Fields named as Serializer/Field attributes the stubs declare (errors, required, source, fields) carry the API's
    # keys; DRF's metaclass moves declared fields off the class, so at runtime they override nothing.
    errors = IssueSerializer(many=True)  # type: ignore[assignment]  # a declared field, see above


# Keys a document holds only when they have a value; list items leave them out the same way.
OPTIONAL_KEYS = (
    "max_position_embeddings",
    "active_params",
    "active_params_formatted",
    "published_total_params",
    "published_total_params_source",  # "" without a published total
)
# List items cut validation_notes to this many characters, the last one CUT_MARK, so that a page of
# configs with long notes stays small; the document at the item's url has them whole.
SUMMARY_NOTES_LENGTH = 500
CUT_MARK = "…"


def cut_notes(notes: str) -> str:
    """``notes`` as a list item gives them: whole up to SUMMARY_NOTES_LENGTH characters, else cut and marked."""
    if len(notes) <= SUMMARY_NOTES_LENGTH:
        return notes
    return notes[: SUMMARY_NOTES_LENGTH - len(CUT_MARK)] + CUT_MARK


class CutNotesField(serializers.CharField):
    def to_representation(self, value: str) -> str:
        return cut_notes(value)


class ConfigSummarySerializer(serializers.ModelSerializer):
    """A list item: the config's own fields (no layer_types), its URL and when it last changed."""

    url = serializers.SerializerMethodField()
    # Not read-only, so that the schema marks them optional: they are left out when null.
    max_position_embeddings = _positive(required=False)
    active_params = _positive(required=False)
    active_params_formatted = serializers.CharField(max_length=MAX_FORMATTED_LENGTH, required=False)
    validation_notes = CutNotesField(
        read_only=True,
        max_length=SUMMARY_NOTES_LENGTH,
        help_text=f"The notes, cut to {SUMMARY_NOTES_LENGTH} characters ending in {CUT_MARK!r} when longer: "
        "the config's document (url) has them whole.",
    )

    class Meta:
        model = ModelConfig
        fields = [*CONFIG_VALUE_KEYS, "url", "updated"]
        read_only_fields = [f for f in fields if f not in OPTIONAL_KEYS]

    def to_representation(self, instance: ModelConfig) -> dict[str, Any]:
        data = super().to_representation(instance)
        for key in OPTIONAL_KEYS:
            if data.get(key) in (None, ""):
                data.pop(key, None)
        return data

    def get_url(self, config: ModelConfig) -> str:
        return self.context["detail_prefix"] + config.model_id


class LayerShareSerializer(serializers.Serializer):
    name = serializers.CharField()
    # "class" is a Python keyword: declared through the class body's namespace.
    locals()["class"] = serializers.CharField()
    count = serializers.IntegerField()
    parameter_count = serializers.IntegerField(help_text="Parameters of one layer of this type.")
    subtotal = serializers.IntegerField(help_text="count × parameter_count.")
    share = serializers.FloatField(min_value=0, max_value=1, help_text="subtotal / total_params.")
    formula = serializers.CharField(help_text="The class's parameter formula in words.")
    active_parameter_count = serializers.IntegerField(
        required=False, help_text="Parameters of one layer one token uses (layer types with routed experts only)."
    )
    active_subtotal = serializers.IntegerField(
        required=False, help_text="count × active_parameter_count (layer types with routed experts only)."
    )


SUMMARY_MODEL_FIELDS = [f for f in ConfigSummarySerializer.Meta.fields if f != "url"]


def summaries(rows: list[dict[str, Any]], detail_prefix: str) -> list[dict[str, Any]]:
    """What ``ConfigSummarySerializer`` gives, from ``.values(*SUMMARY_MODEL_FIELDS)`` rows.

    A list page holds up to 500 items; building them from plain rows is many times faster
    than instantiating models and serializers (a test keeps the two identical).
    """
    # The serializer's own field, with the request's time zone looked up once rather than per row.
    updated_field = serializers.DateTimeField(default_timezone=timezone.get_current_timezone())
    out = []
    for row in rows:
        item = dict(row)
        for key in OPTIONAL_KEYS:
            if item[key] is None or item[key] == "":
                del item[key]
        updated = item.pop("updated")
        item["validation_notes"] = cut_notes(item["validation_notes"])
        item["url"] = detail_prefix + row["model_id"]
        item["updated"] = updated_field.to_representation(updated)
        out.append(item)
    return out


class ConfigPageSerializer(serializers.Serializer):
    """One page of the config list (limit/offset)."""

    count = serializers.IntegerField(min_value=0, help_text="Configs matching the filters, on all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PolymorphicProxySerializer(
        component_name="ConfigListItem",
        serializers=[ConfigSummarySerializer, document_serializer(RESPONSE)],
        resource_type_field_name=None,
        many=True,
        help_text="Summaries; with ?expand=layer_types, full documents.",
    )


class ParameterBreakdownSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    total_params = serializers.IntegerField()
    total_params_formatted = serializers.CharField()
    active_params = serializers.IntegerField(required=False, help_text="Only for configs with routed experts.")
    active_params_formatted = serializers.CharField(required=False)
    mtp_params = serializers.IntegerField(required=False, help_text="Only for configs with multi-token prediction.")
    layer_types = LayerShareSerializer(many=True)


def parameter_breakdown(doc: ConfigDoc) -> dict[str, Any]:
    """For each layer type: its count, parameter_count, subtotal and share of the total (and active counts)."""
    total = doc.total_params
    out: dict[str, Any] = {
        "model_id": doc.model_id,
        "total_params": total,
        "total_params_formatted": doc.total_params_formatted,
    }
    if doc.active_params is not None:
        out["active_params"] = doc.active_params
        out["active_params_formatted"] = doc.active_params_formatted
    if doc.mtp_params is not None:
        out["mtp_params"] = doc.mtp_params
    rows = []
    for layer in doc.layer_types:
        layer_class = catalogue.get(layer.class_name)
        assert layer_class is not None
        row = {
            "name": layer.name,
            "class": layer.class_name,
            "count": layer.count,
            "parameter_count": layer.parameter_count,
            "subtotal": layer.count * layer.parameter_count,
            # Of total_params: a multi-token-prediction layer type is outside it.
            "share": 0.0 if layer.mtp or not total else layer.count * layer.parameter_count / total,
            "formula": layer_class.formula_text,
        }
        if layer_class.has_experts:
            active = layer_class.active_parameter_count(layer.specs)
            row["active_parameter_count"] = active
            row["active_subtotal"] = layer.count * active
        rows.append(row)
    out["layer_types"] = rows
    return out


class ValidationReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = IssueSerializer(many=True)  # type: ignore[assignment]  # a declared field (see ErrorSerializer)
    warnings = IssueSerializer(many=True)
    recomputed = IssueSerializer(many=True, help_text="Stale derived values replaced (with ?recompute=true).")
    counts = ParameterBreakdownSerializer(allow_null=True, help_text="The derived counts, when valid.")
    document = document_serializer(RESPONSE)(allow_null=True, help_text="The normalized document, when valid.")


SPEC_TYPES = [(kind.value, kind.value) for kind in SpecKind]


class SpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=SPEC_TYPES, source="kind.value")
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), help_text="The values of a choice spec.")
    default = serializers.JSONField(allow_null=True, help_text="What an optional spec means when absent.")


class LayerClassSerializer(serializers.Serializer):
    """A catalogue entry, read from ``registry.core.catalogue``."""

    name = serializers.CharField()
    description = serializers.CharField()
    required = SpecSerializer(  # type: ignore[assignment]  # a declared field (see ErrorSerializer)
        many=True, help_text="Specs every layer type of this class must give."
    )
    optional = SpecSerializer(many=True, help_text="Specs it may give.")
    metadata = serializers.SerializerMethodField(help_text="Specs any class may carry (not architecture).")
    parallelism = serializers.SerializerMethodField(help_text="Supported ways to split the layer across devices.")
    kind = serializers.ChoiceField(
        choices=[k.value for k in catalogue.LayerKind], source="kind.value", help_text="What the layer does."
    )
    per_decoder_layer = serializers.BooleanField(
        help_text="One per decoder layer: the counts of this kind's layer types add up to num_layers."
    )
    formula_text = serializers.CharField(help_text="The parameter formula in words.")
    active_formula_text = serializers.CharField(
        help_text="For classes with routed experts, the parameters one token uses; empty otherwise."
    )
    cache = serializers.SerializerMethodField(
        help_text="What one layer caches for planning: per token (within a window or chunk when given), a state "
        "per sequence that does not grow with the context, or nothing."
    )
    url = serializers.SerializerMethodField()

    def get_cache(self, layer_class: LayerClass) -> str:
        return cache_text(layer_class)

    @extend_schema_field(SpecSerializer(many=True))
    def get_metadata(self, layer_class: LayerClass) -> list[dict[str, Any]]:
        # What SpecSerializer(..., many=True) builds, which the stubs do not model.
        return serializers.ListSerializer(catalogue.METADATA_SPECS, child=SpecSerializer()).data

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=[p.value for p in catalogue.Parallelism]))
    )
    def get_parallelism(self, layer_class: LayerClass) -> list[str]:
        return [p.value for p in layer_class.parallelism]

    def get_url(self, layer_class: LayerClass) -> str:
        return self.context["detail_prefix"] + layer_class.name


# ---- deployment plans (the shapes registry.core.planning.Plan.as_dict gives) -----------------------------


def _count(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, **kwargs)


def _output_field(f: OutputField, *, required: bool = True) -> serializers.Field:
    """The serializer field of one output field (``registry.core.plan_outputs``): its type, nullability, help."""
    kwargs: dict[str, Any] = {"help_text": f.help} if f.help else {}
    if f.omit_none or not required:
        kwargs["required"] = False
    base, _, rest = f.type.partition(" | ")
    if rest == "None" and not f.omit_none:
        kwargs["allow_null"] = True
    if base in _OUTPUT_SERIALIZERS:
        return _OUTPUT_SERIALIZERS[base](**kwargs)
    if base == "int":
        return serializers.IntegerField(**kwargs) if f.signed else _count(**kwargs)
    if f.choices:
        return serializers.ChoiceField(choices=list(f.choices), **kwargs)
    return {"str": serializers.CharField, "bool": serializers.BooleanField, "float": serializers.FloatField}[base](
        **kwargs
    )


def _output_serializer(cls: type, **extra: Any) -> type[serializers.Serializer]:
    """``Plan<X>Serializer`` for the output class ``Plan<X>``: one field per output field, in order."""
    attrs: dict[str, Any] = {f.key: _output_field(f) for f in output_fields(cls)}
    return type(f"{cls.__name__}Serializer", (serializers.Serializer,), {**attrs, **extra})


_OUTPUT_SERIALIZERS: dict[str, type[serializers.Serializer]] = {}
for _cls in OUTPUTS:
    if _cls is not PlanFigures:  # a plan's figures are PlanSerializer's own fields, below
        _OUTPUT_SERIALIZERS[_cls.__name__] = _output_serializer(_cls, __module__=__name__)
PlanDeploymentSerializer = _OUTPUT_SERIALIZERS["PlanDeployment"]
PlanDeviceSerializer = _OUTPUT_SERIALIZERS["PlanDevice"]
PlanKVCacheSerializer = _OUTPUT_SERIALIZERS["PlanKVCache"]
PlanFlopsSerializer = _OUTPUT_SERIALIZERS["PlanFlops"]
PlanFitSerializer = _OUTPUT_SERIALIZERS["PlanFit"]
PlanLayerSerializer = _OUTPUT_SERIALIZERS["PlanLayer"]
PlanBudgetSerializer = _OUTPUT_SERIALIZERS["PlanBudget"]
PlanTrainingSerializer = _OUTPUT_SERIALIZERS["PlanTraining"]
PlanPerformanceSerializer = _OUTPUT_SERIALIZERS["PlanPerformance"]


class PlanSerializer(serializers.Serializer):
    """A deployment plan: figures for the heaviest device; with errors, only the errors."""

    model_id = serializers.CharField()
    deployment = PlanDeploymentSerializer()
    errors = IssueSerializer(  # type: ignore[assignment]  # a declared field (see ErrorSerializer)
        many=True, help_text="Why this config cannot be planned so (non-dividing degrees)."
    )
    notes = serializers.ListField(child=serializers.CharField(), help_text="What the figures leave out.")
    # The figures (PlanFigures), absent from a plan with errors.
    locals().update({f.key: _output_field(f, required=False) for f in output_fields(PlanFigures)})
    layer_types = PlanLayerSerializer(
        many=True, required=False, help_text="Per layer type on the heaviest device (one config's plan only)."
    )


class PlanPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PlanSerializer(many=True)


# ---- history and comparison (registry/api/history.py; registry.core.diff's shapes) ----------------------


class RevisionSerializer(serializers.Serializer):
    """One entry of a config's history."""

    id = serializers.IntegerField(min_value=1)
    action = serializers.ChoiceField(choices=ConfigRevision.Action.choices)
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field (see ErrorSerializer)
        choices=ConfigRevision.Source.choices, help_text="What wrote it."
    )
    user = serializers.CharField(
        allow_null=True,
        help_text="The acting user's username; null for commands, and for anonymous readers unless the server "
        "sets REGISTRY_HISTORY_SHOW_USERS.",
    )
    created = serializers.DateTimeField()
    changed = serializers.ListField(
        child=serializers.CharField(),
        help_text="Paths of the values this revision changed, layer types by name "
        "(layer_types[attention].specs.num_kv_heads).",
    )
    url = serializers.URLField(help_text="The revision with its document.")


class RevisionPageSerializer(serializers.Serializer):
    """One page of a config's history, newest first (limit/offset)."""

    count = serializers.IntegerField(min_value=0, help_text="Revisions of this model_id, on all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RevisionSerializer(many=True)


class RevisionDetailSerializer(RevisionSerializer):
    document = document_serializer(RESPONSE)(
        help_text="The config as it was after this revision; for a deletion, as it was before it."
    )


class ValueChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    a = serializers.JSONField(allow_null=True, help_text="The value in a; null when a does not give it.")
    b = serializers.JSONField(allow_null=True, help_text="The value in b; null when b does not give it.")


class DeltaSerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=0)
    b = serializers.IntegerField(min_value=0)
    delta = serializers.IntegerField(help_text="b − a.")


class LayerTypeSideSerializer(serializers.Serializer):
    name = serializers.CharField()
    locals()["class"] = serializers.CharField()
    count = serializers.IntegerField(min_value=1)
    parameter_count = serializers.IntegerField(min_value=0, help_text="Parameters of one layer.")
    subtotal = serializers.IntegerField(min_value=0, help_text="count × parameter_count.")


class LayerTypeChangeSerializer(serializers.Serializer):
    name = serializers.CharField()
    fields = ValueChangeSerializer(  # type: ignore[assignment]  # a declared field (see ErrorSerializer)
        many=True, help_text="class and count, where they differ."
    )
    specs = ValueChangeSerializer(many=True, help_text="The specs that differ (parameter_count aside).")
    parameter_count = DeltaSerializer(help_text="Parameters of one layer.")
    subtotal = DeltaSerializer(help_text="count × parameter_count.")


class LayerTypesDiffSerializer(serializers.Serializer):
    added = LayerTypeSideSerializer(many=True, help_text="Layer types only b has (matched by name).")
    removed = LayerTypeSideSerializer(many=True, help_text="Layer types only a has.")
    changed = LayerTypeChangeSerializer(many=True, help_text="Layer types both have, that differ.")


class ConfigDiffSerializer(serializers.Serializer):
    """registry.core.diff.compare of two configs, a and b."""

    a = serializers.CharField(help_text="a's model_id.")
    b = serializers.CharField(help_text="b's model_id.")
    values = ValueChangeSerializer(many=True, help_text="Top-level values that differ (derived totals aside).")
    layer_types = LayerTypesDiffSerializer()
    total_params = DeltaSerializer()
    active_params = DeltaSerializer(
        required=False,
        help_text="When either config has routed experts; a config without them counts every parameter as active.",
    )


class ImportHFRequestSerializer(serializers.Serializer):
    """The body of POST /models/import-hf (for the schema; the view reports each problem by key)."""

    hf_model_id = serializers.RegexField(
        rf"^{HUB_ID_RE.pattern}$",
        max_length=MAX_ID_LENGTH,
        help_text="The Hub repo the config.json comes from, ORG/NAME; its name part becomes the config's name.",
    )
    config = serializers.DictField(help_text="The repo's config.json, as it is on the Hub.")
