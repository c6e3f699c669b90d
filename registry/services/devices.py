"""The device catalogue's one write path: validate with the core's ``parse_device``, then write the device, its
names and aliases, and a revision, atomically; and the fixture import, all devices or none.

Every write keeps the canonical document (``registry.core.device_documents``): its digest is the device's ETag,
and ``dumpdevices`` writes the catalogue back byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Lower

from registry.core import Code, Issue, digest
from registry.core.device_documents import merge_patch
from registry.core.devices import DeviceSpec, parse_device, parse_devices
from registry.core.document import compact
from registry.models import Device, DeviceName, DeviceRevision
from registry.services.configs import ConfigRejected, PreconditionFailed
from registry.services.imports import ImportReport, SourceReport, Status
from registry.writer import user_id

DeviceSource = DeviceRevision.Source
Action = DeviceRevision.Action


class DeviceRejected(ConfigRejected):
    """The device document breaks the rules (or its names clash with another device's); nothing was written."""


@dataclass(frozen=True)
class DeviceWrite:
    device: Device
    created: bool
    changed: bool


def document_of(device: Device) -> dict[str, Any]:
    """The device's stored document in canonical key order (jsonb keeps its own order)."""
    from registry.core.device_documents import device_document

    spec, issues = parse_device(device.document)
    if spec is None:  # only a write that skipped this module could store one
        raise AssertionError(f"stored device {device.name} is invalid: {issues}")
    return device_document(spec)


def _parsed(data: Any, *, name: str | None = None) -> DeviceSpec:
    spec, issues = parse_device(data)
    if spec is None:
        raise DeviceRejected(issues)
    if name is not None and spec.name != name:
        msg = f"expected {name!r}, the name of the device being written, got {spec.name!r}"
        raise DeviceRejected([Issue("name", Code.INVALID, msg)])
    return spec


def _clashes(spec: DeviceSpec, own: int | None) -> list[Issue]:
    """Names or aliases of ``spec`` that another stored device already has (case-insensitive)."""
    keys = [spec.name, *spec.aliases]
    names = DeviceName.objects.annotate(lower=Lower("key")).filter(lower__in=[k.lower() for k in keys])
    if own is not None:
        names = names.exclude(device_id=own)
    taken = dict(names.values_list("lower", "device__name"))
    issues = []
    for i, key in enumerate(keys):
        if key.lower() in taken:
            loc = "name" if i == 0 else f"aliases[{i - 1}]"
            issues.append(Issue(loc, Code.DUPLICATE_NAME, f"{key!r} already names {taken[key.lower()]}"))
    return issues


def _write(
    spec: DeviceSpec,
    existing: Device | None,
    *,
    user: Any,
    source: str,
    action: str | None = None,
    position: int | None = None,
) -> DeviceWrite:
    """Write one parsed device over ``existing`` (its locked row, or None) in the caller's transaction."""
    from registry.core.device_documents import device_document

    document = device_document(spec)
    text = compact(document)
    dig = digest(document, text)
    if existing is not None and existing.digest == dig and (position is None or existing.position == position):
        return DeviceWrite(existing, created=False, changed=False)
    clashes = _clashes(spec, existing.pk if existing else None)
    if clashes:
        raise DeviceRejected(clashes)
    before = document_of(existing) if existing is not None else None
    columns = {
        "vendor": spec.vendor,
        "memory_bytes": spec.memory_bytes,
        "price_per_hour": spec.price_per_hour,
        "document": document,
        "digest": dig,
    }
    if existing is None:
        if position is None:
            position = (Device.objects.aggregate(top=Max("position"))["top"] or 0) + 1
        device = Device.objects.create(name=spec.name, position=position, **columns)
    else:
        device = existing
        for key, value in columns.items():
            setattr(device, key, value)
        if position is not None:
            device.position = position
        device.save()
        device.names.all().delete()
    DeviceName.objects.bulk_create(
        [
            DeviceName(device=device, key=spec.name),
            *(DeviceName(device=device, key=a, alias=True) for a in spec.aliases),
        ]
    )
    if before != document:
        default = Action.UPDATED if existing is not None else Action.CREATED
        DeviceRevision.objects.create(
            name=spec.name,
            device=device,
            action=action or default,
            source=source,
            user_id=user_id(user),
            before=before,
            after=document,
        )
    return DeviceWrite(device, created=existing is None, changed=before != document)


def _race(name: str, exc: IntegrityError) -> DeviceRejected:
    msg = f"device {name!r} or one of its aliases was written by another write at the same time; try again"
    return DeviceRejected([Issue("name", Code.ALREADY_EXISTS, msg)])


def device_upsert(
    *,
    data: Any,
    user: Any = None,
    source: str = DeviceSource.API,
    name: str | None = None,
    if_match: str | None = None,
    must_exist: bool = False,
    must_not_exist: bool = False,
    action: str | None = None,
) -> DeviceWrite:
    """Validate ``data`` and create or replace the device it describes, atomically.

    ``name``, when given, is the name the caller addresses (a URL); the document must keep it. ``if_match`` is a
    digest the stored device must still have. Raises ``DeviceRejected``, ``PreconditionFailed`` or
    ``Device.DoesNotExist`` with nothing written.
    """
    spec = _parsed(data, name=name)
    try:
        with transaction.atomic():
            existing = Device.objects.select_for_update().filter(name=spec.name).first()
            if if_match is not None and (existing is None or existing.digest != if_match):
                raise PreconditionFailed(existing.digest if existing else None)
            if existing is None and must_exist:
                raise Device.DoesNotExist(spec.name)
            if existing is not None and must_not_exist:
                raise DeviceRejected([Issue("name", Code.ALREADY_EXISTS, f"device {spec.name!r} already exists")])
            return _write(spec, existing, user=user, source=source, action=action)
    except IntegrityError as exc:
        raise _race(spec.name, exc) from exc


def device_patch(
    *, name: str, patch: Any, user: Any = None, source: str = DeviceSource.API, if_match: str | None = None
) -> DeviceWrite:
    """Merge ``patch`` (RFC 7396) into the stored device and write the result; the row is locked first."""
    try:
        with transaction.atomic():
            existing = Device.objects.select_for_update().filter(name=name).first()
            if existing is None:
                raise Device.DoesNotExist(name)
            data = merge_patch(document_of(existing), patch) if isinstance(patch, dict) else patch
            spec = _parsed(data, name=name)
            if if_match is not None and existing.digest != if_match:
                raise PreconditionFailed(existing.digest)
            return _write(spec, existing, user=user, source=source)
    except IntegrityError as exc:  # an alias another write took after the clash check
        raise _race(name, exc) from exc


def device_delete(*, name: str, user: Any = None, source: str = DeviceSource.API, if_match: str | None = None) -> None:
    """Delete a device, keeping its last document in the history."""
    with transaction.atomic():
        existing = Device.objects.select_for_update().filter(name=name).first()
        if existing is None:
            raise Device.DoesNotExist(name)
        if if_match is not None and existing.digest != if_match:
            raise PreconditionFailed(existing.digest)
        DeviceRevision.objects.create(
            name=name, action=Action.DELETED, source=source, user_id=user_id(user), before=document_of(existing)
        )
        existing.delete()


def device_restore(
    *, revision: DeviceRevision, user: Any = None, source: str = DeviceSource.ADMIN, if_match: str | None = None
) -> DeviceWrite:
    """Write a past version back (the document after ``revision``; before it, for a deletion)."""
    document = revision.after if revision.after is not None else revision.before
    return device_upsert(
        data=document, user=user, source=source, name=revision.name, if_match=if_match, action=Action.RESTORED
    )


def import_devices(
    *,
    data: Any,
    source_label: str,
    dry_run: bool = False,
    prune: bool = False,
    user: Any = None,
    source: str = DeviceSource.LOADCONFIGS,
) -> ImportReport:
    """Validate a whole catalogue document (``{"devices": [...]}``), then write every device in one transaction,
    or none. Devices keep the file's order; ``prune`` deletes stored devices the file does not name. One entry
    per device in the report (the whole file's problems, if it cannot be read as a catalogue, in one entry)."""
    report = ImportReport()
    catalogue, issues = parse_devices(data)
    entries = data.get("devices") if isinstance(data, dict) else None
    if catalogue is None:
        if not isinstance(entries, list) or not entries:
            report.sources.append(SourceReport(source=source_label, errors=issues))
            return report
        for i, entry in enumerate(entries):
            prefix = f"devices[{i}]"
            mine = [p for p in issues if p.loc == prefix or p.loc.startswith((prefix + ".", prefix + "["))]
            name = entry.get("name") if isinstance(entry, dict) else None
            report.sources.append(
                SourceReport(
                    source=f"{source_label} {prefix}",
                    model_id=name if isinstance(name, str) else None,
                    status=Status.FAILED if mine else Status.NOT_WRITTEN,
                    errors=mine,
                )
            )
        rest = [p for p in issues if not p.loc.startswith("devices[")]
        if rest:
            report.sources.append(SourceReport(source=source_label, errors=rest))
        return report
    try:
        with transaction.atomic():
            stored = {d.name: d for d in Device.objects.select_for_update()}
            wanted = {spec.name for spec in catalogue}
            report.pruned = sorted(set(stored) - wanted) if prune else []
            if not dry_run:
                for name in report.pruned:
                    device_delete(name=name, user=user, source=source)
            # Names are written after every device's old names are gone: a rename of an alias between two
            # devices of the file does not clash with itself. Positions follow the file.
            if not dry_run:
                DeviceName.objects.filter(device__name__in=wanted).delete()
                for d in stored.values():
                    if d.name in wanted:
                        d.digest = ""  # its names are gone: write it again, revision only if its document changed
            for position, spec in enumerate(catalogue):
                entry = SourceReport(source=f"{source_label} devices[{position}]", model_id=spec.name)
                report.sources.append(entry)
                existing = stored.get(spec.name)
                if dry_run:
                    clashes = [c for c in _clashes(spec, existing.pk if existing else None) if _held_outside(c, wanted)]
                    entry.errors = clashes
                    entry.status = Status.FAILED if clashes else _status(spec, existing)
                    continue
                status = _status(spec, existing)
                try:
                    _write(spec, existing, user=user, source=source, position=position)
                except DeviceRejected as exc:
                    entry.errors, entry.status = exc.issues, Status.FAILED
                    continue
                entry.status = status
            if not report.ok:
                for entry in report.sources:
                    if entry.status != Status.FAILED:
                        entry.status = Status.NOT_WRITTEN
                raise _Undo
            report.written = not dry_run
            return report
    except _Undo:
        return report
    except IntegrityError as exc:
        report.written = False
        report.sources.append(SourceReport(source=source_label, errors=[_race("catalogue", exc).issues[0]]))
        return report


class _Undo(Exception):
    """Rolls back an import one of whose devices failed."""


def _held_outside(issue: Issue, wanted: set[str]) -> bool:
    """A clash in a dry run is real only if the holder is not rewritten by the same file."""
    holder = issue.msg.rsplit(" ", 1)[-1]
    return holder not in wanted


def _status(spec: DeviceSpec, existing: Device | None) -> Status:
    from registry.core.device_documents import device_document

    if existing is None:
        return Status.CREATED
    return Status.UNCHANGED if document_of(existing) == device_document(spec) else Status.UPDATED


def load_device_fixture(path: Path | None = None, *, user: Any = None) -> ImportReport:
    """Load the catalogue file (default ``fixtures/devices/devices.json``): what tests and the quick start use."""
    from registry.core.devices import FIXTURE
    from registry.core.files import read_config_file

    target = path or FIXTURE
    data, error = read_config_file(target)
    if error is not None:
        return ImportReport(sources=[SourceReport(source=str(target), errors=[error])])
    return import_devices(data=data, source_label=str(target), user=user)


def revisions(name: str) -> Sequence[DeviceRevision]:
    """A device's history, newest first, with users."""
    return list(DeviceRevision.objects.filter(name=name).select_related("user"))


def device_file(fixtures: Path) -> Path:
    """Where a fixtures folder keeps its device catalogue."""
    return fixtures / "devices" / "devices.json"


def import_devices_with(
    configs: ImportReport, path: Path | None, *, dry_run: bool = False, prune: bool = False
) -> ImportReport | None:
    """The device half of ``loadconfigs``, inside its transaction: the catalogue at ``path`` (None: no devices)
    is validated always and written only when the configs were; if it fails, the transaction is marked for
    rollback and the configs' writes are reported as not written. All or nothing, configs and devices together."""
    if path is None:
        return None
    from registry.core.files import read_config_file

    data, error = read_config_file(path)
    if error is not None:
        report = ImportReport(sources=[SourceReport(source=str(path), errors=[error])])
    else:
        report = import_devices(data=data, source_label=str(path), dry_run=dry_run or not configs.ok, prune=prune)
    if configs.ok and not report.ok:
        transaction.set_rollback(True)
        for entry in configs.sources:
            if entry.status in {Status.CREATED, Status.UPDATED}:
                entry.status = Status.NOT_WRITTEN
        configs.written = False
    if not configs.ok:
        for entry in report.sources:
            if entry.status in {Status.CREATED, Status.UPDATED}:
                entry.status = Status.NOT_WRITTEN
    return report
