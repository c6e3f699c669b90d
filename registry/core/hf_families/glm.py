"""GLM-4.5 / 4.6 / 4.7 (glm4_moe) and GLM-5 (glm_moe_dsa).

transformers 5.25's Glm4MoeConfig: grouped-query attention with biases on Q, K and V (attention_bias), no
output bias, optional per-head Q/K norms (use_qk_norm), partial rotary (no count change), the first
first_k_dense_replace layers dense and the rest DeepSeek-style MoE (n_routed_experts, n_shared_experts,
a buffer for the routing bias). GlmMoeDsaConfig: DeepSeek-V3.2's MLA with a lightning indexer, which layers
whose indexer_types entry is "shared" do without (they reuse the previous full layer's selection).
"""

from __future__ import annotations

from typing import Any

from registry.core import hf
from registry.core.hf import Arch, Dims, _Reader, register_arch
from registry.core.hf_families.deepseek import dsa_decoder, layer_list, mtp_notes
from registry.core.issues import Code
from registry.core.validation import _show

FULL, SHARED = "full", "shared"


def _glm4_moe_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    """The flags' decoder, with per-head Q/K norms when use_qk_norm is set."""
    out = hf._decoder(r, dims)
    if r.flag("use_qk_norm"):
        for layer in out:
            if layer["class"] in ("AttentionLayer", "GroupedQueryAttentionLayer"):
                layer["specs"]["qk_norm"] = "per_head"
    return out


register_arch(
    "glm4_moe",
    Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts",), "num_nextn_predict_layers": ("num_mtp_layers",)},
        kv_heads_required=True,
        defaults={
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "first_k_dense_replace": 1,
            "n_shared_experts": 1,
            "use_qk_norm": False,
        },
        qkv_bias=lambda c: bool(c.get("attention_bias")),
        moe="deepseek",
        layers=_glm4_moe_layers,
        notes=mtp_notes,
    ),
    classes=("Glm4MoeForCausalLM",),
)


def _indexed(r: _Reader, layers: int) -> list[bool]:
    """The layers that run their own indexer: indexer_types, else index_topk_pattern (F/S), else every
    index_topk_freq-th layer from index_skip_topk_offset - 1 (by default every layer)."""
    kinds = layer_list(r, "indexer_types", layers, (FULL, SHARED))
    if kinds is not None:
        return [k == FULL for k in kinds]
    pattern = r.value("index_topk_pattern")
    if pattern is not None:
        letters = {"F": FULL, "S": SHARED}
        if isinstance(pattern, str) and set(pattern) <= set(letters):
            pattern = [letters[c] for c in pattern]
        if not isinstance(pattern, list) or len(pattern) < layers or not set(pattern[:layers]) <= {FULL, SHARED}:
            r.error(
                "index_topk_pattern",
                Code.INVALID_VALUE,
                f"expected {layers} or more of F/S (or full/shared), got {_show(r.value('index_topk_pattern'))}",
            )
            return [True] * layers
        return [k == FULL for k in pattern[:layers]]
    freq = max(r.integer("index_topk_freq", minimum=0) or 0, 1)
    offset = r.integer("index_skip_topk_offset", minimum=0)
    offset = 2 if offset is None else offset
    return [max(i - offset + 1, 0) % freq == 0 for i in range(layers)]


def _glm_moe_dsa_layers(r: _Reader, dims: Dims) -> list[dict[str, Any]]:
    return dsa_decoder(r, dims, _indexed(r, dims.num_layers))


register_arch(
    "glm_moe_dsa",
    Arch(
        keys={"num_experts": "n_routed_experts"},
        aliases={"n_routed_experts": ("num_local_experts", "num_experts")},
        defaults={
            "max_position_embeddings": 202752,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "first_k_dense_replace": 3,
            "n_shared_experts": 1,
        },
        moe="deepseek",
        mla=True,
        layers=_glm_moe_dsa_layers,
        notes=mtp_notes,
    ),
    classes=("GlmMoeDsaForCausalLM",),
)
