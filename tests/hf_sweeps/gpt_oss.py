"""gpt-oss: sinks, attention biases, sliding/full layer_types, biased experts and router."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe, small


def _attention_heads(rng: random.Random, config: dict[str, Any]) -> None:
    """Heads, head_dim (absent: 64) and KV heads (transformers refuses null for either)."""
    hidden = config["hidden_size"]
    heads = rng.choice([d for d in divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 2 == 0])
    config["num_attention_heads"] = heads
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])
    config["num_key_value_heads"] = rng.choice(divisors(heads))


def gpt_oss(rng: random.Random) -> dict[str, Any]:
    layers = rng.randrange(1, 7)
    config: dict[str, Any] = {
        "model_type": "gpt_oss",
        "hidden_size": rng.randrange(32, 129, 8),
        "num_hidden_layers": layers,
        "vocab_size": rng.randrange(100, 1001),
        "intermediate_size": rng.randrange(8, 97),
    }
    _attention_heads(rng, config)
    experts = rng.randrange(1, 9)
    config[rng.choice(["num_local_experts", "num_experts"])] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 8193)])
    kinds = [rng.choice(["sliding_attention", "full_attention"]) for _ in range(layers)]
    maybe(rng, config, "layer_types", [kinds, ["full_attention"] * layers, None])
    full_only = config.get("layer_types") == ["full_attention"] * layers
    # null is a window only where no layer slides (transformers needs one for a sliding layer's mask)
    maybe(rng, config, "sliding_window", [rng.randrange(4, 257), *([None] if full_only else [])])
    return config


SWEEPS = {"gpt_oss": gpt_oss}

SMALL = small("gpt_oss", intermediate_size=48, num_local_experts=4, num_experts_per_tok=2)
CASES = {
    "test/gpt_oss-defaults": SMALL,  # head_dim 64, attention_bias true, window 128 on even layers
    "test/gpt_oss-mha-no-bias": {**SMALL, "num_key_value_heads": 4, "attention_bias": False, "head_dim": 16},
    "test/gpt_oss-full-only-null-window": {
        **SMALL,
        "layer_types": ["full_attention"] * 4,
        "sliding_window": None,
        "architectures": ["GptOssForCausalLM"],
    },
}
