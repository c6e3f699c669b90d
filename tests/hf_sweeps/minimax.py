"""Sweeps of MiniMax-M2 (minimax_m2) and MiniMax-M3 (minimax_m3_vl and its text model minimax_m3_vl_text)."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe


def _base(rng: random.Random, model_type: str) -> dict[str, Any]:
    hidden = rng.randrange(32, 129, 8)
    heads = rng.choice([2, 4, 6, 8])
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": rng.randrange(1, 7),
        "vocab_size": rng.randrange(100, 1001),
        "num_attention_heads": heads,
        "num_key_value_heads": rng.choice(divisors(heads)),
        "intermediate_size": rng.randrange(8, 97),
        "num_experts_per_tok": 1,
    }
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 4097)])
    return config


def _experts(rng: random.Random, config: dict[str, Any]) -> None:
    count = rng.randrange(2, 9)
    config[rng.choice(["num_local_experts", "num_experts"])] = count
    config["num_experts_per_tok"] = rng.randrange(1, count + 1)


def minimax_m2(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "minimax_m2")
    _experts(rng, config)
    layers = config["num_hidden_layers"]
    # Keys of the published checkpoints that transformers reads no parameter from (in the values it builds).
    maybe(rng, config, "use_qk_norm", [True])
    maybe(rng, config, "qk_norm_type", ["per_layer"])
    maybe(rng, config, "shared_intermediate_size", [0])
    maybe(rng, config, "attn_type_list", [[1] * layers])
    maybe(rng, config, "rotary_dim", [2, 4])
    maybe(rng, config, "use_routing_bias", [True])
    maybe(rng, config, "num_mtp_modules", [3])
    return config


def _m3_text(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "minimax_m3_vl_text")
    _experts(rng, config)
    layers = config["num_hidden_layers"]
    config["shared_intermediate_size"] = rng.choice([0, rng.randrange(8, 65)])
    config["dense_intermediate_size"] = rng.randrange(8, 129)
    config["index_n_heads"] = rng.randrange(1, 5)
    config["index_head_dim"] = rng.randrange(4, 33, 2)
    maybe(rng, config, "index_block_size", [rng.randrange(2, 9)])
    maybe(rng, config, "index_topk_blocks", [rng.randrange(1, 5)])
    attention = [rng.choice(["full_attention", "minimax_m3_sparse"]) for _ in range(layers)]
    mlp = [rng.choice(["sparse", "dense"]) for _ in range(layers)]
    style = rng.randrange(3)
    if style == 0:  # the flat keys transformers writes
        maybe(rng, config, "layer_types", [attention])
        maybe(rng, config, "mlp_layer_types", [mlp])
    elif style == 1:  # the published checkpoint's legacy keys
        sparse = {
            "sparse_attention_freq": [int(t == "minimax_m3_sparse") for t in attention],
            "sparse_num_index_heads": rng.randrange(1, 5),
            "sparse_index_dim": rng.randrange(4, 33, 2),
            "sparse_block_size": rng.randrange(2, 9),
            "sparse_topk_blocks": rng.randrange(1, 5),
            "sparse_local_block": 1,
            "sparse_disable_index_value": [int(t == "minimax_m3_sparse") for t in attention],
        }
        config["sparse_attention_config"] = sparse
        config["moe_layer_freq"] = [int(t == "sparse") for t in mlp]
    return config


def minimax_m3_vl(rng: random.Random) -> dict[str, Any]:
    text = _m3_text(rng)
    del text["model_type"]
    config: dict[str, Any] = {"model_type": "minimax_m3_vl", "text_config": text}
    config["vision_config"] = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
    }
    maybe(rng, text, "model_type", ["minimax_m3_vl_text"])
    return config


SWEEPS = {"minimax_m2": minimax_m2, "minimax_m3_vl_text": _m3_text, "minimax_m3_vl": minimax_m3_vl}
