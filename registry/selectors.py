"""Reads several callers share, written once."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from registry.core.planning import StackConfig, StackRow
from registry.models import ConfigRevision, LayerType, ModelConfig


def stored_version(model_id: str) -> tuple[int, str, datetime] | None:
    """(pk, digest, updated) of a config, or None: the one query of a cached detail read.

    Raw SQL because on this path the ORM's query compilation costs more than the query itself.
    """
    meta = ModelConfig._meta
    q = connection.ops.quote_name
    columns = ", ".join(q(meta.get_field(f).column) for f in ("id", "digest", "updated"))
    sql = f"SELECT {columns} FROM {q(meta.db_table)} WHERE {q(meta.get_field('model_id').column)} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [model_id])
        return cursor.fetchone()


def planning_stacks(configs: QuerySet[ModelConfig]) -> tuple[list[StackConfig], list[StackRow], list[int]]:
    """The configs of ``configs`` (in its order) and all their layer rows, as planning reads them: two queries.

    Also returns the configs' primary keys, in the same order.
    """
    head = list(configs.values_list("pk", "model_id", "num_layers", "max_position_embeddings"))
    index = {pk: i for i, (pk, *_) in enumerate(head)}
    rows = [
        StackRow(index[config_id], name, class_name, count, specs)
        for config_id, name, class_name, count, specs in LayerType.objects.filter(config_id__in=index)
        .order_by("config_id", "position")
        .values_list("config_id", "name", "class_name", "count", "specs")
    ]
    stacks = [StackConfig(model_id, layers, context) for _, model_id, layers, context in head]
    return stacks, rows, [pk for pk, *_ in head]


def revisions_of(model_id: str) -> QuerySet[ConfigRevision]:
    """A config's revisions, newest first (the revision_history index), with their users; a deleted config's too."""
    return ConfigRevision.objects.filter(model_id=model_id).select_related("user")


def latest_revision(model_id: str) -> ConfigRevision | None:
    """The newest revision of a config, with its user: who wrote (or deleted) it last."""
    return revisions_of(model_id).first()


def deleted_revisions() -> QuerySet[ConfigRevision]:
    """The deletion of every config that is gone: its latest revision is a deletion; newest first."""
    later = ConfigRevision.objects.filter(model_id=OuterRef("model_id")).filter(
        Q(created__gt=OuterRef("created")) | Q(created=OuterRef("created"), pk__gt=OuterRef("pk"))
    )
    return (
        ConfigRevision.objects.filter(action=ConfigRevision.Action.DELETED)
        .exclude(Exists(later))
        .exclude(Exists(ModelConfig.objects.filter(model_id=OuterRef("model_id"))))
        .select_related("user")
    )
