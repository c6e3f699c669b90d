"""Sweeps of the 2025 llama-like families (registry/core/hf_families/classic.py): every key each reads."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe, small

LAYER_KINDS = ["sliding_attention", "full_attention"]


def _base(
    rng: random.Random, model_type: str, *, kv: str = "maybe", head_dim: bool = True, attention_bias: bool = False
) -> dict[str, Any]:
    """Sizes, heads (even head widths) and key/value heads: ``kv`` required, maybe (or null) or none; last, maybe
    attention_bias."""
    hidden = rng.randrange(32, 129, 8)
    heads = rng.choice([d for d in divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 2 == 0])
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": rng.randrange(1, 7),
        "num_attention_heads": heads,
        "vocab_size": rng.randrange(100, 1001),
        "intermediate_size": rng.randrange(16, 257),
    }
    config["pad_token_id"] = rng.choice([None, rng.randrange(config["vocab_size"])])
    if kv == "required":
        config["num_key_value_heads"] = rng.choice(divisors(heads))
    elif kv == "maybe":
        maybe(rng, config, "num_key_value_heads", [*divisors(heads), None])
    if head_dim:
        maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    if attention_bias:
        maybe(rng, config, "attention_bias", [True, False])
    return config


def _experts(rng: random.Random, config: dict[str, Any], key: str, per_token: str = "num_experts_per_tok") -> None:
    experts = rng.randrange(2, 9)
    config[key] = experts
    config[per_token] = rng.randrange(1, experts + 1)


def _layer_types(rng: random.Random, config: dict[str, Any]) -> None:
    if rng.random() < 0.4:
        config["layer_types"] = [rng.choice(LAYER_KINDS) for _ in range(config["num_hidden_layers"])]


def glm4(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "glm4", kv="required", attention_bias=True)
    maybe(rng, config, "partial_rotary_factor", [0.5, 1.0])
    return config


def phimoe(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "phimoe", kv="required")
    _experts(rng, config, "num_local_experts")
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "lm_head_bias", [True, False])
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    maybe(rng, config, "input_jitter_noise", [0.0, 0.01])
    maybe(rng, config, "router_jitter_noise", [0.0, 0.01])
    return config


def olmoe(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "olmoe", head_dim=False)
    _experts(rng, config, rng.choice(["num_experts", "num_local_experts"]))
    maybe(rng, config, "head_dim", [config["hidden_size"] // config["num_attention_heads"]])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "clip_qkv", [None, 8.0])
    maybe(rng, config, "norm_topk_prob", [True, False])
    return config


def olmo3(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "olmo3", attention_bias=True)
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    _layer_types(rng, config)
    return config


def granite(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "granite", attention_bias=True)
    maybe(rng, config, "mlp_bias", [True, False])
    for key in ("embedding_multiplier", "logits_scaling", "residual_multiplier", "attention_multiplier"):
        maybe(rng, config, key, [0.5, 2.0])
    return config


def granitemoe(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "granitemoe")
    _experts(rng, config, "num_local_experts")
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "residual_multiplier", [0.22])
    return config


def smollm3(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "smollm3", kv="required", attention_bias=True)
    layers = config["num_hidden_layers"]
    maybe(rng, config, "mlp_bias", [True, False])
    maybe(rng, config, "use_sliding_window", [True, False])
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    maybe(rng, config, "no_rope_layers", [[rng.choice([0, 1]) for _ in range(layers)]])
    maybe(rng, config, "no_rope_layer_interval", [1, 2, 3])
    _layer_types(rng, config)
    return config


def cohere(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "cohere", attention_bias=True)
    maybe(rng, config, "use_qk_norm", [True, False])
    maybe(rng, config, "logit_scale", [0.125])
    return config


def cohere2(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "cohere2", attention_bias=True)
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    maybe(rng, config, "sliding_window_pattern", [1, 2, 3])
    _layer_types(rng, config)
    return config


def _use_bias(rng: random.Random, model_type: str) -> dict[str, Any]:
    """Required key/value heads, a head_dim given, null or absent, and maybe use_bias (starcoder2, ernie4_5)."""
    config = _base(rng, model_type, kv="required")
    if "head_dim" not in config:
        maybe(rng, config, "head_dim", [None])
    maybe(rng, config, "use_bias", [True, False])
    return config


def starcoder2(rng: random.Random) -> dict[str, Any]:
    config = _use_bias(rng, "starcoder2")
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    return config


def falcon(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "falcon", kv="none", head_dim=False)
    del config["intermediate_size"]  # falcon's is ffn_hidden_size
    heads = config["num_attention_heads"]
    if rng.random() < 0.3:
        config["n_embed"] = config.pop("hidden_size")
    for key in ("new_decoder_architecture", "multi_query", "parallel_attn", "bias", "alibi"):
        maybe(rng, config, key, [True, False])
    maybe(rng, config, "num_kv_heads", [*divisors(heads), None])
    maybe(rng, config, "num_ln_in_parallel_attn", [None, 1, 2])
    maybe(rng, config, "ffn_hidden_size", [rng.randrange(16, 257), None])
    return config


def gpt_neox(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "gpt_neox", kv="none", head_dim=False, attention_bias=True)
    maybe(rng, config, "use_parallel_residual", [True, False])
    maybe(rng, config, "rotary_pct", [0.25, 1.0])
    # Keys GPT-NeoX does not read: its heads are multi-head, hidden_size // num_attention_heads wide.
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, config, "num_key_value_heads", [1])
    return config


def ernie4_5(rng: random.Random) -> dict[str, Any]:
    return _use_bias(rng, "ernie4_5")


def ernie4_5_moe(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "ernie4_5_moe", kv="required")
    layers = config["num_hidden_layers"]
    names = rng.choice([("moe_num_experts", "moe_k"), ("num_experts", "num_experts_per_tok")])
    _experts(rng, config, *names)
    config["moe_intermediate_size"] = rng.randrange(8, 97)
    maybe(rng, config, "moe_num_shared_experts", [0, 1, 2])
    maybe(rng, config, "moe_layer_start_index", [0, 1, rng.randrange(0, layers + 1)])
    maybe(rng, config, "moe_layer_end_index", [-1, rng.randrange(0, layers)])
    maybe(rng, config, "moe_layer_interval", [1, 2, 3])
    if config.get("moe_num_shared_experts") == 0:  # with shared experts, use_bias is refused
        maybe(rng, config, "use_bias", [True, False])
    maybe(rng, config, "num_nextn_predict_layers", [1])
    return config


SWEEPS = {
    "glm4": glm4,
    "phimoe": phimoe,
    "olmoe": olmoe,
    "olmo3": olmo3,
    "granite": granite,
    "granitemoe": granitemoe,
    "smollm3": smollm3,
    "cohere": cohere,
    "cohere2": cohere2,
    "starcoder2": starcoder2,
    "falcon": falcon,
    "gpt_neox": gpt_neox,
    "ernie4_5": ernie4_5,
    "ernie4_5_moe": ernie4_5_moe,
}

_FALCON = {
    "model_type": "falcon",
    "vocab_size": 300,
    "hidden_size": 64,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
}
# Fixed cases for the switches a random draw may miss.
CASES = {
    "test/falcon-40b-like": {**_FALCON, "new_decoder_architecture": True, "num_kv_heads": 2, "bias": False},
    "test/falcon-rw-like": {**_FALCON, "multi_query": False, "parallel_attn": False, "alibi": True, "bias": True},
    "test/smollm3-sliding-nope": small("smollm3", use_sliding_window=True, sliding_window=64, pad_token_id=None),
    "test/ernie4_5_moe-bias-no-shared": small(
        "ernie4_5_moe",
        head_dim=16,
        moe_num_experts=4,
        moe_k=2,
        moe_intermediate_size=24,
        moe_num_shared_experts=0,
        moe_layer_interval=2,
        use_bias=True,
    ),
}
