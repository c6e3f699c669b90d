"""Attention whose value heads are narrower than its query/key heads (MiMo-V2-Flash), and block-sparse attention
with a lightning indexer (MiniMax-M3's MSA).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.core.catalogue import (
    ATTENTION_SINKS,
    GQA_REQUIRED,
    GQA_SHARDS,
    OUTPUT_BIAS,
    QK_NORM,
    QKV_BIAS,
    SLIDING_WINDOW,
    V_HEAD_DIM,
    Shard,
    Spec,
    SpecKind,
    _flag,
    _gqa,
    gqa_class,
    register,
)

SPARSE_INDEX_HEADS = Spec(
    "sparse_index_heads",
    SpecKind.POSITIVE_INT,
    "Query heads of the block indexer (MiniMax-M3 sparse_num_index_heads / index_n_heads).",
)
SPARSE_INDEX_HEAD_DIM = Spec(
    "sparse_index_head_dim",
    SpecKind.POSITIVE_INT,
    "Width of one block-indexer head, and of the indexer key each token caches (sparse_index_dim / index_head_dim).",
)
SPARSE_BLOCK_SIZE = Spec(
    "sparse_block_size",
    SpecKind.POSITIVE_INT,
    "Keys pooled into one scored block (sparse_block_size / index_block_size); no count change.",
)
SPARSE_TOPK_BLOCKS = Spec(
    "sparse_topk_blocks",
    SpecKind.POSITIVE_INT,
    "Key blocks each query attends to (sparse_topk_blocks / index_topk_blocks); no count change.",
)


def _split_head(s: Mapping[str, Any]) -> Any:
    """Q and K of head_dim, V of v_head_dim per KV head, output from num_heads · v_head_dim."""
    h, heads, kv, d, vd = s["hidden_size"], s["num_heads"], s["num_kv_heads"], s["head_dim"], s["v_head_dim"]
    width = heads * d + kv * d + kv * vd
    return (
        (h + _flag(s, QKV_BIAS)) * width
        + heads * vd * h
        + _flag(s, OUTPUT_BIAS) * h
        + _flag(s, ATTENTION_SINKS) * heads
    )


register(
    gqa_class(
        name="SplitHeadAttentionLayer",
        description=(
            "Grouped query attention whose value heads (v_head_dim) are narrower than its query/key heads "
            "(head_dim): MiMo-V2-Flash."
        ),
        required=(*GQA_REQUIRED, V_HEAD_DIM),
        optional=(SLIDING_WINDOW, QKV_BIAS, OUTPUT_BIAS, ATTENTION_SINKS),
        kv_elements=lambda s: s["num_kv_heads"] * (s["head_dim"] + s["v_head_dim"]),
        attention_flops=lambda s: 2 * s["num_heads"] * (s["head_dim"] + s["v_head_dim"]),
        formula=_split_head,
        formula_text=(
            "(hidden_size + qkv_bias) · (num_heads · head_dim + num_kv_heads · head_dim + num_kv_heads · "
            "v_head_dim) (Q, K and V) + num_heads · v_head_dim · hidden_size (output) + with output_bias, "
            "hidden_size + with attention_sinks, num_heads; the cache holds num_kv_heads · (head_dim + v_head_dim) "
            "per token"
        ),
    )
)


def _indexer(s: Mapping[str, Any]) -> Any:
    """The block indexer: a Q projection of sparse_index_heads heads, one K head, and their two norms."""
    h, heads, d = s["hidden_size"], s["sparse_index_heads"], s["sparse_index_head_dim"]
    return h * d * (heads + 1) + 2 * d


register(
    gqa_class(
        name="BlockSparseAttentionLayer",
        description=(
            "Grouped query attention over the key blocks a lightning indexer picks (MiniMax-M3 sparse "
            "attention): each query attends to sparse_topk_blocks blocks of sparse_block_size keys."
        ),
        required=(*GQA_REQUIRED, SPARSE_INDEX_HEADS, SPARSE_INDEX_HEAD_DIM),
        optional=(SPARSE_BLOCK_SIZE, SPARSE_TOPK_BLOCKS, QKV_BIAS, OUTPUT_BIAS, QK_NORM),
        shards=(*GQA_SHARDS, Shard("sparse_index_heads", "tp", "kv_heads")),
        # K and V of each KV head, plus the indexer's one key (every rank keeps all of it).
        kv_elements=lambda s: 2 * s["num_kv_heads"] * s["head_dim"] + s["sparse_index_head_dim"],
        formula=lambda s: _gqa(s) + _indexer(s),
        formula_text=(
            "as GroupedQueryAttentionLayer (Q, K, V, output, qkv_bias, output_bias, qk_norm) + the indexer: "
            "hidden_size · sparse_index_head_dim · (sparse_index_heads + 1) (its Q and K projections) + 2 · "
            "sparse_index_head_dim (its Q and K norms); the cache holds K and V plus one indexer key of "
            "sparse_index_head_dim per token"
        ),
    )
)
