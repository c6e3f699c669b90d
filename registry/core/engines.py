"""Serving engines' memory budgets and KV-cache capacity, each at a pinned, named version, for many configs at once.

**vLLM** (v1 engine; ``VLLM_VERSION``): ``vllm/v1/worker/gpu_worker.py`` takes ``gpu_memory_utilization`` ×
the device's memory, subtracts the weights, the activation peak of its profile run (``max_num_batched_tokens``
tokens) and the memory outside PyTorch, and gives the rest to the KV cache (``--kv-cache-memory`` skips the
profile and gives that). ``vllm/v1/core/kv_cache_utils.py`` then groups the layers (``get_kv_cache_groups``):

- one spec for every layer, or one *type* (every layer full attention, MLA and indexer caches included, or
  every layer the same sliding window, chunk, or Mamba): one group; a block holds ``block_size`` tokens of
  every layer, ``num_blocks = available // Σ layers' page sizes``;
- otherwise (hybrids): a Mamba/linear-attention state is one page; vLLM first raises the attention block size
  to ``16 · cdiv(mamba_page, 16 · attention bytes per token)`` so an attention page holds a state, and pads the
  state to it (``HybridAttentionMambaModelConfig``); pages of different sizes are unified by scaling the
  smaller layers' block sizes (``unify_kv_cache_spec_page_size``); layers of each spec are split into groups
  of ``group_size`` layers (the fewest layers of a spec, or the most when that is under 1.5× the fewest:
  ``_get_kv_cache_groups_uniform_page_size``), and ``num_blocks = available // page // group_size``.

``kv_cache_tokens`` is vLLM's "GPU KV cache size" (``num_blocks // groups × the smallest block size``;
``_report_kv_cache_config``) and ``max_concurrency`` its "Maximum concurrency for L tokens per request"
(``num_blocks`` over the blocks one request of max_model_len tokens takes:
``get_max_concurrency_for_kv_cache_config``): full attention cdiv(L, block), sliding window
cdiv(min(W − 1 + max_num_batched_tokens, L), block) + 1, chunked cdiv(min(C + max_num_batched_tokens, L),
block), a Mamba state one block, each group counted once. With pp > 1 the planned (heaviest) stage's layers
set the blocks (vLLM takes the least of the stages).

**SGLang** (``SGLANG_VERSION``; ``ModelRunner.profile_max_num_token``): the pool is what is left of
``mem_fraction_static`` × the memory once the weights are loaded, over the cell size (every cached layer's bytes
per token: K and V, or MLA's latent), rounded down to ``page_size``: ``max_total_num_tokens``.

**TensorRT-LLM** (``TRTLLM_VERSION``; ``KvCacheConfig.free_gpu_memory_fraction``): that fraction of the memory
still free after the weights and the activations, in blocks of ``tokens_per_block`` tokens of every layer.

Estimated lines (each replaceable by a measured figure: ``profile_activation_bytes``, ``reserved_bytes``):
the activation peak of a forward over ``max_num_batched_tokens`` tokens is the residual stream (2 · T · h) plus
the largest layer's intermediates on one device (attention: T · (q + 2·kv + q)/tp; MLP: T · 3f/tp; MoE: T · k ·
(3·f_expert/tp + h), vLLM's fused-MoE caches) or, if larger, the sampler's logits and probabilities
(2 · max_num_seqs · V/tp in fp32); memory outside PyTorch is 0.15 GiB, 0.75 GiB with tp > 1 (NCCL buffers),
plus 0.5 GiB for CUDA graphs unless ``enforce_eager``: typical figures of vLLM's own log, not measurements.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

VLLM_VERSION = "vLLM v1 engine, main @ 001cabc1 (kv_cache_utils.py, kv_cache_interface.py; models/config.py @ 0144dd5b)"
SGLANG_VERSION = "SGLang 0.5 (model_runner.py profile_max_num_token, as documented)"
TRTLLM_VERSION = "TensorRT-LLM 1.0 (KvCacheConfig.free_gpu_memory_fraction, tokens_per_block, as documented)"

GIB = 2**30
NON_TORCH_ESTIMATE = 3 * GIB // 20  # 0.15 GiB
NCCL_ESTIMATE = 3 * GIB // 4  # 0.75 GiB with tp > 1, instead
CUDA_GRAPH_ESTIMATE = GIB // 2
MAMBA_ALIGNMENT = 16  # attention block sizes are multiples of 16 (FlashAttention / FlashInfer kernels)


# vLLM's DeepSeek-V3.2 indexer cache (DeepseekV32IndexerCache): uint8 keys, fp8 with a float32 scale per 128.
FP8_INDEXERS = frozenset({"SparseAttentionIndexerLayer"})


def indexer_bytes(specs: Any) -> int:
    """Bytes per token of one indexer layer's cache in vLLM: index_head_dim + 4 per 128 of them."""
    dim = int(specs["index_head_dim"])
    return dim + dim // 128 * 4


class Engine(enum.StrEnum):
    NONE = "none"
    VLLM = "vllm"
    SGLANG = "sglang"
    TRTLLM = "trtllm"


class CacheKind(enum.IntEnum):
    """A layer's cache as vLLM types it (its KVCacheSpec)."""

    NONE = -1
    FULL = 0  # FullAttentionSpec, MLAAttentionSpec, indexer caches
    SLIDING = 1  # SlidingWindowSpec
    CHUNKED = 2  # ChunkedLocalAttentionSpec
    MAMBA = 3  # MambaSpec (Mamba, linear attention, short convolutions)


def cache_kind(specs: Any, kv_elements: int, state_bits: int) -> tuple[CacheKind, int]:
    """A row's cache kind and its window (sliding window or chunk; 0 otherwise)."""
    if kv_elements > 0:
        if "sliding_window" in specs:
            return CacheKind.SLIDING, int(specs["sliding_window"])
        if "attention_chunk_size" in specs:
            return CacheKind.CHUNKED, int(specs["attention_chunk_size"])
        return CacheKind.FULL, 0
    if state_bits > 0:
        return CacheKind.MAMBA, 0
    return CacheKind.NONE, 0


@dataclass(slots=True)
class CacheRows:
    """Per row: how many layers (whole model, on the planned stage), its kind and window, the bytes one layer
    caches per token (attention) or per sequence (a Mamba state)."""

    owner: np.ndarray
    count: np.ndarray
    on_stage: np.ndarray
    kind: np.ndarray
    window: np.ndarray
    token_bytes: np.ndarray
    state_bytes: np.ndarray


@dataclass(slots=True)
class Capacity:
    """Per config: the KV cache as the engine lays it out (-1 where not applicable)."""

    groups: np.ndarray
    block_size: np.ndarray  # the smallest block size (tokens)
    page_bytes: np.ndarray
    num_blocks: np.ndarray
    tokens: np.ndarray
    blocks_per_request: np.ndarray
    unifiable: np.ndarray  # False: vLLM cannot unify the page sizes (NotImplementedError)
    cached: np.ndarray  # whether any layer caches anything


def _cdiv(a: Any, b: Any) -> Any:
    return -(-a // b)


def _blocks(kind: np.ndarray, window: np.ndarray, block: np.ndarray, length: np.ndarray, batched: int) -> np.ndarray:
    """Blocks one request of ``length`` tokens takes in a layer of each kind (vLLM's max_memory_usage_bytes)."""
    import numpy as np

    full = _cdiv(length, block)
    sliding = _cdiv(np.minimum(window - 1 + batched, length), block) + 1
    chunked = _cdiv(np.minimum(window + batched, length), block)
    out: np.ndarray = np.select(
        [kind == CacheKind.FULL, kind == CacheKind.SLIDING, kind == CacheKind.CHUNKED], [full, sliding, chunked], 1
    )
    return out


def vllm_capacity(
    rows: CacheRows, n_configs: int, available: np.ndarray, max_model_len: np.ndarray, block_size: int, batched: int
) -> Capacity:
    """vLLM's KV-cache layout for every config at once: its groups, blocks and tokens (see the module)."""
    import numpy as np

    keep = (rows.kind != CacheKind.NONE) & (rows.count > 0)
    owner, kind, window = rows.owner[keep], rows.kind[keep], rows.window[keep]
    mamba = kind == CacheKind.MAMBA
    page_one = np.where(mamba, rows.state_bytes[keep], rows.token_bytes[keep])  # per token, or one state
    # One spec per (config, kind, window, bytes): vLLM's distinct KVCacheSpecs.
    keys = np.stack([owner, kind, window, page_one], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    g_cfg, g_kind, g_window, g_page_one = unique[:, 0], unique[:, 1], unique[:, 2], unique[:, 3]
    n = np.zeros(len(unique), dtype=np.int64)
    n_stage = np.zeros(len(unique), dtype=np.int64)
    np.add.at(n, inverse, rows.count[keep])
    np.add.at(n_stage, inverse, rows.on_stage[keep])
    g_mamba = g_kind == CacheKind.MAMBA

    def per_config(values: np.ndarray, how: Any, start: Any) -> np.ndarray:
        out = np.full(n_configs, start, dtype=np.int64)
        how.at(out, g_cfg, values)
        return out

    cached = per_config(np.ones_like(g_cfg), np.add, 0) > 0
    # Types: (kind, window); one type is vLLM's uniform (or uniform-type) case, a single group.
    type_keys = np.unique(unique[:, :3], axis=0)
    types = np.zeros(n_configs, dtype=np.int64)
    np.add.at(types, type_keys[:, 0], 1)
    uniform = types == 1
    # Hybrids with a Mamba state: the attention block grows until its page holds a state; the state is padded.
    attn_one = per_config(np.where(g_mamba, 0, g_page_one), np.maximum, 0)
    mamba_page = per_config(np.where(g_mamba, g_page_one, 0), np.maximum, 0)
    hybrid_mamba = ~uniform & (attn_one > 0) & (mamba_page > 0)
    raised = MAMBA_ALIGNMENT * _cdiv(mamba_page, MAMBA_ALIGNMENT * np.maximum(attn_one, 1))
    attn_block = np.where(hybrid_mamba, np.maximum(block_size, raised), block_size)
    length = max_model_len
    g_block = np.where(g_mamba, length[g_cfg], attn_block[g_cfg])
    g_page = np.where(g_mamba, np.where(hybrid_mamba[g_cfg], attn_one[g_cfg] * attn_block[g_cfg], g_page_one),
                      g_page_one * attn_block[g_cfg])  # fmt: skip
    # Uniform: one group of every layer; a block is every layer's page.
    page_sum = per_config(n_stage * g_page, np.add, 0)
    # Hybrid: unify the pages (scale the smaller ones' blocks), then groups of group_size layers.
    big_page = per_config(g_page, np.maximum, 0)
    ratio_ok = big_page[g_cfg] % np.maximum(g_page, 1) == 0
    unifiable = uniform | (per_config((~ratio_ok).astype(np.int64), np.add, 0) == 0)
    g_block = np.where(uniform[g_cfg], g_block, g_block * (big_page[g_cfg] // np.maximum(g_page, 1)))
    fewest = per_config(n, np.minimum, np.iinfo(np.int64).max)
    most = per_config(n, np.maximum, 0)
    group_size = np.where(2 * most < 3 * fewest, most, fewest)
    groups_of = _cdiv(n, np.maximum(group_size[g_cfg], 1))
    groups = np.where(uniform, 1, per_config(groups_of, np.add, 0))
    stage_size = per_config(_cdiv(n_stage, np.maximum(groups_of, 1)), np.maximum, 0)
    avail = np.maximum(available, 0)
    num_blocks = np.where(
        uniform,
        avail // np.maximum(page_sum, 1),
        avail // np.maximum(big_page, 1) // np.maximum(stage_size, 1),
    )
    smallest = per_config(g_block, np.minimum, np.iinfo(np.int64).max)
    tokens = num_blocks // np.maximum(groups, 1) * smallest
    g_blocks = _blocks(g_kind, g_window, g_block, length[g_cfg], batched)
    # Uniform: the most blocks any layer needs (UniformTypeKVCacheSpecs); hybrid: each group once.
    per_request = np.where(uniform, per_config(g_blocks, np.maximum, 0), per_config(groups_of * g_blocks, np.add, 0))
    none = ~cached
    return Capacity(
        groups=np.where(none, 0, groups),
        block_size=np.where(none, block_size, smallest),
        page_bytes=np.where(none, 0, np.where(uniform, page_sum, big_page)),
        num_blocks=np.where(none, 0, num_blocks),
        tokens=np.where(none, 0, tokens),
        blocks_per_request=np.where(none, 0, per_request),
        unifiable=unifiable,
        cached=cached,
    )


def cell_capacity(
    rows: CacheRows, n_configs: int, available: np.ndarray, tokens_per_block: int
) -> tuple[np.ndarray, np.ndarray]:
    """SGLang's and TensorRT-LLM's pools: every cached layer's bytes per token (the cell), and the tokens that
    ``available`` bytes hold in whole blocks of ``tokens_per_block``."""
    import numpy as np

    cell = np.zeros(n_configs, dtype=np.int64)
    np.add.at(cell, rows.owner, rows.on_stage * rows.token_bytes)
    blocks = np.maximum(available, 0) // np.maximum(cell * tokens_per_block, 1)
    tokens: np.ndarray = np.where(cell > 0, blocks * tokens_per_block, 0)
    return cell, tokens


def peak_elements(class_name: str, kind: Any, specs: Any, tp: int) -> int:
    """Elements per token of one layer's intermediates on one device during a forward (the profile's peak
    estimate; see the module): attention's QKV and output, an MLP's gate/up and activation, fused-MoE caches."""
    h = specs.get("hidden_size", 0)
    if "num_experts" in specs:
        k, inner = specs["num_experts_per_tok"], specs["moe_intermediate_size"]
        return int(k * (_cdiv(3 * inner, tp) + h))
    if "intermediate_size" in specs:
        return int(_cdiv(3 * specs["intermediate_size"], tp))
    if "num_heads" in specs and "head_dim" in specs:
        q = specs["num_heads"] * specs["head_dim"]
        kv = specs.get("num_kv_heads", specs["num_heads"]) * specs["head_dim"]
        return int(_cdiv(2 * q + 2 * kv, tp))
    if "num_heads" in specs and "v_head_dim" in specs:  # MLA: Q, K, V and output, heads wide
        heads = specs["num_heads"]
        qk = specs.get("qk_nope_head_dim", 0) + specs.get("qk_rope_head_dim", 0)
        return int(_cdiv(heads * (2 * qk + 2 * specs["v_head_dim"]), tp))
    return int(_cdiv(4 * h, tp)) if h else 0


@dataclass(slots=True)
class Budget:
    """Per config, the engine's lines (bytes) in the order it takes them, and its KV-cache layout."""

    engine: Engine
    fraction: float
    engine_memory: np.ndarray
    weights: np.ndarray
    activation_peak: np.ndarray
    non_torch: np.ndarray
    cuda_graph: np.ndarray
    kv_cache: np.ndarray
    capacity: Capacity
    length: np.ndarray  # L, tokens per request
    cell: np.ndarray | None = None  # sglang / trtllm: bytes per token of every cached layer


def budget(
    d: Any,
    rows: CacheRows,
    n_configs: int,
    weights: np.ndarray,
    peak: np.ndarray,
    length: np.ndarray,
) -> Budget:
    """The engine ``d.engine``'s budget and KV capacity of every config on one device of ``d.device_memory``
    bytes (``peak``: the activation estimate per config; ``length``: L per config)."""
    from decimal import Decimal

    import numpy as np

    engine = Engine(d.engine)
    total = int(d.device_memory)
    zeros = np.zeros(n_configs, dtype=np.int64)
    measured_peak = d.profile_activation_bytes is not None
    activation = np.full(n_configs, d.profile_activation_bytes, dtype=np.int64) if measured_peak else peak
    if d.reserved_bytes is not None:
        non_torch, graphs = np.full(n_configs, d.reserved_bytes, dtype=np.int64), zeros
    else:
        non_torch = np.full(n_configs, NCCL_ESTIMATE if d.tp > 1 else NON_TORCH_ESTIMATE, dtype=np.int64)
        eager = engine is Engine.VLLM and d.enforce_eager
        graphs = np.full(n_configs, 0 if eager else CUDA_GRAPH_ESTIMATE, dtype=np.int64)
    if engine is Engine.VLLM:
        fraction = d.gpu_memory_utilization
        share = int(Decimal(total) * Decimal(repr(fraction)))
        if d.kv_cache_memory is not None:  # --kv-cache-memory: no profile, no utilization, nothing else subtracted
            activation, non_torch, graphs = zeros, zeros, zeros
            share = total
            kv = np.full(n_configs, d.kv_cache_memory, dtype=np.int64)
        else:
            kv = share - weights - activation - non_torch - graphs
        capacity = vllm_capacity(rows, n_configs, kv, length, d.block_size, d.max_num_batched_tokens)
        return Budget(engine, fraction, np.full(n_configs, share), weights, activation, non_torch, graphs, kv,
                      capacity, length)  # fmt: skip
    if engine is Engine.SGLANG:
        fraction = d.mem_fraction_static
        share = int(Decimal(total) * Decimal(repr(fraction)))
        activation, graphs = zeros, zeros  # outside mem_fraction_static: SGLang keeps 1 − fraction for them
        kv = share - weights - non_torch
        cell, tokens = cell_capacity(rows, n_configs, kv, d.page_size)
        engine_memory = np.full(n_configs, share)
    else:
        fraction = d.free_gpu_memory_fraction
        free = total - weights - activation - non_torch - graphs
        kv = np.floor(np.maximum(free, 0) * fraction).astype(np.int64)
        cell, tokens = cell_capacity(rows, n_configs, kv, d.tokens_per_block)
        engine_memory = np.full(n_configs, total)
    block = d.page_size if engine is Engine.SGLANG else d.tokens_per_block
    capacity = Capacity(
        groups=(cell > 0).astype(np.int64),
        block_size=np.full(n_configs, block),
        page_bytes=cell * block,
        num_blocks=tokens // block,
        tokens=tokens,
        blocks_per_request=_cdiv(length, block),
        unifiable=np.ones(n_configs, dtype=bool),
        cached=cell > 0,
    )
    return Budget(engine, fraction, engine_memory, weights, activation, non_torch, graphs, kv, capacity, length, cell)


def start_reason(b: Budget, i: int, total: int) -> str | None:
    """Why config ``i`` will not start under the budget (None: it will), in the engine's terms."""
    gb = 1e9
    weights, share = int(b.weights[i]), int(b.engine_memory[i])
    if weights > share:
        return f"weights {weights / gb:.1f} GB exceed the {share / gb:.1f} GB the engine may use"
    kv = int(b.kv_cache[i])
    if kv <= 0:
        return (
            f"nothing is left for the KV cache: weights, activations and reserves take {(share - kv) / gb:.1f} GB "
            f"of the {share / gb:.1f} GB the engine may use"
        )
    c = b.capacity
    if not bool(c.unifiable[i]):
        return "vLLM cannot unify the layers' page sizes (one does not divide the largest)"
    if bool(c.cached[i]) and b.length[i] and int(c.num_blocks[i]) < int(c.blocks_per_request[i]):
        return (
            f"one request of {int(b.length[i]):,} tokens needs {int(c.blocks_per_request[i]):,} blocks and the "
            f"{kv / gb:.2f} GB left hold {int(c.num_blocks[i]):,}: lower max_model_len or raise the memory"
        )
    if int(b.weights[i]) + kv > total:
        return f"weights and kv_cache_memory take {(weights + kv) / gb:.1f} GB of the device's {total / gb:.1f} GB"
    return None
