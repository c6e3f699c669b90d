"""Deployment plans: exact figures for weights per device, KV cache, FLOPs, training states and fit."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.core import validate_config
from registry.core.planning import (
    DEVICES,
    Code,
    Deployment,
    Mode,
    parse_deployment,
    parse_memory,
    plan_config,
    plan_stacks,
)
from tests.conftest import FIXTURE_IDS, LLAMA, MODELS_2026, dense_config, fixture_document, stack_of

MISTRAL = "mistralai_Mistral-7B-v0.1"
DEEPSEEK = "deepseek-ai_DeepSeek-V3"
MIXTRAL = "mistralai_Mixtral-8x7B-v0.1"
GEMMA = "google_gemma-2-2b"
GPT2 = "openai-community_gpt2"


def plan(model_id_or_document: str | dict[str, Any], **deployment: Any) -> Any:
    document = fixture_document(model_id_or_document) if isinstance(model_id_or_document, str) else model_id_or_document
    result = plan_config(document, Deployment(**deployment))
    assert result.ok, result.errors
    return result.as_dict()


LLAMA2_7B = dense_config(4096, 32, 32, 32, 11008, 32000)


# ---- the issue's facts ------------------------------------------------------------------------------------------


def test_llama_70b_kv_cache_per_token():
    """Llama-3.3-70B in bf16: 80 layers · 2 · 8 KV heads · 128 · 2 bytes = 327,680 bytes per token."""
    assert plan(LLAMA)["kv_cache"]["bytes_per_token"] == 327680


def test_llama_70b_weights_at_tp8_and_tp16():
    """tp=8: 8,820,367,360 parameters (17,640,734,720 bytes) per device; tp=16 (one KV head each): 4,494,729,216."""
    at8 = plan(LLAMA, tp=8)["device"]
    assert (at8["parameters"], at8["weight_bytes"]) == (8820367360, 17640734720)
    assert plan(LLAMA, tp=16)["device"]["parameters"] == 4494729216


def test_mistral_sliding_window_caps_the_cache():
    """Mistral-7B at 32,768 tokens keeps 4,096 per layer: 536,870,912 bytes."""
    assert plan(MISTRAL, context=32768)["kv_cache"]["bytes_per_device"] == 536870912
    assert plan(MISTRAL, context=1000)["kv_cache"]["bytes_per_device"] == 1000 * 131072


def test_deepseek_mla_caches_its_latent():
    """DeepSeek-V3: 61 · (512 + 64) · 2 = 70,272 bytes per token, the same on every tensor-parallel rank."""
    result = plan(DEEPSEEK, tp=8)
    assert result["kv_cache"]["bytes_per_token"] == 70272
    assert result["kv_cache"]["bytes_per_token_per_device"] == 70272


@pytest.mark.parametrize(("zero", "expected"), [(3, 1684603904), (1, 28217115392)])
def test_llama2_7b_training_states_under_zero(zero, expected):
    """Llama-2-7b (6,738,415,616 parameters) at dp=64: ZeRO-3 1,684,603,904 bytes, ZeRO-1 28,217,115,392."""
    result = plan(LLAMA2_7B, mode=Mode.TRAINING, dp=64, zero=zero)
    assert result["total_params"] == 6738415616
    assert result["device"]["training_state_bytes"] == expected


@pytest.mark.parametrize(("zero", "expected"), [(0, 120e9), (1, 31.40625e9), (2, 16.640625e9), (3, 1.875e9)])
def test_the_zero_papers_own_figure(zero, expected):
    """Ψ = 7.5B at dp = 64: 120 GB, 31.4 GB, 16.6 GB, 1.9 GB (Rajbhandari et al., figure 1)."""
    doc = {
        "model_id": "zero_paper",
        "hf_model_id": "zero/paper",
        "name": "Ψ = 7.5B",
        "hidden_size": 1000,
        "num_layers": 1,
        "vocab_size": 7500000,
        "layer_types": [
            {
                "name": "embedding",
                "class": "EmbeddingLayer",
                "count": 1,
                "specs": {"vocab_size": 7500000, "hidden_size": 1000},
            },
            {
                "name": "lm_head",
                "class": "OutputHeadLayer",
                "count": 1,
                "specs": {"vocab_size": 7500000, "hidden_size": 1000, "tie_word_embeddings": True},
            },
        ],
        "validated": False,
        "validation_notes": "",
    }
    result = plan(validate_config(doc).config.to_document(), mode=Mode.TRAINING, dp=64, zero=zero)
    assert result["total_params"] == 7_500_000_000
    assert result["device"]["training_state_bytes"] == int(expected)


def test_llama_70b_forward_flops_at_8k():
    """2 · (70,553,706,496 − 1,050,673,152) + 80 · 2 · 64 · 256 · 8192 = 160,480,903,168 FLOPs per token."""
    flops = plan(LLAMA, context=8192)["flops_per_token"]
    assert flops["forward"] == 160480903168
    assert flops["training"] == 3 * 160480903168


# ---- the definitions, piece by piece ---------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "nbytes"), [("fp32", 4), ("bf16", 2), ("fp16", 2), ("fp8", 1), ("int8", 1)])
def test_weight_bytes_per_dtype(dtype, nbytes):
    """Whole bytes per parameter, and int4 half a byte (rounded up)."""
    assert plan(LLAMA, dtype=dtype)["weight_bytes"] == 70553706496 * nbytes
    assert plan(LLAMA, dtype="int4")["weight_bytes"] == 70553706496 // 2
    assert plan(GPT2, dtype="int4")["weight_bytes"] == 124439808 // 2


def test_quantized_dtypes_say_scales_are_not_counted():
    """fp8/int8/int4: the notes say quantization scales are left out."""
    assert any("scales" in note for note in plan(LLAMA, dtype="int4")["notes"])
    assert not any("scales" in note for note in plan(LLAMA)["notes"])


def test_moe_experts_split_over_ep_and_active_parameters_drive_flops():
    """Mixtral at ep=8: one expert of each MoE layer per device; FLOPs count 2 of 8 experts."""
    result = plan(MIXTRAL, ep=8, context=4096)
    moe = next(r for r in result["layer_types"] if r["class"] == "MoELayer")
    assert moe["parameters_per_layer"] == 3 * 4096 * 14336 + 4096 * 8  # one expert and the whole router
    assert result["active_params"] == 12879925248
    embedding = 32000 * 4096
    attention = 32 * 2 * 32 * 256 * 4096
    assert result["flops_per_token"]["forward"] == 2 * (12879925248 - embedding) + attention


def test_a_tied_head_counts_once_in_flops_and_is_copied_across_stages():
    """gemma-2-2b ties its head: V·h counted once in FLOPs; with pp=2 the last stage holds a copy."""
    result = plan(GEMMA, context=1)
    vh = 256000 * 2304
    attention = 26 * 2 * 8 * 512 * 1
    assert result["flops_per_token"]["forward"] == 2 * 2614341888 + attention  # the tied V·h once, as in the total
    staged = plan(GEMMA, pp=2)
    head = next(r for r in staged["layer_types"] if r["name"] == "lm_head")
    assert staged["device"]["stage"] == 1 and head["count_on_device"] == 1 and head["parameters"] == vh
    assert any("copy of the embedding" in note for note in staged["notes"])


def test_position_embeddings_sit_on_the_first_stage_and_leave_flops():
    """gpt2: wpe on stage 0, not in the matrix FLOPs."""
    result = plan(GPT2, pp=2, context=1024)
    wpe = next(r for r in plan(GPT2, context=1024)["layer_types"] if r["class"] == "PositionEmbeddingLayer")
    assert wpe["parameters"] == 1024 * 768
    matrix = 2 * (124439808 - 50257 * 768 - 1024 * 768 + 50257 * 768)
    assert result["flops_per_token"]["forward_without_attention"] == matrix


def test_pipeline_stages_split_layers_as_evenly_as_possible():
    """DeepSeek-V3 at pp=2: 31 then 30 decoder layers; dense layers first; the head on the last stage."""
    result = plan(DEEPSEEK, pp=2)
    rows = {r["name"]: r for r in result["layer_types"]}
    # The plan shows the fullest stage: the last, with the head and 30 of the 61 decoder layers (31 on the first).
    assert result["device"]["stage"] == 1
    assert rows["attention"]["count_on_device"] == 30 and rows["feedforward_dense"]["count_on_device"] == 0
    assert rows["lm_head"]["count_on_device"] == 1 and rows["embedding"]["count_on_device"] == 0
    assert rows["norm"]["count_on_device"] == 61
    one_stage = plan(DEEPSEEK)["device"]["parameters"]
    assert result["device"]["parameters"] < one_stage


def test_context_parallelism_splits_the_cache_tokens():
    """cp=4: a quarter of the tokens per device (rounded up)."""
    whole = plan(LLAMA, context=8192)["kv_cache"]["bytes_per_device"]
    assert plan(LLAMA, context=8192, cp=4)["kv_cache"]["bytes_per_device"] == whole // 4
    assert plan(LLAMA, context=8193, cp=4)["kv_cache"]["bytes_per_device"] == 2049 * 327680


def test_fit_headroom_and_max_context():
    """Llama-3.3-70B at tp=2 on an H100-80GB (× 0.9): the cache room gives max_context exactly."""
    result = plan(LLAMA, tp=2, context=131072, device_memory=DEVICES["H100-80GB"])
    fit = result["fit"]
    usable = int(DEVICES["H100-80GB"] * 0.9)
    weights = result["device"]["weight_bytes"]
    assert fit["usable_bytes"] == usable and fit["fits"] is False
    assert fit["headroom_bytes"] == usable - weights - 131072 * 163840
    assert fit["max_context"] == (usable - weights) // 163840
    assert plan(LLAMA, device_memory=10**9)["fit"]["max_context"] == 0  # the weights alone do not fit


def test_a_cache_that_stops_growing_sets_no_context_limit():
    """Mistral slides everywhere: memory never limits the context (max_context null, with a note)."""
    result = plan(MISTRAL, device_memory=DEVICES["H100-80GB"])
    assert result["fit"]["max_context"] is None and result["fit"]["fits"] is True
    assert any("sliding window" in note for note in result["notes"])


def test_no_context_gives_per_token_figures_and_says_so():
    """A config without a context length and no ?context: KV per token, no cache total, a note."""
    result = plan(LLAMA)
    assert result["deployment"]["context"] is None and result["kv_cache"]["bytes_per_device"] is None
    assert result["flops_per_token"]["forward"] is None
    assert any("No context" in note for note in result["notes"])


def test_a_context_beyond_the_config_is_planned_with_a_note():
    """gpt2 knows 1,024 positions; 4,096 is planned and flagged."""
    result = plan(GPT2, context=4096)
    assert result["kv_cache"]["bytes_per_device"] == 4096 * 12 * 2 * 12 * 64 * 2
    assert any("exceeds the config's context length" in note for note in result["notes"])


# ---- errors -----------------------------------------------------------------------------------------------------


def test_degrees_that_do_not_divide_name_the_degree_and_the_spec():
    """tp=3 does not divide Llama's 64 heads; tp=16 is a multiple of its 8 KV heads (fine); ep needs experts."""
    errors = plan_config(fixture_document(LLAMA), Deployment(tp=3)).errors
    assert {(i.loc, i.code) for i in errors} == {("tp", Code.NOT_DIVISIBLE)}
    assert "num_heads (64) of layer_types[0] (attention" in errors[0].msg
    assert plan_config(fixture_document(LLAMA), Deployment(tp=16)).ok
    moe = plan_config(fixture_document(MIXTRAL), Deployment(ep=3)).errors
    assert [(i.loc, i.code) for i in moe] == [("ep", Code.NOT_DIVISIBLE)] and "num_experts (8)" in moe[0].msg
    dense_ep = plan_config(fixture_document(LLAMA), Deployment(ep=2)).errors
    assert [(i.loc, i.code) for i in dense_ep] == [("ep", Code.NO_EXPERTS)]
    stages = plan_config(fixture_document(GPT2), Deployment(pp=13)).errors
    assert [(i.loc, i.code) for i in stages] == [("pp", Code.TOO_MANY_STAGES)]


@pytest.mark.parametrize(
    ("params", "loc", "code"),
    [
        ({"dtype": "fp64"}, "dtype", Code.INVALID_CHOICE),
        ({"tp": "0"}, "tp", Code.INVALID),
        ({"tp": "two"}, "tp", Code.INVALID),
        ({"context": "-5"}, "context", Code.INVALID),
        ({"device_memory": "lots"}, "device_memory", Code.INVALID),
        ({"utilization": "1.5"}, "utilization", Code.INVALID),
        ({"mode": "serving"}, "mode", Code.INVALID_CHOICE),
        ({"zero": "4", "mode": "training"}, "zero", Code.INVALID),
        ({"zero": "3"}, "zero", Code.NOT_FOR_INFERENCE),
    ],
)
def test_parse_deployment_names_each_bad_parameter(params, loc, code):
    """Text parameters are checked one by one."""
    deployment, issues = parse_deployment(params)
    assert deployment is None and [(i.loc, i.code) for i in issues] == [(loc, code)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80GB", 80 * 10**9),
        ("80GiB", 80 * 2**30),
        ("141 GB", 141 * 10**9),
        ("85899345920", 85899345920),
        ("h100-80gb", 80 * 2**30),
        ("MI300X", 192 * 2**30),
        ("80XB", None),
        ("", None),
    ],
)
def test_device_memory_from_sizes_and_names(text, expected):
    """Decimal and binary units, plain bytes, and the accelerator table (any case)."""
    assert parse_memory(text) == expected


# ---- vectorized == one config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "deployment",
    [
        Deployment(),
        Deployment(tp=2, context=32768, batch=4, device_memory=80 * 10**9),
        Deployment(pp=3, dtype="fp8", kv_dtype="fp8", cp=2, context=4096, device_memory=DEVICES["H200"]),
        Deployment(mode=Mode.TRAINING, dp=8, zero=2, tp=2),
    ],
)
def test_the_vectorized_plan_equals_the_one_config_plan(deployment):
    """plan_stacks over every fixture gives, config by config, what plan_config gives alone."""
    documents = [fixture_document(m) for m in FIXTURE_IDS]
    configs, rows = stack_of(documents)
    together = plan_stacks(configs, rows, deployment)
    for document, plan_of_many in zip(documents, together, strict=True):
        alone = plan_config(document, deployment).as_dict()
        alone.pop("layer_types")
        assert {**plan_of_many.as_dict(), "layer_types": None} == {**alone, "layer_types": None}


# ---- API and command --------------------------------------------------------------------------------------------


def test_api_plan_of_one_config(api, loaded_fixtures):
    """GET /models/{id}/plan: the plan with its layer rows."""
    body = api.get(f"/models/{LLAMA}/plan?tp=8&context=32768&batch=4&device_memory=80GB").json()
    assert body["device"]["parameters"] == 8820367360
    assert body["device"]["kv_cache_bytes"] == 4 * 32768 * 40960
    assert body["fit"]["fits"] is True and body["deployment"]["devices"] == 8
    assert [r["name"] for r in body["layer_types"]] == ["attention", "feedforward", "norm", "embedding", "lm_head"]


def test_api_plan_errors(api, loaded_fixtures):
    """Bad parameters and non-dividing degrees are 400s naming the query parameter; unknown ids 404."""
    response = api.get(f"/models/{LLAMA}/plan?tp=3&dtype=fp64")
    assert response.status_code == 400
    assert [e["loc"] for e in response.json()["errors"]] == ["query.dtype"]
    response = api.get(f"/models/{LLAMA}/plan?tp=3")
    assert response.status_code == 400 and {e["code"] for e in response.json()["errors"]} == {"not_divisible"}
    assert api.get("/models/nope/plan").status_code == 404
    assert api.get(f"/models/{LLAMA}/plan?colour=red").status_code == 400


def test_api_plans_of_every_config(api, loaded_fixtures):
    """GET /plans/: every config's plan; fits=true keeps those that fit; list filters apply."""
    body = api.get("/plans/?device_memory=80GB&dtype=fp8&context=32768").json()
    assert body["count"] == len(FIXTURE_IDS)
    fitting = api.get("/plans/?device_memory=80GB&dtype=fp8&context=32768&fits=true").json()["results"]
    names = {p["model_id"] for p in fitting}
    assert MIXTRAL in names and LLAMA not in names and DEEPSEEK not in names
    assert all(p["fit"]["fits"] for p in fitting)
    moe = api.get("/plans/?layer_class=MoELayer&ep=8").json()["results"]
    gemma4 = "google_gemma-4-26B-A4B"  # its experts are a ScaledRouterMoELayer
    assert sorted(p["model_id"] for p in moe) == sorted([DEEPSEEK, MIXTRAL, *set(MODELS_2026) - {gemma4}])
    assert all(not p["errors"] for p in moe)
    split = api.get("/plans/?tp=8").json()["results"]
    refused = {p["model_id"] for p in split if p["errors"]}
    assert refused == {"Qwen_Qwen2.5-7B-Instruct", GPT2}
    assert api.get("/plans/?fits=true").status_code == 400  # fits needs device_memory


def test_plan_command_prints_a_table_and_json(loaded_fixtures):
    """manage.py plan: the table, --json the API's body, a bad degree exits non-zero naming it."""
    out = StringIO()
    call_command("plan", LLAMA, "--tp", "8", "--device-memory", "H100-80GB", stdout=out)
    assert "8,820,367,360 parameters" in out.getvalue() and "fits" in out.getvalue()
    out = StringIO()
    call_command("plan", DEEPSEEK, "--tp", "8", "--json", stdout=out)
    assert json.loads(out.getvalue())["kv_cache"]["bytes_per_token"] == 70272
    with pytest.raises(CommandError, match=r"--tp: tp=3 must divide num_heads \(64\)"):
        call_command("plan", LLAMA, "--tp", "3", stdout=StringIO())
    with pytest.raises(CommandError, match="--zero: zero applies to mode=training only"):
        call_command("plan", LLAMA, "--kv-dtype", "fp8", "--zero", "2", stdout=StringIO())


# ---- found by review: overflow, huge degrees, odd numbers, alternating layers --------------------------------


def test_max_context_at_a_large_batch_does_not_wrap():
    """gpt2 at batch 32,768 on an A100-40GB: (usable − weights) / (36,864 · 32,768) = 31 tokens, not a wrapped value."""
    result = plan(GPT2, batch=32768, device_memory=DEVICES["A100-40GB"])
    usable = int(DEVICES["A100-40GB"] * 9 // 10)
    assert result["fit"]["max_context"] == (usable - result["device"]["weight_bytes"]) // (36864 * 32768) == 31
    assert plan(GEMMA, batch=2**20, context=1, device_memory=DEVICES["H100-80GB"])["fit"]["max_context"] == 0


def test_a_search_that_reaches_its_cap_says_so():
    """A context of 2**31 tokens that still fits is reported as the cap, with a note."""
    result = plan(GPT2, context=1, device_memory=2**50)
    assert result["fit"]["max_context"] == 2**31
    assert any("at least 2,147,483,648 tokens" in note for note in result["notes"])


def test_a_sliding_cache_is_judged_by_its_window():
    """Mistral at 2**31 tokens and batch 2**20 keeps 4,096 per layer: a figure, not too_large."""
    result = plan(MISTRAL, context=2**31, batch=2**20)
    assert result["kv_cache"]["bytes_per_device"] == 131072 * 4096 * 2**20


def test_usable_memory_is_exactly_floor_of_memory_times_utilization():
    """80 GB × 0.102 = 8,160,000,000 bytes, without float rounding."""
    deployment, _ = parse_deployment({"device_memory": "80GB", "utilization": "0.102"})
    assert plan(LLAMA, **vars(deployment))["fit"]["usable_bytes"] == 8160000000


@pytest.mark.parametrize(
    "params",
    [{"context": "9" * 5000}, {"tp": "８"}, {"context": "٣"}, {"device_memory": "８０GB"}, {"pp": "1025"}],
)
def test_odd_numbers_are_refused(params):
    """Over-long, non-ASCII digits and more than 1,024 stages are invalid parameters, never a crash."""
    deployment, issues = parse_deployment(params)
    assert deployment is None and [i.loc for i in issues] == list(params)


def test_alternating_layer_types_alternate_across_stages():
    """Gemma-2 at pp=2: stage 1 (layers 13-25) holds 6 sliding and 7 global attention layers."""
    result = plan(GEMMA, pp=2, context=8192)
    rows = {r["name"]: r["count_on_device"] for r in result["layer_types"]}
    assert result["device"]["stage"] == 1
    assert (rows["attention_sliding"], rows["attention_full"]) == (6, 7)
    per_layer = 2 * 4 * 256 * 2  # bytes per token of one attention layer
    assert result["device"]["kv_cache_bytes"] == 6 * 4096 * per_layer + 7 * 8192 * per_layer


def test_api_plans_name_query_parameters_and_leave_out_layer_rows(api, loaded_fixtures):
    """/plans/ items: errors at query.<name>, no layer_types; the planned context even for refused items."""
    items = api.get("/plans/?tp=8").json()["results"]
    refused = next(p for p in items if p["errors"])
    assert refused["errors"][0]["loc"] == "query.tp" and "layer_types" not in refused
    assert all("layer_types" not in p for p in items)
    gpt2 = next(p for p in items if p["model_id"] == GPT2)
    assert gpt2["deployment"]["context"] == 1024
    assert api.get("/plans/?pp=1048576").status_code == 400
