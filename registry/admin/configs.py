"""The config admin: changelist, change form and save through the write path, composed of its parts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, QuerySet
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from registry import selectors, services
from registry.admin.actions import ConfigActions
from registry.admin.compare import ConfigCompare
from registry.admin.display import about, params
from registry.admin.history import ConfigHistory
from registry.admin.imports import ConfigImports
from registry.admin.layer_types import JSON_INTEGER_OVERRIDES, LayerClassFilter, LayerTypeInline
from registry.admin.pages import SaveRefused, WritePathAdmin
from registry.admin.plan_panel import plan_panel
from registry.core.validation import HF_ID_RE, MODEL_ID_RE
from registry.forms import PLAN_UNSAVED, LayerTypeFormSet, ModelConfigForm, PlanForm, stale_message
from registry.models import ModelConfig
from registry.services import Source

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LayerTypeCount(TypedDict):
    """The changelist's annotation (ModelConfigAdmin.get_queryset)."""

    layer_type_count: int


HF_URL = "https://huggingface.co/{}"
PLANNED_UNSAVED = "The Plan panel shows the form's values, which are not saved: Save to keep them."
PLANNED_SAVED = "The form has errors, so the Plan panel shows the saved config; your edits are kept below, not saved."


class StaleSave(SaveRefused):
    """The config changed (or was deleted) between the form's check and its save; nothing was written."""

    def __init__(self, model_id: str, *, deleted: bool, page: str) -> None:
        # A deleted config's page is gone: back to the list. A changed one's is shown again, with the new version.
        super().__init__(model_id, reverse("admin:registry_modelconfig_changelist") if deleted else page)
        self.model_id = model_id
        self.deleted = deleted

    def message(self) -> str:
        # Read after the undo: the message names the write that stands, not one this save half made.
        return stale_message(self.model_id, shown_again=not self.deleted)


class PublishedMismatchFilter(admin.SimpleListFilter):
    """Configs whose derived total disagrees with their published total (selectors.with_published_mismatch)."""

    title = "published total"
    parameter_name = "published_mismatch"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("true", "Disagrees with the derived total"), ("false", "Agrees, or none published")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ModelConfig]) -> QuerySet[ModelConfig]:
        if self.value() in ("true", "false"):
            return selectors.with_published_mismatch(queryset, self.value() == "true")
        return queryset


def change_url(model_id: str) -> str:
    """A config's admin change page: at its model_id (its pk answers too, for older links)."""
    return reverse("admin:registry_modelconfig_change", args=[model_id])


class ConfigChangeList(ChangeList):
    """The changelist, each row linked to its config's model_id URL."""

    def url_for_result(self, result: Model) -> str:
        assert isinstance(result, ModelConfig)  # this changelist lists configs only
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[result.model_id],
            current_app=self.model_admin.admin_site.name,
        )


@admin.register(ModelConfig)
class ModelConfigAdmin(WritePathAdmin, ConfigActions, ConfigCompare, ConfigImports, ConfigHistory):
    """Staff editing of configs; its actions, import pages and history pages come from the classes it joins."""

    form = ModelConfigForm
    # Integers typed as the JSON format writes them (the admin's own formfield_callback skips the form's Meta one).
    formfield_overrides = JSON_INTEGER_OVERRIDES
    inlines = [LayerTypeInline]
    list_display = ("model_id", "name", "hf_link", "layer_type_count", "total", "active", "validated", "updated")
    list_filter = (LayerClassFilter, "validated", PublishedMismatchFilter)
    search_fields = ("model_id", "hf_model_id", "name")
    actions = (
        "recompute_counts",
        "run_checks",
        "mark_validated",
        "unmark_validated",
        "export_json",
        "compare_side_by_side",
    )
    readonly_fields = ("total_params_display", "active_params_display", "digest", "created", "updated")
    fieldsets = (
        (None, {"fields": ("model_id", "hf_model_id", "name", "base_digest")}),
        (
            "Architecture",
            {
                "fields": (
                    "hidden_size",
                    "num_layers",
                    "vocab_size",
                    "max_position_embeddings",
                    "total_params_display",
                    "active_params_display",
                )
            },
        ),
        (
            "Curation",
            {"fields": ("validated", "validation_notes", "published_total_params", "published_total_params_source")},
        ),
        ("Record", {"classes": ("collapse",), "fields": ("digest", "created", "updated")}),
    )

    # ---- changelist ----------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ConfigChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> ModelConfig | None:
        """The config at ``object_id``: its model_id (the URLs this admin links to) or, failing that, its pk.

        The id is looked up as the URL spells it first: Django's admin unquotes it (``_5F`` to ``_``), which
        would change a model_id such as ``acme_BERT`` (``_BE``).
        """
        if from_field is not None:
            return super().get_object(request, object_id, from_field)
        match = getattr(request, "resolver_match", None)
        raw = match.kwargs.get("object_id") if match is not None else None
        # Only ids a model_id may be reach the database (a NUL in the URL would be a 500 there).
        candidates = list(dict.fromkeys(c for c in (raw, object_id) if c and MODEL_ID_RE.fullmatch(c)))
        found = {c.model_id: c for c in self.get_queryset(request).filter(model_id__in=candidates)}
        obj = next((found[c] for c in candidates if c in found), None)
        if obj is None and object_id.isdigit():
            return super().get_object(request, object_id)
        return obj

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(layer_type_count=Count("layer_types"))

    @admin.display(description="Hugging Face model", ordering="hf_model_id")
    def hf_link(self, obj: ModelConfig) -> str:
        if not HF_ID_RE.fullmatch(obj.hf_model_id):  # stored before the rule: no link to somewhere else
            return obj.hf_model_id
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', HF_URL.format(obj.hf_model_id), obj.hf_model_id
        )

    @admin.display(description="Layer types", ordering="layer_type_count")
    def layer_type_count(self, obj: WithAnnotations[ModelConfig, LayerTypeCount]) -> int:
        return obj.layer_type_count

    @admin.display(description="Total params", ordering="total_params")
    def total(self, obj: ModelConfig) -> str:
        return format_html('<span title="{}">{}</span>', f"{obj.total_params:,}", obj.total_params_formatted)

    @admin.display(description="Active params", ordering="active_params", empty_value="—")
    def active(self, obj: ModelConfig) -> str | None:
        if obj.active_params is None:
            return None
        return format_html('<span title="{}">{}</span>', f"{obj.active_params:,}", obj.active_params_formatted)

    # ---- change form ---------------------------------------------------------------------------

    @admin.display(description="Total parameters")
    def total_params_display(self, obj: ModelConfig) -> str:
        return params(obj.total_params) if obj.pk else "computed on save"

    @admin.display(description="Active parameters")
    def active_params_display(self, obj: ModelConfig) -> str:
        return params(obj.active_params)

    def get_fieldsets(self, request: HttpRequest, obj: ModelConfig | None = None) -> Any:
        # Active parameters exist only for configs with routed experts: no empty row for the others.
        if obj is not None and obj.active_params is not None:
            return self.fieldsets
        return [
            (title, {**options, "fields": tuple(f for f in options["fields"] if f != "active_params_display")})
            for title, options in self.fieldsets
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ModelConfig | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk is not None and not add:
            # The saved config, not the instance a rejected POST has changed in memory.
            saved = selectors.config_with_layers(pk=obj.pk) if request.method == "POST" else obj
            if saved is not None:  # None: deleted by another write since the page's POST was read
                planning = request.method == "POST" and PLAN_UNSAVED in request.POST
                unsaved = self._unsaved_document(request, context) if planning else None
                plan_form = PlanForm(request.POST if planning else request.GET)
                context["plan"] = plan_panel(saved, plan_form, document=unsaved)
                # A page drawn from a POST (a plan, a refused save) shows values not saved: Plan posts them again.
                context["plan"]["posted"] = request.method == "POST"
                # The panel's GET form keeps the admin's own query parameters (_changelist_filters, _popup).
                context["plan"]["kept_query"] = [(k, v) for k, v in request.GET.items() if k.startswith("_")]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _unsaved_document(self, request: HttpRequest, context: dict[str, Any]) -> dict[str, Any] | None:
        """The document of a change form posted by the Plan button (PLAN_UNSAVED), None when it has errors."""
        for inline in context.get("inline_admin_formsets", ()):
            formset = inline.formset
            if isinstance(formset, LayerTypeFormSet) and formset.validation is not None and formset.validation.ok:
                assert formset.validation.config is not None  # a valid document is normalized
                if not context["adminform"].form.errors:
                    self.message_user(request, PLANNED_UNSAVED)
                    return formset.validation.config.to_document()
        self.message_user(request, PLANNED_SAVED, messages.WARNING)
        return None

    def get_readonly_fields(self, request: HttpRequest, obj: ModelConfig | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # The write path upserts by model_id (and derives it from hf_model_id): a rename would be a new config.
        return ("model_id", "hf_model_id", *readonly) if obj else readonly

    def save_model(self, request: HttpRequest, obj: ModelConfig, form: Any, change: bool) -> None:
        """Nothing here: the config and its layer types are written together in save_related()."""

    def save_related(self, request: HttpRequest, form: Any, formsets: list[Any], change: bool) -> None:
        """Write the document the forms describe in one config_upsert call (counts and history follow)."""
        formset = next((fs for fs in formsets if isinstance(fs, LayerTypeFormSet)), None)
        if formset is None:  # the inline's permissions follow the config's, so this is not reached
            raise PermissionDenied("Editing a config needs its layer types too.")
        obj = form.instance
        old_total, old_active = (obj.total_params, obj.active_params) if change else (None, None)
        try:
            result = services.config_upsert(
                data=formset.document,
                user=request.user,
                source=Source.ADMIN,
                model_id=obj.model_id if change else None,
                # The version the page was opened on; checked under the row lock (the form's clean() only read it).
                if_match=(form.cleaned_data.get("base_digest") or None) if change else None,
                must_exist=change,
                must_not_exist=not change,
            )
        except services.PreconditionFailed as exc:
            raise StaleSave(obj.model_id, deleted=exc.current is None, page=request.get_full_path()) from exc
        except services.ConfigRejected as exc:  # a config of the same id created meanwhile
            raise SaveRefused(f"Not saved: {exc}", request.get_full_path()) from exc
        saved = result.config
        obj.pk = saved.pk
        obj._state.adding = False
        for name in (
            "total_params",
            "total_params_formatted",
            "active_params",
            "active_params_formatted",
            "validated",
            "digest",
            "created",
            "updated",
        ):
            setattr(obj, name, getattr(saved, name))
        if result.validated_cleared:
            self.message_user(
                request,
                "No longer marked as checked against published figures: the parameter counts changed. "
                "Check them again, then mark it.",
                messages.WARNING,
            )
        if change and result.changed and old_total != saved.total_params:
            self.message_user(request, f"Total parameters: {params(old_total)} → {params(saved.total_params)}.")
        if change and result.changed and old_active != saved.active_params:
            self.message_user(request, f"Active parameters: {params(old_active)} → {params(saved.active_params)}.")
        for warning in result.validation.warnings:
            self.message_user(request, about(warning.loc, warning.msg), messages.WARNING)

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Iterable[BaseFormSet[Any]], add: bool = False
    ) -> list[dict[str, dict[str, list[str]]]]:
        # The inline formsets are not saved themselves (see save_related); history is in ConfigRevision.
        return super().construct_change_message(request, form, [], add)

    def delete_model(self, request: HttpRequest, obj: ModelConfig) -> None:
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            # One deleted by another write since the page was read is gone already, as asked.
            with contextlib.suppress(ModelConfig.DoesNotExist):
                services.config_delete(model_id=obj.model_id, user=request.user, source=Source.ADMIN)
