"""Reads several callers share, written once."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.core.planning import StackConfig, StackRow
from registry.models import LayerType, ModelConfig


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
