"""The config changelist's actions: recompute, run the checks, (un)mark validated, export as JSON."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header

from registry import selectors, services
from registry.admin.display import about, params
from registry.core import CountError, dumps
from registry.services import Source


class ConfigActions(admin.ModelAdmin):
    """The actions of ModelConfigAdmin (listed in its ``actions``)."""

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
                request, about(recount.model_id, f"total {params(recount.old_total)} → {params(recount.new_total)}")
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
                    request, about(done.model_id, f"not written, fix it in its form: {listing}"), messages.ERROR
                )
            elif done.recomputed and done.outcome in (Outcome.WRITTEN, Outcome.UNCHANGED):
                listing = _listing(done.recomputed)
                self.message_user(
                    request, about(done.model_id, f"stale derived values recomputed: {listing}"), messages.WARNING
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
                    about(done.model_id, f"not {verb}, it breaks the rules (run the checks or fix it): {listing}"),
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
            self.message_user(request, about(done.model_id, text), messages.WARNING)

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


def _attachment(filename: str) -> str:
    """The Content-Disposition header of a download named ``filename``."""
    header = content_disposition_header(True, filename)
    assert header is not None  # None only when neither an attachment nor a filename
    return header


def _listing(issues: Any) -> str:
    """Issues as one line, as ``ConfigRejected`` gives them."""
    return "; ".join(str(i) for i in issues)
