"""Training activations per device, as Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large
Transformer Models", Table 2) and Megatron-LM's ``megatron/training/theoretical_memory_usage.py`` count them.

Bytes of one layer for one micro-batch of ``b`` sequences of ``s`` tokens, at tensor parallelism ``t``
(activations in 16 bits, dropout masks in 8):

- no recomputation: s·b·h·(10 + 24/t + 5·a·s/(h·t)); with sequence parallelism the 10 is split too
  (s·b·h·(34/t + 5·a·s/(h·t)));
- selective recomputation (the attention scores, softmax and its dropout recomputed): the 5·a·s² term goes;
  with sequence parallelism 34·s·b·h/t;
- full recomputation: each layer keeps its input, 2·s·b·h (/t with sequence parallelism).

The paper writes a multi-head attention and a 4h MLP; here each row uses its own widths, per token:

- a mixer (attention-kind row): 5h outside tensor parallelism (the layer norm's input 2h, the QKV input 2h,
  the output dropout mask h) and, split by t, Q (2·heads·qk dim), K (2·kv_heads·qk dim), V (2·kv_heads·v dim)
  and the output projection's input (2·heads·v dim); scores 5·heads·s. MLA adds its latents (2·q_lora_rank +
  2·(kv_lora_rank + rope dim), replicated) and uses heads·(nope + rope) for Q and K, heads·v for V. Other mixers
  (Mamba, linear attention, sparse variants) are taken as a multi-head attention of their width without scores
  (5h + 8h/t): an approximation, noted in the plan.
- a feed-forward row: 5h outside tensor parallelism (norm input, MLP input, dropout mask) and, split by t,
  4·f (a two-projection MLP: its inner activation's input and output) or 6·f (gated: gate, up and their
  product); a MoE row adds the k dispatched copies of its input (2·k·h) and k experts' intermediates
  (k·6·f_expert, gated) plus its shared expert's.

The paper's decoder (attention + 4h MLP) gives exactly 10h + 24h/t + 5·a·s/t per token. The heaviest device
is the first pipeline stage: 1F1B keeps p micro-batches in flight there (its layers × p, L layers' worth when
p divides L), and an interleaved schedule with v chunks per device × (1 + (p − 1)/(p·v)). Megatron's embedding
and output terms are lines of their own: the embedding's input and dropout mask, (8·s·b + s·b·h)·p (/t with
sequence parallelism), and with pp = 1 the output layer and loss, 4·s·b·(h + V)/t (sequence parallel) or
2·(s·b·V/t + s·b·h). Megatron's 5% allowance on the path without sequence parallelism is not added.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.core.catalogue import LayerKind


class Recompute(enum.StrEnum):
    NONE = "none"
    SELECTIVE = "selective"
    FULL = "full"


# Mixers whose widths are read as attention (Q, K, V heads); the rest are approximated.
_ATTENTION_CLASSES = frozenset(
    {
        "AttentionLayer",
        "GroupedQueryAttentionLayer",
        "SharedKVAttentionLayer",
        "SplitHeadAttentionLayer",
        "BlockSparseAttentionLayer",
    }
)
_MLA_CLASSES = frozenset({"MultiHeadLatentAttentionLayer"})


@dataclass(frozen=True, slots=True)
class RowTerms:
    """One layer's activations per token of a micro-batch: bytes outside tensor parallelism, bytes split by
    t, bytes per token of context (the scores, × s, split by t), and what full recomputation keeps."""

    outside: int = 0
    split: int = 0
    scores: int = 0
    kept: int = 0
    approximate: bool = False


def row_terms(class_name: str, kind: LayerKind | None, specs: Mapping[str, Any]) -> RowTerms:
    """The terms of one layer of a row (zero for norms, embeddings and heads: their own lines)."""
    h = specs.get("hidden_size", 0)
    if kind is LayerKind.ATTENTION:
        if class_name in _MLA_CLASSES:
            heads = specs["num_heads"]
            qk = specs["qk_nope_head_dim"] + specs["qk_rope_head_dim"]
            latents = 2 * specs.get("q_lora_rank", 0) + 2 * (specs["kv_lora_rank"] + specs["qk_rope_head_dim"])
            split = 2 * heads * qk * 2 + 2 * heads * specs["v_head_dim"] * 2
            return RowTerms(5 * h + latents, split, 5 * heads, 2 * h)
        if class_name in _ATTENTION_CLASSES:
            heads, d = specs["num_heads"], specs["head_dim"]
            kv_heads = specs.get("num_kv_heads", heads)
            v = specs.get("v_head_dim", d)
            split = 2 * heads * d + 2 * kv_heads * d + 2 * kv_heads * v + 2 * heads * v
            return RowTerms(5 * h, split, 5 * heads, 2 * h)
        return RowTerms(5 * h, 8 * h, 0, 2 * h, approximate=True)
    if kind is LayerKind.FEEDFORWARD:
        if "num_experts" in specs:
            k = specs["num_experts_per_tok"]
            per_inner = 6 if specs.get("gated_experts", True) else 4
            shared = specs.get("shared_expert_intermediate_size", 0)
            split = k * per_inner * specs["moe_intermediate_size"] + per_inner * shared
            return RowTerms(5 * h + 2 * k * h, split)
        inner = specs.get("intermediate_size", 0)
        per_inner = 4 if class_name == "MLPLayer" else 6
        return RowTerms(5 * h, per_inner * inner)
    return RowTerms()


@dataclass(frozen=True, slots=True)
class Schedule:
    """How many micro-batches each pipeline stage holds, as a fraction ``in_flight[s] / over``: 1F1B keeps
    p − s on stage s; an interleaved schedule (v > 1) × (1 + (p − 1)/(p·v)) = (p·v + p − 1)/(p·v)."""

    in_flight: tuple[int, ...]
    over: int

    @classmethod
    def of(cls, pp: int, interleave: int, stages: int) -> Schedule:
        if interleave > 1:
            factor, over = pp * interleave + pp - 1, pp * interleave
        else:
            factor, over = 1, 1
        return cls(tuple(max(pp - s, 1) * factor for s in range(stages)), over)


def row_numerators(
    terms: Sequence[RowTerms], tokens: Sequence[int], tp: int, recompute: Recompute, sequence_parallel: bool
) -> list[int]:
    """tp × one layer's bytes for one sequence of ``tokens`` (per row), under the recomputation rule."""
    out = []
    for term, s in zip(terms, tokens, strict=True):
        if recompute is Recompute.FULL:
            per_token = term.kept if sequence_parallel else term.kept * tp
        else:
            per_token = (term.outside if sequence_parallel else term.outside * tp) + term.split
            if recompute is Recompute.NONE:
                per_token += term.scores * s
        out.append(per_token * s)
    return out


def embedding_numerator(s: int, hidden: int, tp: int, sequence_parallel: bool) -> int:
    """tp × the embedding's input (8 bytes a token) and dropout mask for one sequence in flight (Megatron-LM)."""
    return (8 * s + s * hidden) * (1 if sequence_parallel else tp)


def output_numerator(s: int, hidden: int, vocab: int, tp: int, sequence_parallel: bool) -> int:
    """tp × the output layer's input and the loss for one sequence (Megatron-LM, counted when pp = 1)."""
    return 4 * s * (hidden + vocab) if sequence_parallel else 2 * (s * vocab + s * hidden * tp)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
