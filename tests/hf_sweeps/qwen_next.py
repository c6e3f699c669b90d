"""Qwen3-Next, Qwen3.5 (dense, MoE; flat text configs and multimodal wrappers) and the Qwen3-VL text models:
Gated DeltaNet geometry, hybrid layer patterns, gated attention, shared experts, dense/MoE layer rules."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe, small


def _base(rng: random.Random, model_type: str) -> dict[str, Any]:
    hidden = rng.randrange(32, 129, 8)
    heads = rng.choice([d for d in divisors(hidden) if d <= 16 and (hidden // d) % 2 == 0])
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": rng.randrange(1, 9),
        "num_attention_heads": heads,
        "num_key_value_heads": rng.choice(divisors(heads)),
        "vocab_size": rng.randrange(100, 1001),
    }
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 8193)])
    return config


def _hybrid_text(rng: random.Random, model_type: str, mlp: str) -> dict[str, Any]:
    """A Gated DeltaNet / gated attention text config; ``mlp``: qwen_moe, dense or moe."""
    config = _base(rng, model_type)
    layers = config["num_hidden_layers"]
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 4)])  # absent: 256
    key_heads = rng.randrange(1, 5)
    config["linear_num_key_heads"] = key_heads
    config["linear_num_value_heads"] = key_heads * rng.randrange(1, 4)
    config["linear_key_head_dim"] = rng.randrange(4, 33, 2)
    config["linear_value_head_dim"] = rng.randrange(4, 33, 2)
    maybe(rng, config, "linear_conv_kernel_dim", [2, 3, 4, 5])
    kinds = [rng.choice(["full_attention", "linear_attention"]) for _ in range(layers)]
    pattern = rng.randrange(3)
    if pattern == 0:
        config["layer_types"] = kinds
    elif pattern == 1:
        config["full_attention_interval"] = rng.randrange(1, 5)
    maybe(rng, config, "attn_output_gate", [True])
    maybe(rng, config, "mamba_ssm_dtype", ["float32", "bfloat16", "float16", "auto"])
    maybe(rng, config, "mtp_num_hidden_layers", [1, 2])
    maybe(rng, config, "partial_rotary_factor", [0.25, 0.5])
    if mlp != "moe":
        config["intermediate_size"] = rng.randrange(16, 257)
    if mlp != "dense":
        experts = rng.randrange(1, 9)
        config["num_experts"] = experts
        config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
        config["moe_intermediate_size"] = rng.randrange(8, 97)
        config["shared_expert_intermediate_size"] = rng.choice([0, rng.randrange(8, 129)])
    if mlp == "qwen_moe":
        maybe(rng, config, "decoder_sparse_step", [1, 2, 3])
        maybe(rng, config, "mlp_only_layers", [[], sorted(rng.sample(range(layers), rng.randrange(1, layers + 1)))])
        if rng.random() < 0.15:
            config["num_experts"] = 0  # every layer dense
    return config


def _wrap(rng: random.Random, model_type: str, text: dict[str, Any], vision: dict[str, Any]) -> dict[str, Any]:
    """The multimodal wrapper of ``text``; a tied head is said in both places (the wrapper's is what its model
    reads, the text config's what its causal-LM class reads)."""
    config: dict[str, Any] = {"model_type": model_type, "architectures": [], "text_config": text}
    tie = rng.choice([None, True, False])
    if tie is not None:
        config["tie_word_embeddings"] = text["tie_word_embeddings"] = tie
    config["vision_config"] = vision
    return config


def _vision(rng: random.Random, text_hidden: int) -> dict[str, Any]:
    return {
        "depth": rng.randrange(1, 3),
        "hidden_size": 32,
        "num_heads": 2,
        "intermediate_size": 48,
        "out_hidden_size": text_hidden,
        "patch_size": 4,
        "num_position_embeddings": 16,
    }


def qwen3_next(rng: random.Random) -> dict[str, Any]:
    config = _hybrid_text(rng, "qwen3_next", "qwen_moe")
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "use_sliding_window", [False])
    return config


def qwen3_5_text(rng: random.Random) -> dict[str, Any]:
    config = _hybrid_text(rng, "qwen3_5_text", "dense")
    maybe(rng, config, "tie_word_embeddings", [True, False])
    return config


def qwen3_5_moe_text(rng: random.Random) -> dict[str, Any]:
    config = _hybrid_text(rng, "qwen3_5_moe_text", "moe")
    maybe(rng, config, "tie_word_embeddings", [True, False])
    return config


def qwen3_5(rng: random.Random) -> dict[str, Any]:
    text = _hybrid_text(rng, "qwen3_5_text", "dense")
    config = _wrap(rng, "qwen3_5", text, {**_vision(rng, text["hidden_size"]), "model_type": "qwen3_5_vision"})
    config["architectures"] = ["Qwen3_5ForConditionalGeneration"]
    return config


def qwen3_5_moe(rng: random.Random) -> dict[str, Any]:
    text = _hybrid_text(rng, "qwen3_5_moe_text", "moe")
    vision = {**_vision(rng, text["hidden_size"]), "model_type": "qwen3_5_moe_vision"}
    config = _wrap(rng, "qwen3_5_moe", text, vision)
    config["architectures"] = ["Qwen3_5MoeForConditionalGeneration"]
    return config


def _vl_text(rng: random.Random, model_type: str) -> dict[str, Any]:
    config = _base(rng, model_type)
    config["intermediate_size"] = rng.randrange(16, 257)
    return config


def qwen3_vl(rng: random.Random) -> dict[str, Any]:
    text = _vl_text(rng, "qwen3_vl_text")
    maybe(rng, text, "head_dim", [rng.randrange(4, 33, 4)])  # absent: 128
    config = _wrap(rng, "qwen3_vl", text, _vision(rng, text["hidden_size"]))
    config["architectures"] = ["Qwen3VLForConditionalGeneration"]
    return config


def qwen3_vl_moe(rng: random.Random) -> dict[str, Any]:
    text = _vl_text(rng, "qwen3_vl_moe_text")
    layers = text["num_hidden_layers"]
    maybe(rng, text, "head_dim", [rng.randrange(4, 33, 4), None])  # absent or null: hidden_size // heads
    experts = rng.randrange(1, 9)
    text[rng.choice(["num_experts", "num_local_experts"])] = experts
    text["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    text["moe_intermediate_size"] = rng.randrange(8, 97)
    maybe(rng, text, "decoder_sparse_step", [1, 2, 3])
    maybe(rng, text, "mlp_only_layers", [[], sorted(rng.sample(range(layers), rng.randrange(1, layers + 1)))])
    config = _wrap(rng, "qwen3_vl_moe", text, _vision(rng, text["hidden_size"]))
    config["architectures"] = ["Qwen3VLMoeForConditionalGeneration"]
    return config


SWEEPS = {
    "qwen3_next": qwen3_next,
    "qwen3_5": qwen3_5,
    "qwen3_5_text": qwen3_5_text,
    "qwen3_5_moe": qwen3_5_moe,
    "qwen3_5_moe_text": qwen3_5_moe_text,
    "qwen3_vl": qwen3_vl,
    "qwen3_vl_moe": qwen3_vl_moe,
}

_NEXT = small(
    "qwen3_next",
    head_dim=16,
    linear_num_key_heads=2,
    linear_num_value_heads=4,
    linear_key_head_dim=8,
    linear_value_head_dim=12,
    num_experts=4,
    num_experts_per_tok=2,
    moe_intermediate_size=24,
    shared_expert_intermediate_size=32,
)
CASES = {
    # full_attention_interval 4: layers 0-2 Gated DeltaNet, layer 3 gated attention; kernel 4, head_dim given
    "test/qwen3_next-defaults": _NEXT,
    "test/qwen3_next-all-linear": {**_NEXT, "layer_types": ["linear_attention"] * 4},
    "test/qwen3_next-all-full-dense": {**_NEXT, "full_attention_interval": 1, "num_experts": 0},
    "test/qwen3_next-zero-width-shared-expert": {**_NEXT, "shared_expert_intermediate_size": 0},
    "test/qwen3_next-architectures-class": {
        **_NEXT,
        "model_type": "qwen3_next_custom",
        "architectures": ["Qwen3NextForCausalLM"],
    },
}
