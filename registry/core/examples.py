"""A Llama-shaped config document: the schema's example, and the builder of the tests and benches."""

from __future__ import annotations

from typing import Any

from registry.core.validation import model_id_for


def llama_like(
    *,
    hf_model_id: str,
    name: str,
    hidden_size: int,
    num_layers: int,
    vocab_size: int,
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    intermediate_size: int,
    tied: bool | None = True,
    validated: bool = False,
    validation_notes: str = "",
) -> dict[str, Any]:
    """A dense decoder's document without derived values: GQA attention, gated MLP, two norms per layer
    and a final one, the token embedding and an output head.

    ``tied`` True or False gives an ``OutputHeadLayer`` with that ``tie_word_embeddings``; None writes the
    untied head as a second ``EmbeddingLayer`` (the seed fixtures' convention).
    """
    h, layers, vocab = hidden_size, num_layers, vocab_size
    if tied is None:
        head = {
            "name": "lm_head",
            "class": "EmbeddingLayer",
            "count": 1,
            "specs": {"vocab_size": vocab, "hidden_size": h},
        }
    else:
        head = {
            "name": "lm_head",
            "class": "OutputHeadLayer",
            "count": 1,
            "specs": {"vocab_size": vocab, "hidden_size": h, "tie_word_embeddings": tied},
        }
    attention = {"layer_idx": 0, "hidden_size": h, "num_heads": num_heads, "num_kv_heads": num_kv_heads}
    return {
        "model_id": model_id_for(hf_model_id),
        "hf_model_id": hf_model_id,
        "name": name,
        "hidden_size": h,
        "num_layers": layers,
        "vocab_size": vocab,
        "layer_types": [
            {
                "name": "attention",
                "class": "GroupedQueryAttentionLayer",
                "count": layers,
                "specs": {**attention, "head_dim": head_dim},
            },
            {
                "name": "feedforward",
                "class": "GatedMLPLayer",
                "count": layers,
                "specs": {"layer_idx": 0, "hidden_size": h, "intermediate_size": intermediate_size},
            },
            {
                "name": "norm",
                "class": "NormLayer",
                "count": 2 * layers + 1,
                "specs": {"hidden_size": h, "has_bias": False},
            },
            {
                "name": "embedding",
                "class": "EmbeddingLayer",
                "count": 1,
                "specs": {"vocab_size": vocab, "hidden_size": h},
            },
            head,
        ],
        "validated": validated,
        "validation_notes": validation_notes,
    }


# The small config of the API's examples, the tests and the benches (derived values left out: the registry
# computes them); ``example_config`` gives it under other names or notes.
_EXAMPLE_SHAPE: dict[str, Any] = {
    "hidden_size": 64,
    "num_layers": 2,
    "vocab_size": 1000,
    "num_heads": 4,
    "num_kv_heads": 2,
    "head_dim": 16,
    "intermediate_size": 256,
}


def example_config(*, hf_model_id: str = "acme/tiny-1", name: str = "Acme Tiny 1", **extra: Any) -> dict[str, Any]:
    """The example's architecture under ``hf_model_id`` and ``name`` (``extra``: ``llama_like``'s other keywords)."""
    return llama_like(hf_model_id=hf_model_id, name=name, **{**_EXAMPLE_SHAPE, **extra})


EXAMPLE_CONFIG: dict[str, Any] = example_config()
EXAMPLE_MODEL_ID = EXAMPLE_CONFIG["model_id"]


def with_layer_types(document: dict[str, Any], n: int) -> dict[str, Any]:
    """``document`` (as ``llama_like`` builds it) rewritten to exactly ``n`` layer types: its embedding, then
    attention and feedforward layer types of one layer each, its norm once per sublayer and once at the end,
    its head."""
    attention, feedforward, norm, embedding, head = document["layer_types"]
    blocks = n - 3
    layers = []
    for i in range(blocks):
        template = attention if i % 2 == 0 else feedforward
        layers.append({**template, "name": f"{template['name']}_{i // 2}", "count": 1})
    num_layers = (blocks + 1) // 2
    final_norm = {**norm, "count": 2 * num_layers + 1}
    return {**document, "num_layers": num_layers, "layer_types": [embedding, *layers, final_norm, head]}
