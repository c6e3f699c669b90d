"""The config admin's history: every kept version with its diff, restore, deleted configs, recover."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from registry import selectors, services
from registry.admin.display import about, params
from registry.core.diff import flat_diff
from registry.core.document import DIGEST_RE
from registry.forms import CompareForm, stale_message
from registry.models import ConfigRevision, ModelConfig
from registry.services import Source


class ConfigHistory(admin.ModelAdmin):
    """The history, restore, deleted and recover pages of ModelConfigAdmin, and their URLs."""

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
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
            self.message_user(request, about(revision.model_id, f"not recovered: {listing}"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:registry_modelconfig_deleted"))
        self.message_user(request, about(revision.model_id, "recovered as it was before its deletion."))
        return HttpResponseRedirect(reverse("admin:registry_modelconfig_change", args=[result.config.pk]))
