"""DeepSeek-V2, V3.2, V4, Kimi-K2 (kimi_k2 as DeepseekV3ForCausalLM) and Kimi-K2.5 (its text_config):
MLA with and without q_lora_rank, biases, indexers, compressed attention, hyper-connections, dense/MoE
layer patterns, shared experts of every width."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe


def _base(rng: random.Random, model_type: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": rng.randrange(32, 129, 8),
        "num_hidden_layers": rng.randrange(1, 7),
        "vocab_size": rng.randrange(100, 1001),
        "intermediate_size": rng.randrange(16, 257),
    }
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 8193)])
    return config


def _mla(rng: random.Random, config: dict[str, Any], *, q_lora_null: bool) -> None:
    heads = rng.choice([d for d in divisors(config["hidden_size"]) if d <= 8])  # DeepseekV2Config refuses others
    config["num_attention_heads"] = heads
    maybe(rng, config, "num_key_value_heads", [heads])
    config.update(
        kv_lora_rank=rng.randrange(8, 65),
        qk_nope_head_dim=rng.randrange(4, 33, 2),
        qk_rope_head_dim=rng.randrange(4, 33, 2),
        v_head_dim=rng.randrange(4, 33, 2),
    )
    ranks: list[Any] = [rng.randrange(8, 65)]
    config["q_lora_rank"] = rng.choice([*ranks, None] if q_lora_null else ranks)
    maybe(rng, config, "attention_bias", [True, False])


def _experts(rng: random.Random, config: dict[str, Any], key: str = "n_routed_experts") -> None:
    experts = rng.randrange(1, 9)
    config[key] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config["moe_intermediate_size"] = rng.randrange(8, 97)
    maybe(rng, config, "n_shared_experts", [0, 1, 2])
    config.update(n_group=1, topk_group=1)


def _dense_pattern(rng: random.Random, config: dict[str, Any], *, types: bool) -> None:
    layers = config["num_hidden_layers"]
    maybe(rng, config, "first_k_dense_replace", [0, 1, rng.randrange(0, layers + 2)])
    if types and rng.random() < 0.4:
        config["mlp_layer_types"] = [rng.choice(["dense", "sparse"]) for _ in range(layers)]


def deepseek_v2(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "deepseek_v2")
    _mla(rng, config, q_lora_null=True)
    _experts(rng, config, rng.choice(["n_routed_experts", "num_experts"]))
    _dense_pattern(rng, config, types=False)
    maybe(rng, config, "mlp_bias", [True, False])
    maybe(rng, config, "moe_layer_freq", [1])  # not read by transformers
    maybe(rng, config, "topk_method", ["greedy"])
    return config


def indexer(rng: random.Random, config: dict[str, Any]) -> None:
    config["index_n_heads"] = rng.randrange(1, 9)
    config["index_head_dim"] = rng.randrange(8, 49, 2)
    maybe(rng, config, "index_topk", [rng.randrange(1, 64)])


def deepseek_v32(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "deepseek_v32")
    _mla(rng, config, q_lora_null=False)
    _experts(rng, config, rng.choice(["n_routed_experts", "num_local_experts"]))
    _dense_pattern(rng, config, types=True)
    indexer(rng, config)
    maybe(rng, config, "num_nextn_predict_layers", [0, 1])
    return config


def _v3_text(rng: random.Random, model_type: str) -> dict[str, Any]:
    config = _base(rng, model_type)
    _mla(rng, config, q_lora_null=True)
    _experts(rng, config)
    _dense_pattern(rng, config, types=False)
    maybe(rng, config, "num_nextn_predict_layers", [0, 1])
    return config


def kimi_k2(rng: random.Random) -> dict[str, Any]:
    config = _v3_text(rng, "kimi_k2")
    config["architectures"] = ["DeepseekV3ForCausalLM"]
    return config


def kimi_k25(rng: random.Random) -> dict[str, Any]:
    text = _v3_text(rng, rng.choice(["kimi_k2", "deepseek_v3"]))
    config: dict[str, Any] = {"model_type": "kimi_k25", "architectures": ["KimiK25ForConditionalGeneration"]}
    if "tie_word_embeddings" in text:
        config["tie_word_embeddings"] = text["tie_word_embeddings"]
    config["text_config"] = text
    return config


_V4_TYPES = ["sliding_attention", "compressed_sparse_attention", "heavily_compressed_attention"]


def deepseek_v4(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "deepseek_v4")
    del config["intermediate_size"]  # an alias of moe_intermediate_size in DeepseekV4Config
    layers = config["num_hidden_layers"]
    heads = rng.randrange(1, 9)
    head_dim = rng.randrange(16, 65, 16)
    groups = rng.choice([g for g in (1, 2, 4) if (heads * head_dim) % g == 0])
    config.update(
        num_attention_heads=heads,
        num_key_value_heads=1,
        head_dim=head_dim,
        q_lora_rank=rng.randrange(8, 65),
        o_groups=groups,
        o_lora_rank=rng.randrange(4, 33),
        hc_mult=rng.randrange(1, 5),
        index_n_heads=rng.randrange(1, 9),
        index_head_dim=rng.randrange(16, 49, 16),
    )
    experts = rng.randrange(1, 9)
    config[rng.choice(["n_routed_experts", "num_local_experts"])] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config[rng.choice(["moe_intermediate_size", "intermediate_size"])] = rng.randrange(8, 97)
    maybe(rng, config, "n_shared_experts", [1, 2])  # not read: one shared expert
    maybe(rng, config, "mlp_bias", [True, False])
    maybe(rng, config, "sliding_window", [rng.randrange(4, 257)])
    pattern = rng.random()
    if pattern < 0.35:
        config["layer_types"] = [rng.choice(_V4_TYPES) for _ in range(layers)]
    elif pattern < 0.7:
        config["compress_ratios"] = [rng.choice([0, 4, 128]) for _ in range(layers + rng.randrange(0, 2))]
    rates = rng.random()
    if rates < 0.3:
        config["compress_rates"] = {
            "compressed_sparse_attention": rng.randrange(1, 9),
            "heavily_compressed_attention": rng.randrange(1, 17),
        }
    elif rates < 0.6:
        maybe(rng, config, "compress_rate_csa", [rng.randrange(1, 9)])
        maybe(rng, config, "compress_rate_hca", [rng.randrange(1, 17)])
    hash_layers = rng.randrange(0, layers + 1)
    maybe(rng, config, "num_hash_layers", [hash_layers])
    maybe(rng, config, "num_nextn_predict_layers", [0, 1])
    return config


SWEEPS = {
    "deepseek_v2": deepseek_v2,
    "deepseek_v32": deepseek_v32,
    "deepseek_v4": deepseek_v4,
    "kimi_k2": kimi_k2,
    "kimi_k25": kimi_k25,
}

_V2_SMALL = {
    "model_type": "deepseek_v2",
    "vocab_size": 300,
    "hidden_size": 64,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 96,
    "moe_intermediate_size": 24,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "kv_lora_rank": 16,
    "q_lora_rank": None,
    "qk_nope_head_dim": 8,
    "qk_rope_head_dim": 8,
    "v_head_dim": 8,
    "first_k_dense_replace": 1,
}
CASES = {
    # mlp_bias on a shared expert of width 0: transformers keeps its down projection's bias.
    "test/deepseek_v2-bias-no-shared": {**_V2_SMALL, "mlp_bias": True, "n_shared_experts": 0},
    "test/deepseek_v2-bias": {**_V2_SMALL, "mlp_bias": True, "q_lora_rank": 24, "attention_bias": True},
    # Legacy keys: per-layer compress_ratios (one more than the layers, as checkpoints ship the MTP layer's),
    # top-level rates, and intermediate_size for moe_intermediate_size.
    "test/deepseek_v4-legacy": {
        "model_type": "deepseek_v4",
        "vocab_size": 300,
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "head_dim": 32,
        "q_lora_rank": 24,
        "o_groups": 2,
        "o_lora_rank": 16,
        "hc_mult": 2,
        "index_n_heads": 2,
        "index_head_dim": 16,
        "n_routed_experts": 4,
        "num_experts_per_tok": 2,
        "intermediate_size": 24,
        "compress_ratios": [0, 4, 128, 4, 0],
        "compress_rate_csa": 2,
        "compress_rate_hca": 8,
        "qk_rope_head_dim": 8,
        "num_hash_layers": 1,
        "mlp_bias": True,
    },
}
