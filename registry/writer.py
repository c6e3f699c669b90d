"""The one writer: validated documents in, config rows, layer rows and revisions out, in bulk.

Every write of the services goes through ``write``: an upsert is a batch of one, an import or a
recount a larger one. The caller holds the transaction and the row locks; the writer only writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from registry import selectors
from registry.bulk import RawJson, insert_rows
from registry.core import ConfigDoc, digest
from registry.core.document import compact, rules_stamp
from registry.core.keys import CONFIG_VALUE_KEYS
from registry.models import ConfigRevision, LayerType, ModelConfig

Source = ConfigRevision.Source
Action = ConfigRevision.Action


@dataclass
class Write:
    """One config to write: its validated document, and for a stored config its pk and, if known, the
    document it replaces (else the writer reads it)."""

    doc: ConfigDoc
    pk: int | None = None
    before: dict[str, Any] | None = None
    action: str | None = None  # default: created, or updated
    document: RawJson = field(init=False)
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        document = self.doc.to_document()
        text = compact(document)
        self.document = RawJson(document, text)
        self.digest = digest(document, text)


@dataclass(frozen=True)
class Delete:
    """A stored config to delete; its last document stays in the history."""

    pk: int
    model_id: str
    before: dict[str, Any]


REVISION_FIELDS = ("model_id", "config", "action", "source", "user", "before", "after", "created")
LAYER_FIELDS = ("config", "position", "name", "class_name", "count", "specs", "parameter_count")


def user_id(user: Any) -> int | None:
    """The acting user's id for a revision, or None for anonymous and system writes."""
    return user.pk if getattr(user, "is_authenticated", False) else None


def write(writes: Sequence[Write], *, deletes: Sequence[Delete] = (), user: Any = None, source: Source) -> list[int]:
    """Write ``writes`` (creates and updates) and ``deletes`` with their revisions; the creates' new pks, in order.

    Config rows are inserted with COPY (updated with one UPDATE per batch), layer rows are replaced
    and inserted with COPY, revisions with COPY: a handful of statements whatever the batch size.
    """
    now = timezone.now()
    acting = user_id(user)
    revisions: list[list[Any]] = []
    if deletes:
        revisions += [[d.model_id, None, Action.DELETED, source, acting, d.before, None, now] for d in deletes]
        ModelConfig.objects.filter(pk__in=[d.pk for d in deletes]).delete()
    creates = [w for w in writes if w.pk is None]
    updates = [w for w in writes if w.pk is not None]
    if updates:
        missing = [w.pk for w in updates if w.before is None]
        if missing:
            stored = selectors.with_layers(ModelConfig.objects.filter(pk__in=missing))
            befores = {c.pk: c.to_document() for c in stored}
            for w in updates:
                if w.before is None and w.pk is not None:  # every update has a pk: this narrows it
                    w.before = befores[w.pk]
        rows = []
        for w in updates:
            row = ModelConfig(pk=w.pk, updated=now, digest=w.digest, rules=rules_stamp())
            for name in CONFIG_VALUE_KEYS:
                setattr(row, name, getattr(w.doc, name))
            rows.append(row)
        ModelConfig.objects.bulk_update(rows, [*CONFIG_VALUE_KEYS, "digest", "rules", "updated"], batch_size=1000)
        LayerType.objects.filter(config_id__in=[w.pk for w in updates]).delete()
    if creates:
        new_ids = insert_rows(
            ModelConfig,
            [*CONFIG_VALUE_KEYS, "digest", "rules", "created", "updated"],
            [
                [*(getattr(w.doc, name) for name in CONFIG_VALUE_KEYS), w.digest, rules_stamp(), now, now]
                for w in creates
            ],
            return_ids=True,
        )
        for w, pk in zip(creates, new_ids, strict=True):
            w.pk = pk
    else:
        new_ids = []
    for w in writes:
        default = Action.UPDATED if w.before is not None else Action.CREATED
        revisions.append([w.doc.model_id, w.pk, w.action or default, source, acting, w.before, w.document, now])
    insert_rows(
        LayerType,
        LAYER_FIELDS,
        [
            [w.pk, i, layer.name, layer.class_name, layer.count, layer.specs, layer.parameter_count]
            for w in writes
            for i, layer in enumerate(w.doc.layer_types)
        ],
    )
    insert_rows(ConfigRevision, REVISION_FIELDS, revisions)
    return new_ids


def restamp(pks: Sequence[int]) -> None:
    """Mark configs whose documents the current rules accept unchanged as validated under them: no revision, and
    their digests (ETags) stay."""
    if pks:
        ModelConfig.objects.filter(pk__in=list(pks)).exclude(rules=rules_stamp()).update(rules=rules_stamp())
