"""The config admin's history: every kept version with its diff, restore, deleted configs, recover."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from registry import selectors, services
from registry.admin.display import about, params
from registry.admin.pages import RevisionsAdmin, render_page
from registry.core.document import DIGEST_RE
from registry.forms import CompareForm, stale_message
from registry.models import ConfigRevision, ModelConfig
from registry.services import Source


class ConfigHistory(RevisionsAdmin):
    """The history, restore, deleted and recover pages of ModelConfigAdmin, and their URLs."""

    revisions_template = "admin/registry/modelconfig/revisions.html"

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("deleted/", self.admin_site.admin_view(self.deleted_view), name=f"{info}_deleted"),
            path(
                "deleted/<int:revision_id>/recover/",
                self.admin_site.admin_view(self.recover_view),
                name=f"{info}_recover",
            ),
            *super().get_urls(),
        ]

    def revisions(self, obj: ModelConfig) -> Iterable[ConfigRevision]:
        return selectors.revisions_of(obj.model_id)

    def revision(self, obj: ModelConfig, revision_id: int) -> ConfigRevision | None:
        return selectors.revision_of(obj.model_id, revision_id)

    def document(self, obj: ModelConfig) -> dict[str, Any]:
        return obj.to_document()

    def object_missing(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # Django's own answer to a missing object (a message, then the admin index): private, not in the stubs.
        return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]

    def history_context(self, request: HttpRequest, obj: ModelConfig, current: dict[str, Any]) -> dict[str, Any]:
        """The form comparing the config with another, and its comparison."""
        compare_form = CompareForm(request.GET if "compare" in request.GET else None, current=obj.model_id)
        comparison = compare_form.comparison(current) if compare_form.is_valid() else None
        return {"compare_form": compare_form, "comparison": comparison}

    def restore(self, request: HttpRequest, obj: ModelConfig, revision: ConfigRevision) -> HttpResponse:
        """Through the same validation as any save, over the version the history page was opened on only."""
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
        context = {"title": "Deleted model configs", "rows": rows, "can_recover": self.has_add_permission(request)}
        return render_page(self, request, "admin/registry/modelconfig/deleted.html", context)

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
            self.message_user(request, about(revision.model_id, f"not recovered: {listing}"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:registry_modelconfig_deleted"))
        self.message_user(request, about(revision.model_id, "recovered as it was before its deletion."))
        return HttpResponseRedirect(reverse("admin:registry_modelconfig_change", args=[result.config.pk]))
