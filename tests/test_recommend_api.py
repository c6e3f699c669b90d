"""``/models/{id}/recommend``, ``/recommendations/`` and ``manage.py recommend``: the core's search on the
catalogue's devices, its parameters read once, every bad one a 400 naming it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from drf_spectacular.generators import SchemaGenerator

from registry.core.devices import load_devices
from registry.core.engines import Engine
from registry.core.performance import Workload
from registry.core.recommend import Limits, search
from registry.core.serving import stack_of
from tests.conftest import fixture_document, get_errors

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
QUERY = "isl=1024&osl=512&concurrency=16&tpot_ms=40&devices=H100,H200,B200,MI300X,L40S"
CATALOGUE = load_devices()


@pytest.mark.django_db
def test_one_config_is_the_cores_search(loaded_fixtures, api):
    """The answer is recommend.search's for the same workload, limits and devices (aliases resolved)."""
    body = api.get(f"/models/{LLAMA}/recommend?{QUERY}").json()
    devices = [CATALOGUE.get(n) for n in ("H100-SXM", "H200-SXM", "B200", "MI300X", "L40S")]
    configs, rows = stack_of(fixture_document(LLAMA))
    found = search(configs, rows, Workload(1024, 512, 16), devices, Limits(tpot_ms=40.0))
    assert body["best"] == found.best[LLAMA].as_dict()
    assert body["pareto"] == [c.as_dict() for c in found.pareto[LLAMA]]
    assert body["evaluated"] == found.evaluated
    assert body["search"]["devices"] == ["H100-SXM", "H200-SXM", "B200", "L40S", "MI300X"]  # the catalogue's order
    front = body["pareto"]
    assert body["best"] in front and all(c["tpot_ms"] <= 40 for c in front)
    assert [c["tpot_ms"] for c in front] == sorted(c["tpot_ms"] for c in front)
    costs = [c["cost_per_million_output_tokens"] for c in front]
    assert costs == sorted(costs, reverse=True) and body["best"]["cost_per_million_output_tokens"] == min(costs)


@pytest.mark.django_db
def test_the_python_client_reads_the_answer(loaded_fixtures, api):
    """registry_client's recommend() is the API's answer (typed as Recommendation)."""
    from registry_client import Registry

    def through_the_test_client(request: httpx.Request) -> httpx.Response:
        answer = api.generic(request.method, request.url.raw_path.decode())
        return httpx.Response(answer.status_code, headers=dict(answer.headers), content=answer.content)

    transport = httpx.MockTransport(through_the_test_client)
    with Registry("http://testserver", token="", cache=False, transport=transport) as registry:
        answer = registry.recommend(LLAMA, isl=1024, osl=512, concurrency=16, tpot_ms=40, devices="H100,B200")
    query = "isl=1024&osl=512&concurrency=16&tpot_ms=40&devices=H100,B200"
    assert answer == api.get(f"/models/{LLAMA}/recommend?{query}").json()
    assert answer["search"]["engine"] == "none" and answer["best"] is not None


@pytest.mark.django_db
def test_limits_nothing_meets_gives_a_null_best(loaded_fixtures, api):
    body = api.get(f"/models/{LLAMA}/recommend?tpot_ms=0.001").json()
    assert body["best"] is None and body["pareto"] == [] and body["evaluated"] > 0


@pytest.mark.django_db
def test_the_list_searches_every_filtered_config_at_once(loaded_fixtures, api):
    """/recommendations/ applies the list's filters and pages; each item's answer is the config's own."""
    listed = api.get(f"/recommendations/?{QUERY}&search=llama&limit=2").json()
    configs = api.get("/models/?search=llama").json()
    assert listed["count"] == configs["count"] >= 3 and len(listed["results"]) == 2
    assert listed["next"] is not None
    for item in listed["results"]:
        single = api.get(f"/models/{item['model_id']}/recommend?{QUERY}").json()
        # The same figures, summed over a different batch of rows: equal to the last bits or so.
        assert [item["best"], *item["pareto"]] == [_approx(c) for c in (single["best"], *single["pareto"])]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("devices=Z80", [("query.devices", "unknown_device")]),
        ("devices=H100,,B200", [("query.devices", "invalid_value")]),
        ("tpot_ms=fast", [("query.tpot_ms", "invalid_value")]),
        ("max_devices=65", [("query.max_devices", "invalid_value")]),
        ("engine=tgi", [("query.engine", "invalid_choice")]),
        ("gpu=H100", [("query.gpu", "unknown_parameter")]),
    ],
)
def test_bad_parameters_are_400s(loaded_fixtures, api, query, errors):
    assert get_errors(api, f"/models/{LLAMA}/recommend?{query}") == errors


@pytest.mark.django_db
def test_unknown_config_and_empty_catalogue(db, api):
    assert api.get("/models/nobody_nothing/recommend").status_code == 400  # the catalogue is empty: said first
    from registry.services.devices import load_device_fixture

    load_device_fixture()
    assert api.get("/models/nobody_nothing/recommend").status_code == 404


@pytest.mark.django_db
def test_an_empty_catalogue_is_a_400_that_says_so(db, api):
    response = api.get("/recommendations/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "empty"


def test_the_schema_has_both_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    one = schema["paths"]["/models/{model_id}/recommend"]["get"]
    many = schema["paths"]["/recommendations/"]["get"]
    assert (one["operationId"], many["operationId"]) == ("models_recommend", "recommendations_list")
    names = {p["name"] for p in many["parameters"]}
    assert {"isl", "osl", "concurrency", "ttft_ms", "tpot_ms", "devices", "max_devices", "dtype", "search"} <= names
    candidate = schema["components"]["schemas"]["Candidate"]["properties"]
    assert "excludes the first token" in candidate["tpot_ms"]["description"]


def test_the_searchs_engine_is_the_plans_engine_enum():
    """search.engine takes one of Engine's values: one EngineEnum, shared with the plan's deployment."""
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert components["EngineEnum"]["enum"] == [engine.value for engine in Engine]
    engine = components["Search"]["properties"]["engine"]
    assert engine["allOf"] == [{"$ref": "#/components/schemas/EngineEnum"}]
    assert components["PlanDeployment"]["properties"]["engine"] == {"$ref": "#/components/schemas/EngineEnum"}


def test_the_schema_generates_without_warnings(tmp_path):
    """``manage.py spectacular --validate --fail-on-warn`` passes: no enum name collides (ENUM_NAME_OVERRIDES)."""
    command = [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


@pytest.mark.django_db
def test_the_command_prints_the_cheapest_and_the_front(loaded_fixtures, api):
    args = [LLAMA, "--isl", "1024", "--osl", "512", "--concurrency", "16", "--tpot-ms", "40"]
    args += ["--devices", "H100,H200,B200,MI300X,L40S"]
    out = io.StringIO()
    call_command("recommend", *args, "--json", stdout=out)
    assert json.loads(out.getvalue()) == [api.get(f"/models/{LLAMA}/recommend?{QUERY}").json()]
    out = io.StringIO()
    call_command("recommend", *args, stdout=out)
    best = json.loads(call_json(args))[0]["best"]
    assert f"cheapest: {best['device']} tp {best['tp']} pp {best['pp']} ep {best['ep']}" in out.getvalue()
    with pytest.raises(CommandError, match=r"--devices: no device 'Z80'"):
        call_command("recommend", LLAMA, "--devices", "Z80")
    with pytest.raises(CommandError, match=r"No config with model_id: nobody_nothing"):
        call_command("recommend", "nobody_nothing")


def _approx(candidate: dict) -> dict:
    """The candidate, its floats compared to 12 significant digits."""
    return {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in candidate.items()}


def call_json(args: list[str]) -> str:
    out = io.StringIO()
    call_command("recommend", *args, "--json", stdout=out)
    return out.getvalue()
