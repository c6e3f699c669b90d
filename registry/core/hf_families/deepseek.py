"""DeepSeek (V2, V3.2, V4) and Kimi (K2, K2.5): multi-head latent attention, sparse-attention indexers,
DeepSeek-V4's compressed attention, and DeepSeek MoE with shared experts.

transformers 5.25's configuration classes are the reference: DeepseekV2Config (MLA, q_lora_rank null for
V2-Lite; mlp_bias on the dense MLP and the shared experts), DeepseekV32Config (MLA whose queries always go
through q_lora_rank, with a lightning indexer in every layer; mlp_layer_types or first_k_dense_replace),
DeepseekV4Config (shared-KV attention with sinks and a grouped output, CSA/HCA compressors, hyper-connections,
every layer MoE). Kimi-K2's model_type kimi_k2 is DeepseekV3ForCausalLM's; Kimi-K2.5 (kimi_k25) wraps it.
Routers' e_score_correction_bias (V3.2, V4) and V4's hash-routing table are buffers, not parameters; the
multi-token-prediction layers are not built by transformers, so not counted (the notes say how many).
"""

from __future__ import annotations

from typing import Any

from registry.core import hf
from registry.core.hf import (
    ROUTER_BIAS_NOTE,
    Arch,
    Dims,
    _Reader,
    expert_specs,
    mtp_note,
    norm_layer,
    register_arch,
    renamed,
)
from registry.core.hf_families.common import notes_and_mtp
from registry.core.issues import Code
from registry.core.validation import _show

SPARSE, DENSE = "sparse", "dense"


# The routing-bias buffer, and the multi-token-prediction layers transformers does not build.
mtp_notes = notes_and_mtp(ROUTER_BIAS_NOTE)


def layer_list(r: _Reader, key: str, layers: int, allowed: tuple[str, ...]) -> list[str] | None:
    """A per-layer list of ``allowed`` names (transformers reads its first num_hidden_layers entries), or
    None when the key is absent or null."""
    given = r.value(key)
    if given is None:
        return None
    if not isinstance(given, list) or len(given) < layers:
        r.error(key, Code.INVALID_VALUE, f"expected a list of at least {layers} entries, got {_show(given)}")
        return None
    for i, kind in enumerate(given[:layers]):
        if kind not in allowed:
            wanted = " or ".join(repr(a) for a in allowed)
            r.error(f"{key}[{i}]", Code.INVALID_VALUE, f"expected {wanted}, got {_show(kind)}")
            return None
    return list(given[:layers])


def sparse_layers(r: _Reader, layers: int) -> list[bool]:
    """Which layers are MoE: mlp_layer_types, else all but the first first_k_dense_replace."""
    kinds = layer_list(r, "mlp_layer_types", layers, (DENSE, SPARSE))
    if kinds is not None:
        return [k == SPARSE for k in kinds]
    first_dense = r.integer("first_k_dense_replace", minimum=0) or 0
    return [i >= first_dense for i in range(layers)]


def indexer(r: _Reader, h: int, count: int, first: int) -> dict[str, Any]:
    """``count`` lightning indexers reading the MLA's query latent."""
    specs = {
        "layer_idx": first,
        "hidden_size": h,
        "q_lora_rank": r.integer("q_lora_rank"),
        "index_n_heads": r.dimension("index_n_heads"),
        "index_head_dim": r.dimension("index_head_dim"),
    }
    return {"name": "indexer", "class": "SparseAttentionIndexerLayer", "count": count, "specs": specs}


def dsa_decoder(r: _Reader, dims: Dims, indexed: list[bool]) -> list[dict[str, Any]]:
    """MLA with a lightning indexer on the ``indexed`` layers, dense or MoE MLPs, two norms a layer."""
    h, layers = dims.hidden_size, dims.num_layers
    given, rank = r.raw("q_lora_rank")
    if given and rank is None:
        r.error(
            "q_lora_rank",
            Code.INVALID_VALUE,
            f"expected a positive integer: {r.model_type}'s queries (and its indexer's) always go through the "
            "q_lora_rank latent, and transformers cannot build it with null",
        )
        return []
    out = hf._attention(r, h, dims.num_heads, layers, [None] * layers)
    if any(indexed):
        out.append(indexer(r, h, sum(indexed), indexed.index(True)))
    out += hf._feedforward(r, h, sparse_layers(r, layers))
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


def _v32_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    return dsa_decoder(r, dims, [True] * dims.num_layers)


def _v2_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """DeepSeek-V2's decoder; mlp_bias also puts biases on the shared experts (even of width 0)."""
    if dims.hidden_size % dims.num_heads:
        r.error(
            "num_attention_heads",
            Code.CONTRADICTION,
            f"expected a divisor of hidden_size ({dims.hidden_size}): DeepseekV2Config refuses {dims.num_heads} heads",
        )
        return []
    out = hf._decoder(r, dims)
    if r.flag("mlp_bias"):
        for layer in out:
            if layer["class"] == "MoELayer":
                specs = layer["specs"]
                shared = r.integer("n_shared_experts", minimum=0) or 0
                specs["shared_expert_intermediate_size"] = shared * (specs["moe_intermediate_size"] or 0)
                specs["mlp_bias"] = True
    return out


_DEEPSEEK_DEFAULTS = {"tie_word_embeddings": False, "attention_bias": False, "n_shared_experts": 1}

register_arch(
    "deepseek_v2",
    Arch(
        **renamed(num_experts="n_routed_experts"),
        defaults={
            **_DEEPSEEK_DEFAULTS,
            "max_position_embeddings": 2048,
            "mlp_bias": False,
            "first_k_dense_replace": 0,
            "n_shared_experts": 2,
        },
        mlp_bias=lambda c: bool(c.get("mlp_bias")),
        moe="deepseek",
        mla=True,
        layers=_v2_layers,
        notes=mtp_note,
    ),
    classes=("DeepseekV2ForCausalLM",),
)
register_arch(
    "deepseek_v32",
    Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts", "num_experts")},
        defaults={**_DEEPSEEK_DEFAULTS, "max_position_embeddings": 163840, "first_k_dense_replace": 3},
        moe="deepseek",
        mla=True,
        layers=_v32_layers,
        notes=mtp_notes,
    ),
    classes=("DeepseekV32ForCausalLM",),
)
# Kimi-K2 (model_type kimi_k2, unknown to transformers) names DeepseekV3ForCausalLM: imported as deepseek_v3.
hf.ARCHITECTURE_CLASSES.setdefault("DeepseekV3ForCausalLM", "deepseek_v3")
register_arch(
    "kimi_k25",
    Arch(text_model="deepseek_v3", text_model_types={"kimi_k2": "deepseek_v3"}),
    classes=("KimiK25ForConditionalGeneration",),
)


# ---- DeepSeek-V4 -------------------------------------------------------------------------------

SLIDING, CSA, HCA = "sliding_attention", "compressed_sparse_attention", "heavily_compressed_attention"
_RATIO_TO_TYPE = {0: SLIDING, 4: CSA, 128: HCA}
_DEFAULT_RATES = {CSA: 4, HCA: 128}


def _v4_layer_types(r: _Reader, layers: int) -> list[str]:
    """layer_types, else the legacy compress_ratios (0, 4 or 128 per layer), else two HCA then CSA/HCA."""
    kinds = layer_list(r, "layer_types", layers, (SLIDING, CSA, HCA))
    if kinds is not None:
        return kinds
    ratios = r.value("compress_ratios")
    if ratios is not None:
        if not isinstance(ratios, list) or len(ratios) < layers:
            r.error("compress_ratios", Code.INVALID_VALUE, f"expected at least {layers} ratios, got {_show(ratios)}")
            return [SLIDING] * layers
        for i, ratio in enumerate(ratios[:layers]):
            if type(ratio) is not int or ratio not in _RATIO_TO_TYPE:
                r.error(f"compress_ratios[{i}]", Code.INVALID_VALUE, f"expected 0, 4 or 128, got {_show(ratio)}")
                return [SLIDING] * layers
        return [_RATIO_TO_TYPE[ratio] for ratio in ratios[:layers]]
    return [HCA] * min(layers, 2) + [CSA if i % 2 else HCA for i in range(max(layers - 2, 0))]


def _v4_rate(r: _Reader, kind: str, legacy: str) -> int | None:
    """The compress rate of a layer type: compress_rates[kind] (its default when the dict is absent), or the
    legacy top-level key that overrides it."""
    given, value = r.raw(legacy)
    if given and value is not None:
        return r._positive(legacy, value)
    rates = r.value("compress_rates")
    if rates is None:
        return _DEFAULT_RATES[kind]
    if not isinstance(rates, dict) or kind not in rates:
        r.error("compress_rates", Code.INVALID_VALUE, f"expected a rate for {kind}, got {_show(rates)}")
        return None
    return r._positive(f"compress_rates.{kind}", rates[kind])


def _v4_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """Attention with sinks over a sliding window, a compressor (and, for CSA, an indexer) on compressed
    layers, an MoE in every layer, two hyper-connections a layer and the hyper-connection head."""
    h, layers = dims.hidden_size, dims.num_layers
    kinds = _v4_layer_types(r, layers)
    d, rank = r.dimension("head_dim"), r.dimension("q_lora_rank")
    attention = {
        "layer_idx": 0,
        "hidden_size": h,
        "num_heads": dims.num_heads,
        "head_dim": d,
        "q_lora_rank": rank,
        "o_groups": r.dimension("o_groups"),
        "o_lora_rank": r.dimension("o_lora_rank"),
        "sliding_window": r.integer("sliding_window"),
    }
    if attention["sliding_window"] is None:
        r.error("sliding_window", Code.INVALID_VALUE, "expected a window: every DeepSeek-V4 layer attends within one")
    out = [{"name": "attention", "class": "DeepseekV4AttentionLayer", "count": layers, "specs": attention}]
    csa = [i for i, k in enumerate(kinds) if k == CSA]
    hca = [i for i, k in enumerate(kinds) if k == HCA]
    if csa:
        rate = _v4_rate(r, CSA, "compress_rate_csa")
        compressor = {"layer_idx": csa[0], "hidden_size": h, "head_dim": d, "compress_rate": rate}
        compressor["compress_overlap"] = True
        out.append({"name": "compressor_csa", "class": "KVCompressorLayer", "count": len(csa), "specs": compressor})
        index = {"layer_idx": csa[0], "hidden_size": h, "q_lora_rank": rank}
        index |= {"index_n_heads": r.dimension("index_n_heads"), "index_head_dim": r.dimension("index_head_dim")}
        index["compress_rate"] = rate
        out.append({"name": "indexer_csa", "class": "CompressedSparseIndexerLayer", "count": len(csa), "specs": index})
    if hca:
        rate = _v4_rate(r, HCA, "compress_rate_hca")
        compressor = {"layer_idx": hca[0], "hidden_size": h, "head_dim": d, "compress_rate": rate}
        out.append({"name": "compressor_hca", "class": "KVCompressorLayer", "count": len(hca), "specs": compressor})
    out.append({"name": "feedforward", "class": "MoELayer", "count": layers, "specs": _v4_moe(r, h)})
    hc = {"hidden_size": h, "hc_mult": r.dimension("hc_mult")}
    out.append({"name": "hyper_connection", "class": "HyperConnectionLayer", "count": 2 * layers, "specs": hc})
    out.append({"name": "hyper_connection_head", "class": "HyperConnectionHeadLayer", "count": 1, "specs": dict(hc)})
    out.append(norm_layer(r, 2 * layers + 1, h))
    return out


def _v4_moe(r: _Reader, h: int) -> dict[str, Any]:
    """Routed experts and one shared expert of moe_intermediate_size (n_shared_experts is not read);
    mlp_bias puts biases on the shared expert only."""
    specs: dict[str, Any] = {"layer_idx": 0, **expert_specs(r, h, "moe_intermediate_size")}
    specs["shared_expert_intermediate_size"] = specs["moe_intermediate_size"]
    if r.flag("mlp_bias"):
        specs["mlp_bias"] = True
    return specs


register_arch(
    "deepseek_v4",
    Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts",), "moe_intermediate_size": ("intermediate_size",)},
        defaults={
            "max_position_embeddings": 1048576,
            "tie_word_embeddings": False,
            "mlp_bias": False,
            "sliding_window": 128,
            "num_nextn_predict_layers": 1,
        },
        layers=_v4_layers,
        notes=mtp_notes,
    ),
    classes=("DeepseekV4ForCausalLM",),
)
