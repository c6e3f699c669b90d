"""Staff editing of configs: typed spec fields, derived counts that follow, import/export and history."""

from __future__ import annotations

import contextlib
import io
import math
import zipfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms.formsets import BaseFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from registry import selectors, services
from registry.core import CountError, catalogue, dumps, format_params
from registry.core.diff import flat_diff
from registry.core.document import DIGEST_RE
from registry.core.files import parse_config_bytes
from registry.core.planning import DTYPE_BITS, Deployment, Plan, plan_config
from registry.forms import (
    CompareForm,
    ImportForm,
    ImportHFForm,
    LayerTypeForm,
    LayerTypeFormSet,
    ModelConfigForm,
    PlanForm,
    stale_message,
)
from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.services import Source

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LayerTypeCount(TypedDict):
    """The changelist's annotation (ModelConfigAdmin.get_queryset)."""

    layer_type_count: int


HF_URL = "https://huggingface.co/{}"
# The plan chart's contexts: from 1k tokens (an eighth of a shorter context) up to the config's, two per doubling.
CHART_START = 1024
CHART_DEFAULT_CONTEXT = 131072  # for a config that gives no context length
CHART_POINTS_PER_DOUBLING = 2


def params(value: int | None) -> str:
    """``70553706496`` as "70.6B (70,553,706,496)"."""
    if value is None:
        return "-"
    return f"{format_params(value)} ({value:,})"


def byte_size(value: int | None) -> dict[str, Any] | None:
    """``141107412992`` as ``{"bytes": ..., "human": "141.11 GB", "exact": "141,107,412,992 bytes"}``.

    Powers of 1000, as device makers and the plan command write them.
    """
    if value is None:
        return None
    human = f"{value:,} B"
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if value >= size:
            human = f"{value / size:,.2f} {unit}"
            break
    return {"bytes": value, "human": human, "exact": f"{value:,} bytes"}


def _weight_bytes(plan: Plan) -> int | None:
    """The whole model's weights of a plan, None when it has errors."""
    return plan.outputs.weight_bytes if plan.outputs is not None else None


def chart_contexts(top: int) -> list[int]:
    """Log-spaced context lengths ending at ``top``."""
    start = CHART_START if top >= 8 * CHART_START else max(1, top // 8)
    steps = max(1, math.ceil(CHART_POINTS_PER_DOUBLING * math.log2(top / start)))
    return sorted({round(start * (top / start) ** (i / steps)) for i in range(steps + 1)})


def plan_panel(config: ModelConfig, form: PlanForm) -> dict[str, Any]:
    """The Plan panel of a config's page: whole-model weights per dtype, KV cache per token, the chart's series.

    Every figure is the core's (plan_config); the chart is a plan per context length, so sliding windows
    and rounding show as the core counts them.
    """
    document = config.to_document()
    context_length = document.get("max_position_embeddings")
    by_dtype = {dtype: plan_config(document, Deployment(dtype=dtype)) for dtype in DTYPE_BITS}
    bf16 = by_dtype["bf16"].outputs
    panel: dict[str, Any] = {
        "form": form,
        "context_length": context_length,
        "weights": [(dtype, byte_size(_weight_bytes(p))) for dtype, p in by_dtype.items()],
        "kv_per_token": byte_size(bf16.kv_cache.bytes_per_token if bf16 is not None else None),
        "state_per_sequence": byte_size(bf16.kv_cache.state_bytes_per_sequence if bf16 is not None else None),
        "cache_rules": [(row.name, row.cache_rule) for row in by_dtype["bf16"].layers],
        "chart_context": context_length or CHART_DEFAULT_CONTEXT,
        "context_text": f"{context_length:,} tokens"
        if context_length
        else f"not given (the chart goes to {CHART_DEFAULT_CONTEXT:,} tokens)",
        "issues": [],
        "chart": None,
    }
    deployment = form.deployment
    if deployment is None:
        return panel
    top = plan_config(document, replace(deployment, context=panel["chart_context"]))
    contexts = chart_contexts(panel["chart_context"])
    # The fit (usable memory, max_context) is the top plan's; the points skip its max_context search.
    points = [plan_config(document, replace(deployment, context=n, device_memory=None)) for n in contexts]
    issues = list(dict.fromkeys(i.msg for plan in (top, *points) for i in plan.errors))
    if issues:
        panel["issues"] = issues
        return panel
    devices = [plan.outputs.device for plan in points if plan.outputs is not None]
    fit = top.outputs.fit if top.outputs is not None else None
    assert fit is not None  # the form always asks for a device
    panel["notes"] = top.notes
    panel["usable"] = byte_size(fit.usable_bytes)
    panel["device_memory"] = byte_size(fit.device_memory)
    panel["max_context_text"] = _max_context_text(fit.max_context)
    panel["chart"] = {
        "model_id": config.model_id,
        "device": form.cleaned_data["device"],
        "tp": deployment.tp,
        "dtype": deployment.dtype,
        "kv_dtype": deployment.kv_dtype,
        "batch": deployment.batch,
        "device_memory": fit.device_memory,
        "usable_bytes": fit.usable_bytes,
        "utilization": deployment.utilization,
        "fits": fit.fits,
        "max_context": fit.max_context,
        "contexts": contexts,
        "weight_bytes": [d.weight_bytes for d in devices],
        "kv_cache_bytes": [d.kv_cache_bytes for d in devices],
        "total_bytes": [d.total_bytes for d in devices],
    }
    return panel


def _max_context_text(tokens: int | None) -> str:
    if tokens is None:
        return "unbounded (every layer's cache is bounded: sliding windows, chunks, per-sequence states)"
    if tokens == 0:
        return "none (the weights alone exceed the usable memory)"
    return f"{tokens:,} tokens"


class StaleSave(Exception):
    """The config changed (or was deleted) between the form's check and its save; nothing was written."""

    def __init__(self, model_id: str, *, deleted: bool) -> None:
        super().__init__(model_id)
        self.model_id = model_id
        self.deleted = deleted


class LayerClassFilter(admin.SimpleListFilter):
    """Configs having at least one layer type of a catalogue class."""

    title = "layer class"
    parameter_name = "layer_class"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in catalogue.names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        class_name = self.value()
        if class_name:
            return selectors.with_layer_class(queryset, class_name)
        return queryset


class LayerTypeInline(admin.TabularInline):
    model = LayerType
    form = LayerTypeForm
    formset = LayerTypeFormSet
    template = "admin/registry/modelconfig/layer_types_inline.html"
    fields = ("position", "name", "class_name", "count", "per_layer", "subtotal")
    readonly_fields = ("per_layer", "subtotal")
    extra = 0

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


@admin.register(ModelConfig)
class ModelConfigAdmin(admin.ModelAdmin):
    form = ModelConfigForm
    inlines = [LayerTypeInline]
    list_display = ("model_id", "name", "hf_link", "layer_type_count", "total", "active", "validated", "updated")
    list_filter = (LayerClassFilter, "validated")
    search_fields = ("model_id", "hf_model_id", "name")
    actions = ("recompute_counts", "run_checks", "mark_validated", "unmark_validated", "export_json")
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
        ("Curation", {"fields": ("validated", "validation_notes")}),
        ("Record", {"classes": ("collapse",), "fields": ("digest", "created", "updated")}),
    )

    # ---- changelist ----------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(layer_type_count=Count("layer_types"))

    @admin.display(description="Hugging Face model", ordering="hf_model_id")
    def hf_link(self, obj: ModelConfig) -> str:
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
                context["plan"] = plan_panel(saved, PlanForm(request.GET))
                # The panel's GET form keeps the admin's own query parameters (_changelist_filters, _popup).
                context["plan"]["kept_query"] = [(k, v) for k, v in request.GET.items() if k.startswith("_")]
        return super().render_change_form(request, context, add, change, form_url, obj)

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
            raise StaleSave(obj.model_id, deleted=exc.current is None) from exc
        saved = result.config
        obj.pk = saved.pk
        obj._state.adding = False
        for name in (
            "total_params",
            "total_params_formatted",
            "active_params",
            "active_params_formatted",
            "digest",
            "created",
            "updated",
        ):
            setattr(obj, name, getattr(saved, name))
        if change and result.changed and old_total != saved.total_params:
            self.message_user(request, f"Total parameters: {params(old_total)} → {params(saved.total_params)}.")
        if change and result.changed and old_active != saved.active_params:
            self.message_user(request, f"Active parameters: {params(old_active)} → {params(saved.active_params)}.")
        for warning in result.validation.warnings:
            self.message_user(request, _about(warning.loc, warning.msg), messages.WARNING)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Django runs the whole save in one transaction: a write refused at save time leaves it by an
        # exception, so nothing of this save (nor its LogEntry) is kept, and the user gets a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleSave as exc:
            self.message_user(request, stale_message(exc.model_id, shown_again=not exc.deleted), messages.ERROR)
            if exc.deleted:
                return HttpResponseRedirect(reverse("admin:registry_modelconfig_changelist"))
            return HttpResponseRedirect(request.get_full_path())
        except services.ConfigRejected as exc:  # a config of the same id created meanwhile
            listing = str(exc)
            self.message_user(request, f"Not saved: {listing}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

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

    # ---- actions -------------------------------------------------------------------------------

    @admin.action(description="Recompute derived counts", permissions=["change"])
    def recompute_counts(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            recounts = services.recompute_counts(config_ids=ids, user=request.user, source=Source.ADMIN)
        except CountError as exc:
            self.message_user(request, f"Nothing recomputed: {exc}", messages.ERROR)
            return
        if not recounts:
            self.message_user(request, f"The derived counts of the {len(ids)} selected configs were up to date.")
        for recount in recounts:
            self.message_user(
                request, _about(recount.model_id, f"total {params(recount.old_total)} → {params(recount.new_total)}")
            )

    @admin.action(description="Run the checks (write their findings to the notes)", permissions=["change"])
    def run_checks(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        outcomes = services.config_run_checks(config_ids=ids, user=request.user, source=Source.ADMIN)
        Outcome = services.Outcome
        for done in outcomes:
            if done.outcome is Outcome.REJECTED:
                listing = _listing(done.errors)
                self.message_user(
                    request, _about(done.model_id, f"not written, fix it in its form: {listing}"), messages.ERROR
                )
            elif done.recomputed and done.outcome in (Outcome.WRITTEN, Outcome.UNCHANGED):
                listing = _listing(done.recomputed)
                self.message_user(
                    request, _about(done.model_id, f"stale derived values recomputed: {listing}"), messages.WARNING
                )
        self._report_left_alone(request, outcomes)
        passed = sum(1 for d in outcomes if d.outcome in (Outcome.WRITTEN, Outcome.UNCHANGED))
        failed = sum(1 for d in outcomes if d.outcome is Outcome.REJECTED)
        summary = f"Ran the checks on {len(outcomes)} configs: {passed} passed, {failed} with errors"
        left = len(outcomes) - passed - failed
        self.message_user(request, f"{summary}, {left} left alone." if left else f"{summary}.")

    @admin.action(description="Mark as checked against published figures", permissions=["change"])
    def mark_validated(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_validated(request, queryset, validated=True)

    @admin.action(description="Unmark as checked against published figures", permissions=["change"])
    def unmark_validated(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_validated(request, queryset, validated=False)

    def _set_validated(self, request: HttpRequest, queryset: QuerySet, *, validated: bool) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        outcomes = services.config_mark_validated(
            config_ids=ids, validated=validated, user=request.user, source=Source.ADMIN
        )
        verb = "marked" if validated else "unmarked"
        for done in outcomes:
            if done.outcome is services.Outcome.REJECTED:
                listing = _listing(done.errors)
                self.message_user(
                    request,
                    _about(done.model_id, f"not {verb}, it breaks the rules (run the checks or fix it): {listing}"),
                    messages.ERROR,
                )
        self._report_left_alone(request, outcomes)
        written = sum(1 for d in outcomes if d.outcome is services.Outcome.WRITTEN)
        already = sum(1 for d in outcomes if d.outcome is services.Outcome.UNCHANGED)
        summary = f"{verb.capitalize()} {written} configs as checked against published figures"
        if already:
            summary += f" ({already} already {'were' if validated else 'were not'})"
        self.message_user(request, f"{summary}.")

    def _report_left_alone(self, request: HttpRequest, outcomes: list[services.ConfigOutcome]) -> None:
        """One warning per config changed or deleted by another write while the action ran."""
        for done in outcomes:
            if done.outcome is services.Outcome.CHANGED:
                text = "changed by another write meanwhile, so left alone: run the action on it again"
            elif done.outcome is services.Outcome.GONE and done.model_id is not None:
                text = "deleted meanwhile, so left alone (not re-created)"
            elif done.outcome is services.Outcome.GONE:
                self.message_user(request, "A selected config was deleted meanwhile and left alone.", messages.WARNING)
                continue
            else:
                continue
            self.message_user(request, _about(done.model_id, text), messages.WARNING)

    @admin.action(description="Export as JSON", permissions=["view"])
    def export_json(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        configs = list(selectors.with_layers(queryset).order_by("model_id"))
        if len(configs) == 1:
            response = HttpResponse(dumps(configs[0].to_document()), content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = _attachment(f"{configs[0].model_id}.json")
            return response
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for config in configs:
                archive.writestr(f"{config.model_id}.json", dumps(config.to_document()))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = _attachment("model-configs.zip")
        return response

    # ---- import and history views --------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info}_import"),
            path("import-hf/", self.admin_site.admin_view(self.import_hf_view), name=f"{info}_import_hf"),
            path("deleted/", self.admin_site.admin_view(self.deleted_view), name=f"{info}_deleted"),
            path(
                "deleted/<int:revision_id>/recover/",
                self.admin_site.admin_view(self.recover_view),
                name=f"{info}_recover",
            ),
            path(
                "<path:object_id>/history/<int:revision_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name=f"{info}_restore",
            ),
            *super().get_urls(),
        ]

    def _check_import_permission(self, request: HttpRequest) -> None:
        # An import creates some configs and updates others: it needs both permissions.
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied

    def _report_import(self, request: HttpRequest, report: services.ImportReport, dry_run: bool) -> None:
        summary = report.summary()
        if not report.ok:
            self.message_user(request, f"Nothing was written: {summary}.", messages.ERROR)
        elif dry_run:
            self.message_user(request, f"Dry run, nothing written: {summary}.", messages.WARNING)
        else:
            self.message_user(request, f"Imported: {summary}.")

    def _import_page(self, request: HttpRequest, template: str, form: Any, report: Any, **extra: Any) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "report": report,
            "has_view_permission": self.has_view_permission(request),
            **extra,
        }
        return TemplateResponse(request, template, context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload config files: validated and written like loadconfigs, all of them or none, with a report."""
        self._check_import_permission(request)
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            items = []
            for upload in form.cleaned_data["files"]:
                data, error = parse_config_bytes(upload.read())
                name = PurePath(upload.name).name
                items.append(services.ImportItem(source=name, data=data, filename=name, read_error=error))
            report = services.import_configs(
                items=items,
                recompute=form.cleaned_data["recompute"],
                dry_run=form.cleaned_data["dry_run"],
                user=request.user,
                source=Source.ADMIN,
            )
            self._report_import(request, report, form.cleaned_data["dry_run"])
        return self._import_page(
            request, "admin/registry/modelconfig/import.html", form, report, title="Import model configs"
        )

    def import_hf_view(self, request: HttpRequest) -> HttpResponse:
        """A Hugging Face config.json, uploaded or pasted: converted, validated and imported, with a report."""
        self._check_import_permission(request)
        report = None
        form = ImportHFForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            name, raw = form.source()
            config, error = parse_config_bytes(raw)
            hf_model_id = form.cleaned_data["hf_model_id"]
            source = services.HFSource(name, hf_model_id, config=config, read_error=error)
            report = services.import_hf(
                sources=[source],
                dry_run=form.cleaned_data["dry_run"],
                replace=form.cleaned_data["replace"],
                user=request.user,
                source=Source.IMPORTHF,
            )
            self._report_import(request, report, form.cleaned_data["dry_run"])
        return self._import_page(
            request,
            "admin/registry/modelconfig/import_hf.html",
            form,
            report,
            title="Import a Hugging Face config.json",
            breadcrumb="Import Hugging Face config.json",
            source_label="Input",
        )

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        """Every kept version of the config: who, when, how, and what changed; each one restorable."""
        obj = self.get_object(request, object_id)
        if obj is None:
            # Django's own answer to a missing object (a message, then the admin index): private, not in the stubs.
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        current = obj.to_document()
        revisions = []
        found_current = False
        # Newest first: the current version is the latest write that produced it, never a deletion,
        # and not an older write that happened to produce the same document.
        for revision in selectors.revisions_of(obj.model_id):
            is_current = not found_current and revision.after is not None and revision.after == current
            found_current = found_current or is_current
            revisions.append(
                {
                    "revision": revision,
                    "diff": flat_diff(revision.before, revision.after),
                    "current": is_current,
                }
            )
        compare_form = CompareForm(request.GET if "compare" in request.GET else None, current=obj.model_id)
        comparison = compare_form.comparison(current) if compare_form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "revisions": revisions,
            "compare_form": compare_form,
            "comparison": comparison,
            "can_restore": self.has_change_permission(request, obj),
            "has_view_permission": True,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/registry/modelconfig/revisions.html", context)

    def restore_view(self, request: HttpRequest, object_id: str, revision_id: int) -> HttpResponse:
        """Write a past version back through the same validation as any save (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None:
            # As in history_view: Django's private answer to a missing object.
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        revision = selectors.revision_of(obj.model_id, revision_id)
        if revision is None:
            raise Http404(f"No revision {revision_id} of {obj.model_id}.")
        base = request.POST.get("base_digest", "")
        if not DIGEST_RE.fullmatch(base):
            # Not the history page's own form (it always sends the digest it showed): no blind overwrite.
            self.message_user(
                request, "Nothing was restored: use the Restore button of the history page.", messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:registry_modelconfig_history", args=[obj.pk]))
        try:
            result = services.config_restore(
                revision=revision,
                user=request.user,
                source=Source.ADMIN,
                # The version the history page was opened on: a restore over a later write is refused, and a
                # config deleted meanwhile is not re-created here (Deleted configs → Recover does that).
                if_match=base,
                must_exist=True,
            )
        except (services.PreconditionFailed, ModelConfig.DoesNotExist) as exc:
            gone = isinstance(exc, ModelConfig.DoesNotExist) or exc.current is None
            text = stale_message(obj.model_id, shown_again=True, outcome="nothing was restored")
            self.message_user(request, text, messages.ERROR)
            if gone:  # recovering it is the Deleted configs page's
                return HttpResponseRedirect(reverse("admin:registry_modelconfig_deleted"))
        except services.ConfigRejected as exc:
            listing = str(exc)
            self.message_user(request, f"Not restored, the version breaks the rules: {listing}", messages.ERROR)
        else:
            when = f"{revision.created:%Y-%m-%d %H:%M:%S}"
            if result.changed:
                self.message_user(request, f"Restored the version of {when}.")
            else:
                self.message_user(request, f"The version of {when} is the current one; nothing changed.")
        return HttpResponseRedirect(reverse("admin:registry_modelconfig_history", args=[obj.pk]))

    def deleted_view(self, request: HttpRequest) -> HttpResponse:
        """The configs whose latest revision is a deletion: when, by whom, and a Recover button."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rows = []
        for revision in selectors.deleted_revisions():
            before = revision.before
            assert before is not None  # a deletion keeps the document it removed
            rows.append({"revision": revision, "name": before.get("name"), "total": params(before.get("total_params"))})
        context = {
            **self.admin_site.each_context(request),
            "title": "Deleted model configs",
            "subtitle": None,
            "opts": self.opts,
            "rows": rows,
            "can_recover": self.has_add_permission(request),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/registry/modelconfig/deleted.html", context)

    def recover_view(self, request: HttpRequest, revision_id: int) -> HttpResponse:
        """Re-create a deleted config from its deletion's document, through the write path (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        revision = get_object_or_404(ConfigRevision, pk=revision_id, action=ConfigRevision.Action.DELETED)
        try:
            # must_not_exist: a config re-created meanwhile is not overwritten by an older document.
            result = services.config_restore(
                revision=revision, user=request.user, source=Source.ADMIN, must_not_exist=True
            )
        except services.ConfigRejected as exc:
            listing = str(exc)
            self.message_user(request, _about(revision.model_id, f"not recovered: {listing}"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:registry_modelconfig_deleted"))
        self.message_user(request, _about(revision.model_id, "recovered as it was before its deletion."))
        return HttpResponseRedirect(reverse("admin:registry_modelconfig_change", args=[result.config.pk]))


def _attachment(filename: str) -> str:
    """The Content-Disposition header of a download named ``filename``."""
    header = content_disposition_header(True, filename)
    assert header is not None  # None only when neither an attachment nor a filename
    return header


def _listing(issues: Any) -> str:
    """Issues as one line, as ``ConfigRejected`` gives them."""
    return "; ".join(str(i) for i in issues)


def _about(subject: str | None, text: str) -> str:
    """A message about an id or a path, which must keep its case (the admin capitalizes messages).

    ``subject`` is an outcome's model_id, None only for a config gone before the selection was read.
    """
    return format_html("<code>{}</code>: {}", subject, text)
