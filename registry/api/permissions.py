"""Who may do what: reads public unless REGISTRY_READS_REQUIRE_AUTH; writes need the model permission."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions

from registry import conf


class CanRead(BasePermission):
    """Anyone, or only authenticated users when ``REGISTRY_READS_REQUIRE_AUTH`` is true."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return not conf.reads_require_auth() or bool(request.user and request.user.is_authenticated)


ADD, CHANGE = "registry.add_modelconfig", "registry.change_modelconfig"


class ConfigPermissions(DjangoModelPermissions):
    """Reads as ``CanRead``; POST, PATCH, DELETE need the add, change, delete permission, and a write that
    creates or replaces (PUT, a restore) add (to create) or change (to replace): ``require_create_or_replace``.

    A view marks a POST that writes nothing (``/models/validate``) with ``read_only_post = True``, and a
    POST that creates or replaces with ``creates_or_replaces = True``.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS or getattr(view, "read_only_post", False):
            return CanRead().has_permission(request, view)
        if request.method == "PUT" or getattr(view, "creates_or_replaces", False):
            # Either lets it in; the view asks for the one its target needs once it has read it.
            user = request.user
            return bool(user and user.is_authenticated) and (user.has_perm(ADD) or user.has_perm(CHANGE))
        return super().has_permission(request, view)


def require_create_or_replace(
    view: Any, request: Any, *, exists: bool, creating: str, replacing: str
) -> dict[str, bool]:
    """Deny (403) a write that would create a config (``exists`` false) without the add permission, or replace
    one without the change permission; ``creating``/``replacing`` name the act in the message.

    Returns the guards for the write (``must_exist``, ``must_not_exist``) that keep the permission checked
    true when another write creates or deletes the config in between: a user who may only replace does
    not create, one who may only create does not replace (the write fails instead: 404, 409).
    """
    user = request.user
    if exists and not user.has_perm(CHANGE):
        view.permission_denied(request, f"{replacing} needs the change permission.")
    if not exists and not user.has_perm(ADD):
        view.permission_denied(request, f"{creating} needs the add permission.")
    return {
        "must_exist": exists and not user.has_perm(ADD),
        "must_not_exist": not exists and not user.has_perm(CHANGE),
    }
