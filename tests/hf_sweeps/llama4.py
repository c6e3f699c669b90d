"""Llama-4: interleaved MoE/dense layers, shared expert, chunked RoPE and NoPE layers; the llama4 wrapper."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe, maybe_drop_model_type, small, wrapper


def _layer_patterns(rng: random.Random, config: dict[str, Any], layers: int) -> None:
    """moe_layers / interleave_moe_layer_step, no_rope_layers / no_rope_layer_interval, chunk and layer_types."""
    moe = sorted(rng.sample(range(layers + 2), rng.randrange(0, layers + 1)))  # may name absent layers
    maybe(rng, config, "moe_layers", [moe, [], None])
    maybe(rng, config, "interleave_moe_layer_step", [1, 2, 3])
    rope = [rng.choice([0, 1]) for _ in range(layers)]
    maybe(rng, config, "no_rope_layers", [rope, [], None])
    maybe(rng, config, "no_rope_layer_interval", [1, 2, 4])
    maybe(rng, config, "attention_chunk_size", [rng.randrange(16, 8193), None])
    kinds = ["full_attention"] * layers
    if config.get("attention_chunk_size", 8192) is not None:
        kinds = [rng.choice(["chunked_attention", "full_attention"]) for _ in range(layers)]
    maybe(rng, config, "layer_types", [kinds, None])


def llama4_text(rng: random.Random) -> dict[str, Any]:
    layers = rng.randrange(1, 9)
    hidden = rng.randrange(32, 129, 8)
    heads = rng.choice([d for d in divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 2 == 0])
    config: dict[str, Any] = {
        "model_type": "llama4_text",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": rng.choice(divisors(heads)),
        "vocab_size": rng.randrange(100, 1001),
        "intermediate_size": rng.randrange(8, 97),
        "intermediate_size_mlp": rng.randrange(8, 193),
    }
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])  # absent: 128
    experts = rng.randrange(1, 9)
    config["num_local_experts"] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "use_qk_norm", [True, False])
    maybe(rng, config, "attn_temperature_tuning", [True, False])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 8193)])
    _layer_patterns(rng, config, layers)
    return config


def llama4(rng: random.Random) -> dict[str, Any]:
    """The multimodal wrapper: its text_config (with or without its model_type) is what counts."""
    text = llama4_text(rng)
    maybe_drop_model_type(rng, text)
    config = wrapper(rng, "llama4", text, "Llama4ForConditionalGeneration")
    maybe(rng, config, "tie_word_embeddings", [True, False])  # the wrapper's: not its text model's
    return config


SWEEPS = {"llama4_text": llama4_text, "llama4": llama4}

SMALL = small("llama4_text", intermediate_size=24, intermediate_size_mlp=80, num_local_experts=4, num_experts_per_tok=1)
CASES = {
    "test/llama4_text-defaults": SMALL,  # head_dim 128, chunked RoPE layers, NoPE every 4th, all MoE
    "test/llama4_text-interleaved": {**SMALL, "interleave_moe_layer_step": 2, "no_rope_layer_interval": 2},
    "test/llama4_text-no-chunk": {**SMALL, "attention_chunk_size": None, "attention_bias": True},
    "test/llama4_text-all-dense": {**SMALL, "moe_layers": [], "head_dim": 16},
    "test/llama4_text-long-no-rope-list": {
        **SMALL,
        "no_rope_layers": [1, 0, 1, 0, 1, 1],  # past the last layer: not read when layer_types is given
        "layer_types": ["chunked_attention", "full_attention", "full_attention", "chunked_attention"],
        "moe_layers": [1, 3, 7],
    },
    "test/llama4-wrapper-tied-text": {
        "model_type": "llama4",
        "tie_word_embeddings": False,
        "text_config": {**SMALL, "tie_word_embeddings": True},
    },
}
