"""One config at a time: create, replace, patch, delete, restore; the exceptions a refused write raises."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from registry import selectors
from registry.core import Code, Issue, validate_config
from registry.core.document import merge_patch
from registry.core.validation import Validation
from registry.models import ConfigRevision, ModelConfig
from registry.writer import Delete, Source, Write, restamp, write


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
    # The write changed a derived count of a validated config, so the config is no longer validated.
    validated_cleared: bool = False


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
    keep_validated: bool = False,
) -> WriteResult:
    """Validate ``data`` and create or replace the config it describes, atomically.

    ``model_id``, when given, is the id the caller addresses (a URL); the document must keep it.
    ``if_match`` is a digest the stored config must still have. A replace that changes a derived count
    (total_params, active_params) of a validated config stores it not validated, unless ``keep_validated``.
    Raises ``ConfigRejected`` or ``PreconditionFailed`` (with nothing written); returns what was done otherwise.
    """
    validation = _validated(data, recompute=recompute, model_id=model_id)
    assert validation.config is not None  # _validated raised ConfigRejected otherwise
    doc_id = validation.config.model_id
    # A create that loses a race to another create of the same config is tried once more, as the replace it now
    # is (the row is locked and the write goes over it), unless it may only create.
    for _attempt in range(1 if must_not_exist else 2):
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
                    keep_validated=keep_validated,
                    user=user,
                    source=source,
                )
        except IntegrityError as exc:
            race = exc
    # Only a race gets here (validation has checked everything else): another write created the same config
    # between our check and our insert. The database's own text stays out of the answer.
    raise ConfigRejected(
        [
            Issue(
                "model_id",
                Code.ALREADY_EXISTS,
                f"a config with model_id {doc_id!r} was created by another write at the same time",
            )
        ]
    ) from race


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
        # A patch that sets validated true says the new counts were checked too.
        keep = isinstance(patch, dict) and patch.get("validated") is True
        return _write_one(
            validation, config, before=before, if_match=if_match, keep_validated=keep, user=user, source=source
        )


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
    keep_validated: bool = False,
    user: Any,
    source: Source,
) -> WriteResult:
    """Write one validated config over ``existing`` (its locked row, or None), in the caller's transaction.

    ``before`` is ``existing``'s document when the caller has read it already. A validated config whose
    derived counts change is written not validated (``validated`` said the old counts matched the published
    figures), unless ``keep_validated``.
    """
    doc = validation.config
    assert doc is not None
    cleared = (
        not keep_validated
        and existing is not None
        and existing.validated
        and doc.validated
        and (existing.total_params, existing.active_params) != (doc.total_params, doc.active_params)
    )
    if cleared:
        doc = dataclasses.replace(doc, validated=False)
        validation = dataclasses.replace(validation, config=doc)  # callers render the written document from it
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
        restamp([existing.pk])  # just validated under the current rules
        return WriteResult(existing, created=False, changed=False, validation=validation)
    if existing is not None:
        change.pk, change.before = existing.pk, before if before is not None else existing.to_document()
    created_pks = write([change], user=user, source=source)  # the new pk when it is a create
    pk = existing.pk if existing is not None else created_pks[0]
    return WriteResult(
        ModelConfig.objects.get(pk=pk),
        created=existing is None,
        changed=True,
        validation=validation,
        validated_cleared=cleared,
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
        keep_validated=True,  # the version as it was, validated or not with its own counts
    )
