"""The layer-class catalogue: the six classes of the format, their specs, and their formulas."""

from __future__ import annotations

import numpy as np
import pytest

from registry.core import catalogue, validate_config
from registry.core.catalogue import HIDDEN_SIZE, LayerClass, Parallelism, Spec, SpecKind
from tests.conftest import HAND_CLASSES, PUBLISHED, fixture_document, hand_parameter_count, in_total, small_config

# The format document's "Layer Classes" section, transcribed.
FORMAT_CLASSES = {
    "AttentionLayer": ({"hidden_size", "num_heads", "head_dim"}, {"tensor_parallel", "context_parallel"}),
    "GroupedQueryAttentionLayer": (
        {"hidden_size", "num_heads", "num_kv_heads", "head_dim"},
        {"tensor_parallel", "context_parallel"},
    ),
    "MLPLayer": ({"hidden_size", "intermediate_size"}, {"tensor_parallel", "sequence_parallel"}),
    "GatedMLPLayer": ({"hidden_size", "intermediate_size"}, {"tensor_parallel", "sequence_parallel"}),
    "NormLayer": ({"hidden_size", "has_bias"}, set()),
    "EmbeddingLayer": ({"vocab_size", "hidden_size"}, {"tensor_parallel"}),
}
# The architectures issue's classes, after the format's six.
EXTENSION_CLASSES = {
    "OutputHeadLayer": ({"vocab_size", "hidden_size"}, {"tensor_parallel"}),
    "PositionEmbeddingLayer": ({"max_position_embeddings", "hidden_size"}, set()),
    "MoELayer": (
        {"hidden_size", "num_experts", "num_experts_per_tok", "moe_intermediate_size"},
        {"tensor_parallel", "expert_parallel"},
    ),
    "MultiHeadLatentAttentionLayer": (
        {"hidden_size", "num_heads", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"},
        {"tensor_parallel", "context_parallel"},
    ),
}
ALL_CLASSES = {**FORMAT_CLASSES, **EXTENSION_CLASSES}


def test_catalogue_holds_the_formats_six_classes_then_the_extensions():
    """The catalogue names the six classes of the format, in its order, then the architectures' classes."""
    assert catalogue.names()[: len(ALL_CLASSES)] == list(ALL_CLASSES)
    assert [c.name for c in catalogue.classes()] == catalogue.names()


@pytest.mark.parametrize("name", list(ALL_CLASSES))
def test_each_class_requires_the_formats_specs_and_supports_its_parallelism(name):
    """Required specs and parallelism follow the format document."""
    required, parallelism = ALL_CLASSES[name]
    layer_class = catalogue.get(name)
    assert layer_class.required_names == required
    assert {p.value for p in layer_class.parallelism} == parallelism
    assert layer_class.formula_text and layer_class.description


def test_get_returns_none_for_an_unknown_or_miscased_name():
    """Lookup is exact."""
    assert catalogue.get("NoSuchLayer") is None
    assert catalogue.get("normlayer") is None


def test_allowed_keys_are_metadata_around_the_class_specs():
    """Any class's specs may carry layer_idx and parameter_count besides its own specs, in document order."""
    gqa = catalogue.get("GroupedQueryAttentionLayer")
    assert list(gqa.allowed) == [
        "layer_idx",
        "mtp",
        "hidden_size",
        "num_heads",
        "num_kv_heads",
        "head_dim",
        "sliding_window",
        "attention_chunk_size",
        "qkv_bias",
        "output_bias",
        "qk_norm",
        "output_gate",
        "attention_sinks",
        "k_eq_v",
        "no_rope",
        "kv_shared",
        "parameter_count",
    ]
    assert list(catalogue.get("EmbeddingLayer").allowed) == [
        "layer_idx",
        "mtp",
        "vocab_size",
        "hidden_size",
        "parameter_count",
    ]


def test_spec_kinds_are_typed():
    """Every flag (of any class) has a default, as every choice does; the format's classes' specs are typed as the
    format says: layer_idx and parameter_count may be 0, the other integers are positive."""
    every = {s.name: s for c in catalogue.classes() for s in c.allowed.values()}
    assert all(s.default is not None for n, s in every.items() if s.kind is SpecKind.BOOL and n != "has_bias")
    assert all(s.default in s.choices for s in every.values() if s.kind is SpecKind.CHOICE)
    specs = {s.name: s for name in ALL_CLASSES for s in catalogue.get(name).allowed.values()}
    assert specs["qk_norm"].kind is SpecKind.CHOICE
    assert specs["qk_norm"].choices == ("none", "per_head", "across_heads")
    assert specs["has_bias"].kind is SpecKind.BOOL and specs["has_bias"].default is None
    non_negative = {n for n, s in specs.items() if s.kind is SpecKind.NON_NEGATIVE_INT}
    # A zero-width shared expert is what transformers builds for qwen2_moe's shared_expert_intermediate_size 0.
    assert non_negative == {"layer_idx", "parameter_count", "shared_expert_intermediate_size"}
    for name in ("hidden_size", "num_heads", "num_kv_heads", "head_dim", "intermediate_size", "vocab_size"):
        assert specs[name].kind is SpecKind.POSITIVE_INT


def test_register_rejects_a_spec_name_that_means_something_else_elsewhere(monkeypatch):
    """One spec name, one meaning: the admin and the schema show one field per name."""
    monkeypatch.setattr(catalogue, "_CATALOGUE", dict(catalogue._CATALOGUE))
    other = Spec("hidden_size", SpecKind.BOOL, "not a width")
    with pytest.raises(ValueError, match="hidden_size"):
        catalogue.register(
            LayerClass(name="OddLayer", description="", required=(other,), formula=lambda s: 1, formula_text="1")
        )


# ---- formulas against hand computation ---------------------------------------------------------------

FORMULA_CASES = [
    # class, specs, the count worked by hand from the formulas
    ("AttentionLayer", {"hidden_size": 8, "num_heads": 2, "head_dim": 4}, 4 * 8 * 2 * 4),  # 4·h·H·d
    ("AttentionLayer", {"hidden_size": 4096, "num_heads": 32, "head_dim": 128}, 67108864),
    (
        "GroupedQueryAttentionLayer",
        {"hidden_size": 8, "num_heads": 4, "num_kv_heads": 2, "head_dim": 3},
        8 * 4 * 3 + 2 * 8 * 2 * 3 + 4 * 3 * 8,  # h·H·d + 2·h·KV·d + H·d·h = 96 + 96 + 96
    ),
    (
        "GroupedQueryAttentionLayer",
        {"hidden_size": 8192, "num_heads": 64, "num_kv_heads": 8, "head_dim": 128},
        150994944,
    ),
    ("MLPLayer", {"hidden_size": 10, "intermediate_size": 40}, 800),  # 2·h·I
    ("GatedMLPLayer", {"hidden_size": 10, "intermediate_size": 40}, 1200),  # 3·h·I
    ("GatedMLPLayer", {"hidden_size": 8192, "intermediate_size": 28672}, 704643072),
    ("NormLayer", {"hidden_size": 10, "has_bias": False}, 10),  # h
    ("NormLayer", {"hidden_size": 10, "has_bias": True}, 20),  # 2h
    ("EmbeddingLayer", {"vocab_size": 100, "hidden_size": 10}, 1000),  # V·h
    ("EmbeddingLayer", {"vocab_size": 128256, "hidden_size": 8192}, 1050673152),
]


@pytest.mark.parametrize(("name", "specs", "by_hand"), FORMULA_CASES)
def test_each_formula_matches_the_hand_computation(name, specs, by_hand):
    """Each class counts parameters by the issue's formula."""
    assert hand_parameter_count(name, specs) == by_hand
    assert catalogue.get(name).parameter_count(specs) == by_hand


@pytest.mark.parametrize("name", ["AttentionLayer", "GroupedQueryAttentionLayer"])
def test_sliding_window_does_not_change_the_attention_count(name):
    """sliding_window is optional and adds no parameters."""
    specs = {"hidden_size": 64, "num_heads": 8, "num_kv_heads": 2, "head_dim": 8}
    if name == "AttentionLayer":
        del specs["num_kv_heads"]
    layer_class = catalogue.get(name)
    assert layer_class.parameter_count({**specs, "sliding_window": 4096}) == layer_class.parameter_count(specs)


def test_gqa_with_as_many_kv_heads_as_heads_counts_as_mha():
    """GQA with num_kv_heads == num_heads is MHA: the two formulas agree."""
    specs = {"hidden_size": 512, "num_heads": 8, "head_dim": 64}
    gqa = catalogue.get("GroupedQueryAttentionLayer").parameter_count({**specs, "num_kv_heads": 8})
    assert gqa == catalogue.get("AttentionLayer").parameter_count(specs)


@pytest.mark.parametrize(("name", "specs", "by_hand"), FORMULA_CASES)
def test_each_formula_runs_on_numpy_columns(name, specs, by_hand):
    """The same formula evaluates one numpy column per spec, row by row equal to the Python result."""
    columns = {k: np.asarray([v, v], dtype=np.int64) for k, v in specs.items()}
    assert np.asarray(catalogue.get(name).formula(columns)).tolist() == [by_hand, by_hand]


@pytest.mark.parametrize("model_id", sorted(PUBLISHED))
def test_fixture_totals_equal_the_published_figures(model_id):
    """Hand formulas over each fixture's specs give the published total; the catalogue gives the same."""
    doc = fixture_document(model_id)
    rows = [lt for lt in doc["layer_types"] if in_total(lt)]
    by_code = sum(lt["count"] * catalogue.get(lt["class"]).parameter_count(lt["specs"]) for lt in rows)
    published, formatted = PUBLISHED[model_id]
    assert by_code == published
    assert doc["total_params"] == published
    assert doc["total_params_formatted"] == formatted
    # Where conftest writes the class's formula by hand, it agrees (the 2026 classes are checked against
    # transformers instead: tests/test_hf_oracle.py).
    if all(lt["class"] in HAND_CLASSES for lt in doc["layer_types"]):
        assert sum(lt["count"] * hand_parameter_count(lt["class"], lt["specs"]) for lt in rows) == published
        for lt in doc["layer_types"]:
            assert lt["specs"]["parameter_count"] == hand_parameter_count(lt["class"], lt["specs"]), lt["name"]


def test_fixture_figures_match_the_format_documents_descriptions():
    """Worked by hand for Llama 3.3 70B: the figure the format document's example omits lm_head from."""
    doc = fixture_document("meta-llama_Llama-3.3-70B-Instruct")
    h, layers, vocab = 8192, 80, 128256
    attention = h * 64 * 128 + 2 * h * 8 * 128 + 64 * 128 * h
    mlp = 3 * h * 28672
    norms = (2 * layers + 1) * h
    embeddings = 2 * vocab * h  # input embedding and untied lm_head
    assert layers * (attention + mlp) + norms + embeddings == 70553706496 == doc["total_params"]


# ---- suggestions and registration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("GroupedQueryAttentionLayr", "GroupedQueryAttentionLayer"),
        ("gatedmlplayer", "GatedMLPLayer"),
        ("Attention", "AttentionLayer"),
        ("XYZ", None),
    ],
)
def test_suggest_names_the_nearest_class(word, expected):
    """suggest() finds the nearest name, case-insensitively as a fallback, or nothing."""
    assert catalogue.suggest(word, catalogue.names()) == expected


def test_register_rejects_a_name_already_taken():
    """A class name is registered once."""
    with pytest.raises(ValueError, match="already registered"):
        catalogue.register(catalogue.get("NormLayer"))


def test_register_rejects_an_order_that_does_not_list_exactly_the_specs(monkeypatch):
    """A class's document order must name each of its specs."""
    monkeypatch.setattr(catalogue, "_CATALOGUE", dict(catalogue._CATALOGUE))
    bad = LayerClass(
        name="BadLayer",
        description="",
        required=(HIDDEN_SIZE,),
        formula=lambda s: s["hidden_size"],
        formula_text="h",
        order=("hidden_size", "extra"),
    )
    with pytest.raises(ValueError, match="extra"):
        catalogue.register(bad)
    assert catalogue.get("BadLayer") is None


def test_a_registered_class_is_usable_by_validation_at_once(monkeypatch):
    """Adding a class is one register() call: validation then accepts it and counts it by its formula."""
    monkeypatch.setattr(catalogue, "_CATALOGUE", dict(catalogue._CATALOGUE))
    experts = Spec("num_banks", SpecKind.POSITIVE_INT, "Experts per layer.")
    intermediate = catalogue.INTERMEDIATE_SIZE
    catalogue.register(
        LayerClass(
            name="MoEMLPLayer",
            description="Mixture of gated experts.",
            required=(HIDDEN_SIZE, intermediate, experts),
            formula=lambda s: (
                s["num_banks"] * 3 * s["hidden_size"] * s["intermediate_size"] + s["hidden_size"] * s["num_banks"]
            ),
            formula_text="E · 3 · h · I + h · E (experts and router)",
            parallelism=(Parallelism.TENSOR,),
        )
    )
    doc = small_config()
    doc["layer_types"][1] = {
        "name": "moe",
        "class": "MoEMLPLayer",
        "count": 2,
        "specs": {"hidden_size": 64, "intermediate_size": 32, "num_banks": 4},
    }
    result = validate_config(doc)
    assert result.ok, result.errors
    assert result.config.layer_types[1].parameter_count == 4 * 3 * 64 * 32 + 64 * 4
    assert "MoEMLPLayer" in catalogue.names()
