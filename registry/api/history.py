"""History API: a config's revisions (deleted configs too), a revision's document, restore; two configs compared."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from registry import conf
from registry.api import conditional
from registry.api.errors import Invalid
from registry.api.pagination import paginate
from registry.api.permissions import require_create_or_replace
from registry.api.schema import (
    IF_MATCH,
    IF_NONE_MATCH_WRITE,
    LIST_PARAMETERS,
    MODEL_ID,
    OTHER_MODEL_ID,
    READ_ERRORS,
    REVISION,
    VALIDATORS,
    errors,
)
from registry.api.serializers import (
    ConfigDiffSerializer,
    RevisionDetailSerializer,
    RevisionPageSerializer,
)
from registry.api.views import Document, RegistryAPIView, refuse_if_none_match
from registry.core import Code, Issue
from registry.core.counts import BIGINT_MAX
from registry.core.diff import changed_paths, compare, in_order
from registry.models import ConfigRevision
from registry.selectors import current_digest, documents_of, revision_of, revisions_of
from registry.services import Source, config_restore

PAGE_PARAMETERS = [p for p in LIST_PARAMETERS if p.name in ("limit", "offset")]


def revision_item(request: Any, revision: ConfigRevision) -> dict[str, Any]:
    # Usernames are for authenticated readers: an anonymous one gets null unless REGISTRY_HISTORY_SHOW_USERS.
    shown = request.user.is_authenticated or conf.history_shows_users_to_anonymous()
    return {
        "id": revision.pk,
        "action": revision.action,
        "source": revision.source,
        "user": revision.user.get_username() if revision.user is not None and shown else None,
        "created": serializers.DateTimeField().to_representation(revision.created),
        "changed": changed_paths(revision.before, revision.after),
        "url": request.build_absolute_uri(
            reverse("api:model-revision", kwargs={"model_id": revision.model_id, "revision": revision.pk})
        ),
    }


def get_revision(model_id: str, revision: str) -> ConfigRevision:
    found = None
    if int(revision) <= BIGINT_MAX:
        found = revision_of(model_id, int(revision))
    if found is None:
        raise exceptions.NotFound(f"No revision {revision} of model_id {model_id!r}.")
    return found


class HistoryListView(RegistryAPIView):
    """A config's history, newest first; a deleted config keeps its history."""

    query_params = {"get": ("limit", "offset")}

    @extend_schema(
        operation_id="models_history",
        summary="A config's history",
        description="Its revisions, newest first: what was done, by which source and user, when, and the paths "
        "of the values it changed. A deleted config's history stays readable; 404 only when no revision exists.",
        parameters=[MODEL_ID, *PAGE_PARAMETERS],
        responses={200: RevisionPageSerializer, **errors(400, 404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str) -> Any:
        paginator, page = paginate(revisions_of(model_id), request, self)
        if paginator.count == 0:
            raise exceptions.NotFound("No history for this model_id.")
        return paginator.get_paginated_response([revision_item(request, r) for r in page])


class RevisionDetailView(RegistryAPIView):
    """One revision with the document it left."""

    @extend_schema(
        operation_id="models_history_retrieve",
        summary="A config as it was",
        description="The revision's metadata and the document as it was after it (for a deletion, before it).",
        parameters=[MODEL_ID, REVISION],
        responses={200: RevisionDetailSerializer, **errors(404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str, revision: str) -> Any:
        found = get_revision(model_id, revision)
        document = found.after if found.after is not None else found.before
        assert document is not None  # a revision keeps the document after it, or for a deletion the one before
        return Response({**revision_item(request, found), "document": in_order(document)})


class RevisionRestoreView(RegistryAPIView):
    """Write a revision's document back."""

    creates_or_replaces = True  # ConfigPermissions: add or change lets it in; the view asks for the one it needs

    @extend_schema(
        operation_id="models_history_restore",
        summary="Restore a config as it was",
        description="Writes the revision's document (as GET of the revision gives it) back through validation, "
        "recorded as 'restored': 200, or 201 when it re-creates a deleted config (needs the add permission; "
        "otherwise the change permission). If-Match must name the current ETag (428 without it, 412 when stale); "
        "for a deleted config it must be absent (412 otherwise). A version that breaks today's rules is a 400 and "
        "writes nothing.",
        parameters=[MODEL_ID, REVISION, IF_MATCH, IF_NONE_MATCH_WRITE, *VALIDATORS],
        request=None,
        # No body is read (request=None): never a 413 or 415.
        responses={200: Document, 201: Document, **errors(400, 401, 403, 404, 406, 409, 412, 428, 429)},
    )
    def post(self, request: Any, model_id: str, revision: str) -> Any:
        found = get_revision(model_id, revision)
        current = current_digest(model_id=model_id)
        guards = require_create_or_replace(
            self,
            request,
            exists=current is not None,
            creating="Re-creating a deleted config",
            replacing="Restoring a config",
        )
        refuse_if_none_match(request, current)
        if current is not None and "HTTP_IF_MATCH" not in request.META:
            # Without it a restore would overwrite whatever was written since the caller looked (lost update).
            raise Invalid(
                [
                    Issue(
                        "header.If-Match",
                        Code.PRECONDITION_REQUIRED,
                        "expected If-Match with the config's current ETag: a restore replaces the stored version",
                    )
                ],
                status_code=status.HTTP_428_PRECONDITION_REQUIRED,
            )
        result = config_restore(
            revision=found,
            user=request.user,
            source=Source.API,
            if_match=conditional.if_match(request, current),
            must_exist=guards["must_exist"],
            must_not_exist=guards["must_not_exist"] or conditional.if_none_match_any(request),
        )
        return self.written(request, result)


class ConfigDiffView(RegistryAPIView):
    """Two stored configs compared (registry.core.diff.compare)."""

    @extend_schema(
        operation_id="models_diff",
        summary="Compare two configs",
        description="How other_model_id (b) differs from model_id (a): top-level values, layer types matched by "
        "name (added, removed, changed with their spec differences and parameter deltas), total_params and, "
        "when either has routed experts, active_params. 404 names each model_id not stored.",
        parameters=[MODEL_ID, OTHER_MODEL_ID],
        responses={200: ConfigDiffSerializer, **errors(404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str, other_model_id: str) -> Any:
        ids = (model_id, other_model_id)
        documents = documents_of(ids)
        missing = [i for i in dict.fromkeys(ids) if i not in documents]
        if missing:
            raise Invalid(
                [Issue("$", Code.NOT_FOUND, f"no config with model_id {i!r}") for i in missing], status_code=404
            )
        return Response({"a": model_id, "b": other_model_id, **compare(documents[model_id], documents[other_model_id])})
