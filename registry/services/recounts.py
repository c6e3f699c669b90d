"""Stored configs under the current catalogue and rules: derived counts recomputed, configs re-checked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from registry import selectors
from registry.bulk import gc_paused
from registry.core import Issue, catalogue, validate_config
from registry.models import LayerType, ModelConfig
from registry.writer import Source, Write, restamp, write

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


# ---- re-checking stored configs under the current rules ------------------------------------------------


@dataclass(frozen=True)
class Recheck:
    """A stored config the current rules refuse as it is (its errors), or whose derived values they would change."""

    model_id: str
    errors: list[Issue]


def revalidate(*, config_ids: Iterable[int] | None = None, dry_run: bool = False) -> tuple[int, list[Recheck]]:
    """Validate stored configs (all, or those of ``config_ids``) under the current rules and stamp those accepted as
    they are: no revision is written and their digests (ETags) stay. Returns how many were stamped and the configs
    the rules refuse (left as they are: ``recomputecounts`` fixes stale counts; others need an edit)."""
    with transaction.atomic():
        configs = selectors.with_layers(ModelConfig.objects.select_for_update().order_by("model_id"))
        if config_ids is not None:
            configs = configs.filter(pk__in=list(config_ids))
        accepted: list[int] = []
        refused: list[Recheck] = []
        for config in configs:
            validation = validate_config(config.to_document())
            if validation.ok:
                accepted.append(config.pk)
            else:
                refused.append(Recheck(config.model_id, validation.errors))
        if not dry_run:
            restamp(accepted)
    return len(accepted), refused
