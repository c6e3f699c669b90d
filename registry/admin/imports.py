"""The config admin's import pages: config files, and a Hugging Face config.json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from registry import services
from registry.admin.pages import render_page
from registry.core.files import parse_config_bytes
from registry.forms import ImportForm, ImportHFForm
from registry.services import Source


class ConfigImports(admin.ModelAdmin):
    """The import pages of ModelConfigAdmin and their URLs."""

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info}_import"),
            path("import-hf/", self.admin_site.admin_view(self.import_hf_view), name=f"{info}_import_hf"),
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

    def _import_form_view(
        self,
        request: HttpRequest,
        form_class: type[forms.Form],
        run: Callable[[Any, Any], services.ImportReport],
        template: str,
        **extra: Any,
    ) -> HttpResponse:
        """An import page: its form, and on a valid POST the report of ``run(form, user)``, the import."""
        self._check_import_permission(request)
        report = None
        form = form_class(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            report = run(form, request.user)
            self._report_import(request, report, form.cleaned_data["dry_run"])
        context = {"form": form, "report": report, "has_view_permission": self.has_view_permission(request), **extra}
        return render_page(self, request, template, context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload config files: validated and written like loadconfigs, all of them or none, with a report."""
        return self._import_form_view(
            request, ImportForm, _import_files, "admin/registry/modelconfig/import.html", title="Import model configs"
        )

    def import_hf_view(self, request: HttpRequest) -> HttpResponse:
        """A Hugging Face config.json, uploaded or pasted: converted, validated and imported, with a report."""
        return self._import_form_view(
            request,
            ImportHFForm,
            _import_hf,
            "admin/registry/modelconfig/import_hf.html",
            title="Import a Hugging Face config.json",
            breadcrumb="Import Hugging Face config.json",
            source_label="Input",
        )


def _import_files(form: ImportForm, user: Any) -> services.ImportReport:
    items = []
    for upload in form.cleaned_data["files"]:
        data, error = parse_config_bytes(upload.read())
        name = PurePath(upload.name).name
        items.append(services.ImportItem(source=name, data=data, filename=name, read_error=error))
    return services.import_configs(
        items=items,
        recompute=form.cleaned_data["recompute"],
        dry_run=form.cleaned_data["dry_run"],
        user=user,
        source=Source.ADMIN,
    )


def _import_hf(form: ImportHFForm, user: Any) -> services.ImportReport:
    name, raw = form.source()
    config, error = parse_config_bytes(raw)
    source = services.HFSource(name, form.cleaned_data["hf_model_id"], config=config, read_error=error)
    return services.import_hf(
        sources=[source],
        dry_run=form.cleaned_data["dry_run"],
        replace=form.cleaned_data["replace"],
        user=user,
        source=Source.IMPORTHF,
    )
