"""The steps plan_stacks composes, one by one: stacking, shards, refusals, stage layout, cache, training states,
overflow, fit. Each is checked on the fixtures' exact figures (tests/test_planning.py checks the whole plans)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from registry.core import planning
from registry.core.issues import Code
from registry.core.planning import DEVICES, Deployment, Mode
from tests.conftest import LLAMA, fixture_document, stack_of

MISTRAL = "mistralai_Mistral-7B-v0.1"
DEEPSEEK = "deepseek-ai_DeepSeek-V3"
GPT2 = "openai-community_gpt2"


def stack_of_ids(model_ids: list[str]) -> tuple[list[Any], list[Any]]:
    return stack_of([fixture_document(m) for m in model_ids])


def steps(model_ids: list[str], d: Deployment) -> dict[str, Any]:
    configs, rows = stack_of_ids(model_ids)
    stack = planning.stacking(configs, rows, d)
    shards = planning.shard_rows(stack, d)
    layout = planning.stage_layout(stack)
    return {"stack": stack, "shards": shards, "layout": layout, "cache": planning.Cache(stack, layout, shards, d)}


def test_stacking_leaves_out_mtp_and_caps_the_stages_at_the_deepest_config():
    configs, rows = stack_of_ids([GPT2, DEEPSEEK])
    stack = planning.stacking(configs, rows, Deployment(pp=4096))
    assert stack.stages == 61 and stack.with_mtp == {1}
    assert len(stack.rows) < len(rows) and not any("mtp" in r.name for r in stack.rows)
    assert stack.owner.tolist() == [r.config for r in stack.rows]
    assert stack.num_layers.tolist() == [12, 61]


def test_shards_split_by_tp_and_keep_the_whole():
    """Llama's attention at tp=8: 150,994,944 parameters per layer whole, an eighth on a device."""
    s = steps([LLAMA], Deployment(tp=8))["shards"]
    attention = 0  # layer_types[0]
    assert s.full_params[attention] == 150994944 and s.device_params[attention] == 150994944 // 8
    assert s.whole_kv_elements[attention] == 2 * 8 * 128 and s.kv_elements[attention] == 2 * 1 * 128
    assert s.failures == []


def test_shards_window_is_the_sliding_window():
    s = steps([MISTRAL], Deployment())["shards"]
    assert 4096 in s.window.tolist() and planning.MAX_CONTEXT in s.window.tolist()


def test_refusals_name_each_degree():
    configs, rows = stack_of_ids([LLAMA, GPT2])
    d = Deployment(tp=3, ep=2, pp=13)
    stack = planning.stacking(configs, rows, d)
    issues = planning.refusals(stack, planning.shard_rows(stack, d), d)
    assert [i.code for i in issues[0]][-1] == Code.NO_EXPERTS and issues[0][0].code == Code.NOT_DIVISIBLE
    assert [i.code for i in issues[1]][-2:] == [Code.NO_EXPERTS, Code.TOO_MANY_STAGES]
    assert planning.refusals(stack, planning.shard_rows(stack, Deployment()), Deployment()) == {}
    assert {i.loc for i in issues[1]} == {"ep", "pp"}  # tp=3 splits gpt2's 12 heads


def test_stage_layout_puts_embeddings_first_and_the_head_last():
    """gpt2 (12 layers) at pp=5: 3, 3, 2, 2, 2 decoder layers; wte and wpe on stage 0, the head on stage 4."""
    r = steps([GPT2], Deployment(pp=5))
    rows, layout = r["stack"].rows, r["layout"]
    by_class = {row.class_name: layout[j].tolist() for j, row in enumerate(rows)}
    assert by_class["PositionEmbeddingLayer"] == [1, 0, 0, 0, 0]
    decoder = next(j for j, row in enumerate(rows) if row.class_name.endswith("AttentionLayer"))
    assert layout[decoder].tolist() == [3, 3, 2, 2, 2]
    assert layout.sum(axis=1).tolist() == [row.count for row in rows]


def test_cache_bits_at_a_context_follow_windows_and_cp():
    """Mistral at 32,768 tokens keeps its 4,096-token window: 536,870,912 bytes; cp=2 halves it."""
    for cp, expected in ((1, 536870912), (2, 536870912 // 2)):
        cache = steps([MISTRAL], Deployment(cp=cp))["cache"]
        assert int(cache.bits_at(np.array([32768])).max()) == expected * 8
    cache = steps([LLAMA], Deployment(context=8192))["cache"]
    assert cache.context.tolist() == [8192] and int(cache.per_token.sum()) == 163840
    assert cache.rate().max() == 163840 * 16 and cache.approx_bits().max() > 0


@pytest.mark.parametrize(("zero", "expected"), [(0, 16), (1, 4 + 12 / 64), (2, 2 + 14 / 64), (3, 16 / 64)])
def test_training_states_per_zero_stage(zero, expected):
    psi = np.array([[6_400_000_000]], dtype=np.int64)
    states = planning.training_states(psi, Deployment(mode=Mode.TRAINING, dp=64, zero=zero))
    assert int(states[0, 0]) == int(expected * 6_400_000_000)


def test_overflows_refuse_figures_past_int64():
    d = Deployment(context=2**31, batch=2**20)
    r = steps([LLAMA, MISTRAL], d)
    weights = r["stack"].per_stage(r["layout"], r["shards"].device_params)
    assert planning.overflows(r["stack"], r["shards"], r["cache"], weights, d) == [0]


def test_fit_is_exact_and_searches_max_context_for_inference_only():
    d = Deployment(tp=2, device_memory=DEVICES["H100-80GB"])
    r = steps([LLAMA], d)
    weights = r["stack"].per_stage(r["layout"], r["shards"].device_params)
    weight_bytes = (weights * 16 + 7) // 8
    found = planning.fit(r["stack"], r["shards"], r["cache"], weight_bytes, d)
    usable = int(DEVICES["H100-80GB"] * 0.9)
    assert found.usable == usable
    assert found.max_context is not None and int(found.max_context[0]) == (usable - int(weight_bytes.max())) // 163840
    training = Deployment(mode=Mode.TRAINING, device_memory=DEVICES["H100-80GB"])
    assert planning.fit(r["stack"], r["shards"], r["cache"], weight_bytes, training).max_context is None
    assert planning.fit(r["stack"], r["shards"], r["cache"], weight_bytes, Deployment()).usable is None


@pytest.mark.parametrize(
    "deployment", [Deployment(context=8192, device_memory=DEVICES["H200"]), Deployment(tp=2, pp=3)]
)
def test_rows_in_any_config_order_give_the_same_plans(deployment):
    """Rows config by config are summed by segments, interleaved rows row by row: the same figures."""
    model_ids = [LLAMA, MISTRAL, DEEPSEEK, GPT2]
    configs, rows = stack_of_ids(model_ids)
    by_config = [[r for r in rows if r.config == i] for i in range(len(configs))]
    interleaved = [r for group in zip(*(g + [None] * 99 for g in by_config), strict=False) for r in group if r]
    assert planning.stacking(configs, rows, deployment).segments is not None
    assert planning.stacking(configs, interleaved, deployment).segments is None
    grouped = [p.as_dict() for p in planning.plan_stacks(configs, rows, deployment)]
    assert [p.as_dict() for p in planning.plan_stacks(configs, interleaved, deployment)] == grouped


def test_flops_split_into_matrix_and_attention():
    """Llama-3.3-70B at 8,192 tokens: 160,480,903,168 FLOPs per token forward; gpt2's wpe leaves the matrix part."""
    r = steps([LLAMA, GPT2], Deployment(context=8192))
    matrix, attention = planning.flops(r["stack"], r["shards"], r["cache"].context)
    assert int(matrix[0] + attention[0]) == 160480903168
    assert int(matrix[1]) == 2 * (124439808 - 1024 * 768)  # gpt2's tied head counted once, its wpe not at all
