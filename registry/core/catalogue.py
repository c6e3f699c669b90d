"""The layer-class catalogue: each class's specs, parallelism and parameter formula.

Adding a layer class is one ``register(LayerClass(...))`` call in this module.
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


class SpecKind(enum.StrEnum):
    """The JSON type a spec value must have."""

    POSITIVE_INT = "positive_integer"
    NON_NEGATIVE_INT = "non_negative_integer"
    BOOL = "boolean"


@dataclass(frozen=True)
class Spec:
    """One named value in a layer type's ``specs``."""

    name: str
    kind: SpecKind
    description: str


# Keys any layer type's specs may carry besides its class's own: metadata, not architecture.
LAYER_IDX = Spec("layer_idx", SpecKind.NON_NEGATIVE_INT, "Index of a representative layer.")
PARAMETER_COUNT = Spec("parameter_count", SpecKind.POSITIVE_INT, "Parameters of one layer of this type (derived).")
METADATA_SPECS: tuple[Spec, ...] = (LAYER_IDX, PARAMETER_COUNT)

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
    # True for classes a decoder has once per layer (attention, MLP): their count should be num_layers.
    per_decoder_layer: bool = False
    # Spec names in the order a document writes them; defaults to required then optional.
    order: tuple[str, ...] = field(default=())

    @functools.cached_property
    def specs(self) -> tuple[Spec, ...]:
        """Every spec of this class in document order, metadata excluded."""
        by_name = {s.name: s for s in (*self.required, *self.optional)}
        names = self.order or tuple(by_name)
        return tuple(by_name[n] for n in names)

    @functools.cached_property
    def required_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.required)

    @functools.cached_property
    def allowed(self) -> dict[str, Spec]:
        """Every key the specs of this class may hold, metadata included."""
        return {s.name: s for s in (LAYER_IDX, *self.specs, PARAMETER_COUNT)}

    def parameter_count(self, specs: Mapping[str, Any]) -> int:
        """Parameters of one layer with these specs (exact, Python integers)."""
        return int(self.formula(specs))


_CATALOGUE: dict[str, LayerClass] = {}


def register(layer_class: LayerClass) -> LayerClass:
    """Add a class to the catalogue."""
    if layer_class.name in _CATALOGUE:
        raise ValueError(f"layer class {layer_class.name!r} is already registered")
    missing = set(layer_class.order) ^ {s.name for s in (*layer_class.required, *layer_class.optional)}
    if layer_class.order and missing:
        raise ValueError(f"order of {layer_class.name!r} does not list exactly its specs: {sorted(missing)}")
    _CATALOGUE[layer_class.name] = layer_class
    return layer_class


def get(name: str) -> LayerClass | None:
    """The class called ``name``, or None."""
    return _CATALOGUE.get(name)


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


register(
    LayerClass(
        name="AttentionLayer",
        per_decoder_layer=True,
        description="Vanilla multi-head attention (MHA).",
        required=(HIDDEN_SIZE, NUM_HEADS, HEAD_DIM),
        optional=(SLIDING_WINDOW,),
        parallelism=(Parallelism.TENSOR, Parallelism.CONTEXT),
        formula=lambda s: 4 * s["hidden_size"] * s["num_heads"] * s["head_dim"],
        formula_text="4 · hidden_size · num_heads · head_dim (Q, K, V and output projections)",
    )
)
register(
    LayerClass(
        name="GroupedQueryAttentionLayer",
        per_decoder_layer=True,
        description="Grouped query attention (GQA).",
        required=(HIDDEN_SIZE, NUM_HEADS, NUM_KV_HEADS, HEAD_DIM),
        optional=(SLIDING_WINDOW,),
        parallelism=(Parallelism.TENSOR, Parallelism.CONTEXT),
        formula=lambda s: (
            s["hidden_size"] * s["num_heads"] * s["head_dim"]
            + 2 * s["hidden_size"] * s["num_kv_heads"] * s["head_dim"]
            + s["num_heads"] * s["head_dim"] * s["hidden_size"]
        ),
        formula_text=(
            "hidden_size · num_heads · head_dim (Q) + 2 · hidden_size · num_kv_heads · head_dim (K, V)"
            " + num_heads · head_dim · hidden_size (output)"
        ),
    )
)
register(
    LayerClass(
        name="MLPLayer",
        per_decoder_layer=True,
        description="Standard 2-projection MLP.",
        required=(HIDDEN_SIZE, INTERMEDIATE_SIZE),
        parallelism=(Parallelism.TENSOR, Parallelism.SEQUENCE),
        formula=lambda s: 2 * s["hidden_size"] * s["intermediate_size"],
        formula_text="2 · hidden_size · intermediate_size (up and down projections)",
    )
)
register(
    LayerClass(
        name="GatedMLPLayer",
        per_decoder_layer=True,
        description="3-projection gated MLP (SwiGLU).",
        required=(HIDDEN_SIZE, INTERMEDIATE_SIZE),
        parallelism=(Parallelism.TENSOR, Parallelism.SEQUENCE),
        formula=lambda s: 3 * s["hidden_size"] * s["intermediate_size"],
        formula_text="3 · hidden_size · intermediate_size (gate, up and down projections)",
    )
)
register(
    LayerClass(
        name="NormLayer",
        description="LayerNorm or RMSNorm; typically replicated.",
        required=(HIDDEN_SIZE, HAS_BIAS),
        formula=lambda s: s["hidden_size"] * (1 + (s["has_bias"] * 1)),
        formula_text="hidden_size, or 2 · hidden_size with has_bias (scale and bias)",
    )
)
register(
    LayerClass(
        name="EmbeddingLayer",
        description="Token embeddings (or an untied output head).",
        required=(VOCAB_SIZE, HIDDEN_SIZE),
        parallelism=(Parallelism.TENSOR,),
        formula=lambda s: s["vocab_size"] * s["hidden_size"],
        formula_text="vocab_size · hidden_size",
    )
)
