"""Filters and ordering of the config list (django-filter); every bad value is a 400, never ignored."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from registry import selectors
from registry.core import catalogue
from registry.core.counts import BIGINT_MAX
from registry.core.issues import Code, Issue
from registry.core.spec_filters import SpecFilter, parse_spec_filters
from registry.core.validation import MAX_NAME_LENGTH
from registry.models import ModelConfig

ORDERING_FIELDS = ("total_params", "active_params", "name", "num_layers", "updated")
# Active parameters of any config: a dense config's every parameter is active.
ACTIVE = "active_or_total"
# Top-level integers filtered as NAME (exact), NAME__gte, NAME__lte, NAME__gt and NAME__lt (B-tree indexed).
RANGE_FIELDS = ("hidden_size", "num_layers", "vocab_size", "max_position_embeddings", "total_params", "active_params")
RANGE_LOOKUPS = ("gte", "lte", "gt", "lt")
SPEC = "spec"  # repeatable: NAME[__OP]:VALUE (registry.core.spec_filters)


class IntegerFilter(django_filters.NumberFilter):
    """An exact integer in [0, 2**63-1] (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """``true`` or ``false`` and nothing else (django-filter's BooleanFilter ignores other values)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class _NoEmptyItemsCSVField(django_filters.fields.BaseCSVField):
    """A comma-separated value with no empty item (``ordering=name,`` is a mistake, not ``name``)."""

    def clean(self, value: Any) -> Any:
        if value is not None and any(item in self.empty_values for item in value):
            raise forms.ValidationError("expected comma-separated names, none of them empty", code=Code.BLANK)
        return super().clean(value)


class StableOrderingFilter(django_filters.OrderingFilter):
    """django-filter's ordering with model_id as the tie-breaker, so pages never overlap."""

    base_field_class = _NoEmptyItemsCSVField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "model_id")


def _layer_class_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in catalogue.names()]


class ConfigFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=MAX_NAME_LENGTH, help_text="Substring of model_id, hf_model_id or name."
    )
    layer_class = django_filters.ChoiceFilter(
        choices=_layer_class_choices, method="filter_layer_class", help_text="Has a layer type of this class."
    )
    min_params = IntegerFilter(field_name="total_params", lookup_expr="gte")
    max_params = IntegerFilter(field_name="total_params", lookup_expr="lte")
    min_active_params = IntegerFilter(field_name=ACTIVE, lookup_expr="gte")
    max_active_params = IntegerFilter(field_name=ACTIVE, lookup_expr="lte")
    validated = StrictBooleanFilter()
    published_mismatch = StrictBooleanFilter(
        method="filter_published_mismatch",
        help_text="true: the derived total_params disagrees with published_total_params at its precision (a "
        "published_total_mismatch warning); false: the others, configs without a published total included.",
    )
    ordering = StableOrderingFilter(fields=[(ACTIVE if f == "active_params" else f, f) for f in ORDERING_FIELDS])

    class Meta:
        model = ModelConfig
        # NAME (exact), NAME__gte, NAME__lte, NAME__gt, NAME__lt for each; active_params in get_filters().
        fields = {name: ["exact", *RANGE_LOOKUPS] for name in RANGE_FIELDS if name != "active_params"}
        filter_overrides = {models.PositiveBigIntegerField: {"filter_class": IntegerFilter}}

    @classmethod
    def get_filters(cls) -> dict[str, django_filters.Filter]:
        filters = super().get_filters()
        for lookup in ("exact", *RANGE_LOOKUPS):
            name = "active_params" if lookup == "exact" else f"active_params__{lookup}"
            filters[name] = IntegerFilter(field_name=ACTIVE, lookup_expr=lookup)
        return filters

    def __init__(self, data: Any = None, queryset: QuerySet | None = None, **kwargs: Any) -> None:
        queryset = ModelConfig.objects.all() if queryset is None else queryset
        super().__init__(data, queryset.annotate(**{ACTIVE: Coalesce("active_params", "total_params")}), **kwargs)
        values = data.getlist(SPEC) if data is not None and hasattr(data, "getlist") else []
        self.spec_filters: list[SpecFilter]
        self.spec_issues: list[Issue]
        self.spec_filters, self.spec_issues = parse_spec_filters(values)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.spec_issues

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        for spec in self.spec_filters:
            queryset = selectors.with_spec(queryset, spec.name, spec.op, spec.value)
        return queryset

    def filter_published_mismatch(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return selectors.with_published_mismatch(queryset, value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(model_id__icontains=value) | Q(hf_model_id__icontains=value) | Q(name__icontains=value)
        )

    def filter_layer_class(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.with_layer_class(queryset, value)
