"""Staff editing of the device catalogue: every figure a field with its source and date beside it, the cost of a
reference workload that follows the price, and history with restore, like configs.

The form builds the device document and the core's ``parse_device`` judges it (one rule); the save goes through
``registry.services.devices`` (one write path), guarded by the digest the form was opened on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from registry import conf
from registry.admin.pages import RevisionsAdmin, SaveRefused, WritePathAdmin
from registry.core.device_documents import get_path, set_path
from registry.core.devices import PEAK_DTYPES, SOURCED, DeviceSpec, parse_device
from registry.core.files import read_config_file
from registry.core.performance import Layout, Workload, estimate_config
from registry.models import Device, DeviceRevision
from registry.services import PreconditionFailed
from registry.services.devices import (
    DeviceRejected,
    DeviceSource,
    _clashes,
    device_restore,
    device_upsert,
    document_of,
)

# The reference the change page prices: a small model every device of the catalogue holds, a chat-like workload.
REFERENCE_MODEL = "Qwen_Qwen2.5-7B-Instruct"
REFERENCE_WORKLOAD = Workload(isl=1024, osl=256, concurrency=16)

# (document path, form field factory, label, help text): a field of the form. Factories, as each form needs its own.
Figure = tuple[str, Any, str, str]


def _integer(doc_path: str, label: str, help_text: str = "", *, required: bool = True) -> Figure:
    """An integer from 1 (bytes, FLOP/s, devices, watts)."""
    return doc_path, lambda: forms.IntegerField(min_value=1, required=required), label, help_text


def _number(doc_path: str, label: str, help_text: str = "") -> Figure:
    """A number from 0 (latency, price)."""
    return doc_path, lambda: forms.FloatField(min_value=0), label, help_text


# Every figure of the document, in its order.
_FIGURES: list[Figure] = [
    ("vendor", lambda: forms.CharField(max_length=1000), "vendor", "The maker."),
    ("notes", lambda: forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2})), "notes", ""),
    _integer("memory_bytes", "memory (bytes)", "Device memory in bytes (80 GiB: 85899345920)."),
    _integer("memory_bandwidth", "memory bandwidth (bytes/s)", "Bytes per second."),
    *(
        _integer(
            f"peak_flops.{d}",
            f"dense peak {d} (FLOP/s)",
            "Dense (no 2:4 sparsity) FLOP/s (int8: OP/s); blank: not supported."
            if d != "bf16"
            else "Dense bf16 FLOP/s; bf16 or fp16 is required.",
            required=False,
        )
        for d in PEAK_DTYPES
    ),
    _integer(
        "scale_up.bandwidth", "scale-up bandwidth (bytes/s)", "Per direction per device (NVLink, Infinity Fabric, ICI)."
    ),
    _integer("scale_up.domain", "scale-up domain (devices)", "Devices per node or NVLink domain."),
    _number("scale_up.latency_us", "scale-up latency (µs)", "Fixed latency of one small collective."),
    _integer("scale_out.bandwidth", "scale-out bandwidth (bytes/s)", "Network per device, per direction."),
    _number("scale_out.latency_us", "scale-out latency (µs)"),
    _integer("tdp_watts", "TDP (W)", "Blank where the maker publishes none.", required=False),
    _number(
        "price_per_hour",
        "price per hour (US$)",
        "An editable default: US dollars per device-hour. Say where it comes from below.",
    ),
    (
        "efficiency",
        lambda: forms.JSONField(),
        "efficiency",
        'By engine: {"default": {"compute": 0.5, "memory": 0.9, "overhead_us": 10.0}, ...}.',
    ),
]
_SOURCE_FIELDS = [
    *((f"sources.{k}.source", lambda: forms.CharField(max_length=1000), f"{k}: source", "") for k in SOURCED),
    *(
        (f"sources.{k}.date", lambda: forms.CharField(max_length=10), f"{k}: date", "YYYY-MM or YYYY-MM-DD.")
        for k in SOURCED
    ),
]
FIELDS = [*_FIGURES, *_SOURCE_FIELDS]


def field_name(doc_path: str) -> str:
    return doc_path.replace(".", "__")


class DeviceForm(forms.ModelForm):
    """Every figure of the device document as a field; ``parse_device`` judges the whole document."""

    aliases = forms.CharField(
        required=False, help_text="Other names that find this device, comma-separated (unique across the catalogue)."
    )
    base_digest = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Device
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        document = document_of(self.instance) if self.instance.pk else {}
        for doc_path, factory, label, help_text in FIELDS:
            field = factory()
            field.label, field.help_text = label, help_text
            self.fields[field_name(doc_path)] = field
            value = get_path(document, doc_path)
            if value is not None:
                self.initial[field_name(doc_path)] = value
        self.initial["aliases"] = ", ".join(document.get("aliases", []))
        self.initial["base_digest"] = self.instance.digest if self.instance.pk else ""
        if self.instance.pk:
            self.fields["name"].disabled = True  # a device is renamed by a new one; its aliases keep old names
        self.spec: DeviceSpec | None = None

    def document(self) -> dict[str, Any]:
        data = self.cleaned_data
        doc: dict[str, Any] = {"name": data.get("name") or self.instance.name}
        doc["aliases"] = [a.strip() for a in (data.get("aliases") or "").split(",") if a.strip()]
        for doc_path, *_ in FIELDS:
            value = data.get(field_name(doc_path))
            set_path(doc, doc_path, None if value in ("", None) else value)
        doc.setdefault("peak_flops", {})
        return doc

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        spec, issues = parse_device(self.document())
        if spec is not None:
            issues = _clashes(spec, self.instance.pk)
        for issue in issues:
            head = issue.loc.split("[", 1)[0]
            name = field_name(head)
            target = name if name in self.fields else None
            self.add_error(target, forms.ValidationError(f"{issue.loc}: {issue.msg}", code=issue.code))
        self.spec = spec if not issues else None
        return cleaned


def reference_cost(spec: DeviceSpec) -> str:
    """The cost line of the change page: dollars per million output tokens of the reference workload."""
    data, error = read_config_file(conf.fixtures_dir() / f"{REFERENCE_MODEL}.json")
    if error is not None or not isinstance(data, dict):
        return f"unavailable: no {REFERENCE_MODEL}.json in the fixtures"
    out = estimate_config(data, spec, Layout(), REFERENCE_WORKLOAD)
    if out["errors"]:
        return "unavailable: " + "; ".join(e["msg"] for e in out["errors"])
    w = REFERENCE_WORKLOAD
    return (
        f"${out['cost_per_million_output_tokens']:.4f} per million output tokens: {REFERENCE_MODEL} in bf16 on one "
        f"device, {w.isl} tokens in, {w.osl} out, {w.concurrency} requests at once "
        f"({out['output_tokens_per_second']:.0f} output tokens/s at ${spec.price_per_hour:g}/h)"
    )


@admin.register(Device)
class DeviceAdmin(WritePathAdmin, RevisionsAdmin):
    """The device catalogue: figures with sources, the reference cost, history."""

    form = DeviceForm
    list_display = ["name", "vendor", "memory_gb", "price_per_hour", "alias_list"]
    search_fields = ["name", "names__key", "vendor"]
    list_filter = ["vendor"]
    readonly_fields = ["cost", "sources_table"]
    ordering = ["position", "name"]

    def get_fieldsets(self, request: HttpRequest, obj: Device | None = None) -> Any:
        figures = [field_name(p) for p, *_ in _FIGURES]
        sources = [field_name(p) for p, *_ in _SOURCE_FIELDS]
        head: list[Any] = [(None, {"fields": ["name", "aliases", "base_digest"]})]
        if obj is not None:
            head.append(("Cost", {"fields": ["cost", "sources_table"]}))
        return [*head, ("Figures", {"fields": figures}), ("Sources and dates", {"fields": sources})]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The figures are the form's own fields (document paths), not the model's: only the name is a column.
        kwargs["fields"] = ["name"]
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="memory")
    def memory_gb(self, obj: Device) -> str:
        return f"{obj.memory_bytes / 2**30:g} GiB"

    @admin.display(description="aliases")
    def alias_list(self, obj: Device) -> str:
        return ", ".join(obj.document.get("aliases", []))

    @admin.display(description="reference cost")
    def cost(self, obj: Device) -> str:
        spec, _ = parse_device(obj.document)
        return reference_cost(spec) if spec is not None else "-"

    @admin.display(description="sources")
    def sources_table(self, obj: Device) -> Any:
        rows = document_of(obj)["sources"]
        return format_html(
            "<table>{}</table>",
            format_html(
                "".join(["<tr><th>{}</th><td>{}</td><td>{}</td></tr>"] * len(rows)),
                *(x for key, s in rows.items() for x in (key, s["source"], s["date"])),
            ),
        )

    def save_model(self, request: HttpRequest, obj: Device, form: Any, change: bool) -> None:
        """Through the service: validated again, the name's clashes checked under lock, a revision kept."""
        base = form.cleaned_data.get("base_digest") or None
        try:
            result = device_upsert(
                data=form.document(),
                user=request.user,
                source=DeviceSource.ADMIN,
                name=obj.name if change else None,
                if_match=base if change else None,
                must_not_exist=not change,
                must_exist=change,
            )
        except (PreconditionFailed, Device.DoesNotExist, DeviceRejected) as exc:
            raise SaveRefused(f"Not saved: {exc}", request.path) from exc
        form.instance = obj.__class__.objects.get(pk=result.device.pk)
        obj.pk, obj.digest = result.device.pk, result.device.digest

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Names are the service's."""

    def delete_model(self, request: HttpRequest, obj: Device) -> None:
        from registry.services.devices import device_delete

        device_delete(name=obj.name, user=request.user, source=DeviceSource.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    # ---- history ------------------------------------------------------------------------------

    def revisions(self, obj: Device) -> Iterable[DeviceRevision]:
        return DeviceRevision.objects.filter(name=obj.name).select_related("user")

    def revision(self, obj: Device, revision_id: int) -> DeviceRevision | None:
        return DeviceRevision.objects.filter(name=obj.name, pk=revision_id).first()

    def document(self, obj: Device) -> dict[str, Any]:
        return document_of(obj)

    def restore(self, request: HttpRequest, obj: Device, revision: DeviceRevision) -> HttpResponse:
        """Through the service, guarded by the digest the page showed."""
        back = HttpResponseRedirect(reverse("admin:registry_device_history", args=[obj.pk]))
        try:
            result = device_restore(
                revision=revision,
                user=request.user,
                source=DeviceSource.ADMIN,
                if_match=request.POST.get("base_digest") or "-",
            )
        except PreconditionFailed:
            self.message_user(
                request, f"{obj.name} has changed since the page was opened; nothing was restored.", messages.ERROR
            )
            return back
        except DeviceRejected as exc:
            self.message_user(request, f"Not restored, the version breaks the rules: {exc}", messages.ERROR)
            return back
        when = f"{revision.created:%Y-%m-%d %H:%M:%S}"
        self.message_user(request, f"Restored the version of {when}." if result.changed else "Nothing changed.")
        return back
