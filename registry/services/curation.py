"""Curation of selected configs: the checks' findings in their notes, and the validated flag."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry import selectors
from registry.core import Issue, validate_config
from registry.core.validation import MAX_NOTES_LENGTH, Validation
from registry.models import ModelConfig
from registry.services import configs
from registry.services.configs import ConfigRejected, PreconditionFailed
from registry.writer import Source

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
        result = configs.config_upsert(
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
