"""Gemma-3 and Gemma-4: sliding/full layer patterns, q/k norms, per-layer-type geometry (global head_dim and
KV heads, attention_k_eq_v, per_layer_config), KV shared across layers, double-wide MLPs, per-layer input
embeddings, the MoE block; the gemma3 and gemma4 wrappers."""

from __future__ import annotations

import random
from typing import Any

from tests.hf_sweeps import divisors, maybe, maybe_drop_model_type, small, wrapper

SLIDING, FULL = "sliding_attention", "full_attention"


def _base(rng: random.Random, model_type: str, layers: int) -> dict[str, Any]:
    hidden = rng.randrange(32, 129, 8)
    heads = rng.choice([d for d in divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 2 == 0])
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": rng.choice(divisors(heads)),
        "vocab_size": rng.randrange(100, 1001),
        "intermediate_size": rng.randrange(16, 257),
    }
    maybe(rng, config, "head_dim", [rng.randrange(4, 33, 2)])  # absent: 256
    maybe(rng, config, "attention_bias", [True, False])
    maybe(rng, config, "tie_word_embeddings", [True, False])
    maybe(rng, config, "max_position_embeddings", [rng.randrange(64, 8193)])
    return config


def gemma3_text(rng: random.Random) -> dict[str, Any]:
    layers = rng.randrange(1, 9)
    config = _base(rng, "gemma3_text", layers)
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097)])
    maybe(rng, config, "sliding_window_pattern", [1, 2, 3, 6])
    maybe(rng, config, "layer_types", [[rng.choice([SLIDING, FULL]) for _ in range(layers)], None])
    maybe(rng, config, "use_bidirectional_attention", [True, False])
    maybe(rng, config, "query_pre_attn_scalar", [rng.randrange(16, 257)])
    return config


def _wrapped_text(rng: random.Random, text: dict[str, Any]) -> dict[str, Any]:
    """A wrapper's text_config: the tie is the wrapper's (not the text model's when they differ)."""
    text.pop("tie_word_embeddings", None)
    maybe_drop_model_type(rng, text)
    return text


def gemma3(rng: random.Random) -> dict[str, Any]:
    """The multimodal wrapper: its text_config counts; it may leave vocab_size and the heads to the class."""
    text = _wrapped_text(rng, gemma3_text(rng))
    if rng.random() < 0.3:  # as Google's gemma-3-4b-it: 8 heads of 4 key/value heads, a 262208-token vocabulary
        for key in ("vocab_size", "num_attention_heads", "num_key_value_heads"):
            del text[key]
        text["hidden_size"] = 8 * rng.randrange(4, 17, 2)
    return wrapper(rng, "gemma3", text, "Gemma3ForConditionalGeneration")


def _kv_shared(rng: random.Random, kinds: list[str]) -> int:
    """A num_kv_shared_layers transformers accepts: the layers before the shared ones have every layer type."""
    layers = len(kinds)
    valid = [n for n in range(layers + 1) if n in (0, layers) or set(kinds[: layers - n]) == set(kinds)]
    return rng.choice(valid)


def _per_layer_config(rng: random.Random, config: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    """Overrides as transformers writes them: zero-padded layer indices, one geometry per layer type."""
    heads = config["num_attention_heads"]
    by_kind = {kind: {} for kind in (SLIDING, FULL)}
    for kind in by_kind:
        maybe(rng, by_kind[kind], "head_dim", [rng.randrange(4, 65, 2)])
        maybe(rng, by_kind[kind], "num_key_value_heads", divisors(heads))
    width = len(str(len(kinds) - 1))
    return {str(i).zfill(width): by_kind[kind] for i, kind in enumerate(kinds) if by_kind[kind]}


def gemma4_text(rng: random.Random) -> dict[str, Any]:
    layers = rng.randrange(1, 9)
    config = _base(rng, "gemma4_text", layers)
    heads = config["num_attention_heads"]
    kinds = [rng.choice([SLIDING, FULL]) for _ in range(layers)]
    maybe(rng, config, "layer_types", [kinds])  # the last layer is made full whatever it says
    if "layer_types" not in config:
        kinds = [SLIDING if (i + 1) % 6 else FULL for i in range(layers)]
    kinds = [*kinds[:-1], FULL]
    maybe(rng, config, "sliding_window", [rng.randrange(16, 4097)])
    maybe(rng, config, "use_bidirectional_attention", ["vision", "all", None])
    maybe(rng, config, "global_head_dim", [rng.randrange(4, 65, 2)])  # absent: 512
    maybe(rng, config, "attention_k_eq_v", [True, False])
    maybe(rng, config, "num_global_key_value_heads", [*divisors(heads), None])  # read with attention_k_eq_v only
    if rng.random() < 0.2:
        config["per_layer_config"] = _per_layer_config(rng, config, kinds)
    maybe(rng, config, "num_kv_shared_layers", [_kv_shared(rng, kinds)])
    maybe(rng, config, "use_double_wide_mlp", [True, False])
    maybe(rng, config, "hidden_size_per_layer_input", [0, rng.randrange(2, 33)])  # absent: 256
    maybe(rng, config, "vocab_size_per_layer_input", [rng.randrange(50, 501)])  # absent: 262144
    if rng.random() < 0.5:
        experts = rng.randrange(1, 9)
        config["enable_moe_block"] = True
        config["num_experts"] = experts
        config["top_k_experts"] = rng.randrange(1, experts + 1)
        config["moe_intermediate_size"] = rng.randrange(8, 97)
    else:
        maybe(rng, config, "enable_moe_block", [False])
        maybe(rng, config, "num_experts", [None, 4])  # not read without enable_moe_block
    maybe(rng, config, "final_logit_softcapping", [None, 30.0])
    return config


def gemma4(rng: random.Random) -> dict[str, Any]:
    config = wrapper(rng, "gemma4", _wrapped_text(rng, gemma4_text(rng)), "Gemma4ForConditionalGeneration")
    maybe(rng, config, "audio_config", [None])
    return config


SWEEPS = {"gemma3_text": gemma3_text, "gemma3": gemma3, "gemma4_text": gemma4_text, "gemma4": gemma4}

_SMALL4 = small(
    "gemma4_text",
    num_hidden_layers=6,
    head_dim=16,
    global_head_dim=32,
    hidden_size_per_layer_input=8,
    vocab_size_per_layer_input=200,
    layer_types=[SLIDING, FULL] * 3,
)
CASES = {
    "test/gemma3-text-defaults": {
        "model_type": "gemma3",
        "text_config": {
            "model_type": "gemma3_text",
            "hidden_size": 64,
            "num_hidden_layers": 7,
            "intermediate_size": 96,
        },
    },
    "test/gemma4_text-all-kv-shared": {**_SMALL4, "num_kv_shared_layers": 6},
    "test/gemma4_text-kv-shared-k-eq-v-moe": {
        **_SMALL4,
        "num_kv_shared_layers": 2,
        "attention_k_eq_v": True,
        "num_global_key_value_heads": 1,
        "use_double_wide_mlp": True,
        "enable_moe_block": True,
        "num_experts": 4,
        "top_k_experts": 2,
        "moe_intermediate_size": 24,
    },
    "test/gemma4_text-per-layer-config": {
        **_SMALL4,
        "per_layer_config": {
            "1": {"head_dim": 48, "num_key_value_heads": 4},
            "3": {"head_dim": 48, "num_key_value_heads": 4},
            "5": {"head_dim": 48, "num_key_value_heads": 4},
        },
    },
    "test/gemma4_text-per-layer-config-null": {**_SMALL4, "per_layer_config": None, "global_head_dim": 40},
    "test/gemma4_text-defaults": {k: v for k, v in _SMALL4.items() if k not in ("head_dim", "global_head_dim")},
}
