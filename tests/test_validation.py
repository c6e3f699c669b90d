"""The one validator: every rule of the format, each broken on purpose, reported by loc and code."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from registry.core import Code, format_params, validate_config
from registry.core.validation import REQUIRED_TOP_LEVEL
from tests.conftest import (
    HAND_CLASSES,
    PUBLISHED,
    SPEC_EXAMPLE,
    SPEC_KEY_ORDER,
    fixture_document,
    hand_parameter_count,
    hand_total,
    issues,
    small_config,
)

SIX_CLASSES = HAND_CLASSES[:6]  # the format's own classes
# Positions of the layer types in small_config().
ATTN, MLP, NORM, EMB, HEAD = 0, 1, 2, 3, 4


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets the value at a dotted path (list indexes as numbers)."""

    def mutate(doc: dict) -> None:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        node: Any = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _del(path: str) -> Callable[[dict], None]:
    """A mutation that deletes the key at a dotted path."""

    def mutate(doc: dict) -> None:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        node: Any = doc
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _broken(*mutations: Callable[[dict], None]) -> dict:
    doc = small_config()
    for mutate in mutations:
        mutate(doc)
    return doc


def test_small_config_is_valid():
    """The builder's document passes, so each broken variant below fails only for its own reason."""
    result = validate_config(small_config())
    assert result.ok, result.errors
    assert result.errors == []
    assert result.config is not None


# ---- types ---------------------------------------------------------------------------------------

BAD_POSITIVE_INTEGERS = [
    pytest.param(True, Code.NOT_AN_INTEGER, id="true"),
    pytest.param(False, Code.NOT_AN_INTEGER, id="false"),
    pytest.param(32.5, Code.NOT_AN_INTEGER, id="32.5"),
    pytest.param(32.0, Code.NOT_AN_INTEGER, id="32.0"),
    pytest.param("32", Code.NOT_AN_INTEGER, id="string"),
    pytest.param(None, Code.NOT_AN_INTEGER, id="null"),
    pytest.param([32], Code.NOT_AN_INTEGER, id="list"),
    pytest.param(0, Code.NOT_POSITIVE, id="0"),
    pytest.param(-1, Code.NOT_POSITIVE, id="-1"),
    pytest.param(2**63, Code.TOO_LARGE, id="2**63"),
]
POSITIVE_INTEGER_PLACES = [
    "hidden_size",
    "num_layers",
    "vocab_size",
    "total_params",
    f"layer_types.{ATTN}.count",
    f"layer_types.{ATTN}.specs.hidden_size",
    f"layer_types.{ATTN}.specs.num_heads",
    f"layer_types.{ATTN}.specs.num_kv_heads",
    f"layer_types.{ATTN}.specs.head_dim",
    f"layer_types.{ATTN}.specs.sliding_window",
    f"layer_types.{MLP}.specs.intermediate_size",
    f"layer_types.{EMB}.specs.vocab_size",
]


def _loc(path: str) -> str:
    """``layer_types.0.specs.x`` written as the validator writes locations: ``layer_types[0].specs.x``."""
    parts = path.split(".")
    out = parts[0]
    for part in parts[1:]:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


@pytest.mark.parametrize("place", POSITIVE_INTEGER_PLACES)
@pytest.mark.parametrize(("value", "code"), BAD_POSITIVE_INTEGERS)
def test_rejects_a_size_or_count_that_is_not_a_positive_bigint(place, value, code):
    """Sizes, counts and derived counts must be JSON integers from 1 to 2**63-1: one error at that place."""
    result = validate_config(_broken(_set(place, value)))
    assert issues(result) == [(_loc(place), code)]
    assert result.config is None


def test_accepts_the_largest_bigint_for_a_size():
    """2**63-1 fits a bigint: it is not too_large (the derived total may be, which is another rule)."""
    doc = small_config(num_layers=2**63 - 1)
    result = validate_config(doc)
    assert (("num_layers", Code.TOO_LARGE)) not in issues(result)


@pytest.mark.parametrize(
    ("value", "code"), [(-1, Code.NEGATIVE), (0.5, Code.NOT_AN_INTEGER), ("0", Code.NOT_AN_INTEGER)]
)
def test_rejects_a_layer_idx_that_is_not_a_non_negative_integer(value, code):
    """layer_idx may be 0 but not negative or a non-integer."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.specs.layer_idx", value)))
    assert issues(result) == [(f"layer_types[{ATTN}].specs.layer_idx", code)]


@pytest.mark.parametrize("value", [0, 1, "false", "true", None, [False]])
def test_rejects_has_bias_that_is_not_a_boolean(value):
    """has_bias must be JSON true or false; 0 and "false" are not booleans."""
    result = validate_config(_broken(_set(f"layer_types.{NORM}.specs.has_bias", value)))
    assert issues(result) == [(f"layer_types[{NORM}].specs.has_bias", Code.NOT_A_BOOLEAN)]


@pytest.mark.parametrize("value", [0, "true", None])
def test_rejects_validated_that_is_not_a_boolean(value):
    """The top-level validated flag must be a boolean."""
    result = validate_config(small_config(validated=value))
    assert issues(result) == [("validated", Code.NOT_A_BOOLEAN)]


@pytest.mark.parametrize(
    ("place", "value", "code"),
    [
        ("model_id", "", Code.BLANK),
        ("model_id", 7, Code.NOT_A_STRING),
        ("hf_model_id", "  ", Code.BLANK),
        ("hf_model_id", None, Code.NOT_A_STRING),
        ("name", "", Code.BLANK),
        ("name", "\t ", Code.BLANK),
        ("name", ["Acme"], Code.NOT_A_STRING),
        ("name", "x" * 201, Code.TOO_LONG),
        ("validation_notes", 3, Code.NOT_A_STRING),
        ("total_params_formatted", 187.2, Code.NOT_A_STRING),
        (f"layer_types.{ATTN}.name", "", Code.BLANK),
        (f"layer_types.{ATTN}.name", 1, Code.NOT_A_STRING),
        (f"layer_types.{ATTN}.name", "a" * 101, Code.TOO_LONG),
        (f"layer_types.{ATTN}.class", None, Code.NOT_A_STRING),
        (f"layer_types.{ATTN}.class", "", Code.BLANK),
    ],
)
def test_rejects_names_that_are_not_non_empty_strings(place, value, code):
    """Ids, names and class names are non-empty strings within their length limits."""
    result = validate_config(_broken(_set(place, value)))
    assert issues(result) == [(_loc(place), code)]


def test_accepts_empty_or_null_validation_notes():
    """validation_notes is free text and may be empty or null (stored as empty)."""
    assert validate_config(small_config(validation_notes="")).ok
    result = validate_config(small_config(validation_notes=None))
    assert result.ok
    assert result.config.validation_notes == ""


@pytest.mark.parametrize("value", [[], "x", 1, None])
def test_rejects_a_top_level_that_is_not_an_object(value):
    """A document that is not a JSON object gets one error at "$"."""
    result = validate_config(value)
    assert issues(result) == [("$", Code.NOT_AN_OBJECT)]
    assert "got" in result.errors[0].msg


@pytest.mark.parametrize(("value", "code"), [({}, Code.NOT_A_LIST), ("attention", Code.NOT_A_LIST), ([], Code.EMPTY)])
def test_rejects_layer_types_that_is_not_a_non_empty_list(value, code):
    """layer_types must be a list with at least one entry."""
    result = validate_config(small_config(layer_types=value))
    assert issues(result) == [("layer_types", code)]


def test_rejects_a_layer_type_that_is_not_an_object():
    """Each entry of layer_types must be an object."""
    result = validate_config(_broken(_set(f"layer_types.{MLP}", "feedforward")))
    assert issues(result) == [(f"layer_types[{MLP}]", Code.NOT_AN_OBJECT)]


def test_rejects_specs_that_are_not_an_object():
    """A layer type's specs must be an object."""
    result = validate_config(_broken(_set(f"layer_types.{MLP}.specs", [64, 256])))
    assert issues(result) == [(f"layer_types[{MLP}].specs", Code.NOT_AN_OBJECT)]


# ---- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", REQUIRED_TOP_LEVEL)
def test_requires_each_top_level_key(key):
    """Every top-level key but the derived ones and the validation fields is required."""
    result = validate_config(_broken(_del(key)))
    assert issues(result) == [(key, Code.REQUIRED)]


def test_required_top_level_keys_are_the_formats():
    """The required keys are exactly the format's non-derived, non-optional ones."""
    derived_or_optional = {"total_params", "total_params_formatted", "validated", "validation_notes"}
    assert set(REQUIRED_TOP_LEVEL) == set(SPEC_KEY_ORDER) - derived_or_optional


def test_reports_every_missing_top_level_key_at_once():
    """An empty object reports each required key."""
    result = validate_config({})
    assert sorted(issues(result)) == sorted((key, Code.REQUIRED) for key in REQUIRED_TOP_LEVEL)


@pytest.mark.parametrize("key", ["total_params", "total_params_formatted", "validated", "validation_notes"])
def test_optional_top_level_keys_may_be_omitted(key):
    """Derived totals and the validation fields may be left out."""
    doc = _with_derived(small_config())
    del doc[key]
    assert validate_config(doc).ok


@pytest.mark.parametrize("key", ["name", "class", "count", "specs"])
def test_requires_each_layer_type_key(key):
    """Every layer type needs name, class, count and specs."""
    result = validate_config(_broken(_del(f"layer_types.{MLP}.{key}")))
    assert issues(result) == [(f"layer_types[{MLP}].{key}", Code.REQUIRED)]


@pytest.mark.parametrize(
    ("layer", "spec"),
    [
        (ATTN, "hidden_size"),
        (ATTN, "num_heads"),
        (ATTN, "num_kv_heads"),
        (ATTN, "head_dim"),
        (MLP, "hidden_size"),
        (MLP, "intermediate_size"),
        (NORM, "hidden_size"),
        (NORM, "has_bias"),
        (EMB, "vocab_size"),
        (EMB, "hidden_size"),
    ],
)
def test_requires_each_required_spec_of_the_class(layer, spec):
    """A class's required specs must all be present, reported at layer_types[i].specs.<name>."""
    result = validate_config(_broken(_del(f"layer_types.{layer}.specs.{spec}")))
    assert issues(result) == [(f"layer_types[{layer}].specs.{spec}", Code.REQUIRED)]
    assert repr(spec) in result.errors[0].msg


@pytest.mark.parametrize("cls", ["AttentionLayer", "GroupedQueryAttentionLayer"])
def test_mha_needs_no_num_kv_heads_but_gqa_does(cls):
    """AttentionLayer (MHA) has no num_kv_heads; GroupedQueryAttentionLayer requires it."""
    doc = _broken(_set(f"layer_types.{ATTN}.class", cls), _del(f"layer_types.{ATTN}.specs.num_kv_heads"))
    result = validate_config(doc)
    if cls == "AttentionLayer":
        assert result.ok, result.errors
    else:
        assert issues(result) == [(f"layer_types[{ATTN}].specs.num_kv_heads", Code.REQUIRED)]


def test_mha_rejects_num_kv_heads_as_an_unknown_spec():
    """num_kv_heads is not a spec of AttentionLayer: it is reported, not silently ignored."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.class", "AttentionLayer")))
    assert issues(result) == [(f"layer_types[{ATTN}].specs.num_kv_heads", Code.UNKNOWN_KEY)]


def test_rejects_an_unknown_spec_key_with_the_nearest_suggestion():
    """A misspelt spec key is unknown_key, and the message suggests the nearest valid key."""
    doc = _broken(_del(f"layer_types.{ATTN}.specs.num_kv_heads"), _set(f"layer_types.{ATTN}.specs.num_kv_head", 2))
    result = validate_config(doc)
    assert (f"layer_types[{ATTN}].specs.num_kv_head", Code.UNKNOWN_KEY) in issues(result)
    unknown = next(i for i in result.errors if i.code == Code.UNKNOWN_KEY)
    assert "did you mean 'num_kv_heads'" in unknown.msg
    # The real key is then also missing.
    assert (f"layer_types[{ATTN}].specs.num_kv_heads", Code.REQUIRED) in issues(result)


def test_rejects_an_unknown_top_level_key():
    """A key outside the format is reported, with the allowed keys when nothing is near."""
    result = validate_config(small_config(colour="blue"))
    assert issues(result) == [("colour", Code.UNKNOWN_KEY)]
    assert "hidden_size" in result.errors[0].msg


def test_suggests_the_nearest_top_level_key():
    """A misspelt top-level key suggests the real one, which is then reported missing."""
    doc = _broken(_del("hidden_size"), _set("hidden_sise", 64))
    result = validate_config(doc)
    assert sorted(issues(result)) == [("hidden_sise", Code.UNKNOWN_KEY), ("hidden_size", Code.REQUIRED)]
    assert "did you mean 'hidden_size'" in result.errors[0].msg


def test_rejects_an_unknown_layer_type_key():
    """A layer type holds only name, class, count and specs."""
    result = validate_config(_broken(_set(f"layer_types.{MLP}.parallelism", "tensor_parallel")))
    assert issues(result) == [(f"layer_types[{MLP}].parallelism", Code.UNKNOWN_KEY)]


def test_allows_layer_idx_and_parameter_count_in_any_class():
    """layer_idx and parameter_count are metadata any class's specs may carry."""
    doc = small_config()
    for layer_type in doc["layer_types"]:
        layer_type["specs"]["layer_idx"] = 3
        layer_type["specs"]["parameter_count"] = hand_parameter_count(layer_type["class"], layer_type["specs"])
    result = validate_config(doc)
    assert result.ok, result.errors
    assert all("parameter_count" not in lt.specs for lt in result.config.layer_types)
    assert [lt.specs.get("layer_idx") for lt in result.config.layer_types] == [3] * len(doc["layer_types"])


# ---- names and classes ---------------------------------------------------------------------------


def test_rejects_duplicate_layer_names():
    """Layer names are unique within a config; the duplicate names the first occurrence."""
    result = validate_config(_broken(_set(f"layer_types.{NORM}.name", "attention")))
    assert issues(result) == [(f"layer_types[{NORM}].name", Code.DUPLICATE_NAME)]
    assert f"layer_types[{ATTN}]" in result.errors[0].msg


def test_reports_each_further_duplicate():
    """Three layers with one name give two duplicate_name errors."""
    doc = _broken(_set(f"layer_types.{MLP}.name", "attention"), _set(f"layer_types.{NORM}.name", "attention"))
    result = validate_config(doc)
    assert issues(result) == [
        (f"layer_types[{MLP}].name", Code.DUPLICATE_NAME),
        (f"layer_types[{NORM}].name", Code.DUPLICATE_NAME),
    ]


def test_layer_names_are_case_sensitive():
    """ "Attention" and "attention" are different names."""
    assert validate_config(_broken(_set(f"layer_types.{MLP}.name", "Attention"))).ok


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("GroupedQueryAttentionLayr", "GroupedQueryAttentionLayer"),
        ("GatedMLP", "GatedMLPLayer"),
        ("normlayer", "NormLayer"),
        ("EmbedingLayer", "EmbeddingLayer"),
    ],
)
def test_rejects_an_unknown_class_with_the_nearest_suggestion(typo, suggestion):
    """An unknown class names the nearest valid class and lists every valid one."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.class", typo)))
    assert issues(result) == [(f"layer_types[{ATTN}].class", Code.UNKNOWN_CLASS)]
    msg = result.errors[0].msg
    assert f"did you mean {suggestion!r}" in msg
    assert all(cls in msg for cls in SIX_CLASSES)


def test_unknown_class_without_a_near_match_still_lists_the_valid_classes():
    """A class far from every name gets no suggestion but the full list."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.class", "Zzz")))
    assert issues(result) == [(f"layer_types[{ATTN}].class", Code.UNKNOWN_CLASS)]
    assert "did you mean" not in result.errors[0].msg
    assert all(cls in result.errors[0].msg for cls in SIX_CLASSES)


def test_class_names_are_case_sensitive():
    """The class must match the catalogue exactly."""
    result = validate_config(_broken(_set(f"layer_types.{NORM}.class", "normlayer")))
    assert issues(result) == [(f"layer_types[{NORM}].class", Code.UNKNOWN_CLASS)]


# ---- naming --------------------------------------------------------------------------------------


def test_rejects_a_model_id_that_is_not_hf_model_id_with_underscores():
    """model_id must be hf_model_id with '/' replaced by '_'; the message names the expected id."""
    result = validate_config(small_config(model_id="acme_tiny-2"))
    assert issues(result) == [("model_id", Code.MODEL_ID_MISMATCH)]
    assert "'acme_tiny-1'" in result.errors[0].msg


@pytest.mark.parametrize("model_id", ["acme/tiny-1", "acme tiny", "acme_tiny+1", "acmé", "a:b"])
def test_rejects_model_id_characters_outside_the_allowed_set(model_id):
    """model_id holds only A-Za-z0-9._- (it is a file name and a URL segment)."""
    result = validate_config(small_config(model_id=model_id))
    assert issues(result) == [("model_id", Code.MODEL_ID_CHARACTERS)]


@pytest.mark.parametrize("model_id", ["validate", ".", "..", "..."])
def test_rejects_model_ids_a_url_cannot_name(model_id):
    """An API route's name or an id of dots only would make /models/<id> point elsewhere."""
    result = validate_config(small_config(model_id=model_id))
    assert issues(result) == [("model_id", Code.MODEL_ID_RESERVED)]


@pytest.mark.parametrize("hf_model_id", ["acme/validate", "validate/v2", "acme/.hidden", "a/..", "acme/a..b"])
def test_accepts_ids_that_only_resemble_reserved_ones(hf_model_id):
    """Only the exact reserved names and dots-only ids are refused (a Hub id's model_id is never one)."""
    model_id = hf_model_id.replace("/", "_")
    result = validate_config(small_config(model_id=model_id, hf_model_id=hf_model_id))
    assert result.ok or issues(result) == [("hf_model_id", Code.INVALID_HF_ID)]
    assert result.ok == (hf_model_id in ("acme/validate", "validate/v2", "acme/a..b"))


def test_accepts_every_allowed_model_id_character():
    """Letters, digits, dot, underscore and hyphen are all allowed."""
    hf = "Org-9/Model_v1.5-B"
    assert validate_config(small_config(hf_model_id=hf, model_id="Org-9_Model_v1.5-B")).ok


def test_rejects_a_filename_that_is_not_model_id_dot_json():
    """Given a file name, it must be <model_id>.json."""
    result = validate_config(small_config(), filename="tiny.json")
    assert issues(result) == [("model_id", Code.FILENAME_MISMATCH)]
    assert "'acme_tiny-1.json'" in result.errors[0].msg


def test_accepts_a_filename_that_is_model_id_dot_json():
    """The right file name passes; no file name skips the rule."""
    assert validate_config(small_config(), filename="acme_tiny-1.json").ok
    assert validate_config(small_config(), filename=None).ok


# ---- consistency ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [ATTN, MLP, NORM, EMB])
def test_rejects_a_layer_hidden_size_that_differs_from_the_configs(layer):
    """Every layer's hidden_size equals the config's."""
    result = validate_config(_broken(_set(f"layer_types.{layer}.specs.hidden_size", 65)))
    assert issues(result) == [(f"layer_types[{layer}].specs.hidden_size", Code.HIDDEN_SIZE_MISMATCH)]
    assert "64" in result.errors[0].msg and "65" in result.errors[0].msg


def test_rejects_an_embedding_vocab_size_that_differs_from_the_configs():
    """An embedding's vocab_size equals the config's."""
    result = validate_config(_broken(_set(f"layer_types.{EMB}.specs.vocab_size", 999)))
    assert issues(result) == [(f"layer_types[{EMB}].specs.vocab_size", Code.VOCAB_SIZE_MISMATCH)]


@pytest.mark.parametrize(("heads", "kv_heads"), [(4, 3), (64, 7), (2, 4)])
def test_rejects_num_heads_not_a_multiple_of_num_kv_heads(heads, kv_heads):
    """num_heads must be a multiple of num_kv_heads, reported at num_kv_heads."""
    doc = _broken(
        _set(f"layer_types.{ATTN}.specs.num_heads", heads), _set(f"layer_types.{ATTN}.specs.num_kv_heads", kv_heads)
    )
    result = validate_config(doc)
    assert issues(result) == [(f"layer_types[{ATTN}].specs.num_kv_heads", Code.HEADS_NOT_DIVISIBLE)]
    assert f"({heads})" in result.errors[0].msg


@pytest.mark.parametrize(("heads", "kv_heads"), [(4, 1), (4, 4), (64, 8)])
def test_accepts_num_heads_a_multiple_of_num_kv_heads(heads, kv_heads):
    """MQA (1 KV head), MHA-shaped GQA and ordinary GQA pass."""
    doc = _broken(
        _set(f"layer_types.{ATTN}.specs.num_heads", heads), _set(f"layer_types.{ATTN}.specs.num_kv_heads", kv_heads)
    )
    assert validate_config(doc).ok


def test_warns_when_a_per_layer_class_count_is_not_num_layers():
    """Attention or MLP counts other than num_layers are a warning, not an error."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.count", 3)))
    assert result.ok
    assert [(w.loc, w.code) for w in result.warnings] == [(f"layer_types[{ATTN}].count", Code.COUNT_NOT_NUM_LAYERS)]
    assert validate_config(small_config()).warnings == []


# ---- derived values ------------------------------------------------------------------------------


def _with_derived(doc: dict) -> dict:
    """``doc`` with correct derived values filled in by hand."""
    doc = copy.deepcopy(doc)
    for layer_type in doc["layer_types"]:
        layer_type["specs"]["parameter_count"] = hand_parameter_count(layer_type["class"], layer_type["specs"])
    doc["total_params"] = hand_total(doc)
    doc["total_params_formatted"] = format_params(doc["total_params"])
    return doc


def test_computes_omitted_derived_values():
    """With no parameter_count or totals, the validator computes them by the formulas."""
    doc = small_config()
    result = validate_config(doc)
    assert result.ok
    config = result.config
    assert [lt.parameter_count for lt in config.layer_types] == [
        hand_parameter_count(lt["class"], lt["specs"]) for lt in doc["layer_types"]
    ]
    assert config.total_params == hand_total(doc)
    # 2·(64·4·16 + 2·64·2·16 + 4·16·64) + 2·3·64·256 + 5·64 + 1000·64, worked by hand.
    assert config.total_params == 187200
    assert config.total_params_formatted == "187.2K"
    assert result.recomputed == []


def test_accepts_correct_derived_values():
    """Derived values that match the formulas pass unchanged."""
    result = validate_config(_with_derived(small_config()))
    assert result.ok, result.errors
    assert result.recomputed == []


def test_rejects_a_wrong_parameter_count_naming_the_expected_value():
    """A stale specs.parameter_count is parameter_count_mismatch; the message gives the right value."""
    doc = _with_derived(small_config())
    expected = doc["layer_types"][MLP]["specs"]["parameter_count"]
    doc["layer_types"][MLP]["specs"]["parameter_count"] = expected + 1
    result = validate_config(doc)
    assert issues(result) == [(f"layer_types[{MLP}].specs.parameter_count", Code.PARAMETER_COUNT_MISMATCH)]
    assert str(expected) in result.errors[0].msg
    assert str(expected + 1) in result.errors[0].msg


def test_rejects_a_wrong_total_params():
    """A stale total_params is total_params_mismatch naming the derived total."""
    doc = _with_derived(small_config())
    right = doc["total_params"]
    doc["total_params"] = right - 1
    result = validate_config(doc)
    assert issues(result) == [("total_params", Code.TOTAL_PARAMS_MISMATCH)]
    assert str(right) in result.errors[0].msg


@pytest.mark.parametrize("text", ["187K", "0.2M", "187.2k", "187200", ""])
def test_rejects_a_wrong_total_params_formatted(text):
    """total_params_formatted must be the total's one-decimal short form."""
    doc = _with_derived(small_config())
    doc["total_params_formatted"] = text
    result = validate_config(doc)
    expected_code = Code.BLANK if text == "" else Code.TOTAL_PARAMS_FORMATTED_MISMATCH
    assert issues(result) == [("total_params_formatted", expected_code)]


def test_recompute_replaces_stale_derived_values_and_reports_them():
    """With recompute=True, wrong derived values are replaced and listed in Validation.recomputed."""
    doc = _with_derived(small_config())
    right_total = doc["total_params"]
    right_attn = doc["layer_types"][ATTN]["specs"]["parameter_count"]
    doc["layer_types"][ATTN]["specs"]["parameter_count"] = 1
    doc["total_params"] = 2
    doc["total_params_formatted"] = "2"
    assert not validate_config(doc).ok

    result = validate_config(doc, recompute=True)
    assert result.ok
    assert [(i.loc, i.code) for i in result.recomputed] == [
        (f"layer_types[{ATTN}].specs.parameter_count", Code.PARAMETER_COUNT_MISMATCH),
        ("total_params", Code.TOTAL_PARAMS_MISMATCH),
        ("total_params_formatted", Code.TOTAL_PARAMS_FORMATTED_MISMATCH),
    ]
    assert result.config.layer_types[ATTN].parameter_count == right_attn
    assert result.config.total_params == right_total
    assert result.config.total_params_formatted == format_params(right_total)


def test_recompute_does_not_excuse_other_errors():
    """recompute replaces derived values only; a broken rule still fails."""
    doc = _broken(_set(f"layer_types.{ATTN}.specs.num_kv_heads", 3), _set("total_params", 1))
    result = validate_config(doc, recompute=True)
    assert issues(result) == [(f"layer_types[{ATTN}].specs.num_kv_heads", Code.HEADS_NOT_DIVISIBLE)]


def test_rejects_a_derived_total_that_does_not_fit_a_bigint():
    """Specs that each fit but whose total exceeds 2**63-1 are too_large at total_params."""
    big = 2**40
    doc = small_config(hidden_size=big, vocab_size=big)
    for layer_type in doc["layer_types"]:
        layer_type["specs"]["hidden_size"] = big
    doc["layer_types"][EMB]["specs"]["vocab_size"] = big
    doc["layer_types"][HEAD]["specs"]["vocab_size"] = big
    result = validate_config(doc)
    assert ("total_params", Code.TOO_LARGE) in issues(result)


# ---- every problem at once ------------------------------------------------------------------------


def test_reports_every_problem_at_once():
    """A document with problems in many places returns all of them in one validation."""
    doc = _with_derived(small_config())
    doc["model_id"] = "acme_other"
    doc["colour"] = "blue"
    doc["num_layers"] = 0
    doc["layer_types"][ATTN]["specs"]["num_kv_heads"] = 3
    doc["layer_types"][MLP]["class"] = "GatedMLPLayr"
    doc["layer_types"][NORM]["name"] = "attention"
    doc["layer_types"][NORM]["specs"]["has_bias"] = "false"
    doc["layer_types"][EMB]["specs"]["vocab_size"] = 999
    del doc["layer_types"][EMB]["count"]
    result = validate_config(doc, filename="wrong.json")
    assert sorted(issues(result)) == sorted(
        [
            ("colour", Code.UNKNOWN_KEY),
            ("model_id", Code.MODEL_ID_MISMATCH),
            ("model_id", Code.FILENAME_MISMATCH),
            ("num_layers", Code.NOT_POSITIVE),
            (f"layer_types[{ATTN}].specs.num_kv_heads", Code.HEADS_NOT_DIVISIBLE),
            (f"layer_types[{MLP}].class", Code.UNKNOWN_CLASS),
            (f"layer_types[{NORM}].name", Code.DUPLICATE_NAME),
            (f"layer_types[{NORM}].specs.has_bias", Code.NOT_A_BOOLEAN),
            (f"layer_types[{EMB}].specs.vocab_size", Code.VOCAB_SIZE_MISMATCH),
            (f"layer_types[{EMB}].count", Code.REQUIRED),
        ]
    )
    assert result.config is None


def test_reports_the_same_rule_broken_in_several_layers():
    """Each layer's problems are reported, not only the first layer's."""
    doc = small_config()
    for layer_type in doc["layer_types"]:
        layer_type["specs"]["hidden_size"] = 32
    result = validate_config(doc)
    assert issues(result) == [
        (f"layer_types[{i}].specs.hidden_size", Code.HIDDEN_SIZE_MISMATCH) for i in range(len(doc["layer_types"]))
    ]


def test_issue_str_and_dict_carry_loc_code_and_message():
    """An issue prints as "loc: message [code]" and serializes to loc, code and msg."""
    result = validate_config(_broken(_set(f"layer_types.{ATTN}.specs.num_kv_heads", 3)))
    issue = result.errors[0]
    assert str(issue) == f"layer_types[0].specs.num_kv_heads: {issue.msg} [heads_not_divisible]"
    assert issue.as_dict() == {"loc": issue.loc, "code": "heads_not_divisible", "msg": issue.msg}


# ---- never raises ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_reports_non_finite_numbers_instead_of_raising(value):
    """Python's json reads NaN and Infinity; the validator reports them as not integers, never raises."""
    result = validate_config(small_config(hidden_size=value))
    assert issues(result) == [("hidden_size", Code.NOT_AN_INTEGER)]


@pytest.mark.parametrize(
    "value",
    [{"a": {"b": [1, 2, {"c": None}]}}, [[[]]], b"bytes", object(), 1 + 2j, {1: 2}],
)
def test_never_raises_on_strange_values_anywhere(value):
    """Values JSON cannot hold, or deeply nested ones, become errors wherever they stand."""
    for place in ("hidden_size", "name", "layer_types", f"layer_types.{ATTN}", f"layer_types.{ATTN}.specs"):
        result = validate_config(_broken(_set(place, value)))
        assert not result.ok
        assert all(i.loc.startswith(_loc(place)) for i in result.errors)


# ---- the spec's worked example and the fixtures ----------------------------------------------------


def test_the_specs_worked_example_is_valid_as_it_is():
    """The format document's example passes with its own derived values (69.5B)."""
    import json

    doc = json.loads(SPEC_EXAMPLE.read_text())
    result = validate_config(doc, filename="meta-llama_Llama-3.3-70B-Instruct.json")
    assert result.ok, result.errors
    assert result.recomputed == []
    assert result.config.total_params == hand_total(doc) == 69502369792
    assert result.config.total_params_formatted == "69.5B"


@pytest.mark.parametrize("model_id", sorted(PUBLISHED))
def test_each_fixture_is_valid_under_its_file_name(model_id):
    """Each shipped fixture passes every rule, with no warnings (but a published total that counts what the format
    leaves out, tests/test_trust.py) and nothing recomputed."""
    result = validate_config(fixture_document(model_id), filename=f"{model_id}.json")
    assert result.ok, result.errors
    assert all(issue.code == Code.PUBLISHED_TOTAL_MISMATCH for issue in result.warnings)
    assert (result.config.total_params, result.config.total_params_formatted) == PUBLISHED[model_id]
