"""GLM-4.5/4.6/4.7 (glm4_moe: biases, Q/K norms, partial rotary, dense then MoE layers) and GLM-5
(glm_moe_dsa: MLA with indexers on full layers, none on shared ones)."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe
from tests.hf_sweeps.deepseek import _base, _dense_pattern, _experts, _mla, indexer


def glm4_moe(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "glm4_moe")
    hidden = config["hidden_size"]
    heads = rng.choice([d for d in divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 4 == 0])
    config["num_attention_heads"] = heads
    config["num_key_value_heads"] = rng.choice(divisors(heads))
    maybe(rng, config, "head_dim", [rng.randrange(8, 33, 4)])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "use_qk_norm", [True, False])
    maybe(rng, config, "partial_rotary_factor", [0.5, 1.0])
    _experts(rng, config, rng.choice(["n_routed_experts", "num_local_experts"]))
    _dense_pattern(rng, config, types=False)
    maybe(rng, config, rng.choice(["num_nextn_predict_layers", "num_mtp_layers"]), [0, 1])
    return config


def glm_moe_dsa(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "glm_moe_dsa")
    layers = config["num_hidden_layers"]
    _mla(rng, config, q_lora_null=False)
    _experts(rng, config, rng.choice(["n_routed_experts", "num_local_experts"]))
    _dense_pattern(rng, config, types=True)
    indexer(rng, config)
    choice = rng.random()
    if choice < 0.25:
        config["indexer_types"] = ["full"] + [rng.choice(["full", "shared"]) for _ in range(layers - 1)]
    elif choice < 0.45:
        config["index_topk_pattern"] = "F" + "".join(rng.choice("FS") for _ in range(layers - 1))
    elif choice < 0.75:
        maybe(rng, config, "index_topk_freq", [1, 2, 3])
        maybe(rng, config, "index_skip_topk_offset", [0, 1, 2, 3])
    maybe(rng, config, "num_nextn_predict_layers", [0, 1])
    return config


SWEEPS = {"glm4_moe": glm4_moe, "glm_moe_dsa": glm_moe_dsa}
