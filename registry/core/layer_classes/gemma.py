"""Gemma-4's layers the core classes cannot write down: attention reading an earlier layer's keys and values
(``num_kv_shared_layers``: no K or V projection of its own), per-layer input embeddings (PLE:
``hidden_size_per_layer_input``) and the MoE block whose router has learned scales.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.core.catalogue import (
    HEAD_DIM,
    HIDDEN_SIZE,
    KV_SHARED,
    NUM_HEADS,
    OUTPUT_BIAS,
    QK_NORM,
    QKV_BIAS,
    SHARED_EXPERT_INTERMEDIATE_SIZE,
    SLIDING_WINDOW,
    LayerClass,
    LayerKind,
    Parallelism,
    Shard,
    Spec,
    SpecKind,
    _flag,
    _moe,
    _opt,
    attention_class,
    moe_class,
    register,
)

VOCAB_SIZE_PER_LAYER_INPUT = Spec(
    "vocab_size_per_layer_input",
    SpecKind.POSITIVE_INT,
    "Rows of the per-layer input embedding table (Gemma-4 vocab_size_per_layer_input).",
)
HIDDEN_SIZE_PER_LAYER_INPUT = Spec(
    "hidden_size_per_layer_input",
    SpecKind.POSITIVE_INT,
    "Width of the input each decoder layer takes from the per-layer embeddings (Gemma-4 PLE).",
)
NUM_HIDDEN_LAYERS = Spec(
    "num_hidden_layers",
    SpecKind.POSITIVE_INT,
    "Decoder layers a packed per-layer table serves: one hidden_size_per_layer_input slice each.",
)


def _query_only(s: Mapping[str, Any]) -> Any:
    """Q and output projections and the query norm: the keys and values are an earlier layer's."""
    h, heads, d = s["hidden_size"], s["num_heads"], s["head_dim"]
    q = heads * d
    mode = _opt(s, QK_NORM)  # a plain string, as in the catalogue's attention
    norm = d if mode == "per_head" else q if mode == "across_heads" else 0
    return (h + _flag(s, QKV_BIAS)) * q + q * h + _flag(s, OUTPUT_BIAS) * h + norm


register(
    attention_class(
        name="SharedKVAttentionLayer",
        description=(
            "Attention that reads the keys and values an earlier layer of its type cached (Gemma-4's last "
            "num_kv_shared_layers layers): only the query and output projections, no cache of its own."
        ),
        required=(HIDDEN_SIZE, NUM_HEADS, HEAD_DIM),
        # Optional as on the other attention classes (a boolean some class requires is a checkbox for every
        # class in the admin); the importer writes it true, so that the plan names the rule "shared".
        optional=(SLIDING_WINDOW, QKV_BIAS, OUTPUT_BIAS, QK_NORM, KV_SHARED),
        shards=(Shard("num_heads", "tp"),),
        formula=_query_only,
        formula_text=(
            "2 · hidden_size · num_heads · head_dim (Q and output projections) + with qkv_bias, num_heads · head_dim "
            "(the Q bias) + with output_bias, hidden_size + with qk_norm, head_dim (per_head: the query norm) or "
            "num_heads · head_dim (across_heads); nothing cached (kv_shared)"
        ),
    )
)


def _per_layer_table(s: Mapping[str, Any]) -> Any:
    d = s["hidden_size_per_layer_input"]
    return s["vocab_size_per_layer_input"] * s["num_hidden_layers"] * d + d


register(
    LayerClass(
        name="PerLayerEmbeddingLayer",
        kind=LayerKind.POSITION_EMBEDDING,  # a lookup on the first pipeline stage, beside the token embedding
        description=(
            "Per-layer input embeddings (Gemma-4 PLE): a token table packing one hidden_size_per_layer_input "
            "slice per decoder layer (embed_tokens_per_layer), and the norm of the projected per-layer inputs "
            "(per_layer_projection_norm). Each layer's share of the projection is in PerLayerInputLayer."
        ),
        required=(VOCAB_SIZE_PER_LAYER_INPUT, NUM_HIDDEN_LAYERS, HIDDEN_SIZE_PER_LAYER_INPUT),
        parallelism=(Parallelism.TENSOR,),
        shards=(Shard("vocab_size_per_layer_input", "tp", "ceil"),),
        formula=_per_layer_table,
        formula_text=(
            "vocab_size_per_layer_input · num_hidden_layers · hidden_size_per_layer_input (the packed table)"
            " + hidden_size_per_layer_input (per_layer_projection_norm)"
        ),
    )
)


def _per_layer_input(s: Mapping[str, Any]) -> Any:
    h, d = s["hidden_size"], s["hidden_size_per_layer_input"]
    return 3 * h * d + h


register(
    LayerClass(
        name="PerLayerInputLayer",
        # Not a second MLP of the decoder layer's (kind feedforward would count against num_layers): one
        # per decoder layer, replicated, placed with its layer as norms are.
        kind=LayerKind.NORM,
        description=(
            "A decoder layer's per-layer input branch (Gemma-4 PLE): its slice of per_layer_model_projection "
            "(hidden_size → hidden_size_per_layer_input), per_layer_input_gate, per_layer_projection back to "
            "hidden_size and post_per_layer_input_norm."
        ),
        required=(HIDDEN_SIZE, HIDDEN_SIZE_PER_LAYER_INPUT),
        formula=_per_layer_input,
        formula_text=(
            "3 · hidden_size · hidden_size_per_layer_input (its slice of the model projection, the gate and the "
            "projection back) + hidden_size (post_per_layer_input_norm)"
        ),
    )
)


def _scaled_router_moe(s: Mapping[str, Any], experts: Any = None) -> Any:
    """The catalogue's MoE plus the router's input scale (hidden_size) and per-expert scales (num_experts)."""
    return _moe(s, experts) + s["hidden_size"] + s["num_experts"]


register(
    moe_class(
        name="ScaledRouterMoELayer",
        description=(
            "Gemma-4's MoE block: a router with a learned input scale and one learned scale per expert picks "
            "num_experts_per_tok of num_experts gated experts, beside a dense gated MLP every token uses "
            "(shared_expert_intermediate_size: Gemma-4's intermediate_size)."
        ),
        optional=(SHARED_EXPERT_INTERMEDIATE_SIZE,),
        formula=_scaled_router_moe,
        formula_text=(
            "num_experts · 3 · hidden_size · moe_intermediate_size (routed experts) + hidden_size · num_experts "
            "(router) + hidden_size (router scale) + num_experts (per-expert scales) + 3 · hidden_size · "
            "shared_expert_intermediate_size (the dense MLP)"
        ),
    )
)
