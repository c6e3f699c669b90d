"""Reads several callers share, written once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from registry.bulk import concrete_field
from registry.core.devices import DeviceSpec, parse_device
from registry.core.planning import StackConfig, StackRow
from registry.core.validation import published_total_agrees
from registry.models import ConfigRevision, Device, LayerType, ModelConfig


def stored_version(model_id: str) -> tuple[int, str, datetime] | None:
    """(pk, digest, updated) of a config, or None: the one query of a cached detail read.

    Raw SQL because on this path the ORM's query compilation costs more than the query itself.
    """
    meta = ModelConfig._meta
    q = connection.ops.quote_name
    columns = ", ".join(q(concrete_field(ModelConfig, f).column) for f in ("id", "digest", "updated"))
    sql = f"SELECT {columns} FROM {q(meta.db_table)} WHERE {q(concrete_field(ModelConfig, 'model_id').column)} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [model_id])
        return cursor.fetchone()


def with_layers(configs: QuerySet[ModelConfig] | None = None) -> QuerySet[ModelConfig]:
    """``configs`` (default: all) with their layer types, in one more query: what a document needs."""
    return (ModelConfig.objects.all() if configs is None else configs).prefetch_related("layer_types")


def config_with_layers(**lookup: Any) -> ModelConfig | None:
    """The config matching ``lookup`` (``model_id=`` or ``pk=``) with its layer types, or None."""
    return with_layers().filter(**lookup).first()


def with_layer_class(configs: QuerySet[ModelConfig], class_name: str) -> QuerySet[ModelConfig]:
    """The configs of ``configs`` with a layer type of class ``class_name``."""
    return configs.filter(Exists(LayerType.objects.filter(config=OuterRef("pk"), class_name=class_name)))


def with_published_mismatch(configs: QuerySet[ModelConfig], mismatch: bool = True) -> QuerySet[ModelConfig]:
    """The configs of ``configs`` whose derived total disagrees with their published total (the core's rule,
    ``published_total_agrees``), or with ``mismatch`` false the others (those without a published total too)."""
    rows = ModelConfig.objects.filter(published_total_params__isnull=False).values_list(
        "pk", "total_params", "published_total_params"
    )
    pks = [pk for pk, total, published in rows if not published_total_agrees(total, published)]
    return configs.filter(pk__in=pks) if mismatch else configs.exclude(pk__in=pks)


def with_spec(configs: QuerySet[ModelConfig], name: str, op: str, value: Any) -> QuerySet[ModelConfig]:
    """The configs of ``configs`` with a layer type whose spec ``name`` compares by ``op`` (exact, gte, lte, gt,
    lt) with ``value``; an optional spec left out of a layer type matches nothing.

    Both forms can use the GIN index on LayerType.specs: ``@>`` (containment) for exact, ``?`` (has the key)
    to narrow the rows a comparison reads.
    """
    if op == "exact":
        match = Q(specs__contains={name: value})
    else:
        match = Q(specs__has_key=name) & Q(**{f"specs__{name}__{op}": value})
    return configs.filter(Exists(LayerType.objects.filter(match, config=OuterRef("pk"))))


def config_pks(model_ids: Iterable[str]) -> dict[str, int]:
    """The primary keys of the stored configs among ``model_ids``, by model_id (ids not stored are left out)."""
    return dict(ModelConfig.objects.filter(model_id__in=list(model_ids)).values_list("model_id", "pk"))


def revision_of(model_id: str, pk: int) -> ConfigRevision | None:
    """Revision ``pk`` of the config ``model_id`` (deleted or not), with its user, or None."""
    return revisions_of(model_id).filter(pk=pk).first()


def current_digest(**lookup: Any) -> str | None:
    """The stored digest (the ETag) of the config matching ``lookup``, or None when there is no such config."""
    return ModelConfig.objects.filter(**lookup).values_list("digest", flat=True).first()


def documents_of(model_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored documents of these model_ids, by model_id (two queries); ids not stored are left out."""
    return {config.model_id: config.to_document() for config in with_layers().filter(model_id__in=list(model_ids))}


def planning_stacks(configs: QuerySet[ModelConfig]) -> tuple[list[StackConfig], list[StackRow]]:
    """The configs of ``configs`` (in its order) and all their layer rows, as planning reads them: two queries."""
    head = list(configs.values_list("pk", "model_id", "num_layers", "max_position_embeddings"))
    index = {pk: i for i, (pk, *_) in enumerate(head)}
    rows = [
        StackRow(index[config_id], name, class_name, count, specs)
        for config_id, name, class_name, count, specs in LayerType.objects.filter(config_id__in=index)
        .order_by("config_id", "position")
        .values_list("config_id", "name", "class_name", "count", "specs")
    ]
    stacks = [StackConfig(model_id, layers, context) for _, model_id, layers, context in head]
    return stacks, rows


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


def device_catalogue() -> dict[str, DeviceSpec]:
    """Every device of the catalogue by its name and by each of its aliases, from the database (one query).

    Nothing until the catalogue is loaded (``manage.py loadconfigs`` loads ``fixtures/devices/devices.json``): the
    planner then knows no device, rather than figures the database does not hold.
    """
    out: dict[str, DeviceSpec] = {}
    for document in Device.objects.order_by("position", "name").values_list("document", flat=True):
        spec, _ = parse_device(document)
        if spec is not None:  # every stored document was validated by the services
            out.update((key, spec) for key in (spec.name, *spec.aliases))
    return out
