"""Bulk imports: many documents validated first, then written in one transaction, or none; Hugging Face too."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction

from registry import selectors
from registry.bulk import gc_paused
from registry.core import Code, ConfigDoc, Issue, digest, validate_config
from registry.core.document import rules_stamp
from registry.core.hf import convert
from registry.core.validation import Validation, model_id_for
from registry.models import ModelConfig
from registry.services.configs import ConfigRejected, WriteResult
from registry.writer import Delete, Source, Write, restamp, write

# ---- bulk import -------------------------------------------------------------------------------


class Status(StrEnum):
    """What an import did with one input."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    NOT_WRITTEN = "not written"  # valid, but another input failed: nothing was written
    PENDING = "pending"  # valid, not yet compared with the stored configs


@dataclass
class SourceReport:
    """What happened to one input (a file, an upload)."""

    source: str
    model_id: str | None = None
    status: Status = Status.FAILED
    errors: list[Issue] = field(default_factory=list)
    recomputed: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class ImportReport:
    """The outcome of an import: one entry per input, plus the configs pruned."""

    sources: list[SourceReport] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    written: bool = False

    def count(self, status: str) -> int:
        return sum(1 for s in self.sources if s.status == status)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == Status.FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """``2 created, 1 updated, 6 unchanged, 0 failed``, then the pruned and the valid inputs not written, if any."""
        parts = [f"{self.count(s)} {s}" for s in (Status.CREATED, Status.UPDATED, Status.UNCHANGED, Status.FAILED)]
        if self.pruned:
            parts.append(f"{len(self.pruned)} pruned")
        held = self.count(Status.NOT_WRITTEN)
        if held:
            parts.append(f"{held} valid but not written")
        return ", ".join(parts)


@dataclass(frozen=True)
class ImportItem:
    """One parsed input: where it came from, its file name (for the naming rule), and its data or read error."""

    source: str
    data: Any = None
    filename: str | None = None
    read_error: Issue | None = None
    # Problems found before validation (a config.json that cannot be converted): the input fails with them.
    errors: tuple[Issue, ...] = ()


@gc_paused()
def import_configs(
    *,
    items: Iterable[ImportItem],
    recompute: bool = False,
    dry_run: bool = False,
    prune: bool = False,
    replace: bool = True,
    must_exist: bool = False,
    user: Any = None,
    source: Source = Source.LOADCONFIGS,
    progress: Any = None,
) -> ImportReport:
    """Validate every input, then write all of them in one transaction, or nothing.

    One read of the stored digests tells created, updated and unchanged apart; writes are bulk.
    ``prune`` deletes stored configs that none of the inputs describes. Without ``replace``, an
    input that would change a stored config fails (``already_exists``); with ``must_exist``, one that would
    create a config does (``not_found``). Both are judged under the write's locks.
    """
    judged = _Judged(recompute=recompute)
    report, seen, docs, shortcut = judged.report, judged.seen, judged.docs, judged.shortcut
    # Validation first, without locks: a long import does not hold up other writers while it checks.
    unlocked = judged.unlocked = dict(_stored_digests())
    for item in items:
        entry = SourceReport(source=item.source)
        report.sources.append(entry)
        if progress is not None:
            progress.update(1)
        if item.read_error is not None or item.errors:
            entry.errors.extend([item.read_error] if item.read_error is not None else item.errors)
            if isinstance(item.data, dict) and isinstance(item.data.get("model_id"), str):
                entry.model_id = item.data["model_id"]
            continue
        model_id = item.data.get("model_id") if isinstance(item.data, dict) else None
        entry.model_id = model_id if isinstance(model_id, str) else None
        if _stored_as_is(item, unlocked):
            entry.status = Status.UNCHANGED
            shortcut[item.data["model_id"]] = item
        elif not _validate_into(entry, item, docs, recompute=recompute):
            continue
        assert entry.model_id is not None
        if entry.model_id in seen:
            msg = f"model_id {entry.model_id!r} is also defined by {seen[entry.model_id].source}"
            entry.errors.append(Issue("model_id", Code.DUPLICATE_MODEL_ID, msg))
            entry.status = Status.FAILED
            continue
        seen[entry.model_id] = entry
    if not report.ok:
        return _not_written(report)

    # A config created by another write between the lock and the insert breaks a unique constraint:
    # the transaction rolls back and the inputs are judged once more against what is stored now.
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _write_import(
                    judged,
                    dry_run=dry_run,
                    prune=prune,
                    replace=replace,
                    must_exist=must_exist,
                    user=user,
                    source=source,
                )
        except IntegrityError:
            if attempt:
                for entry in report.sources:
                    if entry.status == Status.CREATED:
                        entry.status = Status.FAILED
                        entry.errors.append(
                            Issue(
                                "model_id",
                                Code.ALREADY_EXISTS,
                                f"a config with model_id {entry.model_id!r} may have been created by another "
                                "write at the same time; run the import again",
                            )
                        )
                report.written = False
                return _not_written(report)
    raise AssertionError("unreachable")


@dataclass
class _Judged:
    """The unlocked half of an import: every input judged, valid documents by model_id."""

    recompute: bool
    report: ImportReport = field(default_factory=ImportReport)
    seen: dict[str, SourceReport] = field(default_factory=dict)  # each model_id's input
    docs: dict[str, ConfigDoc] = field(default_factory=dict)  # validated
    shortcut: dict[str, ImportItem] = field(default_factory=dict)  # stored as is (not validated) when read
    unlocked: dict[str, _Stored] = field(default_factory=dict)  # by model_id, read unlocked


def _write_import(
    judged: _Judged, *, dry_run: bool, prune: bool, replace: bool, must_exist: bool, user: Any, source: Source
) -> ImportReport:
    """The locked half of ``import_configs`` (inside its transaction): compare with the stored configs, write."""
    report, seen, docs = judged.report, judged.seen, judged.docs
    # Locked: the inputs' own configs (every config when pruning), so other writers wait only for those.
    # A dry run writes nothing: it locks nothing.
    stored = dict(_stored_digests(lock=not dry_run, only=None if prune else list(seen)))
    # A config changed between the first read and the lock: its input is judged again, now.
    for model_id, item in judged.shortcut.items():
        if stored.get(model_id) != judged.unlocked.get(model_id):
            _validate_into(seen[model_id], item, docs, recompute=judged.recompute)
    if not report.ok:
        return _not_written(report)
    writes: list[Write] = []
    validated_as_is: list[int] = []  # unchanged configs just validated: stamped with the current rules
    for model_id, doc in docs.items():
        change = Write(doc)
        entry = seen[model_id]
        if model_id not in stored and must_exist:
            entry.status = Status.FAILED
            msg = f"no config {model_id!r} is stored, and this import may not create one"
            entry.errors.append(Issue("model_id", Code.NOT_FOUND, msg))
        elif model_id not in stored:
            entry.status = Status.CREATED
            writes.append(change)
        elif stored[model_id].digest == change.digest:
            entry.status = Status.UNCHANGED
            validated_as_is.append(stored[model_id].pk)
        elif not replace:
            entry.status = Status.FAILED
            entry.errors.append(
                Issue(
                    "model_id",
                    Code.ALREADY_EXISTS,
                    f"a different config {model_id!r} is stored; replacing it needs the replace option "
                    "(--replace, ?replace=true), and its curated name, validated and notes give way",
                )
            )
        else:
            entry.status = Status.UPDATED
            change.pk = stored[model_id].pk
            writes.append(change)
    if not report.ok:
        return _not_written(report)
    deletes: list[Delete] = []
    if prune:
        report.pruned = sorted(set(stored) - set(seen))
        if report.pruned and not dry_run:
            gone = selectors.with_layers(ModelConfig.objects.filter(model_id__in=report.pruned))
            deletes = [Delete(c.pk, c.model_id, c.to_document()) for c in gone]
    if dry_run:
        return report
    restamp(validated_as_is)
    if not (writes or deletes):
        return report
    write(writes, deletes=deletes, user=user, source=source)
    report.written = True
    return report


class _Stored(NamedTuple):
    """What an import compares an input with: a stored config's pk, digest and rules stamp."""

    pk: int
    digest: str
    rules: str


def _stored_digests(*, lock: bool = False, only: list[str] | None = None) -> Iterable[tuple[str, _Stored]]:
    """(model_id, its _Stored) of the stored configs (those of ``only``, when given), row-locked with ``lock``."""
    rows = ModelConfig.objects.select_for_update() if lock else ModelConfig.objects.all()
    if only is not None:
        rows = rows.filter(model_id__in=only)
    return (
        (mid, _Stored(pk, dig, rules)) for mid, pk, dig, rules in rows.values_list("model_id", "pk", "digest", "rules")
    )


def _validate_into(entry: SourceReport, item: ImportItem, docs: dict[str, ConfigDoc], *, recompute: bool) -> bool:
    """Validate one input into ``docs``; its report gets the findings. Whether it is valid."""
    validation = validate_config(item.data, filename=item.filename, recompute=recompute)
    entry.warnings = validation.warnings
    entry.recomputed = validation.recomputed
    if not validation.ok:
        entry.errors = validation.errors
        entry.status = Status.FAILED
        return False
    assert validation.config is not None
    docs[validation.config.model_id] = validation.config
    entry.status = Status.PENDING
    return True


def _not_written(report: ImportReport) -> ImportReport:
    for entry in report.sources:
        if entry.status in {Status.PENDING, Status.UNCHANGED, Status.CREATED, Status.UPDATED}:
            entry.status = Status.NOT_WRITTEN
    return report


def _stored_as_is(item: ImportItem, stored: dict[str, _Stored]) -> bool:
    """Whether the input is exactly a stored document, under its own file name, validated under the current rules.

    Such an input is unchanged and needs no validation: the stored document passed these very rules (its
    stamp says so). A config stamped under other rules is validated again.
    """
    data = item.data
    model_id = data.get("model_id") if isinstance(data, dict) else None
    if not isinstance(model_id, str) or model_id not in stored:
        return False
    if item.filename is not None and item.filename != f"{model_id}.json":
        return False
    return stored[model_id].rules == rules_stamp() and _input_digest(data) == stored[model_id].digest


def _input_digest(data: Any) -> str | None:
    try:
        return digest(data)
    except (TypeError, ValueError):  # not JSON-serializable as given (orjson is strict)
        return None


# ---- Hugging Face import --------------------------------------------------------------------------


@dataclass(frozen=True)
class HFSource:
    """One Hugging Face config.json to import: where it came from, its repo id, and its parsed content."""

    source: str
    hf_model_id: str
    config: Any = None
    read_error: Issue | None = None


def hf_items(sources: Iterable[HFSource]) -> list[ImportItem]:
    """The registry documents of Hugging Face configs, as import inputs (conversion problems fail the input)."""
    items = []
    for src in sources:
        if src.read_error is not None:
            items.append(ImportItem(source=src.source, read_error=src.read_error))
            continue
        conversion = convert(src.config, src.hf_model_id)
        items.append(
            ImportItem(
                source=src.source,
                # Unconverted, the input still names its config (for the report), when its id is a string.
                data=conversion.document
                or ({"model_id": model_id_for(src.hf_model_id)} if isinstance(src.hf_model_id, str) else None),
                errors=tuple(conversion.errors),
            )
        )
    return items


def import_hf(
    *,
    sources: Iterable[HFSource],
    dry_run: bool = False,
    replace: bool = False,
    must_exist: bool = False,
    user: Any = None,
    source: Source = Source.IMPORTHF,
) -> ImportReport:
    """Convert Hugging Face config.json files and import the documents: all of them, or nothing.

    A stored config the import would change is refused unless ``replace``: curated configs are not
    overwritten by accident. With ``must_exist``, a config not stored is not created (``import_configs``).
    A stored config's published total and its source, which a config.json does not say, are kept.
    """
    items = _with_stored_published(hf_items(sources))
    return import_configs(
        items=items, dry_run=dry_run, replace=replace, must_exist=must_exist, user=user, source=source
    )


PUBLISHED_KEYS = ("published_total_params", "published_total_params_source")


def _with_stored_published(items: list[ImportItem]) -> list[ImportItem]:
    """``items`` with the published total and source of the stored configs they describe (where one is set)."""
    ids = [item.data["model_id"] for item in items if isinstance(item.data, dict) and "layer_types" in item.data]
    stored = ModelConfig.objects.filter(model_id__in=ids, published_total_params__isnull=False)
    published = {
        mid: dict(zip(PUBLISHED_KEYS, values, strict=True))
        for mid, *values in stored.values_list("model_id", *PUBLISHED_KEYS)
    }
    return [
        dataclasses.replace(item, data={**item.data, **published[item.data["model_id"]]})
        if isinstance(item.data, dict) and item.data.get("model_id") in published
        else item
        for item in items
    ]


def hf_document(*, hf_model_id: str, config: Any) -> ConfigDoc:
    """The valid registry document of one Hugging Face config.json; raises ``ConfigRejected`` with the
    conversion's or the validation's errors. Writes nothing (a dry run of ``config_import_hf``)."""
    (item,) = hf_items([HFSource("config", hf_model_id, config=config)])
    if item.errors:
        raise ConfigRejected(item.errors)
    validation = validate_config(item.data)
    if not validation.ok:
        raise ConfigRejected(validation.errors)
    assert validation.config is not None
    return validation.config


def config_import_hf(
    *,
    hf_model_id: str,
    config: Any,
    replace: bool = False,
    must_exist: bool = False,
    user: Any = None,
    source: Source = Source.IMPORTHF,
) -> WriteResult:
    """Import one Hugging Face config.json as ``import_hf`` does (a different stored config is refused
    unless ``replace``); raises ``ConfigRejected`` with the import's errors, nothing written.

    With ``must_exist`` (a caller who may replace but not create), a config not stored when the import
    writes raises ``ModelConfig.DoesNotExist``, as ``config_upsert``'s guard does, and nothing is written.
    The result's config is read after the import's transaction: the stored version, as its ETag names it.
    """
    report = import_hf(
        sources=[HFSource("config", hf_model_id, config=config)],
        replace=replace,
        must_exist=must_exist,
        user=user,
        source=source,
    )
    (entry,) = report.sources
    if must_exist and any(issue.code == Code.NOT_FOUND for issue in entry.errors):
        raise ModelConfig.DoesNotExist(entry.model_id)
    if not report.ok:
        raise ConfigRejected(entry.errors)
    stored = selectors.config_with_layers(model_id=entry.model_id)
    if stored is None:  # deleted by another write since: the import's result is gone
        raise ModelConfig.DoesNotExist(entry.model_id)
    validation = Validation(warnings=entry.warnings, config=stored.to_doc())
    created, changed = entry.status == Status.CREATED, entry.status != Status.UNCHANGED
    return WriteResult(stored, created=created, changed=changed, validation=validation)
