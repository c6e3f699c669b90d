"""Sweeps of Step-3.7 (step3p7, its text model step3p5) and MiMo-V2-Flash (mimo_v2_flash)."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe


def _layer_list(rng: random.Random, layers: int, choices: list[str]) -> list[str]:
    return [rng.choice(choices) for _ in range(layers)]


def _step_text(rng: random.Random) -> dict[str, Any]:
    hidden = rng.randrange(32, 129, 8)
    layers = rng.randrange(1, 7)
    kv = rng.choice([1, 2, 4])
    text: dict[str, Any] = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "vocab_size": rng.randrange(100, 1001),
        "num_attention_heads": kv * rng.randrange(1, 4),
        rng.choice(["num_key_value_heads", "num_attention_groups"]): kv,
        "intermediate_size": rng.randrange(8, 97),
        "moe_intermediate_size": rng.randrange(8, 65),
        rng.choice(["share_expert_dim", "share_expert_dims"]): rng.choice([0, rng.randrange(8, 65)]),
    }
    experts = rng.randrange(2, 9)
    text[rng.choice(["n_routed_experts", "moe_num_experts"])] = experts
    text[rng.choice(["num_experts_per_tok", "moe_top_k"])] = rng.randrange(1, experts + 1)
    maybe(rng, text, "head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, text, "max_position_embeddings", [rng.randrange(64, 4097)])
    mtp = rng.choice([0, 0, 1, 2])
    if mtp:
        text["num_nextn_predict_layers"] = mtp
    padded = layers + mtp
    attention = _layer_list(rng, rng.choice([layers, padded]), ["full_attention", "sliding_attention"])
    maybe(rng, text, "layer_types", [attention])
    if "sliding_attention" in attention or rng.random() < 0.3:
        text["sliding_window"] = rng.randrange(4, 600)
    sliding_heads = kv * rng.randrange(1, 5)
    style = rng.randrange(3)
    if style == 0:
        text["num_sliding_attention_heads"] = sliding_heads
    elif style == 1:
        text["attention_other_setting"] = {"attention_type": "sliding_attention", "num_attention_heads": sliding_heads}
    style = rng.randrange(3)
    if style == 0:
        text["mlp_layer_types"] = _layer_list(rng, rng.choice([layers, padded]), ["sparse", "dense"])
    elif style == 1:
        moe = sorted(rng.sample(range(padded), rng.randrange(0, padded + 1)))
        text["moe_layers_enum"] = rng.choice([",".join(map(str, moe)), moe])
    maybe(rng, text, "gating", [True, False, "per-head", "elementwise"])
    maybe(rng, text, "use_head_wise_attn_gate", [True])
    maybe(rng, text, "use_qk_norm", [True])
    maybe(rng, text, "attention_bias", [False])
    dense_only = "mlp_layer_types" in text and "sparse" not in text["mlp_layer_types"][:layers]
    maybe(rng, text, "mlp_bias", [True, False] if dense_only else [False])
    return text


def step3p7(rng: random.Random) -> dict[str, Any]:
    text = _step_text(rng)
    maybe(rng, text, "model_type", ["step3p5"])
    config: dict[str, Any] = {
        "model_type": "step3p7",
        "text_config": text,
        "vision_config": {"width": 32, "layers": 1, "heads": 2},
    }
    maybe(rng, config, "tie_word_embeddings", [True, False])
    return config


def mimo_v2_flash(rng: random.Random) -> dict[str, Any]:
    hidden = rng.randrange(32, 129, 8)
    layers = rng.randrange(1, 8)
    kv = rng.choice([1, 2])
    heads = 2 * kv * rng.randrange(1, 4)
    config: dict[str, Any] = {
        "model_type": "mimo_v2_flash",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "vocab_size": rng.randrange(100, 1001),
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "intermediate_size": rng.randrange(8, 97),
        "moe_intermediate_size": rng.randrange(8, 65),
    }
    experts = rng.choice([2, 4, 6, 8])
    config[rng.choice(["n_routed_experts", "num_local_experts"])] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config["n_group"] = rng.choice(divisors(experts))
    config["topk_group"] = 1
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, config, "v_head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "sliding_window", [rng.randrange(4, 600)])
    maybe(rng, config, "sliding_window_size", [rng.randrange(4, 600)])
    attention = _layer_list(rng, layers, ["full_attention", "sliding_attention"])
    mlp = _layer_list(rng, layers, ["sparse", "dense"])
    if rng.random() < 0.5:
        config["layer_types"] = attention
        config["mlp_layer_types"] = mlp
    else:  # the checkpoint's legacy keys, agreeing with transformers' defaults
        config["hybrid_layer_pattern"] = [0 if i == 0 or not (i + 1) % 6 else 1 for i in range(layers)]
        config["moe_layer_freq"] = [0] + [1] * (layers - 1)
    maybe(rng, config, "add_swa_attention_sink_bias", [True])
    maybe(rng, config, "add_full_attention_sink_bias", [False])
    maybe(rng, config, "attention_value_scale", [0.707, None])
    maybe(rng, config, "routed_scaling_factor", [None, 2.5])
    return config


SWEEPS = {"step3p7": step3p7, "mimo_v2_flash": mimo_v2_flash}
