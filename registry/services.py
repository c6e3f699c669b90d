"""The one write path: validate with the core, then write configs, layer types and history atomically."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction

from registry import selectors
from registry.bulk import gc_paused
from registry.core import Code, ConfigDoc, Issue, catalogue, digest, validate_config
from registry.core.document import merge_patch
from registry.core.hf import convert
from registry.core.validation import MAX_NOTES_LENGTH, Validation, model_id_for
from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.writer import Delete, Source, Write, write


class ConfigRejected(Exception):
    """The input breaks the rules; nothing was written."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = list(issues)


class PreconditionFailed(Exception):
    """The caller's If-Match does not name the stored version; nothing was written."""

    def __init__(self, current: str | None) -> None:
        super().__init__("the config has changed since it was read")
        self.current = current


@dataclass(frozen=True)
class WriteResult:
    config: ModelConfig
    created: bool
    changed: bool
    validation: Validation


def config_upsert(
    *,
    data: Any,
    recompute: bool = False,
    user: Any = None,
    source: Source = Source.API,
    model_id: str | None = None,
    if_match: str | None = None,
    must_exist: bool = False,
    must_not_exist: bool = False,
    action: str | None = None,
) -> WriteResult:
    """Validate ``data`` and create or replace the config it describes, atomically.

    ``model_id``, when given, is the id the caller addresses (a URL); the document must keep it.
    ``if_match`` is a digest the stored config must still have. Raises ``ConfigRejected`` or
    ``PreconditionFailed`` (with nothing written); returns what was done otherwise.
    """
    validation = _validated(data, recompute=recompute, model_id=model_id)
    doc_id = validation.config.model_id  # type: ignore[union-attr]
    try:
        with transaction.atomic():
            existing = ModelConfig.objects.select_for_update().filter(model_id=doc_id).first()
            return _write_one(
                validation,
                existing,
                if_match=if_match,
                must_exist=must_exist,
                must_not_exist=must_not_exist,
                action=action,
                user=user,
                source=source,
            )
    except IntegrityError as exc:
        # Only a race gets here (validation has checked everything else): another write created the
        # same config between our check and our insert. The database's own text stays out of the answer.
        raise ConfigRejected(
            [
                Issue(
                    "model_id",
                    Code.ALREADY_EXISTS,
                    f"a config with model_id {doc_id!r} was created by another write at the same time",
                )
            ]
        ) from exc


def config_patch(
    *,
    model_id: str,
    patch: Any,
    recompute: bool = False,
    user: Any = None,
    source: Source = Source.API,
    if_match: str | None = None,
) -> WriteResult:
    """Merge ``patch``'s top-level keys into the stored config and write the result, as one write.

    The config's row is locked before it is read, so concurrent writes are serialized: a patch
    always applies to the newest version and never undoes another write. ``if_match`` (a digest)
    makes it conditional. Raises ``ModelConfig.DoesNotExist``, ``PreconditionFailed`` or
    ``ConfigRejected`` with nothing written.
    """
    with transaction.atomic():
        config = ModelConfig.objects.select_for_update().filter(model_id=model_id).first()
        if config is None:
            raise ModelConfig.DoesNotExist(model_id)
        before = config.to_document()
        data = merge_patch(before, patch) if isinstance(patch, dict) else patch
        # The body is judged first (400), then the precondition (412), as for a replace.
        validation = _validated(data, recompute=recompute, model_id=model_id)
        return _write_one(validation, config, before=before, if_match=if_match, user=user, source=source)


def _validated(data: Any, *, recompute: bool, model_id: str | None) -> Validation:
    """``data`` validated, its model_id the addressed one (when given); raises ``ConfigRejected``."""
    validation = validate_config(data, recompute=recompute)
    if not validation.ok:
        raise ConfigRejected(validation.errors)
    assert validation.config is not None
    if model_id is not None and validation.config.model_id != model_id:
        raise ConfigRejected(
            [
                Issue(
                    "model_id",
                    Code.MODEL_ID_CHANGED,
                    f"expected {model_id!r}, the id of the config being written, got {validation.config.model_id!r}",
                )
            ]
        )
    return validation


def _write_one(
    validation: Validation,
    existing: ModelConfig | None,
    *,
    before: dict[str, Any] | None = None,
    if_match: str | None = None,
    must_exist: bool = False,
    must_not_exist: bool = False,
    action: str | None = None,
    user: Any,
    source: Source,
) -> WriteResult:
    """Write one validated config over ``existing`` (its locked row, or None), in the caller's transaction.

    ``before`` is ``existing``'s document when the caller has read it already.
    """
    doc = validation.config
    assert doc is not None
    if if_match is not None and (existing is None or existing.digest != if_match):
        raise PreconditionFailed(existing.digest if existing else None)
    if existing is None and must_exist:
        raise ModelConfig.DoesNotExist(doc.model_id)
    if existing is not None and must_not_exist:
        raise ConfigRejected(
            [Issue("model_id", Code.ALREADY_EXISTS, f"a config with model_id {doc.model_id!r} already exists")]
        )
    change = Write(doc, action=action)  # its document and digest, computed once
    if existing is not None and existing.digest == change.digest:
        return WriteResult(existing, created=False, changed=False, validation=validation)
    if existing is not None:
        change.pk, change.before = existing.pk, before if before is not None else existing.to_document()
    write([change], user=user, source=source)
    return WriteResult(
        ModelConfig.objects.get(pk=change.pk), created=existing is None, changed=True, validation=validation
    )


def config_delete(*, model_id: str, user: Any = None, source: Source = Source.API, if_match: str | None = None) -> None:
    """Delete a config and its layer types, keeping its last document in the history.

    Raises ``ModelConfig.DoesNotExist`` when there is no such config, ``PreconditionFailed`` when
    ``if_match`` does not name its stored version; nothing is written then.
    """
    with transaction.atomic():
        locked = selectors.with_layers(ModelConfig.objects.select_for_update()).filter(model_id=model_id).first()
        if locked is None:
            raise ModelConfig.DoesNotExist(model_id)
        if if_match is not None and locked.digest != if_match:
            raise PreconditionFailed(locked.digest)
        write([], deletes=[Delete(locked.pk, locked.model_id, locked.to_document())], user=user, source=source)


def config_restore(
    *,
    revision: ConfigRevision,
    user: Any = None,
    source: Source = Source.ADMIN,
    if_match: str | None = None,
    must_exist: bool = False,
    must_not_exist: bool = False,
) -> WriteResult:
    """Write a past version back, through the same validation as any other write.

    The version is the document after ``revision`` (before it, for a deletion). ``if_match``,
    ``must_exist`` and ``must_not_exist`` guard the write as in ``config_upsert``.
    """
    document = revision.after if revision.after is not None else revision.before
    return config_upsert(
        data=document,
        user=user,
        source=source,
        model_id=revision.model_id,
        if_match=if_match,
        must_exist=must_exist,
        must_not_exist=must_not_exist,
        action=ConfigRevision.Action.RESTORED,
    )


# ---- curation: the checks' findings and the validated flag --------------------------------------

# The checks write their findings after this marker in validation_notes, keeping the curator's text before it.
CHECKS_MARKER = "[checks]"


class Outcome(StrEnum):
    """What an operation on one selected config came to."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the stored config already said so: nothing written
    REJECTED = "rejected"  # it breaks the rules: nothing written
    CHANGED = "changed"  # another write changed it after it was read: nothing written
    GONE = "gone"  # deleted before it was written: nothing written, nothing re-created


@dataclass(frozen=True)
class ConfigOutcome:
    """One selected config: what was done, and the core's findings on it."""

    config_id: int
    model_id: str | None  # None for an id no stored config had when the selection was read
    outcome: Outcome
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    recomputed: tuple[Issue, ...] = ()


def notes_with_checks(notes: str, check: Validation) -> str:
    """``notes`` with its checks section (after CHECKS_MARKER) replaced by ``check``'s findings."""
    human = notes.split(CHECKS_MARKER, 1)[0].rstrip()
    errors, warnings, recomputed = check.errors, check.warnings, check.recomputed
    if not errors and not warnings and not recomputed:
        block = f"{CHECKS_MARKER} all checks passed."
    else:
        counts = f"{len(errors)} error(s), {len(warnings)} warning(s)"
        if recomputed:
            counts += f", {len(recomputed)} derived value(s) recomputed"
        lines = [
            *(f"- {issue}" for issue in [*errors, *warnings]),
            *(f"- recomputed {issue}" for issue in recomputed),
        ]
        block = "\n".join([f"{CHECKS_MARKER} {counts}:", *lines])
    notes = f"{human}\n\n{block}" if human else block
    if len(notes) > MAX_NOTES_LENGTH:  # many findings: keep the notes within the format's cap
        cut = "\n- … (more findings: POST the document to /models/validate to see all of them)"
        notes = notes[: MAX_NOTES_LENGTH - len(cut)].rsplit("\n", 1)[0] + cut
    return notes


def _selection(config_ids: Iterable[int]) -> tuple[list[ModelConfig], list[ConfigOutcome]]:
    """The stored configs among ``config_ids`` (by model_id), and an outcome GONE for each id not found."""
    ids = list(config_ids)
    configs = list(selectors.with_layers(ModelConfig.objects.filter(pk__in=ids)).order_by("model_id"))
    found = {config.pk for config in configs}
    return configs, [ConfigOutcome(pk, None, Outcome.GONE) for pk in ids if pk not in found]


def _write_over_read(
    config: ModelConfig, document: dict[str, Any], *, recompute: bool, user: Any, source: Source, **findings: Any
) -> ConfigOutcome:
    """Write ``document`` over ``config`` only while it is still the version read (its digest).

    A config changed meanwhile is not overwritten, and one deleted meanwhile is not re-created.
    """
    try:
        result = config_upsert(
            data=document,
            recompute=recompute,
            user=user,
            source=source,
            model_id=config.model_id,
            if_match=config.digest,
            must_exist=True,
        )
    except PreconditionFailed as exc:
        outcome = Outcome.GONE if exc.current is None else Outcome.CHANGED
        return ConfigOutcome(config.pk, config.model_id, outcome, **findings)
    except ModelConfig.DoesNotExist:
        return ConfigOutcome(config.pk, config.model_id, Outcome.GONE, **findings)
    except ConfigRejected as exc:
        return ConfigOutcome(config.pk, config.model_id, Outcome.REJECTED, **{**findings, "errors": tuple(exc.issues)})
    outcome = Outcome.WRITTEN if result.changed else Outcome.UNCHANGED
    return ConfigOutcome(config.pk, config.model_id, outcome, **findings)


def config_run_checks(
    *, config_ids: Iterable[int], user: Any = None, source: Source = Source.ADMIN
) -> list[ConfigOutcome]:
    """Run every check on each config and write the findings to its notes, after CHECKS_MARKER.

    Stale derived values are recomputed (and listed as such), so the notes describe the config as
    written. ``validated`` is left as it is: it says the config was checked against published
    figures, which the rules cannot do. A config with errors is not written; one changed or deleted
    after it was read is reported and left alone. One revision per config whose notes changed.
    """
    configs, outcomes = _selection(config_ids)
    for config in configs:
        document = config.to_document()
        check = validate_config(document, recompute=True)
        findings = {
            "errors": tuple(check.errors),
            "warnings": tuple(check.warnings),
            "recomputed": tuple(check.recomputed),
        }
        if check.errors:
            outcomes.append(ConfigOutcome(config.pk, config.model_id, Outcome.REJECTED, **findings))
            continue
        document["validation_notes"] = notes_with_checks(document["validation_notes"], check)
        outcomes.append(_write_over_read(config, document, recompute=True, user=user, source=source, **findings))
    return outcomes


def config_mark_validated(
    *, config_ids: Iterable[int], validated: bool, user: Any = None, source: Source = Source.ADMIN
) -> list[ConfigOutcome]:
    """Set ``validated`` (checked against published figures) on each config: one revision per config changed.

    A config already so is UNCHANGED; one that breaks the rules (stale derived values included) is
    REJECTED with its errors; one changed or deleted after it was read is reported and left alone.
    """
    configs, outcomes = _selection(config_ids)
    for config in configs:
        if config.validated == validated:
            outcomes.append(ConfigOutcome(config.pk, config.model_id, Outcome.UNCHANGED))
            continue
        document = config.to_document()
        document["validated"] = validated
        outcomes.append(_write_over_read(config, document, recompute=False, user=user, source=source))
    return outcomes


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
    user: Any = None,
    source: Source = Source.LOADCONFIGS,
    progress: Any = None,
) -> ImportReport:
    """Validate every input, then write all of them in one transaction, or nothing.

    One read of the stored digests tells created, updated and unchanged apart; writes are bulk.
    ``prune`` deletes stored configs that none of the inputs describes. Without ``replace``, an
    input that would change a stored config fails (``already_exists``).
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
                return _write_import(judged, dry_run=dry_run, prune=prune, replace=replace, user=user, source=source)
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
    unlocked: dict[str, tuple[int, str]] = field(default_factory=dict)  # model_id -> (pk, digest), unlocked read


def _write_import(
    judged: _Judged, *, dry_run: bool, prune: bool, replace: bool, user: Any, source: Source
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
    for model_id, doc in docs.items():
        change = Write(doc)
        entry = seen[model_id]
        if model_id not in stored:
            entry.status = Status.CREATED
            writes.append(change)
        elif stored[model_id][1] == change.digest:
            entry.status = Status.UNCHANGED
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
            change.pk = stored[model_id][0]
            writes.append(change)
    if not report.ok:
        return _not_written(report)
    deletes: list[Delete] = []
    if prune:
        report.pruned = sorted(set(stored) - set(seen))
        if report.pruned and not dry_run:
            gone = selectors.with_layers(ModelConfig.objects.filter(model_id__in=report.pruned))
            deletes = [Delete(c.pk, c.model_id, c.to_document()) for c in gone]
    if dry_run or not (writes or deletes):
        return report
    write(writes, deletes=deletes, user=user, source=source)
    report.written = True
    return report


def _stored_digests(*, lock: bool = False, only: list[str] | None = None) -> Iterable[tuple[str, tuple[int, str]]]:
    """(model_id, (pk, digest)) of the stored configs (those of ``only``, when given), row-locked with ``lock``."""
    rows = ModelConfig.objects.select_for_update() if lock else ModelConfig.objects.all()
    if only is not None:
        rows = rows.filter(model_id__in=only)
    return ((mid, (pk, dig)) for mid, pk, dig in rows.values_list("model_id", "pk", "digest"))


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


def _stored_as_is(item: ImportItem, stored: dict[str, tuple[int, str]]) -> bool:
    """Whether the input is exactly a stored document, under its own file name.

    Such an input is unchanged and needs no validation: the stored document passed these very
    rules when written (the digest covers the rules' version and the catalogue).
    """
    data = item.data
    model_id = data.get("model_id") if isinstance(data, dict) else None
    if not isinstance(model_id, str) or model_id not in stored:
        return False
    if item.filename is not None and item.filename != f"{model_id}.json":
        return False
    return _input_digest(data) == stored[model_id][1]


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
    user: Any = None,
    source: Source = Source.IMPORTHF,
) -> ImportReport:
    """Convert Hugging Face config.json files and import the documents: all of them, or nothing.

    A stored config the import would change is refused unless ``replace``: curated configs are not
    overwritten by accident.
    """
    return import_configs(items=hf_items(sources), dry_run=dry_run, replace=replace, user=user, source=source)


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
    *, hf_model_id: str, config: Any, replace: bool = False, user: Any = None, source: Source = Source.IMPORTHF
) -> WriteResult:
    """Import one Hugging Face config.json as ``import_hf`` does (a different stored config is refused
    unless ``replace``); raises ``ConfigRejected`` with the import's errors, nothing written.

    The result's config is read after the import's transaction: the stored version, as its ETag names it.
    """
    report = import_hf(
        sources=[HFSource("config", hf_model_id, config=config)], replace=replace, user=user, source=source
    )
    (entry,) = report.sources
    if not report.ok:
        raise ConfigRejected(entry.errors)
    stored = selectors.config_with_layers(model_id=entry.model_id)
    if stored is None:  # deleted by another write since: the import's result is gone
        raise ModelConfig.DoesNotExist(entry.model_id)
    validation = Validation(warnings=entry.warnings, config=stored.to_doc())
    created, changed = entry.status == Status.CREATED, entry.status != Status.UNCHANGED
    return WriteResult(stored, created=created, changed=changed, validation=validation)


# ---- derived counts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recount:
    """A config whose stored total differed from the catalogue's."""

    model_id: str
    old_total: int
    new_total: int


@gc_paused()
def recompute_counts(
    *,
    config_ids: Iterable[int] | None = None,
    dry_run: bool = False,
    user: Any = None,
    source: Source = Source.RECOMPUTECOUNTS,
) -> list[Recount]:
    """Recompute every layer's parameter_count and every total in one vectorized pass; store what changed.

    Raises ``CountError`` (``CountOverflow`` when a count does not fit a bigint) with nothing written.
    """
    import numpy as np

    from registry.core import counts, format_params

    with transaction.atomic():
        configs = ModelConfig.objects.select_for_update().order_by("pk")
        if config_ids is not None:
            configs = configs.filter(pk__in=list(config_ids))
        rows = list(configs.values_list("pk", "model_id", "total_params", "active_params"))
        if not rows:
            return []
        index = {pk: i for i, (pk, *_) in enumerate(rows)}
        layers = list(
            LayerType.objects.filter(config_id__in=index).values_list(
                "pk", "config_id", "class_name", "specs", "count", "parameter_count"
            )
        )
        model_ids = {pk: model_id for pk, model_id, *_ in rows}
        try:
            per_layer = counts.parameter_counts([r[2] for r in layers], [r[3] for r in layers])
        except counts.CountError as exc:
            where = ", ".join(f"{model_ids[layers[i][1]]} ({layers[i][2]})" for i in exc.rows[:10])
            raise type(exc)(f"{exc} in the layer types of {where}", exc.rows) from exc
        owner = np.fromiter((index[r[1]] for r in layers), dtype=np.int64, count=len(layers))
        # Multi-token-prediction layer types are outside total_params and active_params.
        in_total = np.fromiter((not catalogue.is_mtp(r[2], r[3]) for r in layers), dtype=bool, count=len(layers))
        layer_counts = np.fromiter((r[4] for r in layers), dtype=np.int64, count=len(layers)) * in_total
        try:
            new_totals = counts.totals(owner, layer_counts, per_layer, len(rows))
        except counts.CountOverflow as exc:
            names = ", ".join(rows[i][1] for i in exc.rows[:10])
            raise counts.CountOverflow(f"{exc} for {names}", exc.rows) from exc
        stored_per_layer = np.fromiter((r[5] for r in layers), dtype=np.int64, count=len(layers))
        old_totals = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        # Active counts (routed experts k of E) for configs with an expert class; None for the rest.
        main = np.flatnonzero(in_total).tolist()
        new_active = counts.active_totals(
            [layers[i][2] for i in main], [layers[i][3] for i in main], owner[main], layer_counts[main], len(rows)
        )

        changed_layers = np.flatnonzero(per_layer != stored_per_layer)
        changed_configs = set(np.flatnonzero(new_totals != old_totals).tolist())
        changed_configs |= {i for i in range(len(rows)) if new_active[i] != rows[i][3]}
        changed_configs |= {index[layers[i][1]] for i in changed_layers}
        recounts = [Recount(rows[i][1], int(old_totals[i]), int(new_totals[i])) for i in sorted(changed_configs)]
        if dry_run or not changed_configs:
            return recounts
        changed = selectors.with_layers(ModelConfig.objects.filter(pk__in=[rows[i][0] for i in changed_configs]))
        new_per_layer = {layers[i][0]: int(per_layer[i]) for i in changed_layers}
        writes = []
        for config in changed:
            old = config.to_doc()
            new_layers = tuple(
                replace(doc, parameter_count=new_per_layer.get(row.pk, doc.parameter_count))
                for row, doc in zip(config.layer_types.all(), old.layer_types, strict=True)
            )
            total, active = int(new_totals[index[config.pk]]), new_active[index[config.pk]]
            doc = replace(
                old,
                layer_types=new_layers,
                total_params=total,
                total_params_formatted=format_params(total),
                active_params=active,
                active_params_formatted=None if active is None else format_params(active),
            )
            writes.append(Write(doc, pk=config.pk, before=old.to_document()))
        write(writes, user=user, source=source)
    return recounts
