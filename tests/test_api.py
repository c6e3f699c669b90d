"""The read side of the REST API: documents, lists, filters, ordering, caching headers, the catalogue."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.utils.http import http_date

from registry import services
from registry.api.urls import urlpatterns
from registry.core import catalogue
from registry.core.validation import RESERVED_MODEL_IDS
from registry.models import ModelConfig
from tests.conftest import (
    FIXTURE_IDS,
    LLAMA,
    MODELS_2026,
    SEED,
    SPEC_KEY_ORDER,
    fixture_document,
    small_config,
    store,
    store_many,
)

pytestmark = pytest.mark.django_db

LLAMA_405B = "meta-llama_Llama-3.1-405B-Instruct"
MISTRAL = "mistralai_Mistral-7B-v0.1"
SEED_IDS = sorted(SEED)
QWEN, GEMMA, GPT2 = "Qwen_Qwen2.5-7B-Instruct", "google_gemma-2-2b", "openai-community_gpt2"
MIXTRAL, DEEPSEEK = "mistralai_Mixtral-8x7B-v0.1", "deepseek-ai_DeepSeek-V3"
GPT_OSS, QWEN35, SCOUT, GEMMA4, DSV32, NEMOTRON = MODELS_2026


@pytest.mark.parametrize("model_id", FIXTURE_IDS)
@pytest.mark.parametrize("slash", ["", "/"])
def test_detail_is_the_fixture_file(api, loaded_fixtures, model_id, slash):
    """GET /models/{id}, with or without a trailing slash and no redirect, equals the fixture file as JSON."""
    response = api.get(f"/models/{model_id}{slash}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == fixture_document(model_id)
    # Key order too: the document is written in the format's order.
    assert list(json.loads(response.content)) == list(fixture_document(model_id))


def test_detail_is_the_fixture_file_on_a_cold_cache(api, loaded_fixtures):
    """The document is the same whether it is rendered now or comes from the cache."""
    cache.clear()
    first = api.get(f"/models/{LLAMA}")
    second = api.get(f"/models/{LLAMA}")
    assert first.content == second.content
    assert json.loads(first.content) == fixture_document(LLAMA)


def test_detail_unknown_id_is_a_json_404(api, db):
    """An unknown model_id is a 404 with a JSON body."""
    response = api.get("/models/no-such-model")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"loc": "$", "code": "not_found", "msg": "No config with this model_id."}]}


@pytest.mark.parametrize("path", ["/models/bad%20id", "/nowhere", "/models/a/b/c"])
def test_unrouted_paths_are_json_404s(api, db, path):
    """A path no route matches is a JSON 404, not Django's HTML page."""
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_found"


def test_admin_404_stays_html(client, admin_user):
    """The admin keeps Django's own 404 page."""
    client.force_login(admin_user)
    response = client.get("/admin/registry/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_detail_carries_strong_etag_and_last_modified(api, loaded_fixtures):
    """ETag is the stored digest, quoted (strong); Last-Modified is when the config last changed."""
    config = ModelConfig.objects.get(model_id=LLAMA)
    response = api.get(f"/models/{LLAMA}")
    assert response["ETag"] == f'"{config.digest}"'
    assert response["Last-Modified"] == http_date(config.updated.timestamp())


@pytest.mark.parametrize("form", ['"{d}"', 'W/"{d}"', '"other", "{d}"', "*"])
def test_if_none_match_with_the_current_etag_is_304(api, loaded_fixtures, form):
    """If-None-Match naming the current ETag (weak comparison, lists, *) gives 304 with no body."""
    digest = ModelConfig.objects.get(model_id=LLAMA).digest
    response = api.get(f"/models/{LLAMA}", HTTP_IF_NONE_MATCH=form.format(d=digest))
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == f'"{digest}"'


def test_if_none_match_with_an_old_etag_is_200(api, loaded_fixtures):
    """A stale ETag in If-None-Match gets the full document."""
    response = api.get(f"/models/{LLAMA}", HTTP_IF_NONE_MATCH='"0123"')
    assert response.status_code == 200
    assert response.json()["model_id"] == LLAMA


def test_if_modified_since_not_older_than_last_change_is_304(api, loaded_fixtures):
    """Without If-None-Match, If-Modified-Since at or after Last-Modified gives 304."""
    last_modified = api.get(f"/models/{LLAMA}")["Last-Modified"]
    assert api.get(f"/models/{LLAMA}", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert api.get(f"/models/{LLAMA}", HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code == 200


def test_a_write_replaces_the_cached_document(api, db):
    """After any write through the services the next GET serves the new document and ETag."""
    store(small_config())
    before = api.get("/models/acme_tiny-1")
    services.config_upsert(data=small_config(name="Renamed"), source="api")
    after = api.get("/models/acme_tiny-1")
    assert after.json()["name"] == "Renamed"
    assert after["ETag"] != before["ETag"]
    assert after["ETag"] == f'"{ModelConfig.objects.get().digest}"'


def test_detail_in_the_browsable_api(api, loaded_fixtures):
    """A browser (Accept: text/html) gets DRF's browsable API page for the same document."""
    response = api.get(f"/models/{LLAMA}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"GroupedQueryAttentionLayer" in response.content


# ---- the lean path of a cached read (views.lean_detail) ----------------------------------------

HEADERS = ("Content-Type", "ETag", "Last-Modified", "Allow", "Vary")


def _warm(api, model_id: str = LLAMA) -> None:
    assert api.get(f"/models/{model_id}").status_code == 200


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/json, */*;q=0.8"])
def test_lean_read_answers_as_drf_does(api, loaded_fixtures, accept, django_assert_num_queries):
    """A cached read skips DRF (one query, no session) yet sends DRF's body and headers."""
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    _warm(api)
    drf = api.get(f"/models/{LLAMA}?format=json", **extra)
    with django_assert_num_queries(1):
        lean = api.get(f"/models/{LLAMA}", **extra)
    assert lean.status_code == drf.status_code == 200
    assert lean.content == drf.content
    assert {h: lean.get(h) for h in HEADERS} == {h: drf.get(h) for h in HEADERS}


def test_lean_head_and_304_match_drf(api, loaded_fixtures):
    """HEAD and a conditional GET on the lean path carry the same validators as DRF's."""
    _warm(api)
    head, drf_head = api.head(f"/models/{LLAMA}"), api.head(f"/models/{LLAMA}?format=json")
    assert head.status_code == drf_head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == drf_head["ETag"]
    tag = head["ETag"]
    lean = api.get(f"/models/{LLAMA}", HTTP_IF_NONE_MATCH=tag)
    drf = api.get(f"/models/{LLAMA}?format=json", HTTP_IF_NONE_MATCH=tag)
    assert lean.status_code == drf.status_code == 304
    assert lean["ETag"] == drf["ETag"] == tag


def test_lean_read_follows_a_write(api, db):
    """A write changes the digest, so the lean path can never serve the old body."""
    store(small_config())
    _warm(api, "acme_tiny-1")
    services.config_upsert(data=small_config(name="Renamed"), source="api")
    response = api.get("/models/acme_tiny-1")
    assert response.json()["name"] == "Renamed"
    assert response["ETag"] == f'"{ModelConfig.objects.get().digest}"'
    services.config_delete(model_id=ModelConfig.objects.get().model_id, source="api")
    assert api.get("/models/acme_tiny-1").status_code == 404


def test_lean_read_respects_reads_require_auth(api, loaded_fixtures, settings):
    """With reads requiring auth, a cached document is still a 401 for an anonymous client."""
    _warm(api)
    settings.REGISTRY_READS_REQUIRE_AUTH = True
    response = api.get(f"/models/{LLAMA}")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_lean_read_leaves_bad_credentials_to_drf(api, loaded_fixtures):
    """A bad token is a 401 on a public read too, cached document or not."""
    _warm(api)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(f"/models/{LLAMA}").status_code == 401


def test_lean_read_leaves_browsers_to_drf(api, loaded_fixtures):
    """A browser asking for HTML gets the browsable API even when the document is cached."""
    _warm(api)
    response = api.get(f"/models/{LLAMA}", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response["Content-Type"].startswith("text/html")


# ---- the list ----------------------------------------------------------------------------------


# The list's items: the format's keys without the layer types, then the item's URL and its last change; the
# published total and its source (absent from the worked example) before validated, as a document has them.
_PUBLISHED = ["published_total_params", "published_total_params_source"]
SUMMARY_KEYS = [
    *(
        k
        for key in SPEC_KEY_ORDER
        if key != "layer_types"
        for k in ([*_PUBLISHED, key] if key == "validated" else [key])
    ),
    "url",
    "updated",
]


def test_list_items_are_summaries_with_their_url(api, loaded_fixtures):
    """Each item is the config's fields without layer_types, plus its URL; ordered by model_id."""
    body = api.get("/models/").json()
    assert body["count"] == len(FIXTURE_IDS) and body["next"] is None and body["previous"] is None
    assert [item["model_id"] for item in body["results"]] == sorted(FIXTURE_IDS)
    item = next(i for i in body["results"] if i["model_id"] == LLAMA)
    assert list(item) == SUMMARY_KEYS
    assert item["url"] == f"http://testserver/models/{LLAMA}"
    document = fixture_document(LLAMA)
    assert {k: item[k] for k in document if k != "layer_types"} == {
        k: v for k, v in document.items() if k != "layer_types"
    }
    assert api.get(item["url"]).status_code == 200


def test_list_items_are_what_the_summary_serializer_describes(api, loaded_fixtures):
    """The list's fast path gives exactly ConfigSummarySerializer's output (which the schema documents)."""
    from registry.api.serializers import ConfigSummarySerializer

    items = api.get("/models/").json()["results"]
    context = {"detail_prefix": "http://testserver/models/"}
    expected = ConfigSummarySerializer(ModelConfig.objects.order_by("model_id"), many=True, context=context).data
    assert items == json.loads(json.dumps(expected))


def test_list_without_slash_is_not_redirected(api, loaded_fixtures):
    """GET /models answers like /models/, without a redirect."""
    response = api.get("/models")
    assert response.status_code == 200
    assert response.json()["count"] == len(FIXTURE_IDS)


def test_list_expand_layer_types_gives_documents(api, loaded_fixtures):
    """?expand=layer_types: each item is the full document, as GET /models/{id} gives it."""
    body = api.get("/models/?expand=layer_types").json()
    assert body["results"] == [fixture_document(model_id) for model_id in sorted(FIXTURE_IDS)]


def test_list_expand_in_the_browsable_api(api, loaded_fixtures):
    """The expanded list renders in the browsable API too."""
    response = api.get("/models/?expand=layer_types", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"GatedMLPLayer" in response.content


def test_list_pages_default_50_and_limit_offset(api, db):
    """Pages hold 50 items by default; limit and offset choose others, with next/previous links."""
    store_many(60)
    first = api.get("/models/").json()
    assert first["count"] == 60 and len(first["results"]) == 50
    assert first["next"] == "http://testserver/models/?limit=50&offset=50"
    page = api.get("/models/?limit=7&offset=14").json()
    assert [i["model_id"] for i in page["results"]] == [f"acme_tiny-{i:03d}" for i in range(14, 21)]
    assert page["previous"] == "http://testserver/models/?limit=7&offset=7"
    assert len(api.get("/models/?limit=500").json()["results"]) == 60
    assert api.get("/models/?offset=100").json()["results"] == []


@pytest.mark.parametrize(
    "query, loc, code",
    [
        ("limit=0", "query.limit", "out_of_range"),
        ("limit=501", "query.limit", "out_of_range"),
        ("limit=ten", "query.limit", "not_an_integer"),
        ("offset=-1", "query.offset", "out_of_range"),
        ("offset=1.5", "query.offset", "not_an_integer"),
        ("expand=layers", "query.expand", "invalid_choice"),
        ("colour=red", "query.colour", "unknown_parameter"),
        ("ordering=params", "query.ordering", "invalid_choice"),
        ("ordering=name,vocab_size", "query.ordering", "invalid_choice"),
        ("ordering=,", "query.ordering", "blank"),
        ("ordering=name,", "query.ordering", "blank"),
        ("ordering=", "query.ordering", "blank"),
        ("validated=yes", "query.validated", "invalid_choice"),
        ("layer_class=Conv2d", "query.layer_class", "invalid_choice"),
        ("min_params=1e9", "query.min_params", "invalid"),
        ("max_params=-5", "query.max_params", "min_value"),
        ("num_layers=9223372036854775808", "query.num_layers", "max_value"),
        ("hidden_size=big", "query.hidden_size", "invalid"),
        ("search=a%00b", "query.search", "null_characters_not_allowed"),
        ("validated=", "query.validated", "blank"),
        ("min_params=", "query.min_params", "blank"),
        ("limit=1&limit=2", "query.limit", "repeated_parameter"),
        ("ordering=name&ordering=-name", "query.ordering", "repeated_parameter"),
        ("format=xml", "query.format", "invalid_choice"),
    ],
)
def test_list_rejects_unknown_parameters_and_bad_values(api, loaded_fixtures, query, loc, code):
    """An unknown parameter, ordering field or bad value is a 400 naming it, never silently ignored."""
    response = api.get(f"/models/?{query}")
    assert response.status_code == 400
    assert {"loc": loc, "code": code} in [{"loc": e["loc"], "code": e["code"]} for e in response.json()["errors"]]


def test_head_and_options_take_the_list_parameters(api, loaded_fixtures):
    """HEAD answers as GET does, filters included; OPTIONS describes the endpoint whatever the query."""
    get = api.get("/models/?limit=1&layer_class=NormLayer")
    head = api.head("/models/?limit=1&layer_class=NormLayer")
    assert (get.status_code, head.status_code) == (200, 200)
    assert head.content == b"" and head["Content-Type"] == get["Content-Type"]
    assert api.head("/models/?colour=red").status_code == 400
    assert api.options("/models/?limit=1").status_code == 200


def test_unknown_parameter_on_other_endpoints_is_400(api, loaded_fixtures):
    """Every endpoint rejects query parameters it does not take."""
    for path in [f"/models/{LLAMA}?expand=layer_types", f"/models/{LLAMA}/parameters?x=1", "/layer-classes/?limit=1"]:
        response = api.get(path)
        assert response.status_code == 400, path
        assert response.json()["errors"][0]["code"] == "unknown_parameter"


def test_format_parameter_is_accepted(api, loaded_fixtures):
    """?format=json (DRF's renderer override) is not an unknown parameter."""
    assert api.get(f"/models/{LLAMA}?format=json").status_code == 200


def _ids(api, query: str) -> list[str]:
    response = api.get(f"/models/?{query}")
    assert response.status_code == 200, response.content
    return [item["model_id"] for item in response.json()["results"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "search=llama",
            [
                "TinyLlama_TinyLlama-1.1B-Chat-v1.0",
                "meta-llama_Llama-3.1-405B-Instruct",
                "meta-llama_Llama-3.3-70B-Instruct",
                SCOUT,
            ],
        ),
        ("search=MISTRALAI/", [MISTRAL, MIXTRAL]),  # hf_model_id, any case
        ("search=Chat", ["TinyLlama_TinyLlama-1.1B-Chat-v1.0"]),
        ("search=405B Instruct", ["meta-llama_Llama-3.1-405B-Instruct"]),  # name only (model_id has '-')
        ("search=nothing-like-this", []),
        ("min_params=7241732096", sorted([LLAMA_405B, LLAMA, MISTRAL, QWEN, MIXTRAL, DEEPSEEK, *MODELS_2026])),
        ("max_params=7241732096", sorted(["TinyLlama_TinyLlama-1.1B-Chat-v1.0", "acme_tiny-1", MISTRAL, GEMMA, GPT2])),
        ("max_params=154431", []),
        ("min_params=154432&max_params=154432", ["acme_tiny-1"]),  # its total with an MLPLayer
        (
            "min_params=2000000000&max_params=100000000000",
            sorted([LLAMA, MISTRAL, QWEN, GEMMA, MIXTRAL, GEMMA4, NEMOTRON]),
        ),
        ("num_layers=32", [MISTRAL, MIXTRAL]),
        ("hidden_size=8192", [LLAMA]),
        ("hidden_size=8192&num_layers=32", []),
        (
            "layer_class=GroupedQueryAttentionLayer",
            sorted([*SEED_IDS, QWEN, GEMMA, MIXTRAL, "acme_tiny-1", GPT_OSS, QWEN35, SCOUT, GEMMA4, NEMOTRON]),
        ),
        ("layer_class=GatedMLPLayer", sorted([*SEED_IDS, QWEN, GEMMA, DEEPSEEK, DSV32])),
        ("layer_class=MLPLayer", sorted(["acme_tiny-1", GPT2])),
        ("layer_class=MoELayer", sorted([MIXTRAL, DEEPSEEK, GPT_OSS, QWEN35, SCOUT, DSV32, NEMOTRON])),
        ("layer_class=MultiHeadLatentAttentionLayer", sorted([DEEPSEEK, DSV32])),
        ("layer_class=GatedDeltaNetLayer", [QWEN35]),
        ("layer_class=Mamba2Layer", [NEMOTRON]),
        ("validated=true", sorted(SEED_IDS)),
        ("validated=false", sorted(["acme_tiny-1", QWEN, GEMMA, MIXTRAL, DEEPSEEK, GPT2, *MODELS_2026])),
        # Active parameters: routed experts count k of E; a dense config's are all its parameters.
        (
            "max_active_params=15000000000",
            sorted(
                [
                    "TinyLlama_TinyLlama-1.1B-Chat-v1.0",
                    "acme_tiny-1",
                    MISTRAL,
                    QWEN,
                    GEMMA,
                    GPT2,
                    MIXTRAL,
                    GPT_OSS,
                    GEMMA4,
                    NEMOTRON,
                ]
            ),
        ),
        ("min_active_params=30000000000", sorted([LLAMA_405B, LLAMA, DEEPSEEK, DSV32])),
        ("min_active_params=12879925248&max_active_params=12879925248", [MIXTRAL]),
        ("layer_class=MLPLayer&validated=true", []),
    ],
)
def test_list_filters(api, loaded_fixtures, query, expected):
    """Each filter narrows the list to the configs it describes; filters combine with AND."""
    doc = small_config()  # the fixtures are validated; this one is not, and has an MLPLayer
    doc["layer_types"][1]["class"] = "MLPLayer"
    store(doc)
    assert _ids(api, query) == expected


def test_layer_class_filter_lists_a_config_once(api, db):
    """A config with two layer types of the class appears once."""
    doc = small_config()
    doc["layer_types"][4] = {**doc["layer_types"][3], "name": "lm_head"}
    store(doc)
    body = api.get("/models/?layer_class=EmbeddingLayer").json()
    assert body["count"] == 1 and len(body["results"]) == 1


@pytest.mark.parametrize(
    "ordering, key, reverse",
    [
        ("total_params", "total_params", False),
        ("-total_params", "total_params", True),
        ("name", "name", False),
        ("-name", "name", True),
        ("num_layers", "num_layers", False),
        ("-num_layers", "num_layers", True),
        ("updated", "updated", False),
        ("-updated", "updated", True),
    ],
)
def test_list_ordering(api, db, ordering, key, reverse):
    """?ordering sorts by the field (descending with '-'), ties broken by model_id."""
    store_many(9)
    items = api.get(f"/models/?ordering={ordering}").json()["results"]
    expected = sorted(items, key=lambda i: i["model_id"])
    expected.sort(key=lambda i: i[key], reverse=reverse)
    assert [i["model_id"] for i in items] == [i["model_id"] for i in expected]


@pytest.mark.parametrize("ordering", ["active_params", "-active_params"])
def test_list_ordering_by_active_params(api, loaded_fixtures, ordering):
    """?ordering=active_params sorts by the parameters a token uses: active_params, a dense config's total."""
    items = api.get(f"/models/?ordering={ordering}").json()["results"]
    active = [i.get("active_params", i["total_params"]) for i in items]
    assert active == sorted(active, reverse=ordering.startswith("-"))
    by_id = {i["model_id"]: i for i in items}
    assert by_id[MIXTRAL]["active_params"] == 12879925248 and by_id[MIXTRAL]["active_params_formatted"] == "12.9B"
    assert "active_params" not in by_id[QWEN] and by_id[QWEN]["max_position_embeddings"] == 32768
    assert "max_position_embeddings" not in by_id[LLAMA]


def test_parameters_of_a_moe_config_give_active_counts(api, loaded_fixtures):
    """/parameters of a config with experts: active_params, and per MoE layer type its active count."""
    body = api.get(f"/models/{DEEPSEEK}/parameters").json()
    assert body["total_params"] == 671026404352 and body["active_params"] == 37552282624
    assert body["active_params_formatted"] == "37.6B"
    moe = next(r for r in body["layer_types"] if r["class"] == "MoELayer")
    assert moe["count"] == 58 and moe["parameter_count"] == 11320164352
    assert moe["active_parameter_count"] == 11320164352 - (256 - 8) * 3 * 7168 * 2048
    assert moe["active_subtotal"] == 58 * moe["active_parameter_count"]
    head = next(r for r in body["layer_types"] if r["name"] == "lm_head")
    assert "active_parameter_count" not in head
    dense = api.get(f"/models/{GEMMA}/parameters").json()
    assert "active_params" not in dense
    tied = next(r for r in dense["layer_types"] if r["name"] == "lm_head")
    assert tied["class"] == "OutputHeadLayer" and tied["parameter_count"] == 0 and tied["share"] == 0.0


def test_list_ordering_by_several_fields(api, db):
    """Several comma-separated fields sort in turn."""
    store_many(9)
    items = api.get("/models/?ordering=-num_layers,total_params").json()["results"]
    keys = [(-i["num_layers"], i["total_params"], i["model_id"]) for i in items]
    assert keys == sorted(keys)


@pytest.mark.parametrize("expand", ["", "&expand=layer_types"])
@pytest.mark.parametrize("limit", [1, 500])
def test_list_queries_do_not_grow_with_the_page(api, db, django_assert_max_num_queries, expand, limit):
    """At most 3 queries per list request whatever the page size, on a cold cache too."""
    store_many(120)
    cache.clear()
    with django_assert_max_num_queries(3):
        response = api.get(f"/models/?limit={limit}&layer_class=NormLayer&ordering=-total_params{expand}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(limit, 120)


def test_detail_is_one_query_when_cached(api, loaded_fixtures, django_assert_num_queries):
    """A detail read whose document is cached costs one query (its digest)."""
    api.get(f"/models/{LLAMA}")
    with django_assert_num_queries(1):
        assert api.get(f"/models/{LLAMA}").status_code == 200


# ---- parameters --------------------------------------------------------------------------------


def test_parameters_breakdown(api, loaded_fixtures):
    """Each layer type's count, parameter_count, subtotal and share; subtotals add up to the total."""
    response = api.get(f"/models/{LLAMA}/parameters")
    assert response.status_code == 200
    body = response.json()
    document = fixture_document(LLAMA)
    assert body["model_id"] == LLAMA and body["total_params"] == document["total_params"]
    assert body["total_params_formatted"] == document["total_params_formatted"]
    assert [(r["name"], r["class"], r["count"], r["parameter_count"]) for r in body["layer_types"]] == [
        (lt["name"], lt["class"], lt["count"], lt["specs"]["parameter_count"]) for lt in document["layer_types"]
    ]
    for row in body["layer_types"]:
        assert row["subtotal"] == row["count"] * row["parameter_count"]
        assert row["share"] == pytest.approx(row["subtotal"] / body["total_params"])
        assert row["formula"] == catalogue.get(row["class"]).formula_text
    assert sum(r["subtotal"] for r in body["layer_types"]) == body["total_params"]
    assert sum(r["share"] for r in body["layer_types"]) == pytest.approx(1.0)
    assert response["ETag"] == f'"{ModelConfig.objects.get(model_id=LLAMA).digest}"'


def test_parameters_conditional_and_unknown(api, loaded_fixtures):
    """The breakdown honours If-None-Match; an unknown id is a JSON 404; the slash is optional."""
    etag = api.get(f"/models/{LLAMA}/parameters/")["ETag"]
    assert api.get(f"/models/{LLAMA}/parameters", HTTP_IF_NONE_MATCH=etag).status_code == 304
    response = api.get("/models/nope/parameters")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"


# ---- the catalogue -----------------------------------------------------------------------------


def test_layer_classes_list_the_catalogue(api, db):
    """GET /layer-classes/ lists every catalogue class in catalogue order, with its URL."""
    body = api.get("/layer-classes/").json()
    assert [c["name"] for c in body] == catalogue.names()
    assert body[0]["url"] == f"http://testserver/layer-classes/{body[0]['name']}"
    assert api.get("/layer-classes").status_code == 200


def test_layer_class_detail(api, db):
    """A class: required and optional specs with types, parallelism, the formula in words."""
    body = api.get("/layer-classes/GroupedQueryAttentionLayer").json()
    gqa = catalogue.get("GroupedQueryAttentionLayer")
    assert body["name"] == gqa.name and body["description"] == gqa.description
    assert [(s["name"], s["type"]) for s in body["required"]] == [
        ("hidden_size", "positive_integer"),
        ("num_heads", "positive_integer"),
        ("num_kv_heads", "positive_integer"),
        ("head_dim", "positive_integer"),
    ]
    assert [(s["name"], s["type"]) for s in body["optional"]] == [
        ("sliding_window", "positive_integer"),
        ("attention_chunk_size", "positive_integer"),
        ("qkv_bias", "boolean"),
        ("output_bias", "boolean"),
        ("qk_norm", "choice"),
        ("output_gate", "choice"),
        ("attention_sinks", "boolean"),
        ("k_eq_v", "boolean"),
        ("no_rope", "boolean"),
        ("kv_shared", "boolean"),
    ]
    qk_norm = body["optional"][4]
    assert qk_norm["choices"] == ["none", "per_head", "across_heads"] and qk_norm["default"] == "none"
    assert body["optional"][2]["default"] is False
    assert [s["name"] for s in body["metadata"]] == ["layer_idx", "mtp", "parameter_count"]
    assert body["parallelism"] == ["tensor_parallel", "context_parallel"]
    assert body["formula_text"] == gqa.formula_text
    assert body["per_decoder_layer"] is True and body["kind"] == "attention"
    assert body["cache"].startswith("per token (at most `sliding_window` or `attention_chunk_size` tokens")
    gdn = api.get("/layer-classes/GatedDeltaNetLayer").json()
    assert gdn["cache"] == "a state per sequence that does not grow with the context"
    norm = api.get("/layer-classes/NormLayer/").json()
    assert norm["parallelism"] == [] and ("has_bias", "boolean") in [(s["name"], s["type"]) for s in norm["required"]]


def test_layer_class_unknown_is_404(api, db):
    """An unknown class is a JSON 404 that lists the valid ones."""
    response = api.get("/layer-classes/Conv2d")
    assert response.status_code == 404
    assert "NormLayer" in response.json()["errors"][0]["msg"]


# ---- documentation -----------------------------------------------------------------------------


def test_openapi_schema_and_swagger_ui(api, db):
    """/schema/ serves OpenAPI 3 describing the document bodies; /docs/ serves Swagger UI."""
    schema = api.get("/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/models/",
        "/models/{model_id}",
        "/models/validate",
        "/models/{model_id}/parameters",
        "/layer-classes/",
        "/layer-classes/{name}",
    } <= set(schema["paths"])
    components = schema["components"]["schemas"]
    assert components["ConfigDocument"]["properties"]["layer_types"]["items"]["$ref"].endswith("/LayerType")
    assert "total_params" not in components["ConfigDocumentRequest"]["required"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    docs = api.get("/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn.jsdelivr" not in docs.content  # Swagger UI's files come from this server (offline machines)
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs.content
    # Like every path, both answer without the slash too, not redirecting.
    assert api.get("/schema?format=json").json() == schema
    docs = api.get("/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_every_fixed_route_under_models_is_a_reserved_model_id():
    """A route like /models/validate must be an id the validator refuses, or it would hide a config."""
    fixed = set()
    for pattern in urlpatterns:
        regex = str(pattern.pattern).strip("^$")
        if regex.startswith("models/") and "(" not in regex:
            fixed.add(regex.removeprefix("models/").strip("/"))
    fixed.discard("")
    assert fixed and fixed <= RESERVED_MODEL_IDS


# ---- the lean path is fenced: it stands in for DRF only under settings it knows ------------------------


class HeaderKeyAuthentication:
    """An authentication class the lean path does not know: X-Api-Key must be 'good'."""

    def authenticate(self, request):
        from rest_framework.exceptions import AuthenticationFailed

        key = request.META.get("HTTP_X_API_KEY")
        if key is None:
            return None
        if key != "good":
            raise AuthenticationFailed("bad key")
        return None

    def authenticate_header(self, request):
        return "ApiKey"


def test_an_unknown_authentication_class_turns_the_lean_path_off(api, loaded_fixtures, monkeypatch):
    """With an authentication class the lean path cannot read, a bad key is DRF's 401, not a cached 200;
    and system check registry.E003 names it."""
    from django.core import checks
    from rest_framework.authentication import TokenAuthentication

    from registry.api.views import ConfigDetailView

    url = f"/models/{LLAMA}"
    assert api.get(url, HTTP_X_API_KEY="bad").status_code == 200  # warm the cache; not an authenticator yet
    monkeypatch.setattr(ConfigDetailView, "authentication_classes", [HeaderKeyAuthentication, TokenAuthentication])
    assert api.get(url, HTTP_X_API_KEY="bad").status_code == 401
    assert api.get(url).status_code == 200
    assert [e.id for e in checks.run_checks()] == ["registry.E003"]


def test_throttles_turn_the_lean_path_off(monkeypatch):
    """A throttle the lean path would skip is named by registry.E003."""
    from rest_framework.throttling import AnonRateThrottle

    from registry.api.lean import blockers
    from registry.api.views import ConfigDetailView

    assert blockers(ConfigDetailView) == []
    monkeypatch.setattr(ConfigDetailView, "throttle_classes", [AnonRateThrottle])
    assert any("throttles" in reason for reason in blockers(ConfigDetailView))
