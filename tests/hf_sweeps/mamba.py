"""Sweeps of the state-space and hybrid families: mamba, mamba2, nemotron_h, jamba, falcon_h1,
granitemoehybrid and lfm2 (registry/core/hf_families/mamba.py)."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe


def _base(rng: random.Random, model_type: str, *, layers: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": rng.randrange(16, 97, 8),
        "num_hidden_layers": layers or rng.randrange(1, 7),
        "vocab_size": rng.randrange(100, 600),
    }
    maybe(rng, config, "tie_word_embeddings", [True, False])
    return config


def _attention(rng: random.Random, config: dict[str, Any], *, kv_null: bool = True) -> None:
    """Query heads with an even head width, KV heads dividing them, maybe an explicit head_dim."""
    h = config["hidden_size"]
    heads = rng.choice([d for d in divisors(h) if (h // d) % 2 == 0 and d <= 8])
    config["num_attention_heads"] = heads
    config["num_key_value_heads"] = rng.choice(divisors(heads) + ([None] if kv_null else []))
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])


def _mamba(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "mamba")
    maybe(rng, config, "state_size", [rng.randrange(1, 17)])
    maybe(rng, config, "expand", [1, 2, 3])
    maybe(rng, config, "conv_kernel", [2, 3, 4])
    maybe(rng, config, "use_bias", [True, False])
    maybe(rng, config, "use_conv_bias", [True, False])
    maybe(rng, config, "time_step_rank", ["auto", rng.randrange(1, 17)])
    maybe(rng, config, "intermediate_size", [rng.randrange(8, 200)])  # overwritten by expand · hidden_size
    return config


def _mamba2(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "mamba2")
    expand = rng.choice([1, 2, 3])
    inner = expand * config["hidden_size"]
    heads = rng.choice([d for d in divisors(inner) if d <= 16])
    config["num_heads"] = heads
    if expand != 2 or rng.random() < 0.5:
        config["expand"] = expand
    if inner // heads != 64 or rng.random() < 0.5:
        config["head_dim"] = inner // heads
    _groups(rng, config, "n_groups", heads)
    maybe(rng, config, "state_size", [rng.randrange(1, 33)])
    maybe(rng, config, "conv_kernel", [2, 3, 4])
    maybe(rng, config, "use_bias", [True, False])
    maybe(rng, config, "use_conv_bias", [True, False])
    maybe(rng, config, "chunk_size", [16, 256])
    return config


def _groups(rng: random.Random, config: dict[str, Any], key: str, heads: int) -> None:
    """Mamba-2 groups that divide the heads (the format requires it; so does running the model): the default 8
    only where it divides them."""
    if heads % 8:
        config[key] = rng.choice(divisors(heads))
    else:
        maybe(rng, config, key, divisors(heads))


def _nemotron_h(rng: random.Random) -> dict[str, Any]:
    pattern = "".join(rng.choice("M*-E") for _ in range(rng.randrange(1, 8)))
    config = _base(rng, "nemotron_h", layers=len(pattern))  # tie_word_embeddings: not read
    if rng.random() < 0.3:
        names = {"M": ["linear_attention", "mamba"], "*": ["full_attention", "attention"], "-": ["mlp"], "E": ["moe"]}
        key = rng.choice(["layers_block_type", "layer_types"])
        config[key] = [rng.choice(names[c]) for c in pattern]
    else:
        config["hybrid_override_pattern"] = pattern
    _attention(rng, config, kv_null=False)  # NemotronHConfig types num_key_value_heads as int
    config["mamba_num_heads"] = rng.randrange(1, 9)
    config["mamba_head_dim"] = rng.randrange(2, 17)
    _groups(rng, config, rng.choice(["n_groups", "mamba_n_groups"]), config["mamba_num_heads"])
    maybe(rng, config, "ssm_state_size", [rng.randrange(1, 33)])
    maybe(rng, config, rng.choice(["conv_kernel", "mamba_d_conv"]), [2, 3, 4])
    maybe(rng, config, rng.choice(["use_conv_bias", "mamba_conv_bias"]), [True, False])
    maybe(rng, config, "use_bias", [True, False])
    maybe(rng, config, "mamba_proj_bias", [True, False])  # not read by transformers 5.25
    maybe(rng, config, "mamba_ssm_cache_dtype", ["float32", "bfloat16", "float16", "auto"])
    maybe(rng, config, "attention_bias", [True, False])  # not read either: attention has no biases
    config["intermediate_size"] = rng.randrange(8, 200)
    maybe(rng, config, "mlp_bias", [True, False])
    experts = rng.randrange(1, 9)
    config[rng.choice(["n_routed_experts", "num_local_experts"])] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config["moe_intermediate_size"] = rng.randrange(4, 64)
    config["moe_shared_expert_intermediate_size"] = rng.choice([0, rng.randrange(4, 64)])
    maybe(rng, config, "moe_latent_size", [None, rng.randrange(4, 48)])
    maybe(rng, config, "n_shared_experts", [1, 2])  # transformers builds one shared MLP whatever it says
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 4096)])
    return config


def _jamba(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "jamba", layers=rng.randrange(1, 9))
    _attention(rng, config, kv_null=False)
    period = rng.randrange(1, 5)
    config["attn_layer_period"], config["attn_layer_offset"] = period, rng.randrange(period)
    period = rng.randrange(1, 4)
    config["expert_layer_period"], config["expert_layer_offset"] = period, rng.randrange(period)
    experts = rng.choice([1, rng.randrange(2, 7)])
    config[rng.choice(["num_experts", "num_local_experts"])] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config["intermediate_size"] = rng.randrange(8, 200)
    maybe(rng, config, "mamba_d_state", [rng.randrange(1, 17)])
    maybe(rng, config, "mamba_d_conv", [2, 3, 4])
    maybe(rng, config, "mamba_expand", [1, 2])
    maybe(rng, config, "mamba_dt_rank", ["auto", rng.randrange(1, 17)])
    maybe(rng, config, "mamba_conv_bias", [True, False])
    maybe(rng, config, "mamba_proj_bias", [True, False])
    return config


def _falcon_h1(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "falcon_h1")
    _attention(rng, config)
    h = config["hidden_size"]
    expand = rng.choice([1, 2])
    form = rng.choice(["absent", "null", "given"])
    if form == "absent":
        inner = 1024
    elif form == "null":
        config["mamba_d_ssm"], config["mamba_expand"], inner = None, expand, expand * h
    else:
        inner = rng.randrange(8, 129, 8)
        config["mamba_d_ssm"] = inner
    if form != "null":
        maybe(rng, config, "mamba_expand", [1, 2, 3])
    heads = rng.choice([d for d in divisors(inner) if d <= 16])
    config["mamba_n_heads"] = heads
    maybe(rng, config, "mamba_d_head", ["auto", inner // heads])
    maybe(rng, config, "mamba_n_groups", divisors(heads))
    maybe(rng, config, "mamba_d_state", [rng.randrange(1, 33)])
    maybe(rng, config, "mamba_d_conv", [2, 3, 4])
    for key in ("mamba_conv_bias", "mamba_proj_bias", "projectors_bias", "mamba_rms_norm", "mamba_norm_before_gate"):
        maybe(rng, config, key, [True, False])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "mlp_bias", [True, False])
    config["intermediate_size"] = rng.randrange(8, 200)
    maybe(rng, config, "mlp_multipliers", [[0.5, 2.0]])
    maybe(rng, config, "ssm_multipliers", [[1.0, 0.5, 2.0, 1.5, 0.25]])
    maybe(rng, config, "key_multiplier", [0.4])
    return config


def _granitemoehybrid(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "granitemoehybrid")
    layers, h = config["num_hidden_layers"], config["hidden_size"]
    if rng.random() < 0.7:
        kinds = ["mamba", "attention", "linear_attention", "full_attention"]
        config[rng.choice(["layer_types", "layers_block_type"])] = [rng.choice(kinds) for _ in range(layers)]
    _attention(rng, config)
    expand = rng.choice([1, 2])
    if expand != 2 or rng.random() < 0.5:
        config["mamba_expand"] = expand
    heads = rng.choice([d for d in divisors(expand * h) if d <= 16])
    config["mamba_n_heads"] = heads
    maybe(rng, config, "mamba_d_head", ["auto", expand * h // heads])
    maybe(rng, config, "mamba_n_groups", divisors(heads))
    maybe(rng, config, "mamba_d_state", [rng.randrange(1, 33)])
    maybe(rng, config, "mamba_d_conv", [2, 3, 4])
    maybe(rng, config, "mamba_conv_bias", [True, False])
    maybe(rng, config, "mamba_proj_bias", [True, False])
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "position_embedding_type", ["rope", None])
    experts = rng.choice([0, rng.randrange(1, 7)])
    config["num_local_experts"] = experts
    if experts:
        config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
        config["intermediate_size"] = rng.randrange(8, 100)
    config["shared_intermediate_size"] = rng.choice([0, rng.randrange(8, 100)]) if experts else rng.randrange(8, 100)
    return config


def _lfm2(rng: random.Random) -> dict[str, Any]:
    config = _base(rng, "lfm2")
    layers = config["num_hidden_layers"]
    if "tie_word_embeddings" in config and rng.random() < 0.5:
        config["tie_embedding"] = config.pop("tie_word_embeddings")
    _attention(rng, config, kv_null=False)
    form = rng.choice(["layer_types", "full_attn_idxs", "none"])
    if form == "layer_types":
        config["layer_types"] = [rng.choice(["conv", "full_attention"]) for _ in range(layers)]
    elif form == "full_attn_idxs":
        config["full_attn_idxs"] = sorted(rng.sample(range(layers + 2), rng.randrange(0, layers + 1)))
    config[rng.choice(["intermediate_size", "block_ff_dim"])] = rng.randrange(8, 300)
    maybe(rng, config, "block_auto_adjust_ff_dim", [True, False])
    maybe(rng, config, "block_ffn_dim_multiplier", [1.0, 1.5, 0.75, 2])
    maybe(rng, config, "block_multiple_of", [1, 8, 32, 256])
    maybe(rng, config, "conv_L_cache", [2, 3, 4])
    maybe(rng, config, "conv_bias", [True, False])
    return config


SWEEPS = {
    "mamba": _mamba,
    "mamba2": _mamba2,
    "nemotron_h": _nemotron_h,
    "jamba": _jamba,
    "falcon_h1": _falcon_h1,
    "granitemoehybrid": _granitemoehybrid,
    "lfm2": _lfm2,
}

_NEMOTRON = {
    "model_type": "nemotron_h",
    "hidden_size": 64,
    "vocab_size": 300,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "mamba_num_heads": 8,
    "mamba_head_dim": 16,
    "n_groups": 2,
    "ssm_state_size": 16,
    "intermediate_size": 96,
    "n_routed_experts": 8,
    "num_experts_per_tok": 2,
    "moe_intermediate_size": 24,
    "moe_shared_expert_intermediate_size": 48,
}
CASES = {
    # The legacy names in an explicit list, which wins over the pattern string.
    "test/nemotron_h-legacy-list": {
        **_NEMOTRON,
        "num_hidden_layers": 4,
        "layers_block_type": ["mamba", "attention", "mlp", "moe"],
        "hybrid_override_pattern": "MMMM",
    },
    # A shared expert of width 0 is intermediate_size wide; mlp_bias biases it and the latent projections.
    "test/nemotron_h-latent-bias": {
        **_NEMOTRON,
        "num_hidden_layers": 3,
        "hybrid_override_pattern": "ME*",
        "moe_shared_expert_intermediate_size": 0,
        "moe_latent_size": 32,
        "mlp_bias": True,
        "use_bias": True,
    },
    "test/falcon_h1-d_ssm-null": {
        "model_type": "falcon_h1",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "vocab_size": 300,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 96,
        "mamba_d_ssm": None,
        "mamba_n_heads": 8,
        "mamba_rms_norm": True,
    },
    "test/granitemoehybrid-dense": {
        "model_type": "granitemoehybrid",
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "vocab_size": 300,
        "num_attention_heads": 4,
        "mamba_n_heads": 8,
        "num_local_experts": 0,
        "shared_intermediate_size": 80,
        "layer_types": ["mamba", "mamba", "attention", "mamba"],
    },
}
