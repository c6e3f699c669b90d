"""Who may do what: reads public unless REGISTRY_READS_REQUIRE_AUTH; writes need the model permission."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions

from registry import conf


def reads_require_auth() -> bool:
    """The setting, read at request time (so tests and deployments can change it)."""
    return conf.reads_require_auth()


class CanRead(BasePermission):
    """Anyone, or only authenticated users when ``REGISTRY_READS_REQUIRE_AUTH`` is true."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return not reads_require_auth() or bool(request.user and request.user.is_authenticated)


class ConfigPermissions(DjangoModelPermissions):
    """Reads as ``CanRead``; POST, PATCH, DELETE need the add, change, delete permission, and PUT
    add (to create) or change (to replace).

    A view marks a POST that writes nothing (``/models/validate``) with ``read_only_post = True``.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS or getattr(view, "read_only_post", False):
            return CanRead().has_permission(request, view)
        if request.method == "PUT":
            # PUT creates or replaces: add or change lets it in, the view asks for the one it needs.
            user = request.user
            return bool(user and user.is_authenticated) and (
                user.has_perm("registry.add_modelconfig") or user.has_perm("registry.change_modelconfig")
            )
        return super().has_permission(request, view)
