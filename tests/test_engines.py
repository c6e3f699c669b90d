"""Serving engines' budgets and KV capacity (registry.core.engines), each figure computed by hand from the engine's
code: vLLM's v1 engine at main @ 001cabc1 (vllm/v1/core/kv_cache_utils.py: get_kv_cache_groups,
_get_kv_cache_groups_uniform_page_size, get_num_blocks, _report_kv_cache_config,
get_max_concurrency_for_kv_cache_config; vllm/v1/kv_cache_interface.py: the specs' page_size_bytes and
max_memory_usage_bytes) and models/config.py @ 0144dd5b (HybridAttentionMambaModelConfig). kv_cache_memory (vLLM's
--kv-cache-memory) fixes the memory, so no estimate is involved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.core import engines
from registry.core.planning import DEVICES, parse_deployment, plan_config
from tests.conftest import LLAMA, fixture_document

GIB = 2**30
GPT_OSS = "openai_gpt-oss-120b"
NEMOTRON = "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"
GEMMA = "google_gemma-2-2b"
SCOUT = "meta-llama_Llama-4-Scout-17B-16E-Instruct"
DSV32 = "deepseek-ai_DeepSeek-V3.2-Exp"


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def budget(model_id: str, **query: Any) -> dict[str, Any]:
    deployment, issues = parse_deployment({k: str(v) for k, v in query.items()})
    assert issues == [], issues
    plan = plan_config(fixture_document(model_id), deployment)
    assert plan.ok, plan.errors
    result: dict[str, Any] = plan.as_dict()["budget"]
    return result


def test_vllm_dense_model_one_group():
    """Llama-3.3-70B at tp=4: 2 KV heads × 128 per rank; one FullAttentionSpec for all 80 layers (uniform spec):
    page = 16 · 2 · 2 · 128 · 2 bytes; num_blocks = mem // page // 80; tokens = num_blocks // 1 · 16;
    concurrency = num_blocks / cdiv(32768, 16)."""
    b = budget(LLAMA, engine="vllm", device="H100-SXM", tp=4, kv_cache_memory="40GiB", max_model_len=32768)
    page = 16 * 2 * 2 * 128 * 2
    num_blocks = 40 * GIB // page // 80
    assert (b["kv_cache_groups"], b["block_size"], b["num_blocks"]) == (1, 16, num_blocks) == (1, 16, 32768)
    assert b["kv_cache_tokens"] == num_blocks * 16 == 524288
    assert b["max_concurrency"] == num_blocks / cdiv(32768, 16) == 16.0
    assert b["kv_cache_bytes"] == 40 * GIB and not b["activation_peak_estimated"] and not b["reserved_estimated"]


def test_vllm_sliding_window_hybrid_gpt_oss():
    """gpt-oss-120b at tp=4: 18 sliding (W = 128) + 18 full layers, same page (16 · 2 · 2 · 64 · 2): two groups of
    18; num_blocks = mem // page // 18; tokens = num_blocks // 2 · 16; per request cdiv(131072, 16) blocks (full) +
    cdiv(min(128 − 1 + 8192, 131072), 16) + 1 (sliding)."""
    b = budget(GPT_OSS, engine="vllm", device="H100-SXM", tp=4, kv_cache_memory="20GiB")
    page = 16 * 2 * 2 * 64 * 2
    num_blocks = 20 * GIB // page // 18
    per_request = cdiv(131072, 16) + cdiv(min(128 - 1 + 8192, 131072), 16) + 1
    assert (b["kv_cache_groups"], b["num_blocks"]) == (2, num_blocks) == (2, 145635)
    assert b["kv_cache_tokens"] == num_blocks // 2 * 16 == 1165072
    assert per_request == 8713 and b["max_concurrency"] == num_blocks / per_request
    assert b["max_concurrency_tokens"] == 131072


def test_vllm_sliding_window_blocks_stop_at_max_model_len():
    """Gemma-2-2B (window 4096, L 8192): a sliding layer takes cdiv(min(4095 + 8192, 8192), 16) + 1 = 513 blocks."""
    b = budget(GEMMA, engine="vllm", device="H100-SXM", kv_cache_memory="4GiB")
    page = 16 * 2 * 4 * 256 * 2
    num_blocks = 4 * GIB // page // 13
    assert b["num_blocks"] == num_blocks and b["max_concurrency"] == num_blocks / (512 + 513)


def test_vllm_mamba_hybrid_nemotron_h():
    """Nemotron-3-Nano: 23 Mamba-2 + 6 attention layers. A state is (4 − 1) · (64·64 + 2·8·128) bf16 conv values
    + 64 · 64 · 128 float32 SSM values = 2,134,016 bytes; attention is 2 · 2 · 128 = 1,024 bytes a token, so the
    block grows to 16 · cdiv(2,134,016, 16 · 1,024) = 2,096 tokens and the state is padded to 2,096 · 1,024.
    group_size = 6 (23 ≥ 1.5 · 6): 4 Mamba groups + 1 attention group; num_blocks = mem // page // 6;
    tokens = num_blocks // 5 · 2,096; one request takes cdiv(32768, 2096) + 4 blocks."""
    b = budget(NEMOTRON, engine="vllm", device="H100-SXM", kv_cache_memory="10GiB", max_model_len=32768)
    state = 3 * (64 * 64 + 2 * 8 * 128) * 2 + 64 * 64 * 128 * 4
    block = 16 * cdiv(state, 16 * 1024)
    page = block * 1024
    num_blocks = 10 * GIB // page // 6
    assert (state, block) == (2134016, 2096)
    assert (b["kv_cache_groups"], b["block_size"], b["num_blocks"]) == (5, block, num_blocks) == (5, 2096, 833)
    assert b["kv_cache_tokens"] == num_blocks // 5 * block == 347936
    assert b["max_concurrency"] == num_blocks / (cdiv(32768, block) + 4) == 41.65


def test_vllm_chunked_local_attention_llama4():
    """Llama-4 Scout at tp=4: 36 chunked (8192) + 12 full layers, same page: group_size 12 (36 ≥ 18), 3 chunked
    groups + 1 full; a chunked group takes cdiv(min(8192 + 8192, 65536), 16) blocks of a request."""
    b = budget(SCOUT, engine="vllm", device="H100-SXM", tp=4, kv_cache_memory="20GiB", max_model_len=65536)
    page = 16 * 2 * 2 * 128 * 2
    num_blocks = 20 * GIB // page // 12
    assert (b["kv_cache_groups"], b["num_blocks"], b["kv_cache_tokens"]) == (4, num_blocks, num_blocks // 4 * 16)
    assert b["max_concurrency"] == num_blocks / (cdiv(65536, 16) + 3 * cdiv(16384, 16))


def test_vllm_mla_and_indexer_are_one_uniform_type_group():
    """DeepSeek-V3.2: MLA (576 bf16 values a token) and its indexer (fp8 keys + scales: 128 + 4 bytes) are all
    FullAttentionSpec kin with different pages: one UniformTypeKVCacheSpecs group whose block is every layer's page."""
    b = budget(DSV32, engine="vllm", device="H200", tp=8, kv_cache_memory="20GiB", max_model_len=65536)
    page = 16 * 61 * (576 * 2) + 16 * 61 * (128 + 4)
    num_blocks = 20 * GIB // page
    assert (b["kv_cache_groups"], b["num_blocks"], b["kv_cache_tokens"]) == (1, num_blocks, num_blocks * 16)
    assert b["max_concurrency"] == num_blocks / cdiv(65536, 16)


def test_vllm_budget_lines_in_order_and_measured_figures_replace_estimates():
    """share = floor(80 GiB × 0.9); KV = share − weights − the measured activation peak − the measured reserve."""
    weights = plan_config(fixture_document(GEMMA), parse_deployment({})[0]).as_dict()["device"]["weight_bytes"]
    b = budget(GEMMA, engine="vllm", device="H100-SXM", profile_activation_bytes="1GiB", reserved_bytes="512MiB")
    share = 80 * GIB * 9 // 10
    assert b["engine_memory_bytes"] == share and b["weight_bytes"] == weights
    assert (b["activation_peak_bytes"], b["non_torch_bytes"], b["cuda_graph_bytes"]) == (GIB, 512 * 2**20, 0)
    assert b["kv_cache_bytes"] == share - weights - GIB - 512 * 2**20
    assert b["free_bytes"] == 80 * GIB - share
    assert not b["activation_peak_estimated"] and not b["reserved_estimated"] and b["will_start"]
    estimated = budget(GEMMA, engine="vllm", device="H100-SXM")
    assert estimated["activation_peak_estimated"] and estimated["reserved_estimated"]
    assert estimated["cuda_graph_bytes"] == engines.CUDA_GRAPH_ESTIMATE
    assert budget(GEMMA, engine="vllm", device="H100-SXM", enforce_eager="true")["cuda_graph_bytes"] == 0


def test_a_plan_that_cannot_start_says_why():
    b = budget(LLAMA, engine="vllm", device="H100-SXM")
    assert not b["will_start"] and b["reason"] == "weights 141.1 GB exceed the 77.3 GB the engine may use"
    long = budget(GEMMA, engine="vllm", device="L4", kv_cache_memory="1MiB", max_model_len=8192)
    assert not long["will_start"] and long["reason"].startswith("one request of 8,192 tokens needs 1,025 blocks")


def test_sglang_pool_is_the_static_fraction_less_the_weights_over_the_cell():
    """max_total_num_tokens = (80 GiB × 0.88 − weights − reserve) // (80 layers · 2 · 2 · 128 · 2), to page_size."""
    b = budget(LLAMA, engine="sglang", device="H100-SXM", tp=4, reserved_bytes="1GiB", page_size=64)
    share = int(80 * GIB * 0.88)
    cell = 80 * 2 * 2 * 128 * 2
    tokens = (share - b["weight_bytes"] - GIB) // (cell * 64) * 64
    assert b["engine_memory_bytes"] == share and b["max_total_num_tokens"] == b["kv_cache_tokens"] == tokens


def test_trtllm_takes_a_fraction_of_what_is_free():
    b = budget(LLAMA, engine="trtllm", device="H100-SXM", tp=4, reserved_bytes="1GiB", profile_activation_bytes="2GiB")
    free = 80 * GIB - b["weight_bytes"] - 3 * GIB
    kv = int(free * 0.9)
    assert b["kv_cache_bytes"] == kv and b["kv_cache_tokens"] == kv // (80 * 2 * 2 * 128 * 2 * 32) * 32


def test_device_names_h100_sxm_and_agrees_with_device_memory():
    assert parse_deployment({"device": "H100-SXM"})[0].device_memory == DEVICES["H100-80GB"] == 80 * GIB
    _, issues = parse_deployment({"device": "H100-SXM", "device_memory": "80GB"})
    assert [i.loc for i in issues] == ["device"]


@pytest.mark.django_db
def test_plans_filter_on_will_start(loaded_fixtures, api):
    """/plans/?engine=vllm&device=H100-SXM&fits=true keeps the configs the engine would start."""
    body = api.get("/plans/?engine=vllm&device=H100-SXM&context=8192&limit=100").json()
    starting = {p["model_id"] for p in body["results"] if p["errors"] == [] and p["budget"]["will_start"]}
    fitting = api.get("/plans/?engine=vllm&device=H100-SXM&context=8192&fits=true&limit=100").json()["results"]
    assert {p["model_id"] for p in fitting} == starting and LLAMA not in starting and GEMMA in starting


def test_vllm_linear_attention_hybrid_qwen35():
    """Qwen3.5-397B at tp=8: 45 Gated DeltaNet layers, each a state of 3 · (2·2·128 + 8·128) bf16 conv values +
    8 · 128 · 128 float32 = 533,504 bytes; 15 attention layers of 1 KV head × 256 (2 < tp: one per rank), 1,024
    bytes a token: blocks of 16 · cdiv(533,504, 16,384) = 528 tokens; groups of 15: 3 + 1."""
    b = budget("Qwen_Qwen3.5-397B-A17B", engine="vllm", device="H200", tp=8, kv_cache_memory="30GiB",
               max_model_len=262144)  # fmt: skip
    state = 3 * (2 * 2 * 128 + 8 * 128) * 2 + 8 * 128 * 128 * 4
    block = 16 * cdiv(state, 16 * 1024)
    num_blocks = 30 * GIB // (block * 1024) // 15
    assert (state, block) == (533504, 528)
    assert (b["kv_cache_groups"], b["block_size"], b["num_blocks"]) == (4, 528, num_blocks)
    assert b["kv_cache_tokens"] == num_blocks // 4 * 528
    assert b["max_concurrency"] == num_blocks / (cdiv(262144, 528) + 3)


@pytest.mark.parametrize(
    "query",
    [
        {"engine": "vllm", "device": "H200", "tp": "2"},
        {"engine": "vllm", "device": "H100-SXM", "pp": "2", "kv_cache_memory": "8GiB", "max_model_len": "16384"},
        {"engine": "sglang", "device": "H100-SXM"},
        {"engine": "trtllm", "device": "B200", "tp": "2"},
    ],
)
def test_one_vectorized_pass_equals_each_config_alone(query):
    """plan_stacks over every fixture at once gives each config's plan_config budget (no cross-config leak)."""
    from registry.core.planning import plan_stacks
    from tests.test_plan_steps import stack_of_ids

    ids = [p.stem for p in sorted((Path(__file__).parents[1] / "fixtures").glob("*.json"))]
    deployment = parse_deployment(query)[0]
    configs, rows = stack_of_ids(ids)
    together = plan_stacks(configs, rows, deployment)
    for model_id, plan in zip(ids, together, strict=True):
        alone = plan_config(fixture_document(model_id), deployment)
        assert plan.as_dict().get("budget") == alone.as_dict().get("budget"), model_id
