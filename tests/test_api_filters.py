"""The list's filters on spec values and top-level fields, shared by /models/ and /plans/, and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from registry.api.serializers import ConfigSummarySerializer
from registry.core.spec_filters import MAX_SPEC_FILTERS, parse_spec_filters
from tests.conftest import FIXTURE_IDS, MODELS_2026, error_codes, get_errors

pytestmark = pytest.mark.django_db

GPT_OSS, QWEN35, SCOUT, GEMMA4, DSV32, NEMOTRON = MODELS_2026
DEEPSEEK, MIXTRAL, MISTRAL = "deepseek-ai_DeepSeek-V3", "mistralai_Mixtral-8x7B-v0.1", "mistralai_Mistral-7B-v0.1"
QWEN, GEMMA, GPT2 = "Qwen_Qwen2.5-7B-Instruct", "google_gemma-2-2b", "openai-community_gpt2"
TINY = "TinyLlama_TinyLlama-1.1B-Chat-v1.0"


def _ids(api, path: str) -> list[str]:
    response = api.get(path)
    assert response.status_code == 200, response.content
    return [item["model_id"] for item in response.json()["results"]]


# ---- spec values and top-level fields --------------------------------------------------------------------

# Expected sets read off the fixture files by hand (fixtures/<model_id>.json).
FILTERS = [
    # num_experts: Qwen3.5 512, DeepSeek-V3 and V3.2 256, gemma-4, Nemotron, gpt-oss 128, Scout 16, Mixtral 8.
    ("spec=num_experts__gte:128", [QWEN35, DEEPSEEK, DSV32, GEMMA4, NEMOTRON, GPT_OSS]),
    ("spec=num_experts__gt:128", [QWEN35, DEEPSEEK, DSV32]),
    ("spec=num_experts__lt:16", [MIXTRAL]),
    ("spec=num_experts__lte:16", [SCOUT, MIXTRAL]),
    ("spec=num_experts:256", [DEEPSEEK, DSV32]),
    ("spec=num_experts__exact:8", [MIXTRAL]),
    ("spec=head_dim:256", [QWEN35, GEMMA, GEMMA4]),  # gemma-4 also has a 512 one
    ("spec=head_dim__gt:256", [GEMMA4]),
    ("spec=qk_norm:per_head", [QWEN35, GEMMA4]),
    ("spec=num_experts__gte:128&spec=head_dim:256", [QWEN35, GEMMA4]),  # repeatable: AND
    ("spec=num_experts:9", []),
    # Top-level fields.
    ("vocab_size=32000", [TINY, MISTRAL, MIXTRAL]),
    ("vocab_size__gt=200000&vocab_size__lt=250000", [QWEN35, SCOUT, GPT_OSS]),
    ("max_position_embeddings__gte=262144", [QWEN35, GEMMA4, SCOUT, NEMOTRON]),
    ("max_position_embeddings__lte=8192", [GEMMA, GPT2]),  # a config without one is left out
    ("active_params__lt=4000000000", [TINY, GEMMA, GEMMA4, NEMOTRON, GPT2]),  # dense: all active
    ("total_params=124439808", [GPT2]),
    ("hidden_size__gte=8192&num_layers__lt=100", ["meta-llama_Llama-3.3-70B-Instruct"]),
]


@pytest.mark.parametrize("path", ["/models/", "/plans/"])
@pytest.mark.parametrize("query, expected", FILTERS)
def test_spec_and_field_filters_select_the_configs_they_describe(api, loaded_fixtures, path, query, expected):
    """Each filter narrows /models/ and /plans/ alike to the configs whose values match it."""
    assert sorted(_ids(api, f"{path}?{query}&limit=500")) == sorted(expected)


@pytest.mark.parametrize(
    "query, errors",
    [
        ("spec=num_expertz:1", [("query.spec[0]", "unknown_key")]),
        ("spec=num_experts__near:1", [("query.spec[0]", "invalid_choice")]),
        ("spec=num_experts:many", [("query.spec[0]", "not_an_integer")]),
        ("spec=num_experts:-1", [("query.spec[0]", "not_an_integer")]),
        ("spec=num_experts:9223372036854775808", [("query.spec[0]", "too_large")]),
        ("spec=qk_norm__gte:none", [("query.spec[0]", "invalid_choice")]),
        ("spec=qk_norm:sometimes", [("query.spec[0]", "invalid_choice")]),
        ("spec=has_bias:yes", [("query.spec[0]", "not_a_boolean")]),
        ("spec=num_experts", [("query.spec[0]", "invalid_value")]),
        (
            "spec=head_dim:64&spec=nope:1&spec=head_dim:x",
            [("query.spec[1]", "unknown_key"), ("query.spec[2]", "not_an_integer")],
        ),
        ("spec=", [("query.spec", "blank")]),
        ("&".join(["spec=head_dim:64"] * (MAX_SPEC_FILTERS + 1)), [("query.spec", "too_many")]),
        ("vocab_size__gte=lots", [("query.vocab_size__gte", "invalid")]),
        ("max_position_embeddings__lt=-1", [("query.max_position_embeddings__lt", "min_value")]),
        ("vocab_size__in=1,2", [("query.vocab_size__in", "unknown_parameter")]),
        ("vocab_size=1&vocab_size=2", [("query.vocab_size", "repeated_parameter")]),
    ],
)
@pytest.mark.parametrize("path", ["/models/", "/plans/"])
def test_a_bad_filter_is_a_400_with_its_path_and_code(api, loaded_fixtures, path, query, errors):
    """A spec not in the catalogue, a bad operator or value is a 400 at query.spec[i], never a 500 or ignored."""
    assert get_errors(api, f"{path}?{query}") == errors


def test_spec_values_are_typed_by_the_catalogue():
    """The core types each value by its spec's kind: integers, flags, choices."""
    filters, issues = parse_spec_filters(["num_experts__gte:64", "has_bias:false", "qk_norm:per_head", "mtp:true"])
    assert not issues
    assert [(f.name, f.op, f.value) for f in filters] == [
        ("num_experts", "gte", 64),
        ("has_bias", "exact", False),
        ("qk_norm", "exact", "per_head"),
        ("mtp", "exact", True),
    ]


# ---- /plans/ answers blank filters as /models/ does; fits=false ---------------------------------------------

BLANK_FILTERS = ["num_layers", "ordering", "validated", "layer_class", "min_params", "max_params", "hidden_size"]


@pytest.mark.parametrize("name", [*BLANK_FILTERS, "min_active_params", "max_active_params", "vocab_size__gte"])
@pytest.mark.parametrize("path", ["/models/", "/plans/"])
def test_a_blank_filter_is_a_400_on_both_lists(api, loaded_fixtures, path, name):
    """``name=`` is a 400 (blank) on /plans/ as on /models/, never every config."""
    assert get_errors(api, f"{path}?{name}=") == [(f"query.{name}", "blank")]


def test_plans_search_may_be_blank(api, loaded_fixtures):
    """An empty search matches every config, on both lists."""
    assert len(_ids(api, "/plans/?search=&limit=500")) == len(_ids(api, "/models/?search=&limit=500"))


def test_fits_false_lists_the_configs_the_degrees_cannot_split(api, loaded_fixtures):
    """A config the degrees cannot split never fits: fits=false lists it, fits=true does not; together all."""
    query = "/plans/?tp=8&device_memory=80GB&limit=500"
    refused = {p["model_id"] for p in api.get(query).json()["results"] if p["errors"]}
    assert refused == {QWEN, GPT2}
    fitting = api.get(f"{query}&fits=true").json()["results"]
    not_fitting = api.get(f"{query}&fits=false").json()["results"]
    assert refused <= {p["model_id"] for p in not_fitting}
    assert not refused & {p["model_id"] for p in fitting}
    assert all(p["fit"]["fits"] for p in fitting) and not any(p.get("fit", {}).get("fits") for p in not_fitting)
    assert sorted(p["model_id"] for p in fitting + not_fitting) == sorted(FIXTURE_IDS)


# ---- CSV -------------------------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_has_a_header_and_a_row_per_config_with_the_list_items_values(api, loaded_fixtures):
    """?format=csv: every config (no page), a header row, the JSON item's values; null and absent are empty."""
    response = api.get("/models/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="models.csv"'
    rows = _csv(response)
    items = api.get("/models/?limit=500").json()["results"]
    header = response.content.decode().split("\r\n", 1)[0].split(",")
    assert header == list(ConfigSummarySerializer.Meta.fields)  # a list item's keys, in its order
    assert len(rows) == len(FIXTURE_IDS) == len(items)
    for row, item in zip(rows, items, strict=True):
        expected = {k: "" for k in header}
        expected.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in item.items()})
        assert row == expected


def test_csv_takes_the_same_filters_and_ordering(api, loaded_fixtures):
    """The rows are the JSON list's, in its order, whatever the filters."""
    query = "spec=num_experts__gte:16&vocab_size__gt=150000&ordering=-total_params"
    rows = _csv(api.get(f"/models/?{query}&format=csv"))
    assert [r["model_id"] for r in rows] == _ids(api, f"/models/?{query}") == [QWEN35, GPT_OSS, SCOUT, GEMMA4]
    assert rows[0]["total_params"] == "396346350336" and rows[0]["active_params"] == "17349040896"
    assert [r["model_id"] for r in _csv(api.get(f"/models/?{query}&format=csv&limit=2&offset=1"))] == [GPT_OSS, SCOUT]
    assert [r["model_id"] for r in _csv(api.get(f"/models/?{query}", HTTP_ACCEPT="text/csv"))] == [
        QWEN35,
        GPT_OSS,
        SCOUT,
        GEMMA4,
    ]


def test_csv_errors_are_json(api, loaded_fixtures):
    """A bad filter with format=csv is the usual JSON 400; expand has no CSV form."""
    response = api.get("/models/?format=csv&spec=nope:1")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert error_codes(response) == [("query.spec[0]", "unknown_key")]
    assert get_errors(api, "/models/?format=csv&expand=layer_types") == [("query.expand", "invalid_choice")]


def test_csv_leaves_the_detail_and_its_lean_path_alone(api, loaded_fixtures):
    """A document has no CSV form (400); the plain read still answers JSON with its ETag."""
    model_id = FIXTURE_IDS[0]
    assert get_errors(api, f"/models/{model_id}?format=csv") == [("query.format", "invalid_choice")]
    plain = api.get(f"/models/{model_id}")
    assert plain.status_code == 200 and plain["Content-Type"] == "application/json" and plain["ETag"]


def test_csv_quotes_text_a_spreadsheet_would_run(api, db):
    """A name starting with '=' is written with a leading quote, not as a formula."""
    from tests.conftest import small_config, store

    store(small_config(name="=HYPERLINK(1)"))
    assert _csv(api.get("/models/?format=csv"))[0]["name"] == "'=HYPERLINK(1)"


# ---- indexes ---------------------------------------------------------------------------------------------


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_spec_filters_can_use_the_gin_index(api, loaded_fixtures):
    """The filter's SQL reads LayerType.specs through its GIN index, for exact (@>) and range (?) alike."""
    from registry import selectors
    from registry.models import ModelConfig

    for op, value in [("exact", 256), ("gte", 64)]:
        sql, params = selectors.with_spec(ModelConfig.objects.all(), "num_experts", op, value).query.sql_with_params()
        plan = _plan(sql, list(params))
        assert "layertype_specs_gin" in plan, plan


@pytest.mark.parametrize(
    "name", ["vocab_size", "max_position_embeddings", "hidden_size", "num_layers", "active_params"]
)
def test_field_filters_can_use_a_btree_index(db, name):
    """The list's own query for each top-level range filter can read an index (active: the coalesced one)."""
    from django.http import QueryDict

    from registry.api.filters import ConfigFilterSet

    filterset = ConfigFilterSet(QueryDict(f"{name}__gte=1"))
    assert filterset.is_valid()
    sql, params = filterset.qs.values("pk").query.sql_with_params()
    plan = _plan(sql, list(params))
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_options_and_head_with_format_csv(api, loaded_fixtures):
    """OPTIONS describes the endpoint (as JSON) whatever the format; HEAD answers as GET does, without a body."""
    options = api.options("/models/?format=csv")
    assert options.status_code == 200 and options["Content-Type"] == "application/json"
    head = api.head("/models/?format=csv&spec=head_dim:256")
    assert head.status_code == 200 and head.content == b"" and head["Content-Type"] == "text/csv; charset=utf-8"


def test_schema_documents_filters_csv_and_json_errors(api, db):
    """The OpenAPI schema lists the new filters, the CSV form of the list's 200, and errors as JSON only."""
    schema = api.get("/schema/?format=json").json()
    for path in ("/models/", "/plans/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"spec", "vocab_size__gte", "max_position_embeddings__lt", "active_params"} <= names, path
    responses = schema["paths"]["/models/"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"application/json", "text/csv"}
    assert set(responses["400"]["content"]) == {"application/json"}
    assert "text/csv" not in schema["paths"]["/models/"]["post"]["responses"]["201"]["content"]
