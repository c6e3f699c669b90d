"""The cheapest deployment over HTTP: ``/models/{id}/recommend`` and ``/recommendations/`` (every config the list's
filters select, in one vectorized search): ``registry.core.recommend.search`` on the catalogue's devices."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry import selectors
from registry.api.errors import config_not_found
from registry.api.filters import SPEC
from registry.api.pagination import paginate
from registry.api.schema import FILTER_PARAMETERS, MODEL_ID, READ_ERRORS, errors, table_parameter
from registry.api.views import RegistryAPIView, parse_query
from registry.core import recommend_parameters
from registry.core.devices import DeviceSpec
from registry.core.engines import Engine
from registry.core.recommend_parameters import Search, chosen, parse_search, recommendations

SEARCH_PARAMETERS = [table_parameter(p) for p in recommend_parameters.TABLE]
SEARCH_QUERY = tuple(p.name for p in recommend_parameters.TABLE)
# Named EngineEnum in the schema (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES), shared with the plan's deployment.
ENGINES = [engine.value for engine in Engine]


class CandidateSerializer(serializers.Serializer):
    """One deployment that fits and meets the limits (estimates)."""

    model_id = serializers.CharField()
    device = serializers.CharField(help_text="The catalogue's device.")
    tp = serializers.IntegerField(min_value=1)
    pp = serializers.IntegerField(min_value=1)
    ep = serializers.IntegerField(min_value=1)
    devices = serializers.IntegerField(min_value=1, help_text="tp × pp × ep: one replica.")
    replicas = serializers.IntegerField(min_value=1, help_text="Replicas reaching target_tps (1 without it).")
    ttft_ms = serializers.FloatField(help_text="Time to first token (estimate).")
    tpot_ms = serializers.FloatField(help_text="Time per output token, excludes the first token (estimate).")
    output_tokens_per_second = serializers.FloatField(help_text="One replica's (estimate).")
    cost_per_million_output_tokens = serializers.FloatField(help_text="US dollars (estimate).")
    cost_per_million_input_tokens = serializers.FloatField(help_text="US dollars (estimate).")


class SearchSerializer(serializers.Serializer):
    """The search as read: the workload, the limits and the devices considered."""

    isl = serializers.IntegerField(min_value=1)
    osl = serializers.IntegerField(min_value=1)
    concurrency = serializers.IntegerField(min_value=1)
    dtype = serializers.CharField()
    kv_dtype = serializers.CharField()
    engine = serializers.ChoiceField(choices=ENGINES, help_text="Whose efficiencies were read.")
    ttft_ms = serializers.FloatField(allow_null=True)
    tpot_ms = serializers.FloatField(allow_null=True)
    devices = serializers.ListField(child=serializers.CharField(), help_text="The devices considered.")
    max_devices = serializers.IntegerField(min_value=1)
    max_pp = serializers.IntegerField(min_value=1)
    target_tps = serializers.FloatField(allow_null=True)


class RecommendationSerializer(serializers.Serializer):
    """A config's cheapest deployment and the Pareto front of cost against TPOT."""

    model_id = serializers.CharField()
    search = SearchSerializer()
    evaluated = serializers.IntegerField(min_value=0, help_text="Deployments evaluated: devices × layouts.")
    best = CandidateSerializer(
        allow_null=True,
        help_text="The least cost per million output tokens that fits and meets the limits; null: none.",
    )
    pareto = CandidateSerializer(
        many=True, help_text="No other candidate is both cheaper and faster (TPOT); by ascending TPOT."
    )


class RecommendationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RecommendationSerializer(many=True)


def search_from(request: Any) -> tuple[Search, list[DeviceSpec]]:
    """The query's search and the devices it considers, or a 400 naming every bad parameter."""
    found, catalogue = parse_query(request, parse_search, SEARCH_QUERY)
    return found, list(chosen(found, catalogue))


class ConfigRecommendView(RegistryAPIView):
    """The cheapest deployment of one config."""

    query_params = {"get": SEARCH_QUERY}

    @extend_schema(
        operation_id="models_recommend",
        summary="The cheapest deployment of a config",
        description="Every device × tp × pp × ep (powers of two, at most max_devices) that places the config and "
        "fits at context isl + osl, estimated by the performance model: the cheapest per million output tokens "
        "meeting ttft_ms and tpot_ms, and the Pareto front of cost against TPOT. Estimates, not measurements.",
        parameters=[MODEL_ID, *SEARCH_PARAMETERS],
        responses={200: RecommendationSerializer, **errors(400, 404, *READ_ERRORS)},
    )
    def get(self, request: Any, model_id: str) -> Any:
        s, devices = search_from(request)
        selected = selectors.with_layers().filter(model_id=model_id)
        configs, rows = selectors.planning_stacks(selected)
        if not configs:
            raise config_not_found()
        return Response(recommendations(configs, rows, s, devices)[0])


class RecommendationListView(RegistryAPIView):
    """The cheapest deployment of every config the list's filters select."""

    query_params = {"get": (*SEARCH_QUERY, *(p.name for p in FILTER_PARAMETERS))}
    repeatable = (SPEC,)

    @extend_schema(
        operation_id="recommendations_list",
        summary="The cheapest deployment of every config",
        description="One vectorized search over every config the filters select (the list's filters and "
        "ordering), paginated as the list is.",
        parameters=[*SEARCH_PARAMETERS, *FILTER_PARAMETERS],
        responses={200: RecommendationPageSerializer, **errors(400, *READ_ERRORS)},
    )
    def get(self, request: Any) -> Any:
        s, devices = search_from(request)
        configs, rows = selectors.planning_stacks(self.selected(request, SEARCH_QUERY))
        paginator, page = paginate(recommendations(configs, rows, s, devices), request, self)
        return paginator.get_paginated_response(page)
