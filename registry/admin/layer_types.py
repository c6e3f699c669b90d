"""A config's layer types in the admin: the change page's inline and the changelist's class filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from registry import selectors
from registry.core import catalogue, format_params
from registry.core.validation import MAX_LAYER_TYPES
from registry.forms import JsonIntegerField, LayerTypeForm, LayerTypeFormSet
from registry.models import LayerType, ModelConfig

# The admin's integer model fields typed as the JSON format writes integers (its defaults keep their widgets).
JSON_INTEGER_OVERRIDES: dict[type[models.Field], dict[str, Any]] = {
    models.IntegerField: {"form_class": JsonIntegerField},
    models.BigIntegerField: {"form_class": JsonIntegerField},
}


class LayerClassFilter(admin.SimpleListFilter):
    """Configs having at least one layer type of a catalogue class."""

    title = "layer class"
    parameter_name = "layer_class"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in catalogue.names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        class_name = self.value()
        if not class_name:
            return queryset
        if catalogue.get(class_name) is None:
            # No config has a layer of a class the catalogue lacks; and such text (a NUL) may not reach the database.
            return queryset.none()
        return selectors.with_layer_class(queryset, class_name)


class LayerTypeInline(admin.TabularInline):
    model = LayerType
    form = LayerTypeForm
    formset = LayerTypeFormSet
    template = "admin/registry/modelconfig/layer_types_inline.html"
    fields = ("position", "name", "class_name", "count", "per_layer", "subtotal")
    readonly_fields = ("per_layer", "subtotal")
    formfield_overrides = JSON_INTEGER_OVERRIDES
    extra = 0
    # The page's "Add another" stops at the document's cap; a forged larger TOTAL_FORMS is refused unread.
    max_num = MAX_LAYER_TYPES

    def get_extra(self, request: HttpRequest, obj: ModelConfig | None = None, **kwargs: Any) -> int:
        return 0 if obj else 1

    # A config's layer types are part of its document: the config's permissions govern them
    # (the API and the README speak only of registry.*_modelconfig).
    def _config_perm(self, request: HttpRequest, action: str) -> bool:
        return request.user.has_perm(f"registry.{action}_modelconfig")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._config_perm(request, "view") or self._config_perm(request, "change")

    def _may_edit(self, request: HttpRequest, obj: Any) -> bool:
        return self._config_perm(request, "change" if obj is not None else "add")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj)

    @admin.display(description="Parameters per layer")
    def per_layer(self, obj: LayerType) -> str:
        return f"{obj.parameter_count:,}" if obj.pk else "-"

    @admin.display(description="Subtotal")
    def subtotal(self, obj: LayerType) -> str:
        return format_params(obj.subtotal) if obj.pk else "-"
