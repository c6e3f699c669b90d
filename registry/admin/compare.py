"""The config admin's side-by-side page: 2 to MAX_COMPARED configs, and the changelist action that opens it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from registry.admin.pages import render_page
from registry.core.diff import MAX_COMPARED
from registry.forms import SideBySideForm


def _row(label: str, values: list[Any], differs: bool | None = None) -> dict[str, Any]:
    same = all(v == values[0] for v in values)
    return {"label": label, "values": values, "differs": (not same) if differs is None else differs}


def sections(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparison as titled tables of rows, each ``{"label", "values", "differs"}``, for the template."""
    totals = [_row("total_params", comparison["total_params"])]
    if "active_params" in comparison:
        totals.append(_row("active_params", comparison["active_params"]))
    out = [
        {"title": "Parameters", "rows": totals},
        {
            "title": "Top-level values",
            "rows": [_row(r["key"], r["values"], r["differs"]) for r in comparison["values"]],
        },
    ]
    for layer in comparison["layer_types"]:
        rows = [_row(field, layer[field]) for field in ("class", "count", "parameter_count", "subtotal")]
        rows += [_row(f"specs.{r['key']}", r["values"], r["differs"]) for r in layer["specs"]]
        out.append({"title": f"Layer type {layer['name']}", "rows": rows, "differs": layer["differs"]})
    return out


class ConfigCompare(admin.ModelAdmin):
    """The compare page of ModelConfigAdmin, its URL and its action."""

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("compare/", self.admin_site.admin_view(self.compare_view), name=f"{info}_compare"),
            *super().get_urls(),
        ]

    @admin.action(description=f"Compare side by side (2 to {MAX_COMPARED})", permissions=["view"])
    def compare_side_by_side(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        ids = list(queryset.order_by("model_id").values_list("model_id", flat=True)[: MAX_COMPARED + 1])
        if not 2 <= len(ids) <= MAX_COMPARED:
            self.message_user(request, f"Select 2 to {MAX_COMPARED} configs to compare.", messages.WARNING)
            return None
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_compare")
        return HttpResponseRedirect(f"{url}?{urlencode({'model_ids': ','.join(ids)})}")

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        """Every value of the configs named in ``?model_ids=``, one column each, rows that differ marked."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = SideBySideForm(request.GET if "model_ids" in request.GET else None)
        comparison = form.comparison() if form.is_valid() else None
        context = {
            "title": "Compare model configs",
            "form": form,
            "comparison": comparison,
            "sections": sections(comparison) if comparison else [],
            "columns": [
                (model_id, reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[model_id]))
                for model_id in (comparison["model_ids"] if comparison else [])
            ],
        }
        return render_page(self, request, "admin/registry/modelconfig/compare.html", context)
