"""The Plan panel of a config's change page: weights per dtype, KV cache per token, the memory chart's data."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from registry.admin import CHART_DEFAULT_CONTEXT, chart_contexts
from registry.core.planning import DEVICES, Deployment, plan_config
from registry.models import ModelConfig
from tests.conftest import FIXTURES, LLAMA, form_data

LLAMA_BF16 = 141107412992
LLAMA_INT4 = 35276853248
LLAMA_KV_PER_TOKEN = 327680


@pytest.fixture
def configs(db, device_catalogue) -> None:
    call_command("loadconfigs", str(FIXTURES), verbosity=0)


def page(client: Any, model_id: str, **query: str) -> Any:
    config = ModelConfig.objects.get(model_id=model_id)
    url = reverse("admin:registry_modelconfig_change", args=[config.pk])
    return client.get(url, {f"plan-{k}": v for k, v in query.items()})


def chart_data(response: Any) -> dict[str, Any] | None:
    """The chart's series as the page hands them to plan_chart.js (json_script), or None without a chart."""
    match = re.search(
        r'<script id="plan-chart-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1)) if match else None


def test_chart_contexts_are_log_spaced_up_to_the_context():
    """Two points per doubling from 1k tokens (an eighth of a short context) to the context itself."""
    assert chart_contexts(131072)[::2] == [2**k for k in range(10, 18)]
    assert len(chart_contexts(131072)) == 15
    assert chart_contexts(163840)[0] == 1024 and chart_contexts(163840)[-1] == 163840
    assert chart_contexts(1024)[::2] == [128, 256, 512, 1024]
    assert chart_contexts(1) == [1]


@pytest.mark.django_db
def test_panel_shows_whole_model_weights_per_dtype_and_kv_per_token(admin_client, configs):
    """Weights per dtype in GiB (powers of 1024, as devices count) with the exact bytes on hover; the KV cache
    per token in bf16; no context given."""
    response = page(admin_client, LLAMA)
    assert response.status_code == 200
    panel = response.context["plan"]
    weights = {dtype: size["bytes"] for dtype, size in panel["weights"]}
    assert weights["bf16"] == weights["fp16"] == LLAMA_BF16
    assert weights["int4"] == LLAMA_INT4
    assert weights["fp32"] == 2 * LLAMA_BF16 and weights["fp8"] == weights["int8"] == LLAMA_BF16 // 2
    assert panel["kv_per_token"]["bytes"] == LLAMA_KV_PER_TOKEN
    html = response.content.decode()
    assert '<span class="bytes" title="141,107,412,992 bytes" data-bytes="141107412992">131.42 GiB</span>' in html
    assert 'title="35,276,853,248 bytes" data-bytes="35276853248">32.85 GiB</span>' in html
    assert 'title="327,680 bytes" data-bytes="327680">320.00 KiB</span>' in html
    assert "not given (the chart goes to 131,072 tokens)" in html


@pytest.mark.django_db
def test_panel_shows_the_configs_context_length(admin_client, configs):
    """A config with a context length shows it, and the chart ends there."""
    response = page(admin_client, "google_gemma-2-2b")
    assert "8,192 tokens" in response.content.decode()
    assert chart_data(response)["contexts"] == chart_contexts(8192)


@pytest.mark.django_db
def test_chart_data_by_default_one_h100_tp1_bf16_batch1(admin_client, configs):
    """The series are the core's per-device figures at each context; the usable line is 90% of the device."""
    response = page(admin_client, LLAMA)
    data = chart_data(response)
    assert data is not None
    assert (data["device"], data["tp"], data["dtype"], data["kv_dtype"], data["batch"]) == (
        "H100-SXM",
        1,
        "bf16",
        "bf16",
        1,
    )
    assert data["device_memory"] == DEVICES["H100-80GB"] == 85899345920
    assert data["usable_bytes"] == 77309411328  # 0.9 of 80 GiB
    assert data["contexts"] == chart_contexts(CHART_DEFAULT_CONTEXT)
    assert data["contexts"][0] == 1024 and data["contexts"][-1] == 131072
    assert data["weight_bytes"] == [LLAMA_BF16] * len(data["contexts"])
    assert data["kv_cache_bytes"] == [LLAMA_KV_PER_TOKEN * n for n in data["contexts"]]
    assert data["total_bytes"] == [LLAMA_BF16 + LLAMA_KV_PER_TOKEN * n for n in data["contexts"]]
    assert data["total_bytes"][-1] == 184057085952
    assert data["fits"] is False and data["max_context"] == 0
    html = response.content.decode()
    assert "Max context: none (the weights alone exceed the usable memory)" in html
    assert '<canvas id="plan-chart"' in html
    assert "registry/vendor/chart.js/chart.umd.min.js" in html and "registry/plan_chart.js" in html


@pytest.mark.django_db
def test_chart_follows_the_form_device_tp_dtype_and_batch(admin_client, configs):
    """tp 8 on an H200 with fp8 weights and batch 4: the figures are plan_config's for that deployment."""
    response = page(admin_client, LLAMA, device="H200", tp="8", dtype="fp8", batch="4")
    data = chart_data(response)
    document = ModelConfig.objects.prefetch_related("layer_types").get(model_id=LLAMA).to_document()
    deployment = Deployment(dtype="fp8", batch=4, tp=8, device_memory=141 * 2**30)
    for i, n in enumerate(data["contexts"]):
        device = plan_config(document, replace(deployment, context=n)).as_dict()["device"]
        assert data["weight_bytes"][i] == device["weight_bytes"]
        assert data["kv_cache_bytes"][i] == device["kv_cache_bytes"]
    fit = plan_config(document, replace(deployment, context=131072)).as_dict()["fit"]
    assert data["usable_bytes"] == fit["usable_bytes"] == math.floor(141 * 2**30 * 0.9)
    assert data["max_context"] == fit["max_context"] > 131072
    # One KV head per rank (8 KV heads over tp 8), four sequences: an eighth of the cache, four times.
    assert data["kv_cache_bytes"][0] == LLAMA_KV_PER_TOKEN * 1024 * 4 // 8
    assert f"Max context: {fit['max_context']:,} tokens" in response.content.decode()
    assert "fp8 weights: quantization scales and zero points are not counted." in response.content.decode()


@pytest.mark.django_db
def test_sliding_windows_everywhere_make_max_context_unbounded(admin_client, configs):
    """Mistral-7B slides every attention layer: the cache stops growing at the window, max_context is None."""
    data = chart_data(page(admin_client, "mistralai_Mistral-7B-v0.1", device="A100-80GB"))
    assert data["max_context"] is None
    by_context = dict(zip(data["contexts"], data["kv_cache_bytes"], strict=True))
    assert by_context[4096] == by_context[data["contexts"][-1]]


@pytest.mark.django_db
def test_tp_that_does_not_divide_shows_the_cores_message_instead_of_the_chart(admin_client, configs):
    """tp=3 on a 64-head model: the core's not_divisible messages, no chart, the rest of the panel and page intact."""
    response = page(admin_client, LLAMA, tp="3")
    assert response.status_code == 200
    assert chart_data(response) is None
    html = response.content.decode()
    assert '<canvas id="plan-chart"' not in html
    assert "tp=3 must divide num_heads (64) of layer_types[0] (attention, GroupedQueryAttentionLayer)" in html
    assert response.context["plan"]["issues"][0].startswith("tp=3 must divide")
    assert "141,107,412,992 bytes" in html
    assert 'name="layer_types-0-name"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"tp": "abc"}, "tp", "expected an integer from 1 to 1048576, got 'abc'"),
        ({"tp": "0"}, "tp", "expected an integer from 1 to 1048576, got '0'"),
        ({"tp": "99999999999999999999"}, "tp", "expected an integer from 1 to 1048576"),
        ({"batch": "-1"}, "batch", "expected an integer from 1 to 1048576, got '-1'"),
        ({"batch": ""}, "batch", "This field is required."),
        ({"dtype": "fp7"}, "dtype", "Select a valid choice. fp7 is not one of the available choices."),
        ({"device": "Z80"}, "device", "Select a valid choice. Z80 is not one of the available choices."),
    ],
)
def test_bad_form_values_show_at_their_field_without_a_chart(admin_client, configs, query, field, message):
    """A wrong value is reported at its field (the core's message where the core reads it); never a 500."""
    response = page(admin_client, LLAMA, **query)
    assert response.status_code == 200
    form = response.context["plan"]["form"]
    assert any(message in error for error in form.errors[field])
    assert chart_data(response) is None
    assert "141,107,412,992 bytes" in response.content.decode()


@pytest.mark.django_db
def test_largest_batch_the_core_takes_plans_exactly(admin_client, configs):
    """batch 2**20 on the 405B model: exact integers in the data (past JavaScript's 2**53), no overflow."""
    response = page(admin_client, "meta-llama_Llama-3.1-405B-Instruct", batch=str(2**20))
    assert response.status_code == 200
    data = chart_data(response)
    per_token = response.context["plan"]["kv_per_token"]["bytes"]
    assert data["kv_cache_bytes"] == [per_token * n * 2**20 for n in data["contexts"]]
    assert data["kv_cache_bytes"][-1] > 2**53


@pytest.mark.django_db
def test_form_renders_outside_the_change_form_with_defaults_and_kept_query(admin_client, configs):
    """The GET form's fields name form="plan-form" (forms do not nest) and keep the admin's _ parameters."""
    config = ModelConfig.objects.get(model_id=LLAMA)
    url = reverse("admin:registry_modelconfig_change", args=[config.pk])
    response = admin_client.get(url, {"_changelist_filters": "validated__exact=1"})
    html = response.content.decode()
    assert '<form id="plan-form" method="get" action="#plan" novalidate></form>' in html
    assert re.search(r'<select name="plan-device" form="plan-form" id="id_plan-device">', html)
    assert '<option value="H100-SXM" selected>H100-SXM (80 GiB)</option>' in html
    assert '<option value="H100-80GB">H100-80GB (= H100-SXM)</option>' in html  # the old name, an alias
    assert re.search(r'<input type="number" name="plan-tp" value="1" form="plan-form"', html)
    assert '<input type="hidden" name="_changelist_filters" value="validated__exact=1" form="plan-form">' in html
    # The change form itself does not carry the panel's fields: saving the page posts none of them.
    assert not any(key.startswith("plan-") for key in form_data(response))


@pytest.mark.django_db
def test_panel_is_for_saved_configs_only(admin_client, configs):
    """The add page has no Plan panel."""
    response = admin_client.get(reverse("admin:registry_modelconfig_add"))
    assert response.status_code == 200
    assert "plan" not in response.context
    assert 'id="plan"' not in response.content.decode()


@pytest.mark.django_db
def test_rejected_save_plans_the_saved_config(admin_client, configs):
    """A save the form refuses re-renders the page with the panel of the config as stored, not as typed."""
    config = ModelConfig.objects.get(model_id=LLAMA)
    url = reverse("admin:registry_modelconfig_change", args=[config.pk])
    data = form_data(admin_client.get(url))
    data["num_layers"] = "0"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["errors"]
    assert chart_data(response)["weight_bytes"][0] == LLAMA_BF16


@pytest.mark.django_db
def test_view_only_staff_see_the_panel(client, django_user_model, configs):
    """The panel reads and writes nothing: a user who may only view configs gets it too."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelconfig"))
    client.force_login(user)
    data = chart_data(page(client, LLAMA, tp="4"))
    assert data["tp"] == 4 and data["weight_bytes"][0] < LLAMA_BF16 // 3


def speed_data(response: Any) -> dict[str, Any] | None:
    """The speed chart's series as the page hands them to plan_speed.js, or None without them."""
    match = re.search(
        r'<script id="plan-speed-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1)) if match else None


@pytest.mark.django_db
def test_speed_chart_is_the_estimate_as_concurrency_grows_with_the_cost_line(admin_client, api, configs):
    """Tokens/s per device against TPOT at concurrency 1 to 256 (and the form's), each point the API's
    performance at that concurrency; the cost line is the form's concurrency's."""
    query = {"device": "H200", "tp": "2", "dtype": "fp8", "isl": "2048", "osl": "512", "concurrency": "24"}
    response = page(admin_client, LLAMA, **query)
    data = speed_data(response)
    assert data is not None and data["device"] == "H200-SXM"
    levels = [p["concurrency"] for p in data["points"]]
    assert levels == [1, 2, 4, 8, 16, 24, 32, 64, 128, 256]
    tpots = [p["tpot_ms"] for p in data["points"]]
    assert tpots == sorted(tpots)  # more requests in flight, slower tokens
    for point in data["points"][::3]:
        api_query = "&".join(f"{k}={v}" for k, v in {**query, "concurrency": point["concurrency"]}.items())
        expected = api.get(f"/models/{LLAMA}/plan?{api_query}").json()["performance"]
        assert point["tpot_ms"] == expected["tpot_ms"]
        assert point["tokens_per_second_per_device"] == expected["output_tokens_per_second_per_device"]
        assert point["cost_per_million_output_tokens"] == expected["cost_per_million_output_tokens"]
        assert point["fits"] is expected["fits"]
    at = api.get(f"/models/{LLAMA}/plan?" + "&".join(f"{k}={v}" for k, v in query.items())).json()["performance"]
    html = response.content.decode()
    assert f"${at['cost_per_million_output_tokens']:.4f} per million output tokens" in html
    assert f"TPOT {at['tpot_ms']:.2f} ms (excludes the first token)" in html
    assert '<canvas id="plan-speed-chart"' in html and "registry/plan_speed.js" in html


@pytest.mark.django_db
def test_speed_fields_refuse_bad_values_at_their_field(admin_client, configs):
    response = page(admin_client, LLAMA, isl="0")
    assert any("expected an integer from 1 to" in e for e in response.context["plan"]["form"].errors["isl"])
    assert speed_data(response) is None
