"""A plan's ``performance``: isl, osl, concurrency, engine and price_per_hour through the API, /plans/ and the
``plan`` command; the device resolved through the catalogue (old names as aliases); one answer on fit."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from drf_spectacular.generators import SchemaGenerator

from registry.core import planning, serving
from registry.core.devices import load_devices
from registry.core.performance import Layout, Workload, estimate_config, estimate_stacks
from registry.core.plan_parameters import DEVICES, Deployment, parse_deployment
from tests.conftest import SEED, fixture_document, get_errors

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
QUERY = "device=H200-SXM&tp=2&dtype=fp8&isl=1024&osl=1024&concurrency=16"
CATALOGUE = load_devices()
BY_KEY = {key: d for d in CATALOGUE for key in (d.name, *d.aliases)}


def _docs() -> list[dict]:
    from tests.conftest import FIXTURES

    return [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]


@pytest.mark.django_db
def test_the_plan_has_the_models_estimate(loaded_fixtures, api):
    """GET /models/{id}/plan with isl, osl, a device: performance is estimate_config's figures for that layout,
    workload and device; context isl + osl, batch ceil(concurrency / ep)."""
    body = api.get(f"/models/{LLAMA}/plan?{QUERY}").json()
    p = body["performance"]
    expected = estimate_config(
        fixture_document(LLAMA), BY_KEY["H200-SXM"], Layout(tp=2), Workload(1024, 1024, 16), dtype="fp8"
    )
    for key in ("ttft_ms", "tpot_ms", "request_latency_ms", "decode_step_ms", "output_tokens_per_second",
                "output_tokens_per_second_per_device", "cost_per_million_output_tokens",
                "cost_per_million_input_tokens"):  # fmt: skip
        assert p[key] == expected[key], key
    assert (p["device"], p["replica_devices"], p["efficiency"], p["price_per_hour"]) == ("H200-SXM", 2, "default", 3.79)
    assert p["fits"] is body["fit"]["fits"] is expected["fits"] is True
    assert body["device"]["total_bytes"] == expected["memory_bytes_per_device"]
    d = body["deployment"]
    assert (d["context"], d["batch"], d["isl"], d["osl"], d["concurrency"]) == (2048, 16, 1024, 1024, 16)
    assert any("performance is an estimate" in note for note in body["notes"])


@pytest.mark.django_db
def test_the_estimates_definitions_hold(loaded_fixtures, api):
    """Latency = TTFT + (osl − 1) · TPOT; output tokens/s = c · osl / latency, per device ÷ tp; input tokens/s =
    c · isl / TTFT; cost = price × devices / (tokens/s × 3600) × 10⁶ (price_per_hour replaces the list price)."""
    p = api.get(f"/models/{LLAMA}/plan?{QUERY}&price_per_hour=2.5").json()["performance"]
    assert p["request_latency_ms"] == pytest.approx(p["ttft_ms"] + 1023 * p["tpot_ms"], rel=1e-12)
    tps = 16 * 1024 / (p["request_latency_ms"] / 1e3)
    assert p["output_tokens_per_second"] == pytest.approx(tps, rel=1e-12)
    assert p["output_tokens_per_second_per_device"] == pytest.approx(tps / 2, rel=1e-12)
    assert p["input_tokens_per_second"] == pytest.approx(16 * 1024 / (p["ttft_ms"] / 1e3), rel=1e-12)
    assert p["price_per_hour"] == 2.5
    assert p["cost_per_million_output_tokens"] == pytest.approx(2.5 * 2 / (tps * 3600) * 1e6, rel=1e-12)


@pytest.mark.django_db
def test_old_names_are_aliases_with_the_catalogues_memory(loaded_fixtures, api):
    """Every memory-only name of earlier releases names a device of the catalogue; the plan takes its memory
    (B200: 180 GiB, the datasheet's, not the old table's 192) and answers with its canonical name."""
    for name in DEVICES:
        spec = BY_KEY.get(name)
        assert spec is not None, name
        body = api.get(f"/models/{LLAMA}/plan?device={name}&tp=8&isl=512&osl=128").json()
        assert body["deployment"]["device"] == body["performance"]["device"] == spec.name
        assert body["deployment"]["device_memory"] == body["fit"]["device_memory"] == spec.memory_bytes
    alias = api.get(f"/models/{LLAMA}/plan?{QUERY.replace('H200-SXM', 'h200')}").json()
    assert alias == api.get(f"/models/{LLAMA}/plan?{QUERY}").json()


def test_memory_and_performance_agree_on_fit_for_every_config_and_device():
    """The plan's memory answer (fit.fits) and the estimate's own fit are the same for every fixture config,
    device and layout of a sweep: the parameters give the plan the estimate's context and batch."""
    docs = _docs()
    stacks = [serving.stack_of(doc) for doc in docs]
    configs = [c for cs, _ in stacks for c in cs]
    rows = [
        planning.StackRow(i, r.name, r.class_name, r.count, r.specs) for i, (_, rs) in enumerate(stacks) for r in rs
    ]
    disagreements, compared = [], 0
    for device in CATALOGUE:
        for tp, concurrency, isl in ((1, 1, 4096), (2, 64, 1024), (8, 256, 32768)):
            params = {"device": device.name, "tp": str(tp), "isl": str(isl), "osl": "1024"}
            d, issues = parse_deployment(params | {"concurrency": str(concurrency)}, BY_KEY)
            assert issues == [] and d is not None
            plans = planning.plan_stacks(configs, rows, d)
            e = estimate_stacks(configs, rows, Layout(tp), Workload(isl, 1024, concurrency), [device])
            for i, plan in enumerate(plans):
                if plan.ok:
                    compared += 1
                    if plan.fits != bool(e.fits[i, 0]):
                        disagreements.append((plan.model_id, device.name, tp))
    assert compared > 500 and disagreements == []


@pytest.mark.django_db
def test_plans_list_is_the_single_plans_estimate(loaded_fixtures, api):
    """/plans/ estimates every config in one pass; each item's performance is the single plan's."""
    body = api.get(f"/plans/?{QUERY}&limit=100").json()
    assert body["count"] == len(_docs())
    with_performance = 0
    for item in body["results"]:
        if item["errors"]:
            assert "performance" not in item
            continue
        single = api.get(f"/models/{item['model_id']}/plan?{QUERY}").json()
        # The same figures, summed over a different batch of rows: equal to the last bits or so.
        assert item["performance"] == pytest.approx(single["performance"], rel=1e-12)
        with_performance += 1
    assert with_performance >= 10
    fitting = api.get(f"/plans/?{QUERY}&fits=true&limit=100").json()["results"]
    assert fitting and all(p["performance"]["fits"] is True for p in fitting)


@pytest.mark.django_db
def test_engine_chooses_the_efficiencies_and_fit_stays_one_answer(loaded_fixtures, api):
    """engine=vllm: the plan's fit follows vLLM's budget, and performance.fits is that same answer."""
    body = api.get(f"/models/{LLAMA}/plan?{QUERY}&engine=vllm").json()
    assert body["performance"]["fits"] is body["fit"]["fits"] is body["budget"]["will_start"]
    assert body["performance"]["efficiency"] == "default"  # the fixture has no vLLM row yet


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("isl=1024", [("query.osl", "required")]),
        ("isl=1024&osl=128", [("query.device", "required")]),
        ("concurrency=8", [("query.isl", "required")]),
        ("device=Z80&isl=1&osl=1", [("query.device", "unknown_device")]),
        ("device=H100-SXM&isl=1&osl=1&context=9", [("query.context", "contradictory_values")]),
        ("device=H100-SXM&isl=1&osl=1&concurrency=4&batch=2", [("query.batch", "contradictory_values")]),
        ("device=H100-SXM&isl=1&osl=1&cp=2", [("query.cp", "invalid_value")]),
        ("mode=training&device=H100-SXM&isl=1", [("query.isl", "training_only")]),
        ("device=H100-SXM&isl=0&osl=1", [("query.isl", "invalid_value")]),
        ("device=H100-SXM&isl=1&osl=1&price_per_hour=-1", [("query.price_per_hour", "invalid_value")]),
    ],
)
def test_bad_workloads_are_400s_naming_the_parameter(loaded_fixtures, api, query, errors):
    assert get_errors(api, f"/models/{LLAMA}/plan?{query}") == errors


@pytest.mark.django_db
def test_without_a_catalogue_no_device_is_known(db, api):
    """The catalogue is the database's: before it is loaded, device names nothing (a 400 that says so)."""
    from django.core.management import call_command as run

    from tests.conftest import FIXTURES

    run("loadconfigs", str(FIXTURES), verbosity=0)
    response = api.get(f"/models/{LLAMA}/plan?device=H100-SXM")
    assert response.status_code == 400
    assert "none: load the catalogue" in response.json()["errors"][0]["msg"]
    assert api.get(f"/models/{LLAMA}/plan?device_memory=80GiB").status_code == 200


def test_the_schema_describes_performance_and_its_parameters():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    performance = schema["components"]["schemas"]["PlanPerformance"]["properties"]
    assert "excludes the first token" in performance["tpot_ms"]["description"]
    for key in ("ttft_ms", "request_latency_ms", "output_tokens_per_second_per_device", "fits"):
        assert key in performance
    for path in ("/models/{model_id}/plan", "/plans/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert {"device", "isl", "osl", "concurrency", "engine", "price_per_hour"} <= names


@pytest.mark.django_db
def test_the_command_prints_the_estimate_and_its_json_is_the_apis(loaded_fixtures, api):
    """manage.py plan MODEL_ID --device H200-SXM --tp 2 --dtype fp8 --isl 1024 --osl 1024 --concurrency 16."""
    args = [LLAMA, "--device", "H200-SXM", "--tp", "2", "--dtype", "fp8", "--isl", "1024", "--osl", "1024"]
    args += ["--concurrency", "16"]
    out = io.StringIO()
    call_command("plan", *args, stdout=out)
    body = api.get(f"/models/{LLAMA}/plan?{QUERY}").json()
    p = body["performance"]
    text = out.getvalue()
    assert f"TTFT {p['ttft_ms']:,.1f} ms   TPOT {p['tpot_ms']:,.2f} ms (excludes the first token)" in text
    assert f"${p['cost_per_million_output_tokens']:,.4f} per million output tokens" in text
    assert "performance on H200-SXM × 2 at concurrency 16 (estimate" in text
    out = io.StringIO()
    call_command("plan", *args, "--json", stdout=out)
    assert json.loads(out.getvalue()) == body
    with pytest.raises(CommandError, match=r"--osl: isl needs osl"):
        call_command("plan", LLAMA, "--device", "H100", "--isl", "8")


def test_the_core_alone_still_reads_the_memory_only_names():
    """Without a catalogue (the core's tests, no database) device names one of DEVICES, for its memory."""
    d, issues = parse_deployment({"device": "H100-80GB"})
    assert issues == [] and d == Deployment(device="H100-80GB", device_memory=80 * 2**30)
    assert np.isclose(DEVICES["B200"] / 2**30, 192) and SEED
