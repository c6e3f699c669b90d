"""The one write path: validate with the core, then write configs, layer types and history atomically."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.bulk import RawJson, insert_rows
from registry.core import Code, ConfigDoc, Issue, digest, validate_config
from registry.core.document import compact, merge_patch
from registry.core.validation import CONFIG_VALUE_KEYS, Validation
from registry.models import ConfigRevision, LayerType, ModelConfig


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


def _layer_rows(config: ModelConfig, doc: ConfigDoc) -> list[LayerType]:
    return [
        LayerType(
            config=config,
            position=i,
            name=layer.name,
            class_name=layer.class_name,
            count=layer.count,
            specs=layer.specs,
            parameter_count=layer.parameter_count,
        )
        for i, layer in enumerate(doc.layer_types)
    ]


def _apply(config: ModelConfig, doc: ConfigDoc, document: dict[str, Any]) -> None:
    for name in CONFIG_VALUE_KEYS:
        setattr(config, name, getattr(doc, name))
    config.digest = digest(document)


def config_upsert(
    *,
    data: Any,
    recompute: bool = False,
    user: Any = None,
    source: str = "api",
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
    validation = validate_config(data, recompute=recompute)
    if not validation.ok:
        raise ConfigRejected(validation.errors)
    doc = validation.config
    assert doc is not None
    if model_id is not None and doc.model_id != model_id:
        raise ConfigRejected(
            [
                Issue(
                    "model_id",
                    Code.MODEL_ID_CHANGED,
                    f"expected {model_id!r}, the id of the config being written, got {doc.model_id!r}",
                )
            ]
        )
    document = doc.to_document()
    try:
        with transaction.atomic():
            existing = ModelConfig.objects.select_for_update().filter(model_id=doc.model_id).first()
            if if_match is not None and (existing is None or existing.digest != if_match):
                raise PreconditionFailed(existing.digest if existing else None)
            if existing is None and must_exist:
                raise ModelConfig.DoesNotExist(doc.model_id)
            if existing is not None and must_not_exist:
                raise ConfigRejected(
                    [Issue("model_id", Code.ALREADY_EXISTS, f"a config with model_id {doc.model_id!r} already exists")]
                )
            if existing is not None and existing.digest == digest(document):
                return WriteResult(existing, created=False, changed=False, validation=validation)
            before = existing.to_document() if existing is not None else None
            config = existing or ModelConfig()
            _apply(config, doc, document)
            config.save()
            if existing is not None:
                config.layer_types.all().delete()
            LayerType.objects.bulk_create(_layer_rows(config, doc))
            ConfigRevision.objects.create(
                model_id=config.model_id,
                config=config,
                action=action or (ConfigRevision.Action.UPDATED if existing else ConfigRevision.Action.CREATED),
                source=source,
                user=user if getattr(user, "is_authenticated", False) else None,
                before=before,
                after=document,
            )
    except IntegrityError as exc:
        # Only a race gets here (validation has checked everything else): another write created the
        # same config between our check and our insert. The database's own text stays out of the answer.
        raise ConfigRejected(
            [
                Issue(
                    "model_id",
                    Code.ALREADY_EXISTS,
                    f"a config with model_id {doc.model_id!r} was created by another write at the same time",
                )
            ]
        ) from exc
    return WriteResult(config, created=existing is None, changed=True, validation=validation)


def config_patch(
    *,
    model_id: str,
    patch: Any,
    recompute: bool = False,
    user: Any = None,
    source: str = "api",
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
        data = merge_patch(config.to_document(), patch) if isinstance(patch, dict) else patch
        # The body is judged first (400), then the precondition (412), as for a replace.
        return config_upsert(
            data=data,
            recompute=recompute,
            user=user,
            source=source,
            model_id=model_id,
            if_match=if_match if if_match is not None else config.digest,
            must_exist=True,
        )


def config_delete(*, config: ModelConfig, user: Any = None, source: str = "api", if_match: str | None = None) -> None:
    """Delete a config and its layer types, keeping its last document in the history."""
    with transaction.atomic():
        locked = ModelConfig.objects.select_for_update().filter(pk=config.pk).first()
        if locked is None:
            raise ModelConfig.DoesNotExist(config.model_id)
        if if_match is not None and locked.digest != if_match:
            raise PreconditionFailed(locked.digest)
        ConfigRevision.objects.create(
            model_id=locked.model_id,
            config=None,
            action=ConfigRevision.Action.DELETED,
            source=source,
            user=user if getattr(user, "is_authenticated", False) else None,
            before=locked.to_document(),
            after=None,
        )
        locked.delete()


def config_restore(
    *,
    revision: ConfigRevision,
    user: Any = None,
    source: str = "admin",
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
    return f"{human}\n\n{block}" if human else block


def _selection(config_ids: Iterable[int]) -> tuple[list[ModelConfig], list[ConfigOutcome]]:
    """The stored configs among ``config_ids`` (by model_id), and an outcome GONE for each id not found."""
    ids = list(config_ids)
    configs = list(ModelConfig.objects.filter(pk__in=ids).prefetch_related("layer_types").order_by("model_id"))
    found = {config.pk for config in configs}
    return configs, [ConfigOutcome(pk, None, Outcome.GONE) for pk in ids if pk not in found]


def _write_over_read(
    config: ModelConfig, document: dict[str, Any], *, recompute: bool, user: Any, source: str, **findings: Any
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


def config_run_checks(*, config_ids: Iterable[int], user: Any = None, source: str = "admin") -> list[ConfigOutcome]:
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
    *, config_ids: Iterable[int], validated: bool, user: Any = None, source: str = "admin"
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


@dataclass
class SourceReport:
    """What happened to one input (a file, an upload)."""

    source: str
    model_id: str | None = None
    status: str = "failed"  # created, updated, unchanged, failed
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
        return [s for s in self.sources if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class ImportItem:
    """One parsed input: where it came from, its file name (for the naming rule), and its data or read error."""

    source: str
    data: Any = None
    filename: str | None = None
    read_error: Issue | None = None
    # Problems found before validation (a config.json that cannot be converted): the input fails with them.
    errors: tuple[Issue, ...] = ()


def import_configs(
    items: Iterable[ImportItem],
    *,
    recompute: bool = False,
    dry_run: bool = False,
    prune: bool = False,
    replace: bool = True,
    user: Any = None,
    source: str = "loadconfigs",
    progress: Any = None,
) -> ImportReport:
    """Validate every input, then write all of them in one transaction, or nothing.

    One read of the stored digests tells created, updated and unchanged apart; writes are bulk.
    ``prune`` deletes stored configs that none of the inputs describes. Without ``replace``, an
    input that would change a stored config fails (``already_exists``).
    """
    report = ImportReport()
    with transaction.atomic():
        stored = {
            mid: (pk, dig)
            for mid, pk, dig in ModelConfig.objects.select_for_update().values_list("model_id", "pk", "digest")
        }
        seen: dict[str, SourceReport] = {}
        docs: dict[str, ConfigDoc] = {}
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
            if _stored_as_is(item, stored):
                entry.status = "unchanged"
            else:
                validation = validate_config(item.data, filename=item.filename, recompute=recompute)
                entry.warnings = validation.warnings
                entry.recomputed = validation.recomputed
                if not validation.ok:
                    entry.errors = validation.errors
                    continue
                assert validation.config is not None
                docs[validation.config.model_id] = validation.config
                entry.status = "pending"
            assert entry.model_id is not None
            if entry.model_id in seen:
                other = seen[entry.model_id].source
                entry.errors.append(
                    Issue(
                        "model_id", Code.DUPLICATE_MODEL_ID, f"model_id {entry.model_id!r} is also defined by {other}"
                    )
                )
                entry.status = "failed"
                continue
            seen[entry.model_id] = entry
        if not report.ok:
            for entry in report.sources:
                if entry.status in {"pending", "unchanged"}:
                    entry.status = "not written"
            return report

        to_create: list[_Pending] = []
        to_update: list[_Pending] = []
        for model_id, doc in docs.items():
            document = doc.to_document()
            text = compact(document)
            pending = _Pending(doc, RawJson(document, text), digest(document, text))
            entry = seen[model_id]
            if model_id not in stored:
                entry.status = "created"
                to_create.append(pending)
            elif stored[model_id][1] == pending.digest:
                entry.status = "unchanged"
            elif not replace:
                entry.status = "failed"
                entry.errors.append(
                    Issue(
                        "model_id",
                        Code.ALREADY_EXISTS,
                        f"a different config {model_id!r} is stored; replacing it needs the replace option "
                        "(--replace, ?replace=true), and its curated name, validated and notes give way",
                    )
                )
            else:
                entry.status = "updated"
                pending.pk = stored[model_id][0]
                to_update.append(pending)
        if not report.ok:
            for entry in report.sources:
                if entry.status in {"created", "unchanged", "updated"}:
                    entry.status = "not written"
            return report
        if prune:
            report.pruned = sorted(set(stored) - set(seen))
        if dry_run or not (to_create or to_update or report.pruned):
            return report
        _bulk_write(to_create, to_update, report.pruned, user=user, source=source)
        report.written = True
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


@dataclass
class _Pending:
    doc: ConfigDoc
    document: RawJson
    digest: str
    pk: int | None = None


def _config_row(p: _Pending, now: Any) -> list[Any]:
    return [*(getattr(p.doc, name) for name in CONFIG_VALUE_KEYS), p.digest, now, now]


REVISION_FIELDS = ("model_id", "config", "action", "source", "user", "before", "after", "created")


def _bulk_write(
    to_create: list[_Pending], to_update: list[_Pending], pruned: list[str], *, user: Any, source: str
) -> None:
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    now = timezone.now()
    revisions: list[list[Any]] = []
    Action = ConfigRevision.Action
    if pruned:
        gone = ModelConfig.objects.filter(model_id__in=pruned).prefetch_related("layer_types")
        revisions += [[c.model_id, None, Action.DELETED, source, user_id, c.to_document(), None, now] for c in gone]
        ModelConfig.objects.filter(model_id__in=pruned).delete()
    if to_update:
        ids = [p.pk for p in to_update]
        before = {c.pk: c.to_document() for c in ModelConfig.objects.filter(pk__in=ids).prefetch_related("layer_types")}
        configs = []
        for p in to_update:
            config = ModelConfig(pk=p.pk, updated=now, digest=p.digest)
            for name in CONFIG_VALUE_KEYS:
                setattr(config, name, getattr(p.doc, name))
            configs.append(config)
        ModelConfig.objects.bulk_update(configs, [*CONFIG_VALUE_KEYS, "digest", "updated"], batch_size=1000)
        LayerType.objects.filter(config_id__in=ids).delete()
        revisions += [
            [p.doc.model_id, p.pk, Action.UPDATED, source, user_id, before[p.pk], p.document, now] for p in to_update
        ]
    if to_create:
        new_ids = insert_rows(
            ModelConfig,
            [*CONFIG_VALUE_KEYS, "digest", "created", "updated"],
            [_config_row(p, now) for p in to_create],
            return_ids=True,
        )
        for p, pk in zip(to_create, new_ids, strict=True):
            p.pk = pk
        revisions += [[p.doc.model_id, p.pk, Action.CREATED, source, user_id, None, p.document, now] for p in to_create]
    insert_rows(
        LayerType,
        ("config", "position", "name", "class_name", "count", "specs", "parameter_count"),
        [
            [p.pk, i, layer.name, layer.class_name, layer.count, layer.specs, layer.parameter_count]
            for p in (*to_create, *to_update)
            for i, layer in enumerate(p.doc.layer_types)
        ],
    )
    insert_rows(ConfigRevision, REVISION_FIELDS, revisions)


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
    from registry.core.hf import convert

    items = []
    for src in sources:
        if src.read_error is not None:
            items.append(ImportItem(source=src.source, read_error=src.read_error))
            continue
        conversion = convert(src.config, src.hf_model_id)
        items.append(
            ImportItem(
                source=src.source,
                data=conversion.document or {"model_id": src.hf_model_id.replace("/", "_")},
                errors=tuple(conversion.errors),
            )
        )
    return items


def import_hf(
    sources: Iterable[HFSource],
    *,
    dry_run: bool = False,
    replace: bool = False,
    user: Any = None,
    source: str = "importhf",
) -> ImportReport:
    """Convert Hugging Face config.json files and import the documents: all of them, or nothing.

    A stored config the import would change is refused unless ``replace``: curated configs are not
    overwritten by accident.
    """
    return import_configs(hf_items(sources), dry_run=dry_run, replace=replace, user=user, source=source)


# ---- derived counts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recount:
    """A config whose stored total differed from the catalogue's."""

    model_id: str
    old_total: int
    new_total: int


def recompute_counts(
    *, config_ids: Iterable[int] | None = None, dry_run: bool = False, user: Any = None, source: str = "recompute"
) -> list[Recount]:
    """Recompute every layer's parameter_count and every total in one vectorized pass; store what changed.

    Raises ``CountError`` (``CountOverflow`` when a count does not fit a bigint) with nothing written.
    """
    import numpy as np

    from registry.core import catalogue, counts, format_params

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
        layer_counts = np.fromiter((r[4] for r in layers), dtype=np.int64, count=len(layers))
        try:
            new_totals = counts.totals(owner, layer_counts, per_layer, len(rows))
        except counts.CountOverflow as exc:
            names = ", ".join(rows[i][1] for i in exc.rows[:10])
            raise counts.CountOverflow(f"{exc} for {names}", exc.rows) from exc
        stored_per_layer = np.fromiter((r[5] for r in layers), dtype=np.int64, count=len(layers))
        old_totals = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        # Active counts (routed experts k of E) for configs with an expert class; None for the rest.
        active_per_layer = counts.parameter_counts([r[2] for r in layers], [r[3] for r in layers], active=True)
        active_totals = counts.totals(owner, layer_counts, active_per_layer, len(rows))
        with_experts = {index[r[1]] for r in layers if catalogue.get(r[2]).has_experts}  # type: ignore[union-attr]
        new_active = [int(active_totals[i]) if i in with_experts else None for i in range(len(rows))]

        changed_layers = np.flatnonzero(per_layer != stored_per_layer)
        changed_configs = set(np.flatnonzero(new_totals != old_totals).tolist())
        changed_configs |= {i for i in range(len(rows)) if new_active[i] != rows[i][3]}
        changed_configs |= {index[layers[i][1]] for i in changed_layers}
        recounts = [Recount(rows[i][1], int(old_totals[i]), int(new_totals[i])) for i in sorted(changed_configs)]
        if dry_run or not changed_configs:
            return recounts
        now = timezone.now()
        updated = list(
            ModelConfig.objects.filter(pk__in=[rows[i][0] for i in changed_configs]).prefetch_related("layer_types")
        )
        new_per_layer = {layers[i][0]: int(per_layer[i]) for i in changed_layers}
        revisions = []
        for config in updated:
            before = config.to_document()
            for layer in config.layer_types.all():
                layer.parameter_count = new_per_layer.get(layer.pk, layer.parameter_count)
            total = int(new_totals[index[config.pk]])
            config.total_params = total
            config.total_params_formatted = format_params(total)
            config.active_params = new_active[index[config.pk]]
            config.active_params_formatted = (
                None if config.active_params is None else format_params(config.active_params)
            )
            config.updated = now
            document = config.to_document()
            config.digest = digest(document)
            revisions.append(
                ConfigRevision(
                    model_id=config.model_id,
                    config=config,
                    action=ConfigRevision.Action.UPDATED,
                    source=source,
                    user=user if getattr(user, "is_authenticated", False) else None,
                    before=before,
                    after=document,
                )
            )
        LayerType.objects.bulk_update(
            [LayerType(pk=pk, parameter_count=count) for pk, count in new_per_layer.items()],
            ["parameter_count"],
            batch_size=5000,
        )
        ModelConfig.objects.bulk_update(
            updated,
            ["total_params", "total_params_formatted", "active_params", "active_params_formatted", "digest", "updated"],
            batch_size=2000,
        )
        ConfigRevision.objects.bulk_create(revisions, batch_size=2000)
    return recounts
