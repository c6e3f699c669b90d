"""The config admin's import pages: config files, and a Hugging Face config.json."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from registry import services
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
