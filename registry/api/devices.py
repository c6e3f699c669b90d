"""The device catalogue over HTTP: ``/devices/`` (paginated, filtered, ordered) and ``/devices/{name}`` (a name or
an alias): every figure with its source and date; writes with If-Match through ``registry.services.devices``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.response import Response

from registry.api import conditional
from registry.api.errors import Invalid
from registry.api.filters import IntegerFilter
from registry.api.pagination import paginate
from registry.api.permissions import CanRead
from registry.api.schema import IF_MATCH, IF_NONE_MATCH, NOT_MODIFIED, READ_ERRORS, errors, path_parameter
from registry.api.views import RegistryAPIView
from registry.core import Code, Issue
from registry.core.device_documents import device_document
from registry.core.devices import load_devices
from registry.models import Device, DeviceName
from registry.services.devices import DeviceSource, device_delete, device_patch, device_upsert, document_of

ORDERING = ("position", "name", "vendor", "memory_bytes", "price_per_hour")


def _example() -> dict[str, Any]:
    try:
        return device_document(next(iter(load_devices())))
    except (ValueError, StopIteration):  # the schema is still served without the fixture
        return {"name": "H100-SXM"}


class DeviceFilterSet(django_filters.FilterSet):
    """The list's filters; a bad value is a 400."""

    search = django_filters.CharFilter(
        method="filter_search", max_length=64, help_text="Substring of a device's name, alias or vendor."
    )
    vendor = django_filters.CharFilter(field_name="vendor", lookup_expr="iexact", max_length=1000)
    min_memory_bytes = IntegerFilter(field_name="memory_bytes", lookup_expr="gte")
    max_memory_bytes = IntegerFilter(field_name="memory_bytes", lookup_expr="lte")
    max_price_per_hour = django_filters.NumberFilter(field_name="price_per_hour", lookup_expr="lte", min_value=0)
    ordering = django_filters.OrderingFilter(fields=[(f, f) for f in ORDERING])

    class Meta:
        model = Device
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        named = DeviceName.objects.filter(device=OuterRef("pk"), key__icontains=value)
        return queryset.filter(Q(vendor__icontains=value) | Exists(named))


LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Substring of a device's name, alias or vendor."),
    OpenApiParameter("vendor", str, description="The maker, any case (NVIDIA, AMD, Google, Intel)."),
    OpenApiParameter("min_memory_bytes", int, description="At least this much device memory (bytes)."),
    OpenApiParameter("max_memory_bytes", int, description="At most this much device memory (bytes)."),
    OpenApiParameter("max_price_per_hour", float, description="At most this price (US dollars per device-hour)."),
    OpenApiParameter(
        "ordering", str, description=f"One of {', '.join(ORDERING)}, '-' first to reverse; default: the file's order."
    ),
    OpenApiParameter("limit", int, description="Items per page, 1 to 500 (default 50)."),
    OpenApiParameter("offset", int, description="Items to skip."),
]
NAME = path_parameter(
    "name",
    str,
    "A device's name or one of its aliases (any case).",
    pattern=r"^[A-Za-z0-9._-]+$",
    example=("H100 (an alias of H100-SXM)", "H100"),
)
WRITE_ERRORS = (400, 401, 403, 404, 406, 413, 415, 429)
NOT_FOUND = "No device with this name or alias."


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses, a 404 being a device's."""
    return errors(*codes, not_found="No such device.")


class DevicePermissions(DjangoModelPermissions):
    """Reads as ``CanRead``; PUT needs add or change (the view asks for the one it needs), PATCH change, DELETE
    delete: the Device model's permissions, as staff have them in the admin."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return CanRead().has_permission(request, view)
        if request.method == "PUT":
            user = request.user
            return bool(user and user.is_authenticated) and (
                user.has_perm("registry.add_device") or user.has_perm("registry.change_device")
            )
        return super().has_permission(request, view)


class DeviceView(RegistryAPIView):
    permission_classes = [DevicePermissions]
    queryset = Device.objects.all()  # type: ignore[assignment]  # DjangoModelPermissions: the Device model's


def _item(device: Device, prefix: str) -> dict[str, Any]:
    return {**document_of(device), "url": f"{prefix}{device.name}"}


@contextmanager
def _gone_is_not_found() -> Iterator[None]:
    """A device deleted between its lookup and the write is a 404."""
    try:
        yield
    except Device.DoesNotExist as exc:
        raise exceptions.NotFound(NOT_FOUND) from exc


def _resolve(name: str) -> Device | None:
    """The device named ``name`` or aliased so (case-insensitive)."""
    return Device.objects.filter(names__key__iexact=name).first()


class DeviceListView(DeviceView):
    """GET: the catalogue, paginated, filtered and ordered; each item the device's document and its URL."""

    query_params = {"get": tuple(p.name for p in LIST_PARAMETERS)}

    @extend_schema(
        operation_id="devices_list",
        summary="List devices",
        description="The device catalogue: memory, bandwidth, dense peak FLOP/s per dtype, scale-up and scale-out "
        "links, TDP, price per hour (an editable default) and, for every figure, its source and date.",
        parameters=LIST_PARAMETERS,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                examples=[
                    OpenApiExample(
                        "A page",
                        value={"count": 1, "next": None, "previous": None, "results": [_example()]},
                    )
                ],
            ),
            **_errors(400, *READ_ERRORS),
        },
    )
    def get(self, request: Any) -> Any:
        self.refuse_blank(request, request.query_params)
        filterset = DeviceFilterSet(request.query_params, queryset=Device.objects.all(), request=request)
        if not filterset.is_valid():
            raise Invalid(
                Issue(f"query.{name}", error["code"] or Code.INVALID_REQUEST, error["message"])
                for name, errs in filterset.errors.get_json_data().items()
                for error in errs
            )
        devices = filterset.qs.order_by(*filterset.qs.query.order_by, "position", "name")
        paginator, page = paginate(devices, request, self)
        prefix = request.build_absolute_uri(reverse("api:device-list"))
        return paginator.get_paginated_response([_item(d, prefix) for d in page])


class DeviceDetailView(DeviceView):
    """One device, by name or alias: read, replace (or create), change, delete."""

    @extend_schema(
        operation_id="devices_retrieve",
        summary="Get a device",
        description="The device's document as dumpdevices writes it; an alias serves its device.",
        parameters=[NAME, IF_NONE_MATCH],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, examples=[OpenApiExample("H100-SXM", value=_example())]),
            **NOT_MODIFIED,
            **_errors(404, *READ_ERRORS),
        },
    )
    def get(self, request: Any, name: str) -> Any:
        device = self._found(name)
        return conditional.respond(request, device.digest, device.updated, lambda: Response(document_of(device)))

    @extend_schema(
        operation_id="devices_update",
        summary="Replace (or create) a device",
        description="The body is the whole device document (every figure with its source and date); its name is "
        "the URL's. A name not stored yet is created (201, needs the add permission). If-Match guards against "
        "lost updates.",
        parameters=[NAME, IF_MATCH],
        request=OpenApiTypes.OBJECT,
        examples=[OpenApiExample("H100-SXM", value=_example(), request_only=True)],
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, **_errors(*WRITE_ERRORS, 409, 412)},
    )
    def put(self, request: Any, name: str) -> Any:
        device = _resolve(name)
        target = device.name if device is not None else name
        perm = "registry.change_device" if device is not None else "registry.add_device"
        if not request.user.has_perm(perm):
            self.permission_denied(request, f"{'Replacing' if device else 'Creating'} a device needs {perm}.")
        with _gone_is_not_found():
            result = device_upsert(
                data=request.data,
                user=request.user,
                source=DeviceSource.API,
                name=target,
                if_match=conditional.if_match(request, device.digest if device else None),
                # A device deleted or created since the look-up must not let a user do what the other check needs.
                must_exist=device is not None and not request.user.has_perm("registry.add_device"),
                must_not_exist=device is None and not request.user.has_perm("registry.change_device"),
            )
        return self._written(request, result.device, created=result.created)

    @extend_schema(
        operation_id="devices_partial_update",
        summary="Change some figures of a device",
        description="A JSON merge patch (RFC 7396) of the document, e.g. "
        '{"price_per_hour": 2.5, "sources": {"price_per_hour": {"source": "our contract", "date": "2026-01"}}}.',
        parameters=[NAME, IF_MATCH],
        request=OpenApiTypes.OBJECT,
        examples=[
            OpenApiExample(
                "A new price",
                value={
                    "price_per_hour": 2.5,
                    "sources": {"price_per_hour": {"source": "our contract", "date": "2026-01"}},
                },
                request_only=True,
            )
        ],
        responses={200: OpenApiTypes.OBJECT, **_errors(*WRITE_ERRORS, 412)},
    )
    def patch(self, request: Any, name: str) -> Any:
        with _gone_is_not_found():
            result = device_patch(patch=request.data, **self._guarded_write(request, name))
        return self._written(request, result.device, created=False)

    @extend_schema(
        operation_id="devices_destroy",
        summary="Delete a device",
        parameters=[NAME, IF_MATCH],
        # No body is read: never a 413 or 415. An unknown query parameter is a 400.
        responses={204: OpenApiResponse(description="Deleted."), **_errors(400, 401, 403, 404, 406, 412, 429)},
    )
    def delete(self, request: Any, name: str) -> Any:
        with _gone_is_not_found():
            device_delete(**self._guarded_write(request, name))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _found(name: str) -> Device:
        device = _resolve(name)
        if device is None:
            raise exceptions.NotFound(NOT_FOUND)
        return device

    def _guarded_write(self, request: Any, name: str) -> dict[str, Any]:
        """The arguments of a write to the stored device ``name``, guarded by the request's If-Match."""
        device = self._found(name)
        return {
            "name": device.name,
            "user": request.user,
            "source": DeviceSource.API,
            "if_match": conditional.if_match(request, device.digest),
        }

    def _written(self, request: Any, device: Device, *, created: bool) -> Any:
        response = Response(document_of(device), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        if created:
            response["Location"] = request.build_absolute_uri(reverse("api:device-detail", args=[device.name]))
        return conditional.set_validators(response, device.digest, device.updated)


__all__ = ["DeviceDetailView", "DeviceFilterSet", "DeviceListView"]
