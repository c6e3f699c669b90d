"""MiniMax: M2 (minimax_m2) and M3 (minimax_m3_vl, its text model minimax_m3_vl_text).

transformers 5.25's modeling_minimax_m2.py: every layer is GQA with RMSNorms over the whole Q and K
projections (FlexOlmo style) and a mixture of ``num_local_experts`` experts of width ``intermediate_size``
with a sigmoid router; its ``e_score_correction_bias`` is a buffer. modeling_minimax_m3_vl.py: GQA with
per-head Q/K norms; layers whose ``layer_types`` entry is ``minimax_m3_sparse`` add a lightning block
indexer; ``mlp_layer_types`` picks a dense MLP (``dense_intermediate_size``) or an MoE with one shared
expert (``shared_intermediate_size``) and experts of width ``intermediate_size``. The multi-token-prediction
modules of the checkpoints are not built by transformers, nor counted.
"""

from __future__ import annotations

from typing import Any

from registry.core.hf import (
    ROUTER_BIAS_NOTE,
    Arch,
    Dims,
    _decoder,
    _head_dim,
    _Reader,
    expert_specs,
    norm_layer,
    register_arch,
    renamed,
)
from registry.core.hf_families.common import (
    DENSE,
    SPARSE,
    feedforward,
    kinds,
    nested_object,
    nested_or_top,
    notes_and_mtp,
)
from registry.core.issues import Code
from registry.core.validation import _show

FULL, SPARSE_ATTENTION = "full_attention", "minimax_m3_sparse"


def flags(r: _Reader, key: str, layers: int) -> list[bool] | None:
    """A legacy per-layer 0/1 list (``moe_layer_freq``, ``hybrid_layer_pattern``), or None when absent."""
    given = r.config.get(key)
    if given is None:
        return None
    if not isinstance(given, list) or len(given) != layers or any(v not in (0, 1) for v in given):
        r.error(key, Code.INVALID_VALUE, f"expected a list of {layers} zeros and ones, got {_show(given)}")
        return None
    return [bool(v) for v in given]


def refuse_unless(r: _Reader, key: str, ok: bool, why: str) -> None:
    """An error naming ``key`` when the checkpoint it describes is not what transformers builds."""
    if not ok:
        r.error(key, Code.UNSUPPORTED_KEY, f"{key}={_show(r.config.get(key))}: {why}; write this config by hand")


def attention(
    name: str, indices: list[int], h: int, heads: int, kv: int, d: int, **extras: Any
) -> list[dict[str, Any]]:
    """One attention layer type over ``indices`` (none when empty): MHA when kv == heads, else GQA."""
    if not indices:
        return []
    specs: dict[str, Any] = {"layer_idx": indices[0], "hidden_size": h, "num_heads": heads}
    cls = "AttentionLayer"
    if kv != heads:
        cls, specs["num_kv_heads"] = "GroupedQueryAttentionLayer", kv
    specs["head_dim"] = d
    return [{"name": name, "class": cls, "count": len(indices), "specs": {**specs, **extras}}]


def kv_heads(r: _Reader, heads: int) -> int | None:
    """num_key_value_heads (its default is some model's number, never num_attention_heads: required)."""
    kv = r.dimension("num_key_value_heads")
    if kv is not None and heads % kv:
        r.error(
            "num_key_value_heads", Code.CONTRADICTION, f"expected a divisor of num_attention_heads ({heads}), got {kv}"
        )
        return None
    return kv


# ---- MiniMax-M2 ---------------------------------------------------------------------------------


def _m2_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    attn_types = r.config.get("attn_type_list")
    refuse_unless(
        r,
        "attn_type_list",
        attn_types is None or (isinstance(attn_types, list) and all(t == 1 for t in attn_types)),
        "transformers' MiniMaxM2 builds full (softmax) attention in every layer, never lightning attention",
    )
    refuse_unless(
        r,
        "shared_intermediate_size",
        r.config.get("shared_intermediate_size") in (None, 0),
        "transformers' MiniMaxM2 builds no shared expert",
    )
    refuse_unless(
        r, "use_qk_norm", r.config.get("use_qk_norm") in (None, True), "transformers' MiniMaxM2 always builds QK norms"
    )
    refuse_unless(
        r,
        "qk_norm_type",
        r.config.get("qk_norm_type") in (None, "per_layer"),
        "transformers' MiniMaxM2 norms the whole Q and K projections (per_layer)",
    )
    return _decoder(r, dims)


register_arch(
    "minimax_m2",
    Arch(
        **renamed(num_experts="num_local_experts"),
        kv_heads_required=True,
        head_dim_default=128,
        defaults={"max_position_embeddings": 196608, "tie_word_embeddings": False},
        qk_norm="across_heads",
        moe="mixtral",  # experts are intermediate_size wide, in every layer
        layers=_m2_layers,
        notes=notes_and_mtp(
            ROUTER_BIAS_NOTE, "The Q and K norms span the whole projections.", keys=("num_mtp_modules", "use_mtp")
        ),
    ),
    classes=("MiniMaxM2ForCausalLM",),
)


# ---- MiniMax-M3 ---------------------------------------------------------------------------------

# Legacy keys of sparse_attention_config that transformers reads over the flat ones.
_M3_INDEX_KEYS = {
    "index_n_heads": "sparse_num_index_heads",
    "index_head_dim": "sparse_index_dim",
    "index_block_size": "sparse_block_size",
    "index_topk_blocks": "sparse_topk_blocks",
}


def _m3_index(r: _Reader, sparse_cfg: dict[str, Any], flat: str) -> int | None:
    """An indexer value: sparse_attention_config's legacy key wins over the flat one, as in transformers.

    The indexer's heads and width are dimensions (required); its block size and top-k take the defaults.
    """
    required = flat in ("index_n_heads", "index_head_dim")
    return nested_or_top(r, "sparse_attention_config", sparse_cfg, _M3_INDEX_KEYS[flat], flat, required=required)


def _m3_attention_kinds(r: _Reader, layers: int, sparse_cfg: dict[str, Any]) -> list[str]:
    default = [FULL] * layers
    if r.value("layer_types") is None and "sparse_attention_freq" in sparse_cfg:
        freq = sparse_cfg["sparse_attention_freq"]
        if not isinstance(freq, list) or len(freq) != layers:
            r.error(
                "sparse_attention_config",
                Code.INVALID_VALUE,
                f"expected sparse_attention_freq to list {layers} layers, got {_show(freq)}",
            )
            return default
        return [SPARSE_ATTENTION if f else FULL for f in freq]
    return kinds(r, "layer_types", layers, default, (FULL, SPARSE_ATTENTION))


def _m3_mlp_kinds(r: _Reader, layers: int) -> list[str]:
    freq = flags(r, "moe_layer_freq", layers) if r.value("mlp_layer_types") is None else None
    if freq is not None:
        return [SPARSE if f else DENSE for f in freq]
    return kinds(r, "mlp_layer_types", layers, [SPARSE] * layers, (SPARSE, DENSE))


def _m3_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]] | None:
    h, layers, heads = dims.hidden_size, dims.num_layers, dims.num_heads
    sparse_cfg = nested_object(r, "sparse_attention_config")
    attn_kinds = _m3_attention_kinds(r, layers, sparse_cfg)
    d, kv = _head_dim(r, h, heads), kv_heads(r, heads)
    sparse_layers = [i for i, k in enumerate(attn_kinds) if k == SPARSE_ATTENTION]
    disabled = sparse_cfg.get("sparse_disable_index_value")
    if isinstance(disabled, list) and any(i < len(disabled) and not disabled[i] for i in sparse_layers):
        r.error(
            "sparse_attention_config",
            Code.UNSUPPORTED_KEY,
            "sparse_disable_index_value leaves an indexer value path on a sparse layer, which transformers does "
            "not build; write this config by hand",
        )
    if d is None or kv is None:
        return None
    full = [i for i, k in enumerate(attn_kinds) if k != SPARSE_ATTENTION]
    mixed = bool(full and sparse_layers)
    out = attention("attention_full" if mixed else "attention", full, h, heads, kv, d, qk_norm="per_head")
    if sparse_layers:
        specs: dict[str, Any] = {
            "layer_idx": sparse_layers[0],
            "hidden_size": h,
            "num_heads": heads,
            "num_kv_heads": kv,
            "head_dim": d,
            "sparse_index_heads": _m3_index(r, sparse_cfg, "index_n_heads"),
            "sparse_index_head_dim": _m3_index(r, sparse_cfg, "index_head_dim"),
            "sparse_block_size": _m3_index(r, sparse_cfg, "index_block_size"),
            "sparse_topk_blocks": _m3_index(r, sparse_cfg, "index_topk_blocks"),
            "qk_norm": "per_head",
        }
        name = "attention_sparse" if mixed else "attention"
        out.append({"name": name, "class": "BlockSparseAttentionLayer", "count": len(sparse_layers), "specs": specs})

    def moe() -> dict[str, Any]:
        shared = r.dimension("shared_intermediate_size", minimum=0)
        return {**expert_specs(r, h, "intermediate_size"), "shared_expert_intermediate_size": shared}

    out += feedforward(r, h, _m3_mlp_kinds(r, layers), "dense_intermediate_size", moe)
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


register_arch(
    "minimax_m3_vl_text",
    Arch(
        **renamed(num_experts="num_local_experts"),
        kv_heads_required=True,
        head_dim_default=128,
        defaults={
            "max_position_embeddings": 524288,
            "tie_word_embeddings": False,
            "index_block_size": 128,
            "index_topk_blocks": 16,
        },
        layers=_m3_layers,
        notes=notes_and_mtp(
            "Sparse layers' lightning indexers are counted (Q and K projections, norms) and cache one indexer key "
            "per token.",
            ROUTER_BIAS_NOTE,
            keys=("num_mtp_modules", "use_mtp", "num_nextn_predict_layers"),
        ),
    ),
    classes=("MiniMaxM3VLForCausalLM",),
)
register_arch(
    "minimax_m3_vl",
    # Its configuration class builds text_config as minimax_m3_vl_text whatever model_type it names.
    Arch(
        text_model="minimax_m3_vl_text",
        text_model_types={"minimax_m2": "minimax_m3_vl_text", "minimax_m3": "minimax_m3_vl_text"},
    ),
    classes=("MiniMaxM3SparseForConditionalGeneration",),
)
