"""Kimi-Linear: Kimi Delta Attention geometry (nested and top-level keys), latent attention, layer patterns
(layer_types, full_attn_layers / kda_layers, the default), dense/MoE patterns and shared experts."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import maybe


def kimi_linear(rng: random.Random) -> dict[str, Any]:
    layers = rng.randrange(1, 10)
    vocab = rng.randrange(100, 1001)
    config: dict[str, Any] = {
        "model_type": "kimi_linear",
        "hidden_size": rng.randrange(32, 129, 8),
        "num_hidden_layers": layers,
        "num_attention_heads": rng.randrange(1, 9),
        "vocab_size": vocab,
        "pad_token_id": rng.randrange(vocab),  # the default (163839) lies outside a small vocabulary
        "intermediate_size": rng.randrange(16, 257),
        "kv_lora_rank": rng.randrange(8, 65),
        "qk_nope_head_dim": rng.randrange(4, 33, 2),
        "qk_rope_head_dim": rng.randrange(4, 33, 2),
        "v_head_dim": rng.randrange(4, 33, 2),
        "moe_intermediate_size": rng.randrange(8, 97),
    }
    experts = rng.randrange(1, 9)
    config[rng.choice(["num_experts", "num_local_experts"])] = experts
    config[rng.choice(["num_experts_per_token", "num_experts_per_tok"])] = rng.randrange(1, experts + 1)
    maybe(rng, config, rng.choice(["num_shared_experts", "n_shared_experts"]), [0, 1, 2])
    maybe(rng, config, "q_lora_rank", [None, rng.randrange(8, 65)])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, rng.choice(["model_max_length", "max_position_embeddings"]), [rng.randrange(64, 8193)])
    maybe(rng, config, "num_key_value_heads", [config["num_attention_heads"]])
    maybe(rng, config, "moe_layer_freq", [1])
    maybe(rng, config, "mamba_ssm_dtype", ["float32", "bfloat16"])
    maybe(rng, config, "num_nextn_predict_layers", [0, 1])
    heads, head_dim, kernel = rng.randrange(1, 5), rng.randrange(4, 33, 4), rng.randrange(2, 6)
    nested: dict[str, Any] = {}
    for key, top, value in (
        ("num_heads", "linear_num_heads", heads),
        ("head_dim", "linear_head_dim", head_dim),
        ("short_conv_kernel_size", "linear_conv_kernel_dim", kernel),
    ):
        place = rng.randrange(3 if key == "short_conv_kernel_size" else 2)  # the kernel may be absent (4)
        if place == 0:
            nested[key] = value
        elif place == 1:
            config[top] = value
    pattern = rng.randrange(3)
    kinds = [rng.choice(["full_attention", "linear_attention"]) for _ in range(layers)]
    if pattern == 0:
        config["layer_types"] = kinds
    elif pattern == 1:
        nested["full_attn_layers"] = [i + 1 for i, k in enumerate(kinds) if k == "full_attention"]
        nested["kda_layers"] = [i + 1 for i, k in enumerate(kinds) if k == "linear_attention"]
    if nested or rng.random() < 0.5:
        config["linear_attn_config"] = nested
    if rng.random() < 0.4:
        config["mlp_layer_types"] = [rng.choice(["dense", "sparse"]) for _ in range(layers)]
    else:
        maybe(rng, config, "first_k_dense_replace", [0, 1, rng.randrange(0, layers + 2)])
    return config


SWEEPS = {"kimi_linear": kimi_linear}

_SMALL = {
    "model_type": "kimi_linear",
    "hidden_size": 64,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "vocab_size": 300,
    "pad_token_id": 0,
    "intermediate_size": 96,
    "kv_lora_rank": 16,
    "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 8,
    "v_head_dim": 8,
    "num_experts": 4,
    "num_experts_per_token": 2,
    "moe_intermediate_size": 24,
    "linear_attn_config": {"num_heads": 2, "head_dim": 16},
}
CASES = {
    # full attention on layer 4 (0-based), kernel 4, first layer dense, one shared expert
    "test/kimi_linear-defaults": _SMALL,
    "test/kimi_linear-top-level-linear-keys": {
        **{k: v for k, v in _SMALL.items() if k != "linear_attn_config"},
        "linear_num_heads": 3,
        "linear_head_dim": 8,
        "linear_conv_kernel_dim": 2,
    },
    "test/kimi_linear-no-shared-expert-compressed-q": {**_SMALL, "num_shared_experts": 0, "q_lora_rank": 12},
}
