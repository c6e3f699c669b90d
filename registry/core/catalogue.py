"""The layer-class catalogue: each class's specs, parallelism and parameter formula.

Adding a layer class is one ``register(LayerClass(...))`` call in this module, or in one of ``layer_classes``; a
family builder (``attention_class``, ``moe_class``, ...) stands for ``LayerClass`` with the fields its family shares.
"""

from __future__ import annotations

import difflib
import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Parallelism(enum.StrEnum):
    """A way a layer's work can be split across devices."""

    TENSOR = "tensor_parallel"
    CONTEXT = "context_parallel"
    SEQUENCE = "sequence_parallel"
    EXPERT = "expert_parallel"


class LayerKind(enum.StrEnum):
    """What a layer does in the model; counts of the per-decoder-layer kinds add up to num_layers."""

    ATTENTION = "attention"
    FEEDFORWARD = "feedforward"
    NORM = "norm"
    EMBEDDING = "embedding"
    POSITION_EMBEDDING = "position_embedding"
    OUTPUT_HEAD = "output_head"
    MULTI_TOKEN_PREDICTION = "multi_token_prediction"


class SpecKind(enum.StrEnum):
    """The JSON type a spec value must have."""

    POSITIVE_INT = "positive_integer"
    NON_NEGATIVE_INT = "non_negative_integer"
    BOOL = "boolean"
    CHOICE = "choice"


@dataclass(frozen=True)
class Spec:
    """One named value in a layer type's ``specs``.

    ``default`` is what an optional spec means when absent (documentation: formulas read it with
    ``.get``); ``choices`` are the strings a ``CHOICE`` spec takes.
    """

    name: str
    kind: SpecKind
    description: str
    default: Any = None
    choices: tuple[str, ...] = ()

    @property
    def minimum(self) -> int:
        """The least value of an integer spec: 0 for non-negative ones, else 1."""
        return 0 if self.kind is SpecKind.NON_NEGATIVE_INT else 1


# Keys any layer type's specs may carry besides its class's own: metadata, not architecture.
LAYER_IDX = Spec("layer_idx", SpecKind.NON_NEGATIVE_INT, "Index of a representative layer.")
PARAMETER_COUNT = Spec(
    "parameter_count", SpecKind.NON_NEGATIVE_INT, "Parameters of one layer of this type (derived; 0 for a tied head)."
)
MTP = Spec(
    "mtp",
    SpecKind.BOOL,
    "The layer type belongs to the multi-token-prediction module (DeepSeek-V3's num_nextn_predict_layers): "
    "counted in mtp_params, not in total_params or active_params, and not planned (transformers does not "
    "build it).",
    default=False,
)
METADATA_SPECS: tuple[Spec, ...] = (LAYER_IDX, MTP, PARAMETER_COUNT)

HIDDEN_SIZE = Spec("hidden_size", SpecKind.POSITIVE_INT, "Model (residual stream) width.")
NUM_HEADS = Spec("num_heads", SpecKind.POSITIVE_INT, "Number of query heads.")
NUM_KV_HEADS = Spec("num_kv_heads", SpecKind.POSITIVE_INT, "Number of key/value heads.")
HEAD_DIM = Spec("head_dim", SpecKind.POSITIVE_INT, "Width of one attention head.")
SLIDING_WINDOW = Spec(
    "sliding_window", SpecKind.POSITIVE_INT, "Tokens each query attends to (sliding-window attention)."
)
INTERMEDIATE_SIZE = Spec("intermediate_size", SpecKind.POSITIVE_INT, "MLP inner width.")
HAS_BIAS = Spec("has_bias", SpecKind.BOOL, "Whether the norm has a bias (LayerNorm) or not (RMSNorm).")
VOCAB_SIZE = Spec("vocab_size", SpecKind.POSITIVE_INT, "Number of tokens in the vocabulary.")
QKV_BIAS = Spec("qkv_bias", SpecKind.BOOL, "Biases on the Q, K and V projections (Qwen2, GPT-2).", default=False)
OUTPUT_BIAS = Spec("output_bias", SpecKind.BOOL, "A bias on the output projection (GPT-2).", default=False)
QK_NORM = Spec(
    "qk_norm",
    SpecKind.CHOICE,
    "Norms on queries and keys: per_head (width head_dim: Qwen3, Gemma-3), across_heads (the whole "
    "projection: OLMo-2), or none.",
    default="none",
    choices=("none", "per_head", "across_heads"),
)
MLP_BIAS = Spec("mlp_bias", SpecKind.BOOL, "Biases on the MLP projections (GPT-2; Llama's mlp_bias).", default=False)
ELEMENTWISE_AFFINE = Spec(
    "elementwise_affine",
    SpecKind.BOOL,
    "Whether the norm has learned weights; false for a parameter-free norm (OLMo-1B).",
    default=True,
)
MAX_POSITION_EMBEDDINGS = Spec("max_position_embeddings", SpecKind.POSITIVE_INT, "Positions with a learned embedding.")
TIE_WORD_EMBEDDINGS = Spec(
    "tie_word_embeddings",
    SpecKind.BOOL,
    "The head reuses the token embedding's weights: no parameters of its own.",
    default=False,
)
LM_HEAD_BIAS = Spec(
    "lm_head_bias",
    SpecKind.BOOL,
    "A bias on the output head (Phi-3.5-MoE lm_head_bias): vocab_size parameters, never tied.",
    default=False,
)
NUM_EXPERTS = Spec("num_experts", SpecKind.POSITIVE_INT, "Routed experts (E).")
NUM_EXPERTS_PER_TOK = Spec("num_experts_per_tok", SpecKind.POSITIVE_INT, "Routed experts each token uses (k).")
MOE_INTERMEDIATE_SIZE = Spec("moe_intermediate_size", SpecKind.POSITIVE_INT, "Inner width of one routed expert.")
SHARED_EXPERT_INTERMEDIATE_SIZE = Spec(
    "shared_expert_intermediate_size",
    SpecKind.NON_NEGATIVE_INT,
    "Inner width of the always-active shared expert MLP (DeepSeek: n_shared_experts × moe_intermediate_size); "
    "absent when there is none.",
)
SHARED_EXPERT_GATE = Spec(
    "shared_expert_gate",
    SpecKind.BOOL,
    "A sigmoid gate on the shared expert (Qwen2-MoE): hidden_size weights.",
    default=False,
)
ROUTER_BIAS = Spec("router_bias", SpecKind.BOOL, "A bias parameter on the router.", default=False)
Q_LORA_RANK = Spec(
    "q_lora_rank", SpecKind.POSITIVE_INT, "Rank of the query compression; absent when queries are projected directly."
)
KV_LORA_RANK = Spec("kv_lora_rank", SpecKind.POSITIVE_INT, "Rank of the key/value latent (what the KV cache holds).")
QK_NOPE_HEAD_DIM = Spec("qk_nope_head_dim", SpecKind.POSITIVE_INT, "Per-head query/key width without rotary embedding.")
QK_ROPE_HEAD_DIM = Spec("qk_rope_head_dim", SpecKind.POSITIVE_INT, "Per-head query/key width with rotary embedding.")
V_HEAD_DIM = Spec("v_head_dim", SpecKind.POSITIVE_INT, "Per-head value width.")
ATTENTION_BIAS = Spec(
    "attention_bias", SpecKind.BOOL, "Biases on the down-projections and the output projection.", default=False
)
ATTENTION_SINKS = Spec(
    "attention_sinks",
    SpecKind.BOOL,
    "A learned sink logit per query head (gpt-oss): num_heads parameters, nothing cached.",
    default=False,
)
OUTPUT_GATE = Spec(
    "output_gate",
    SpecKind.CHOICE,
    "A sigmoid gate on the attention output, computed by the query projection: elementwise (one value per "
    "query channel, Qwen3-Next/3.5 attn_output_gate: the Q projection is twice as wide), headwise (one per "
    "head), or none.",
    default="none",
    choices=("none", "elementwise", "headwise"),
)
K_EQ_V = Spec(
    "k_eq_v",
    SpecKind.BOOL,
    "Values are the keys (Gemma-4 attention_k_eq_v): no V projection (nor its bias); the cache is unchanged "
    "(engines store K and V).",
    default=False,
)
ATTENTION_CHUNK_SIZE = Spec(
    "attention_chunk_size",
    SpecKind.POSITIVE_INT,
    "Chunked local attention (Llama-4): each query attends within its chunk of this many tokens; the cache "
    "holds at most one chunk.",
)
NO_ROPE = Spec(
    "no_rope", SpecKind.BOOL, "No rotary embedding in this layer type (NoPE; Llama-4's global layers).", default=False
)
KV_SHARED = Spec(
    "kv_shared",
    SpecKind.BOOL,
    "The layer reads the keys and values of an earlier layer (Gemma-4 num_kv_shared_layers): it caches nothing "
    "of its own (its K and V projections stay in the count if the model builds them).",
    default=False,
)
EXPERT_BIAS = Spec(
    "expert_bias",
    SpecKind.BOOL,
    "Biases on each routed expert's projections (gpt-oss): 2 · moe_intermediate_size + hidden_size per expert "
    "(gated) or moe_intermediate_size + hidden_size (not gated).",
    default=False,
)
GATED_EXPERTS = Spec(
    "gated_experts",
    SpecKind.BOOL,
    "Experts (and the shared expert) are gated MLPs with three projections; false for two (up, down: "
    "Nemotron-H's squared-ReLU experts).",
    default=True,
)
MOE_LATENT_SIZE = Spec(
    "moe_latent_size",
    SpecKind.POSITIVE_INT,
    "Latent MoE (Nemotron-3 Super): the routed experts work in this width; a down projection before them and "
    "an up projection after (2 · hidden_size · moe_latent_size, shared by all experts). Absent: hidden_size.",
)
STATE_DTYPE = Spec(
    "state_dtype",
    SpecKind.CHOICE,
    "The dtype of a recurrent state (mamba_ssm_dtype): auto is the cache's dtype.",
    default="auto",
    choices=("auto", "float32", "bfloat16", "float16"),
)
# Bits of a STATE_DTYPE value; None: the cache's dtype (planning's kv_dtype).
STATE_DTYPE_BITS: dict[str, int | None] = {"auto": None, "float32": 32, "bfloat16": 16, "float16": 16}


@dataclass(frozen=True)
class Shard:
    """How one spec is split across devices: ``spec`` divided by the degree ``degree`` (tp or ep).

    ``rule`` is ``divide`` (the degree must divide the spec), ``ceil`` (rows rounded up: vocabularies) or
    ``kv_heads`` (tp divides the KV heads, or is a multiple of them and each rank keeps one, as vLLM does).
    The result is written to ``into`` (default: the spec itself), which the formula reads.
    """

    spec: str
    degree: str
    rule: str = "divide"
    into: str = ""

    @property
    def target(self) -> str:
        return self.into or self.spec


# The routed experts one device holds: MoE formulas read it instead of num_experts when present
# (the router keeps all num_experts rows on every device).
LOCAL_EXPERTS = "local_experts"

# A formula takes the specs by name (Python ints, or numpy arrays of one column each);
# it reads required specs by key and optional ones with ``.get``.
Formula = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class LayerClass:
    """A layer implementation that configs may name in ``layer_types[].class``."""

    name: str
    description: str
    required: tuple[Spec, ...]
    formula: Formula
    formula_text: str
    optional: tuple[Spec, ...] = ()
    parallelism: tuple[Parallelism, ...] = ()
    kind: LayerKind = LayerKind.NORM
    # Parameters one token uses, where fewer than all (routed experts: k of E); None means all.
    active_formula: Formula | None = None
    active_formula_text: str = ""
    # Planning: how the specs split across devices (the formula on split specs gives one device's share),
    # KV-cache elements per token (attention; on split specs), and attention FLOPs per token per token
    # of context (PaLM's 2 · heads · (qk + v) head dims).
    shards: tuple[Shard, ...] = ()
    kv_elements: Formula | None = None
    attention_flops: Formula | None = None
    # Per-sequence cache that does not grow with the context (linear attention, Mamba): elements held in
    # the cache's dtype (convolution windows), and elements of the recurrent state, in the dtype of the
    # ``state_dtype`` spec (auto: the cache's). Both on split specs, like kv_elements.
    state_elements: Formula | None = None
    recurrent_state_elements: Formula | None = None
    # Spec names in the order a document writes them; defaults to required then optional.
    order: tuple[str, ...] = field(default=())
    # Cross-spec rules: (whole, part) means spec ``part`` must divide spec ``whole`` when both are given
    # (query heads by KV heads; Mamba-2 heads by groups), checked by validation as heads_not_divisible.
    divisors: tuple[tuple[str, str], ...] = ()
    # Performance (registry.core.performance): the parameters of one routed expert on split specs, so a decode
    # step reads only the experts its batch touches; None derives it from ``formula`` (local_experts 1 minus 0).
    expert_parameters: Formula | None = None

    @functools.cached_property
    def specs(self) -> tuple[Spec, ...]:
        """Every spec of this class in document order, metadata excluded."""
        by_name = {s.name: s for s in (*self.required, *self.optional)}
        names = self.order or tuple(by_name)
        return tuple(by_name[n] for n in names)

    @property
    def per_decoder_layer(self) -> bool:
        """Whether a decoder has one per layer (attention, MLP): the counts of its kind add up to num_layers."""
        return self.kind in PER_DECODER_LAYER_KINDS

    @property
    def has_experts(self) -> bool:
        """Whether a token uses only some of the parameters (routed experts)."""
        return self.active_formula is not None

    @functools.cached_property
    def required_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.required)

    @functools.cached_property
    def allowed(self) -> dict[str, Spec]:
        """Every key the specs of this class may hold, metadata included."""
        return {s.name: s for s in (LAYER_IDX, MTP, *self.specs, PARAMETER_COUNT)}

    def parameter_count(self, specs: Mapping[str, Any]) -> int:
        """Parameters of one layer with these specs (exact, Python integers)."""
        return int(self.formula(specs))

    @property
    def token_formula(self) -> Callable[[Mapping[str, Any]], Any]:
        """The parameters of one layer that one token uses: all of them unless the class routes experts."""
        return self.active_formula or self.formula

    def active_parameter_count(self, specs: Mapping[str, Any]) -> int:
        """Parameters of one layer that one token uses (all of them unless the class routes experts)."""
        return int(self.token_formula(specs))

    @property
    def expert_formula(self) -> Formula | None:
        """The parameters of one routed expert (``expert_parameters``, or derived); None without experts."""
        if self.expert_parameters is not None or not self.has_experts:
            return self.expert_parameters
        whole = self.formula
        return lambda s: whole({**s, LOCAL_EXPERTS: 1}) - whole({**s, LOCAL_EXPERTS: 0})

    def cache_rule(self, specs: Mapping[str, Any]) -> str:
        """What one layer of this type caches, in words: per_token, window W, chunk C, state per sequence,
        per_token + state per sequence, shared, or none."""
        if specs.get(KV_SHARED.name):
            return "shared"
        per_token = self.kv_elements is not None
        state = self.state_elements is not None or self.recurrent_state_elements is not None
        if per_token and SLIDING_WINDOW.name in specs:
            rule = f"window {specs[SLIDING_WINDOW.name]}"
        elif per_token and ATTENTION_CHUNK_SIZE.name in specs:
            rule = f"chunk {specs[ATTENTION_CHUNK_SIZE.name]}"
        elif per_token:
            rule = "per_token"
        else:
            rule = ""
        if state:
            rule = f"{rule} + state per sequence" if rule else "state per sequence"
        return rule or "none"


PER_DECODER_LAYER_KINDS = frozenset({LayerKind.ATTENTION, LayerKind.FEEDFORWARD})


def is_mtp(class_name: str, specs: Mapping[str, Any]) -> bool:
    """Whether a layer type belongs to the multi-token-prediction module: its ``mtp`` spec, or its class's kind."""
    layer_class = _CATALOGUE.get(class_name)
    return bool(specs.get(MTP.name)) or (
        layer_class is not None and layer_class.kind is LayerKind.MULTI_TOKEN_PREDICTION
    )


_CATALOGUE: dict[str, LayerClass] = {}


def register(layer_class: LayerClass) -> LayerClass:
    """Add a class to the catalogue."""
    if layer_class.name in _CATALOGUE:
        raise ValueError(f"layer class {layer_class.name!r} is already registered")
    missing = set(layer_class.order) ^ {s.name for s in (*layer_class.required, *layer_class.optional)}
    for spec in (*layer_class.required, *layer_class.optional):
        for other in classes():
            known = other.allowed.get(spec.name)
            if known is not None and known != spec:
                # The admin shows one field per spec name, the schema one type: a name means one thing.
                raise ValueError(f"spec {spec.name!r} of {layer_class.name!r} differs from that of {other.name!r}")
    if layer_class.order and missing:
        raise ValueError(f"order of {layer_class.name!r} does not list exactly its specs: {sorted(missing)}")
    _CATALOGUE[layer_class.name] = layer_class
    return layer_class


def get(name: str) -> LayerClass | None:
    """The class called ``name``, or None."""
    return _CATALOGUE.get(name)


def require(name: str) -> LayerClass:
    """The class called ``name``, which the caller has already checked is in the catalogue (KeyError if not)."""
    return _CATALOGUE[name]


def names() -> list[str]:
    """Every class name, in catalogue order."""
    return list(_CATALOGUE)


def classes() -> Iterator[LayerClass]:
    """Every class, in catalogue order."""
    return iter(_CATALOGUE.values())


def suggest(word: str, candidates: list[str]) -> str | None:
    """The candidate nearest to ``word``, if any is near enough."""
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        matches = [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)]
    return matches[0] if matches else None


def _opt(s: Mapping[str, Any], spec: Spec) -> Any:
    """An optional spec's value, its default when absent."""
    return s.get(spec.name, spec.default)


def _flag(s: Mapping[str, Any], spec: Spec) -> Any:
    """An optional boolean spec as 0 or 1 (numpy arrays of one column in the vectorized path)."""
    return _opt(s, spec) * 1


def _qk_norm(s: Mapping[str, Any], kv_heads: Any) -> Any:
    """Weights of the query and key norms: per head (2 · head_dim) or across heads (the two projections)."""
    mode = _opt(s, QK_NORM)  # a plain string: counts.parameter_counts groups rows by choice values
    if mode == "per_head":
        return 2 * s["head_dim"]
    if mode == "across_heads":
        return (s["num_heads"] + kv_heads) * s["head_dim"]
    return 0


_ATTENTION_EXTRAS_TEXT = (
    " + with qkv_bias, the Q, K and V widths + with output_bias, hidden_size"
    " + with qk_norm, 2 · head_dim (per_head) or the Q and K widths (across_heads)"
    " + with output_gate, (hidden_size + qkv_bias) · num_heads · head_dim (elementwise) or · num_heads (headwise)"
    " + with attention_sinks, num_heads − with k_eq_v, the V projection (hidden_size + qkv_bias) · KV width"
)


def _attention(s: Mapping[str, Any], kv_heads: Any) -> Any:
    """Q, K, V and output projections with every optional extra; ``kv_heads`` the key/value heads."""
    h, heads, d = s["hidden_size"], s["num_heads"], s["head_dim"]
    q, kv = heads * d, kv_heads * d
    bias = _flag(s, QKV_BIAS)
    gate = _opt(s, OUTPUT_GATE)  # a plain string, as for qk_norm
    gate_width = q if gate == "elementwise" else heads if gate == "headwise" else 0
    v = kv * (1 - _flag(s, K_EQ_V))
    return (
        (h + bias) * (q + kv + v + gate_width)
        + q * h
        + _flag(s, OUTPUT_BIAS) * h
        + _qk_norm(s, kv_heads)
        + _flag(s, ATTENTION_SINKS) * heads
    )


def _mha(s: Mapping[str, Any]) -> Any:
    return _attention(s, s["num_heads"])


def _gqa(s: Mapping[str, Any]) -> Any:
    return _attention(s, s["num_kv_heads"])


def _kv_cache(s: Mapping[str, Any], kv_heads: Any) -> Any:
    """Elements cached per token: K and V of each KV head; none for a layer reading another's cache."""
    return 2 * kv_heads * s["head_dim"] * (1 - _flag(s, KV_SHARED))


def _mla(s: Mapping[str, Any]) -> Any:
    h, heads = s["hidden_size"], s["num_heads"]
    qk_head = s["qk_nope_head_dim"] + s["qk_rope_head_dim"]
    kv_down = s["kv_lora_rank"] + s["qk_rope_head_dim"]
    if "q_lora_rank" in s:
        q = h * s["q_lora_rank"] + s["q_lora_rank"] + s["q_lora_rank"] * heads * qk_head
        q_bias = s["q_lora_rank"]
    else:
        q, q_bias = h * heads * qk_head, 0
    kv = h * kv_down + s["kv_lora_rank"] + s["kv_lora_rank"] * heads * (s["qk_nope_head_dim"] + s["v_head_dim"])
    out = heads * s["v_head_dim"] * h
    return q + kv + out + _flag(s, ATTENTION_BIAS) * (q_bias + kv_down + h)


def _mlp(s: Mapping[str, Any]) -> Any:
    return 2 * s["hidden_size"] * s["intermediate_size"] + _flag(s, MLP_BIAS) * (
        s["intermediate_size"] + s["hidden_size"]
    )


def _gated_mlp(s: Mapping[str, Any]) -> Any:
    return 3 * s["hidden_size"] * s["intermediate_size"] + _flag(s, MLP_BIAS) * (
        2 * s["intermediate_size"] + s["hidden_size"]
    )


def _moe(s: Mapping[str, Any], experts: Any = None) -> Any:
    h, e, inner = s["hidden_size"], s["num_experts"], s["moe_intermediate_size"]
    if experts is None:
        experts = s.get(LOCAL_EXPERTS, e)
    width = s.get(MOE_LATENT_SIZE.name, h)  # what the routed experts read and write
    projections = 2 + _flag(s, GATED_EXPERTS)
    bias = _flag(s, EXPERT_BIAS) * ((projections - 1) * inner + width)
    routed = experts * (projections * width * inner + bias)
    router = h * e + _flag(s, ROUTER_BIAS) * e
    shared_inner = s.get("shared_expert_intermediate_size", 0)
    shared = projections * h * shared_inner + _flag(s, SHARED_EXPERT_GATE) * h
    # mlp_bias: biases on the shared expert's and the latent projections (Nemotron-H), never on routed experts.
    mlp_bias = _flag(s, MLP_BIAS)
    if "shared_expert_intermediate_size" in s:
        shared = shared + mlp_bias * ((projections - 1) * shared_inner + h)
    if MOE_LATENT_SIZE.name in s:
        shared = shared + 2 * h * width + mlp_bias * (width + h)
    return routed + router + shared


def _attention_flops(s: Mapping[str, Any]) -> Any:
    """Attention FLOPs per token per token of context when keys and values are head_dim wide."""
    return 2 * s["num_heads"] * 2 * s["head_dim"]


def _active_experts(formula: Callable[..., Any]) -> Formula:
    """A MoE formula (taking ``experts``) with the num_experts_per_tok routed experts one token uses."""
    return lambda s: formula(s, experts=s["num_experts_per_tok"])


def _conv_window(kernel: Any, channels: Any) -> Any:
    """Elements a causal convolution caches per sequence: the last kernel − 1 inputs of each channel."""
    return (kernel - 1) * channels


# Shared by the attention classes here and in layer_classes: required specs and shards.
GQA_REQUIRED = (HIDDEN_SIZE, NUM_HEADS, NUM_KV_HEADS, HEAD_DIM)
GQA_SHARDS = (Shard("num_heads", "tp"), Shard("num_kv_heads", "tp", "kv_heads"))

# Family builders, here and in layer_classes: a LayerClass with the fields its family shares (a class may
# still give any of them).
attention_class = functools.partial(
    LayerClass,
    kind=LayerKind.ATTENTION,
    parallelism=(Parallelism.TENSOR, Parallelism.CONTEXT),
    attention_flops=_attention_flops,
)
gqa_class = functools.partial(
    attention_class, divisors=(("num_heads", "num_kv_heads"),), required=GQA_REQUIRED, shards=GQA_SHARDS
)
# Sequence mixers in attention's place that cache a per-sequence state, not keys and values (Mamba, linear
# attention): split by tensor parallelism alone.
mixer_class = functools.partial(LayerClass, kind=LayerKind.ATTENTION, parallelism=(Parallelism.TENSOR,))
_dense_mlp_class = functools.partial(
    LayerClass,
    kind=LayerKind.FEEDFORWARD,
    required=(HIDDEN_SIZE, INTERMEDIATE_SIZE),
    optional=(MLP_BIAS,),
    parallelism=(Parallelism.TENSOR, Parallelism.SEQUENCE),
    shards=(Shard("intermediate_size", "tp"),),
)
# The token embedding and the output head: vocab_size rows, split by tensor parallelism.
_vocab_class = functools.partial(
    LayerClass,
    required=(VOCAB_SIZE, HIDDEN_SIZE),
    parallelism=(Parallelism.TENSOR,),
    shards=(Shard("vocab_size", "tp", "ceil"),),
)


def moe_class(
    name: str, description: str, formula: Callable[..., Any], formula_text: str, optional: tuple[Spec, ...] = ()
) -> LayerClass:
    """A mixture-of-experts class whose ``formula`` takes ``experts``: one token uses num_experts_per_tok."""
    return LayerClass(
        name=name,
        kind=LayerKind.FEEDFORWARD,
        description=description,
        required=(HIDDEN_SIZE, NUM_EXPERTS, NUM_EXPERTS_PER_TOK, MOE_INTERMEDIATE_SIZE),
        optional=optional,
        parallelism=(Parallelism.TENSOR, Parallelism.EXPERT),
        shards=(
            Shard("moe_intermediate_size", "tp"),
            Shard("shared_expert_intermediate_size", "tp"),
            Shard("num_experts", "ep", into=LOCAL_EXPERTS),
        ),
        formula=formula,
        formula_text=formula_text,
        active_formula=_active_experts(formula),
        active_formula_text="as the total, with num_experts_per_tok routed experts instead of num_experts",
    )


_ATTENTION_OPTIONS = (
    SLIDING_WINDOW,
    ATTENTION_CHUNK_SIZE,
    QKV_BIAS,
    OUTPUT_BIAS,
    QK_NORM,
    OUTPUT_GATE,
    ATTENTION_SINKS,
    K_EQ_V,
    NO_ROPE,
    KV_SHARED,
)
register(
    attention_class(
        name="AttentionLayer",
        description="Vanilla multi-head attention (MHA).",
        required=(HIDDEN_SIZE, NUM_HEADS, HEAD_DIM),
        optional=_ATTENTION_OPTIONS,
        shards=(Shard("num_heads", "tp"),),
        kv_elements=lambda s: _kv_cache(s, s["num_heads"]),
        formula=_mha,
        formula_text="4 · hidden_size · num_heads · head_dim (Q, K, V and output projections)" + _ATTENTION_EXTRAS_TEXT,
    )
)
register(
    gqa_class(
        name="GroupedQueryAttentionLayer",
        description="Grouped query attention (GQA).",
        optional=_ATTENTION_OPTIONS,
        kv_elements=lambda s: _kv_cache(s, s["num_kv_heads"]),
        formula=_gqa,
        formula_text=(
            "hidden_size · num_heads · head_dim (Q) + 2 · hidden_size · num_kv_heads · head_dim (K, V)"
            " + num_heads · head_dim · hidden_size (output)" + _ATTENTION_EXTRAS_TEXT
        ),
    )
)
register(
    _dense_mlp_class(
        name="MLPLayer",
        description="Standard 2-projection MLP.",
        formula=_mlp,
        formula_text=(
            "2 · hidden_size · intermediate_size (up and down projections)"
            " + with mlp_bias, intermediate_size + hidden_size"
        ),
    )
)
register(
    _dense_mlp_class(
        name="GatedMLPLayer",
        description="3-projection gated MLP (SwiGLU).",
        formula=_gated_mlp,
        formula_text=(
            "3 · hidden_size · intermediate_size (gate, up and down projections)"
            " + with mlp_bias, 2 · intermediate_size + hidden_size"
        ),
    )
)
register(
    LayerClass(
        name="NormLayer",
        kind=LayerKind.NORM,
        description="LayerNorm or RMSNorm; typically replicated.",
        required=(HIDDEN_SIZE, HAS_BIAS),
        optional=(ELEMENTWISE_AFFINE,),
        formula=lambda s: s["hidden_size"] * (1 + (s["has_bias"] * 1)) * _flag(s, ELEMENTWISE_AFFINE),
        formula_text=(
            "hidden_size, or 2 · hidden_size with has_bias (scale and bias); 0 when elementwise_affine is false"
        ),
    )
)
register(
    _vocab_class(
        name="EmbeddingLayer",
        kind=LayerKind.EMBEDDING,
        description="Token embeddings (or an untied output head).",
        formula=lambda s: s["vocab_size"] * s["hidden_size"],
        formula_text="vocab_size · hidden_size",
    )
)
register(
    _vocab_class(
        name="OutputHeadLayer",
        kind=LayerKind.OUTPUT_HEAD,
        description="The output projection to the vocabulary (lm_head); tied when it reuses the token embedding.",
        optional=(TIE_WORD_EMBEDDINGS, LM_HEAD_BIAS),
        formula=lambda s: (
            s["vocab_size"] * s["hidden_size"] * (1 - _flag(s, TIE_WORD_EMBEDDINGS))
            + _flag(s, LM_HEAD_BIAS) * s["vocab_size"]
        ),
        formula_text=(
            "vocab_size · hidden_size; 0 with tie_word_embeddings (counted once, in the embedding)"
            " + with lm_head_bias, vocab_size"
        ),
    )
)
register(
    LayerClass(
        name="PositionEmbeddingLayer",
        kind=LayerKind.POSITION_EMBEDDING,
        description="Learned absolute position embeddings (GPT-2).",
        required=(MAX_POSITION_EMBEDDINGS, HIDDEN_SIZE),
        formula=lambda s: s["max_position_embeddings"] * s["hidden_size"],
        formula_text="max_position_embeddings · hidden_size",
    )
)
register(
    moe_class(
        name="MoELayer",
        description=(
            "Mixture of experts: a router picks num_experts_per_tok of num_experts gated MLPs per token; "
            "optionally a shared expert every token uses (Mixtral, Qwen-MoE, DeepSeek-V3)."
        ),
        optional=(
            SHARED_EXPERT_INTERMEDIATE_SIZE,
            SHARED_EXPERT_GATE,
            ROUTER_BIAS,
            EXPERT_BIAS,
            GATED_EXPERTS,
            MOE_LATENT_SIZE,
            MLP_BIAS,
        ),
        formula=_moe,
        formula_text=(
            "num_experts · 3 · hidden_size · moe_intermediate_size (routed experts)"
            " + hidden_size · num_experts (router; + num_experts with router_bias)"
            " + 3 · hidden_size · shared_expert_intermediate_size (shared expert)"
            " + with shared_expert_gate, hidden_size; with expert_bias, + num_experts · (2 · "
            "moe_intermediate_size + hidden_size); gated_experts false: 2 instead of 3 projections (and "
            "moe_intermediate_size + hidden_size biases); with moe_latent_size, the routed experts (and their "
            "biases) use moe_latent_size for hidden_size, + 2 · hidden_size · moe_latent_size (latent "
            "projections); with mlp_bias, + the shared expert's biases (2 or 1 · shared_expert_intermediate_size "
            "+ hidden_size) and the latent projections' (moe_latent_size + hidden_size)"
        ),
    )
)
register(
    attention_class(
        name="MultiHeadLatentAttentionLayer",
        description="Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values through low-rank latents.",
        required=(HIDDEN_SIZE, NUM_HEADS, KV_LORA_RANK, QK_NOPE_HEAD_DIM, QK_ROPE_HEAD_DIM, V_HEAD_DIM),
        optional=(Q_LORA_RANK, ATTENTION_BIAS),
        order=(
            "hidden_size",
            "num_heads",
            "q_lora_rank",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
            "attention_bias",
        ),
        # The latent is shared by all heads: every tensor-parallel rank caches all of it.
        shards=(Shard("num_heads", "tp"),),
        kv_elements=lambda s: s["kv_lora_rank"] + s["qk_rope_head_dim"],
        attention_flops=lambda s: (
            2 * s["num_heads"] * (s["qk_nope_head_dim"] + s["qk_rope_head_dim"] + s["v_head_dim"])
        ),
        formula=_mla,
        formula_text=(
            "queries: hidden_size · q_lora_rank + q_lora_rank (latent norm) + q_lora_rank · num_heads · "
            "(qk_nope_head_dim + qk_rope_head_dim), or hidden_size · num_heads · (qk_nope_head_dim + "
            "qk_rope_head_dim) without q_lora_rank; keys and values: hidden_size · (kv_lora_rank + "
            "qk_rope_head_dim) + kv_lora_rank (latent norm) + kv_lora_rank · num_heads · (qk_nope_head_dim + "
            "v_head_dim); output: num_heads · v_head_dim · hidden_size; with attention_bias, + q_lora_rank + "
            "kv_lora_rank + qk_rope_head_dim + hidden_size"
        ),
    )
)

register(
    LayerClass(
        name="MultiTokenPredictionLayer",
        kind=LayerKind.MULTI_TOKEN_PREDICTION,
        description=(
            "The glue of one multi-token-prediction module (DeepSeek-V3, GLM-4.5): norms of the embedding and of "
            "the hidden state (enorm, hnorm), their projection back to the model width (eh_proj) and the "
            "shared head's norm. The module's decoder layer, embedding and head are layer types of their own "
            "with mtp true."
        ),
        required=(HIDDEN_SIZE,),
        formula=lambda s: 2 * s["hidden_size"] * s["hidden_size"] + 3 * s["hidden_size"],
        formula_text="2 · hidden_size · hidden_size (eh_proj) + 3 · hidden_size (enorm, hnorm, the shared head's norm)",
    )
)


def _load_more() -> None:
    from registry.core import layer_classes

    layer_classes.load()


_load_more()
