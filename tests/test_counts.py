"""Parameter counts: exact Python results, the vectorized numpy pass, overflow, and the short form."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from registry.core import CountOverflow, catalogue, counts, format_params, validate_config
from registry.core.counts import BIGINT_MAX
from tests.conftest import HAND_CLASSES, PUBLISHED, hand_active_parameter_count, hand_parameter_count


@pytest.mark.parametrize(
    ("total", "text"),
    [
        (0, "0"),
        (1, "1"),
        (999, "999"),
        (1000, "1.0K"),
        (1049, "1.0K"),
        (1051, "1.1K"),
        (999_949, "999.9K"),
        (999_950, "1.0M"),  # not "1000.0K"
        (1_000_000, "1.0M"),
        (999_950_000, "1.0B"),
        (187_200, "187.2K"),
        (69_502_369_792, "69.5B"),
        (70_553_706_496, "70.6B"),
        (405_853_388_800, "405.9B"),
        (1_100_048_384, "1.1B"),
        (7_241_732_096, "7.2B"),
        (999_949_999_999, "999.9B"),
        (999_950_000_000, "1.0T"),  # not "1000.0B"
        (1_000_000_000_000, "1.0T"),
        (2_500_000_000_000, "2.5T"),
    ],
)
def test_format_params(total, text):
    """One decimal with a K/M/B/T suffix; a value that rounds to 1000 moves up a unit; small values stay bare."""
    assert format_params(total) == text


@pytest.mark.parametrize(("model_id", "published"), sorted(PUBLISHED.items()))
def test_format_params_of_the_published_totals(model_id, published):
    """The fixtures' published totals format as the model cards say."""
    total, text = published
    assert format_params(total) == text


# ---- vectorized counts ----------------------------------------------------------------------------


def _catalogue_rows(rng: np.random.Generator, n: int) -> tuple[list[str], list[dict]]:
    """Rows of every catalogue class, specs drawn from their Spec kinds: required always, optional on some."""
    names = catalogue.names()
    classes, specs = [], []
    for _ in range(n):
        layer_class = catalogue.get(names[int(rng.integers(len(names)))])
        row: dict = {}
        for spec in layer_class.specs:
            if spec not in layer_class.required and rng.integers(2):
                continue
            if spec.kind is catalogue.SpecKind.BOOL:
                row[spec.name] = bool(rng.integers(2))
            elif spec.kind is catalogue.SpecKind.CHOICE:
                row[spec.name] = spec.choices[int(rng.integers(len(spec.choices)))]
            else:
                row[spec.name] = int(rng.integers(spec.minimum, 4097))
        classes.append(layer_class.name)
        specs.append(row)
    return classes, specs


def test_every_class_counts_the_same_vectorized_and_per_row():
    """For every class in the catalogue (whatever is added), the numpy pass equals its per-row Python formula,
    in total and per token."""
    rng = np.random.default_rng(15)
    classes, specs = _catalogue_rows(rng, 4000)
    assert set(classes) == set(catalogue.names())
    for active in (False, True):
        got = counts.parameter_counts(classes, specs, active=active).tolist()
        pick = "active_parameter_count" if active else "parameter_count"
        assert got == [getattr(catalogue.get(c), pick)(s) for c, s in zip(classes, specs, strict=True)]


def _random_rows(rng: np.random.Generator, n: int) -> tuple[list[str], list[dict]]:
    """Rows of every class with random specs, optional specs on some rows, metadata on others."""
    names = list(HAND_CLASSES)
    classes: list[str] = []
    specs: list[dict] = []

    def maybe(row: dict, key: str, value: Any) -> None:
        if rng.integers(2):
            row[key] = value

    for _ in range(n):
        name = names[int(rng.integers(len(names)))]
        h = int(rng.integers(1, 65536))
        kv = int(rng.integers(1, 64))
        experts = int(rng.integers(1, 300))
        row: dict = {
            "AttentionLayer": {
                "hidden_size": h,
                "num_heads": int(rng.integers(1, 256)),
                "head_dim": int(rng.integers(1, 512)),
            },
            "GroupedQueryAttentionLayer": {
                "hidden_size": h,
                "num_heads": kv * int(rng.integers(1, 16)),
                "num_kv_heads": kv,
                "head_dim": int(rng.integers(1, 512)),
            },
            "MLPLayer": {"hidden_size": h, "intermediate_size": int(rng.integers(1, 1 << 18))},
            "GatedMLPLayer": {"hidden_size": h, "intermediate_size": int(rng.integers(1, 1 << 18))},
            "NormLayer": {"hidden_size": h, "has_bias": bool(rng.integers(2))},
            "EmbeddingLayer": {"vocab_size": int(rng.integers(1, 1 << 20)), "hidden_size": h},
            "OutputHeadLayer": {"vocab_size": int(rng.integers(1, 1 << 20)), "hidden_size": h},
            "PositionEmbeddingLayer": {"max_position_embeddings": int(rng.integers(1, 1 << 17)), "hidden_size": h},
            "MoELayer": {
                "hidden_size": h,
                "num_experts": experts,
                "num_experts_per_tok": int(rng.integers(1, experts + 1)),
                "moe_intermediate_size": int(rng.integers(1, 1 << 15)),
            },
            "MultiTokenPredictionLayer": {"hidden_size": h},
            "MultiHeadLatentAttentionLayer": {
                "hidden_size": h,
                "num_heads": int(rng.integers(1, 256)),
                "kv_lora_rank": int(rng.integers(1, 1024)),
                "qk_nope_head_dim": int(rng.integers(1, 256)),
                "qk_rope_head_dim": int(rng.integers(1, 128)),
                "v_head_dim": int(rng.integers(1, 256)),
            },
        }[name]
        if "Attention" in name and "Latent" not in name:
            maybe(row, "sliding_window", int(rng.integers(1, 1 << 16)))
            maybe(row, "qkv_bias", bool(rng.integers(2)))
            maybe(row, "output_bias", bool(rng.integers(2)))
            maybe(row, "qk_norm", ["none", "per_head", "across_heads"][int(rng.integers(3))])
            maybe(row, "output_gate", ["none", "elementwise", "headwise"][int(rng.integers(3))])
            maybe(row, "attention_sinks", bool(rng.integers(2)))
            maybe(row, "k_eq_v", bool(rng.integers(2)))
            maybe(row, "kv_shared", bool(rng.integers(2)))
        elif "MLP" in name:
            maybe(row, "mlp_bias", bool(rng.integers(2)))
        elif name == "NormLayer" and not row["has_bias"]:
            maybe(row, "elementwise_affine", bool(rng.integers(2)))
        elif name == "OutputHeadLayer":
            maybe(row, "tie_word_embeddings", bool(rng.integers(2)))
        elif name == "MoELayer":
            maybe(row, "router_bias", bool(rng.integers(2)))
            maybe(row, "expert_bias", bool(rng.integers(2)))
            maybe(row, "gated_experts", bool(rng.integers(2)))
            if rng.integers(2):
                row["shared_expert_intermediate_size"] = int(rng.integers(1, 1 << 15))
                maybe(row, "shared_expert_gate", bool(rng.integers(2)))
        elif name == "MultiHeadLatentAttentionLayer":
            maybe(row, "q_lora_rank", int(rng.integers(1, 2048)))
            maybe(row, "attention_bias", bool(rng.integers(2)))
        if rng.integers(3) == 0:
            row["layer_idx"] = int(rng.integers(0, 100))
        classes.append(name)
        specs.append(row)
    return classes, specs


def test_parameter_counts_equal_exact_per_row_results():
    """Over many random rows of mixed classes and optional specs, the numpy pass equals exact Python ints."""
    rng = np.random.default_rng(20240611)
    classes, specs = _random_rows(rng, 3000)
    got = counts.parameter_counts(classes, specs)
    assert got.dtype == np.int64
    assert got.shape == (3000,)
    assert got.tolist() == [hand_parameter_count(c, s) for c, s in zip(classes, specs, strict=True)]
    assert got.tolist() == [catalogue.get(c).parameter_count(s) for c, s in zip(classes, specs, strict=True)]
    assert set(classes) == set(HAND_CLASSES)


def test_active_parameter_counts_equal_exact_per_row_results():
    """The active pass (routed experts k of E) equals the hand formula row by row; other classes count fully."""
    rng = np.random.default_rng(7)
    classes, specs = _random_rows(rng, 2000)
    got = counts.parameter_counts(classes, specs, active=True)
    assert got.tolist() == [hand_active_parameter_count(c, s) for c, s in zip(classes, specs, strict=True)]
    assert "MoELayer" in classes


def test_parameter_counts_are_exact_above_float_precision():
    """Counts past 2**53 (where float64 loses integers) are exact."""
    specs = [
        {"vocab_size": 2**31 + 1, "hidden_size": 2**31 - 1},
        {"hidden_size": 2**40 + 3, "intermediate_size": 2**20},
    ]
    got = counts.parameter_counts(["EmbeddingLayer", "GatedMLPLayer"], specs)
    assert got.tolist() == [(2**31 + 1) * (2**31 - 1), 3 * (2**40 + 3) * 2**20]


def test_parameter_counts_keep_row_order_across_groups():
    """Rows grouped by class and keys come back in input order."""
    classes = ["NormLayer", "EmbeddingLayer", "NormLayer", "GroupedQueryAttentionLayer", "GroupedQueryAttentionLayer"]
    specs = [
        {"hidden_size": 3, "has_bias": True},
        {"vocab_size": 5, "hidden_size": 7},
        {"hidden_size": 11, "has_bias": False},
        {"hidden_size": 2, "num_heads": 4, "num_kv_heads": 2, "head_dim": 3, "sliding_window": 9},
        {"hidden_size": 2, "num_heads": 4, "num_kv_heads": 4, "head_dim": 3},
    ]
    assert counts.parameter_counts(classes, specs).tolist() == [6, 35, 11, 2 * 4 * 3 + 2 * 2 * 2 * 3 + 4 * 3 * 2, 96]


def test_parameter_counts_of_no_rows_is_empty():
    """No rows, no counts."""
    assert counts.parameter_counts([], []).tolist() == []


def test_parameter_counts_reject_an_unknown_class():
    """A class outside the catalogue is a CountError naming it."""
    with pytest.raises(counts.CountError, match="NoSuchLayer"):
        counts.parameter_counts(["NormLayer", "NoSuchLayer"], [{"hidden_size": 1, "has_bias": False}, {}])


def test_parameter_counts_overflow_names_the_rows():
    """A count past 2**63-1 raises CountOverflow naming exactly the rows that overflow."""
    ok = {"vocab_size": 10, "hidden_size": 10}
    huge = {"vocab_size": 2**40, "hidden_size": 2**40}
    with pytest.raises(CountOverflow) as excinfo:
        counts.parameter_counts(["EmbeddingLayer"] * 4, [ok, huge, ok, huge])
    assert excinfo.value.rows == [1, 3]  # for the caller to name them (services: model_id and class)
    assert str(BIGINT_MAX) in str(excinfo.value)


def test_parameter_counts_overflow_in_any_class_raises():
    """Overflow in a later class group raises too, naming only rows that overflow."""
    classes = ["EmbeddingLayer", "NormLayer", "NormLayer"]
    rows = [
        {"vocab_size": 10, "hidden_size": 10},
        {"hidden_size": 2**62, "has_bias": False},  # 2**62: fits
        {"hidden_size": 2**62, "has_bias": True},  # 2 · 2**62 = 2**63: one past the limit
    ]
    with pytest.raises(CountOverflow) as excinfo:
        counts.parameter_counts(classes, rows)
    assert excinfo.value.rows == [2]


def test_parameter_counts_accept_counts_near_the_limit():
    """2**63 - 1024 (the largest float64 below 2**63) fits int64 and is computed exactly."""
    got = counts.parameter_counts(["NormLayer"], [{"hidden_size": 2**62 - 512, "has_bias": True}])
    assert got.tolist() == [2**63 - 1024]


# 2**63 - 1 = 7 · 7 · 73 · 127 · 337 · 92737 · 649657: an embedding whose count is exactly the largest bigint.
_EXACT_MAX = {"vocab_size": 7 * 73 * 127 * 337, "hidden_size": 7 * 92737 * 649657}


def test_parameter_counts_accept_exactly_the_largest_bigint():
    """A count of exactly 2**63-1 fits a bigint, as validate_config agrees: it is not an overflow."""
    assert _EXACT_MAX["vocab_size"] * _EXACT_MAX["hidden_size"] == BIGINT_MAX
    doc = {
        "model_id": "x_y",
        "hf_model_id": "x/y",
        "name": "Edge",
        "hidden_size": _EXACT_MAX["hidden_size"],
        "num_layers": 1,
        "vocab_size": _EXACT_MAX["vocab_size"],
        "layer_types": [{"name": "embedding", "class": "EmbeddingLayer", "count": 1, "specs": dict(_EXACT_MAX)}],
    }
    assert validate_config(doc).ok
    assert counts.parameter_counts(["EmbeddingLayer"], [_EXACT_MAX]).tolist() == [BIGINT_MAX]


# ---- totals ---------------------------------------------------------------------------------------


def test_totals_sum_count_times_parameter_count_per_owner():
    """totals() adds count × parameter_count into each owner's slot; owners without rows get 0."""
    rng = np.random.default_rng(7)
    n, size = 500, 40
    owner = rng.integers(0, size - 1, n)  # the last owner has no rows
    layer_counts = rng.integers(1, 300, n)
    per_layer = rng.integers(1, 2**32, n)
    got = counts.totals(owner, layer_counts, per_layer, size)
    expected = [0] * size
    for o, c, p in zip(owner.tolist(), layer_counts.tolist(), per_layer.tolist(), strict=True):
        expected[o] += c * p
    assert got.tolist() == expected
    assert got[-1] == 0


def test_totals_overflow_names_the_owners():
    """A total past 2**63-1 raises CountOverflow naming the owners, even when each row fits."""
    owner = np.array([0, 1, 1, 2])
    layer_counts = np.array([1, 2**31, 2**31, 1])
    per_layer = np.array([5, 2**31, 2**31, 7])  # owner 1: 2 · 2**62 = 2**63
    with pytest.raises(CountOverflow) as excinfo:
        counts.totals(owner, layer_counts, per_layer, 3)
    assert [int(r) for r in excinfo.value.rows] == [1]


def test_totals_of_the_fixtures_equal_the_published_figures():
    """Fixture rows through parameter_counts and totals give the published totals in one pass."""
    from tests.conftest import fixture_document, in_total

    model_ids = sorted(PUBLISHED)
    owner, classes, specs, layer_counts = [], [], [], []
    for i, model_id in enumerate(model_ids):
        for lt in filter(in_total, fixture_document(model_id)["layer_types"]):
            owner.append(i)
            classes.append(lt["class"])
            specs.append({k: v for k, v in lt["specs"].items() if k != "parameter_count"})
            layer_counts.append(lt["count"])
    per_layer = counts.parameter_counts(classes, specs)
    got = counts.totals(np.array(owner), np.array(layer_counts), per_layer, len(model_ids))
    assert got.tolist() == [PUBLISHED[m][0] for m in model_ids]
