"""Sparse attention's indexers (DeepSeek-V3.2, GLM-5) and DeepSeek-V4's compressed attention, with its
hyper-connections, as transformers 5.25 builds them.

The indexer and the compressors are modules of the attention in transformers; here they are layer types of
their own (kind norm: they neither replace the attention nor count towards num_layers), each with the cache it
adds per token, so that a plan sees the MLA latent (on the MLA class) and the indexer keys apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.core.catalogue import (
    HEAD_DIM,
    HIDDEN_SIZE,
    NUM_HEADS,
    Q_LORA_RANK,
    SLIDING_WINDOW,
    LayerClass,
    LayerKind,
    Parallelism,
    Shard,
    Spec,
    SpecKind,
    _flag,
    attention_class,
    register,
)

INDEX_N_HEADS = Spec(
    "index_n_heads", SpecKind.POSITIVE_INT, "Query heads of a lightning indexer (DeepSeek-V3.2, GLM-5, DeepSeek-V4)."
)
INDEX_HEAD_DIM = Spec(
    "index_head_dim",
    SpecKind.POSITIVE_INT,
    "Width of an indexer head and of the indexer key a token caches (DeepSeek-V3.2, GLM-5, DeepSeek-V4).",
)
O_GROUPS = Spec(
    "o_groups",
    SpecKind.POSITIVE_INT,
    "Head groups of DeepSeek-V4's grouped output projection: each group's heads are projected on their own.",
)
O_LORA_RANK = Spec(
    "o_lora_rank", SpecKind.POSITIVE_INT, "Width each head group is projected to before the output projection."
)
COMPRESS_RATE = Spec(
    "compress_rate",
    SpecKind.POSITIVE_INT,
    "Source tokens pooled into one compressed KV entry (DeepSeek-V4 compress_rates: 4 for CSA, 128 for HCA).",
)
COMPRESS_OVERLAP = Spec(
    "compress_overlap",
    SpecKind.BOOL,
    "Two overlapping compressed series per token (DeepSeek-V4's CSA): its projections and position bias are "
    "twice as wide.",
    default=False,
)
HC_MULT = Spec(
    "hc_mult", SpecKind.POSITIVE_INT, "Residual streams of manifold-constrained hyper-connections (DeepSeek-V4)."
)


def _ceil_div(a: Any, b: Any) -> Any:
    """a / b rounded up (Python ints or numpy columns)."""
    return -(-a // b)


def _indexer_queries(s: Mapping[str, Any]) -> Any:
    """A lightning indexer's query projection from the query latent, and its head weights."""
    heads = s["index_n_heads"]
    return s["q_lora_rank"] * heads * s["index_head_dim"] + s["hidden_size"] * heads


def _indexer(s: Mapping[str, Any]) -> Any:
    d = s["index_head_dim"]
    return _indexer_queries(s) + s["hidden_size"] * d + 2 * d


register(
    LayerClass(
        name="SparseAttentionIndexerLayer",
        kind=LayerKind.NORM,
        description=(
            "The lightning indexer of DeepSeek sparse attention (DeepSeek-V3.2, GLM-5): scores the cached tokens "
            "for each query and keeps the top index_topk for the layer's MLA. Its queries come from the MLA's "
            "query latent (q_lora_rank); it caches one key of index_head_dim per token, besides the MLA latent."
        ),
        required=(HIDDEN_SIZE, Q_LORA_RANK, INDEX_N_HEADS, INDEX_HEAD_DIM),
        # vLLM replicates the indexer's projections on every tensor-parallel rank, and its key cache with them.
        parallelism=(Parallelism.CONTEXT,),
        kv_elements=lambda s: s["index_head_dim"],
        formula=_indexer,
        formula_text=(
            "q_lora_rank · index_n_heads · index_head_dim (query projection wq_b) + hidden_size · index_head_dim "
            "(key projection wk) + 2 · index_head_dim (the key's LayerNorm, weight and bias) + hidden_size · "
            "index_n_heads (head weights, weights_proj); caches index_head_dim per token"
        ),
    )
)


def _v4_attention(s: Mapping[str, Any]) -> Any:
    h, heads, d, rank = s["hidden_size"], s["num_heads"], s["head_dim"], s["q_lora_rank"]
    groups, group_rank = s["o_groups"], s["o_lora_rank"]
    queries = h * rank + rank + rank * heads * d
    key_value = h * d + d
    output = (heads * d // groups) * groups * group_rank + groups * group_rank * h
    return queries + key_value + output + heads


register(
    attention_class(
        name="DeepseekV4AttentionLayer",
        description=(
            "DeepSeek-V4 attention: queries through a low-rank latent, one key head that is also the value "
            "(shared-KV MQA), a learned sink per head, and a grouped low-rank output projection; it attends over "
            "a sliding window of its own keys, and over the entries of its compressor (a layer type of its own) "
            "on compressed layers."
        ),
        required=(HIDDEN_SIZE, NUM_HEADS, HEAD_DIM, Q_LORA_RANK, O_GROUPS, O_LORA_RANK, SLIDING_WINDOW),
        # Heads and their output groups split; the one key head (and so the cache) is on every rank.
        shards=(Shard("num_heads", "tp"), Shard("o_groups", "tp")),
        kv_elements=lambda s: s["head_dim"],
        formula=_v4_attention,
        formula_text=(
            "hidden_size · q_lora_rank + q_lora_rank (query latent and its norm) + q_lora_rank · num_heads · "
            "head_dim (queries) + hidden_size · head_dim + head_dim (the shared key/value and its norm) + "
            "(num_heads · head_dim / o_groups) · o_groups · o_lora_rank (grouped output projection) + o_groups · "
            "o_lora_rank · hidden_size (output) + num_heads (sinks); caches head_dim per token, within the "
            "sliding window"
        ),
    )
)


def _compression(s: Mapping[str, Any], width: Any, overlap: Any) -> Any:
    """A compressor of entries ``width`` wide, one series or two with ``overlap``: each series's kv and gate
    projections and position bias, and the entry's norm."""
    return (1 + overlap) * (2 * s["hidden_size"] * width + s["compress_rate"] * width) + width


def _compression_state(s: Mapping[str, Any], width: Any, overlap: Any) -> Any:
    """The tokens waiting for their window to close (key and gate of each series), and with overlap the
    previous window's first series: at most compress_rate tokens each."""
    return 2 * s["compress_rate"] * width * (1 + 2 * overlap)


register(
    LayerClass(
        name="KVCompressorLayer",
        kind=LayerKind.NORM,
        description=(
            "DeepSeek-V4's KV compressor (HCA, or CSA with compress_overlap): pools every compress_rate tokens "
            "into one entry of head_dim that its layer's attention reads besides the sliding window. Its cache "
            "grows by head_dim every compress_rate tokens, plus the tokens of the window not yet closed."
        ),
        required=(HIDDEN_SIZE, HEAD_DIM, COMPRESS_RATE),
        optional=(COMPRESS_OVERLAP,),
        # The one compressed head serves every query head: replicated on tensor-parallel ranks.
        parallelism=(Parallelism.CONTEXT,),
        kv_elements=lambda s: _ceil_div(s["head_dim"], s["compress_rate"]),
        state_elements=lambda s: _compression_state(s, s["head_dim"], _flag(s, COMPRESS_OVERLAP)),
        formula=lambda s: _compression(s, s["head_dim"], _flag(s, COMPRESS_OVERLAP)),
        formula_text=(
            "(1, or 2 with compress_overlap) · (2 · hidden_size · head_dim (kv and gate projections) + "
            "compress_rate · head_dim (position bias)) + head_dim (the entry's norm); caches head_dim / "
            "compress_rate per token (rounded up), and per sequence 2 · compress_rate · head_dim (· 3 with "
            "compress_overlap) for the window not yet compressed"
        ),
    )
)


register(
    LayerClass(
        name="CompressedSparseIndexerLayer",
        kind=LayerKind.NORM,
        description=(
            "The lightning indexer of DeepSeek-V4's compressed sparse attention (CSA): compresses its keys as the "
            "CSA compressor does (two overlapping series of index_head_dim) and scores them with index_n_heads "
            "query heads from the attention's query latent, keeping the top index_topk entries."
        ),
        required=(HIDDEN_SIZE, Q_LORA_RANK, INDEX_N_HEADS, INDEX_HEAD_DIM, COMPRESS_RATE),
        parallelism=(Parallelism.CONTEXT,),
        kv_elements=lambda s: _ceil_div(s["index_head_dim"], s["compress_rate"]),
        # Its keys compress as CSA's do: two overlapping series.
        state_elements=lambda s: _compression_state(s, s["index_head_dim"], 1),
        formula=lambda s: _compression(s, s["index_head_dim"], 1) + _indexer_queries(s),
        formula_text=(
            "2 · (2 · hidden_size · index_head_dim (kv and gate projections) + compress_rate · index_head_dim "
            "(position bias)) + index_head_dim (key norm) + q_lora_rank · index_n_heads · index_head_dim (query "
            "projection) + hidden_size · index_n_heads (head weights); caches index_head_dim / compress_rate per "
            "token (rounded up), and per sequence 6 · compress_rate · index_head_dim for the open windows"
        ),
    )
)


def _hyper_connection(s: Mapping[str, Any]) -> Any:
    m = s["hc_mult"]
    mixes = (2 + m) * m  # pre (m), post (m) and comb (m · m) weights
    return mixes * m * s["hidden_size"] + mixes + 3


register(
    LayerClass(
        name="HyperConnectionLayer",
        kind=LayerKind.NORM,
        description=(
            "A manifold-constrained hyper-connection (DeepSeek-V4 mHC): mixes hc_mult residual streams into a "
            "sublayer's input and its output back into them; two per decoder layer (attention and MLP)."
        ),
        required=(HIDDEN_SIZE, HC_MULT),
        formula=_hyper_connection,
        formula_text=(
            "(2 + hc_mult) · hc_mult · hc_mult · hidden_size (mixing weights from the flattened streams) + (2 + "
            "hc_mult) · hc_mult (their base) + 3 (scales)"
        ),
    )
)
register(
    LayerClass(
        name="HyperConnectionHeadLayer",
        kind=LayerKind.NORM,
        description="The hyper-connection head (DeepSeek-V4): collapses the hc_mult streams into one before the norm.",
        required=(HIDDEN_SIZE, HC_MULT),
        formula=lambda s: s["hc_mult"] * s["hc_mult"] * s["hidden_size"] + s["hc_mult"] + 1,
        formula_text="hc_mult · hc_mult · hidden_size (weights) + hc_mult (base) + 1 (scale)",
    )
)
