"""The registry's own admin pages: their common context, the history with restore of configs and devices, and a
change form whose save the write path may refuse."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from registry.core.diff import flat_diff


def render_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, template: str, context: dict[str, Any]
) -> HttpResponse:
    """A page of ``model_admin`` beside Django's own: the admin site's context and the model's options, then
    ``context`` (its ``title`` at least)."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "subtitle": None,
            "opts": model_admin.opts,
            "has_view_permission": True,
            **context,
        },
    )


def revision_rows(revisions: Iterable[Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """The history page's rows, newest first: each revision, its diff, and whether it is the current version.

    The current version is the latest write that produced the stored document, never a deletion, and not an older
    write that happened to produce the same document.
    """
    rows, found = [], False
    for revision in revisions:
        is_current = not found and revision.after is not None and revision.after == current
        found = found or is_current
        rows.append({"revision": revision, "diff": flat_diff(revision.before, revision.after), "current": is_current})
    return rows


class RevisionsAdmin(admin.ModelAdmin):
    """A history page listing every kept version of an object with its diff, and a Restore view per version.

    A subclass says how its objects' revisions are read (``revisions``, ``revision``), what the stored document is
    (``document``), how a missing object is answered (``object_missing``) and how a version is written back
    (``restore``).
    """

    revisions_template = "admin/registry/revisions.html"

    def revisions(self, obj: Any) -> Iterable[Any]:
        """The object's revisions, newest first, with their users."""
        raise NotImplementedError

    def revision(self, obj: Any, revision_id: int) -> Any | None:
        """Revision ``revision_id`` of the object, or None."""
        raise NotImplementedError

    def document(self, obj: Any) -> dict[str, Any]:
        """The object's stored document, as its revisions keep it."""
        raise NotImplementedError

    def object_missing(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The answer to a history or restore URL of an object that does not exist."""
        raise Http404(f"No {self.opts.verbose_name} {object_id}.")

    def restore(self, request: HttpRequest, obj: Any, revision: Any) -> HttpResponse:
        """Write ``revision`` back (the user may change ``obj``) and answer with a redirect."""
        raise NotImplementedError

    def history_context(self, request: HttpRequest, obj: Any, current: dict[str, Any]) -> dict[str, Any]:
        """More for the history page's template."""
        return {}

    def get_urls(self) -> list[Any]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/history/<int:revision_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name=f"{info}_restore",
            ),
            *super().get_urls(),
        ]

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        """Every kept version of the object: who, when, how, and what changed; each one restorable."""
        obj = self.get_object(request, object_id)
        if obj is None:
            return self.object_missing(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        current = self.document(obj)
        context = {
            "title": f"History: {obj}",
            "object": obj,
            "revisions": revision_rows(self.revisions(obj), current),
            "can_restore": self.has_change_permission(request, obj),
            **self.history_context(request, obj, current),
            **(extra_context or {}),
        }
        return render_page(self, request, self.revisions_template, context)

    def restore_view(self, request: HttpRequest, object_id: str, revision_id: int) -> HttpResponse:
        """Write a past version back through the object's write path (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None:
            return self.object_missing(request, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        revision = self.revision(obj, revision_id)
        if revision is None:
            raise Http404(f"No revision {revision_id} of {obj}.")
        return self.restore(request, obj, revision)


class SaveRefused(Exception):
    """A save the write path refused after the form passed (a concurrent write): ``message()`` is shown, then
    ``url``."""

    def __init__(self, text: str, url: str) -> None:
        super().__init__(text)
        self.url = url

    def message(self) -> str:
        """What the user is told; read once the save's transaction is undone."""
        return str(self)


class WritePathAdmin(admin.ModelAdmin):
    """A change form saved through a service, whose refusal at save time (``SaveRefused``) becomes a message."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Django runs the whole save in one transaction: a write refused at save time leaves it by an
        # exception, so nothing of this save (nor its LogEntry) is kept, and the user gets a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRefused as exc:
            self.message_user(request, exc.message(), messages.ERROR)
            return HttpResponseRedirect(exc.url)
