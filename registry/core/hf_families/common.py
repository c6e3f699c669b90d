"""What several families read and write alike: per-layer lists, sliding windows, refused nulls, nested objects,
expert counts, attention biases, dense and MoE feed-forwards, and notes. It registers no model_type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from registry.core.hf import _Reader, mtp_note
from registry.core.issues import Code
from registry.core.validation import _show

SLIDING = "sliding_attention"
# The kinds of a per-layer MLP list (mlp_layer_types): an MoE or a dense MLP.
SPARSE, DENSE = "sparse", "dense"
Notes = Callable[[_Reader], list[str]]


def _attention_bias(c: Mapping[str, Any]) -> bool:
    return bool(c["attention_bias"])


class BiasRules(TypedDict):
    """Keyword arguments of Arch (typed, so that ``Arch(**rules)`` is checked)."""

    qkv_bias: Callable[[Mapping[str, Any]], bool]
    output_bias: Callable[[Mapping[str, Any]], bool]


# Arch's bias rules of a family whose attention_bias puts biases on Q, K, V and the output: Arch(**ATTENTION_BIAS).
ATTENTION_BIAS: BiasRules = {
    "qkv_bias": _attention_bias,
    "output_bias": _attention_bias,
}


def fixed_notes(*texts: str) -> Notes:
    """An Arch's notes that say the same of every config."""
    return lambda r: list(texts)


def notes_and_mtp(*texts: str, keys: tuple[str, ...] = ()) -> Notes:
    """``texts``, then what ``mtp_note`` says of the multi-token-prediction layers under ``keys`` (default: the
    usual names)."""
    return lambda r: [*texts, *mtp_note(r, *keys)]


def refuse_null(r: _Reader, keys: tuple[str, ...]) -> None:
    """Keys whose null transformers refuses or would pass on to a module (a crash or another model)."""
    for key in keys:
        given, value = r.raw(key)
        if given and value is None:
            r.error(
                key,
                Code.INVALID_VALUE,
                f"expected a value: transformers' {r.model_type} configuration refuses null (omit the key for "
                "its default)",
            )


def kinds(
    r: _Reader, key: str, layers: int, default: list[str], allowed: tuple[str, ...], *, unit: str = "entries"
) -> list[str]:
    """Each layer's entry of the per-layer list ``key`` (``default`` when absent or null).

    transformers requires one entry per layer; a kind the model does not build is refused by name.
    """
    given = r.value(key)
    if given is None:
        return default
    if not isinstance(given, list) or len(given) != layers:
        r.error(key, Code.INVALID_VALUE, f"expected a list of {layers} {unit}, got {_show(given)}")
        return default
    for i, kind in enumerate(given):
        if kind not in allowed:
            wanted = " or ".join(repr(a) for a in allowed)
            r.error(f"{key}[{i}]", Code.UNSUPPORTED_KEY, f"expected {wanted}, got {_show(kind)}")
    return [kind if kind in allowed else default[i] for i, kind in enumerate(given)]


def layer_kinds(r: _Reader, layers: int, default: list[str], allowed: tuple[str, ...]) -> list[str]:
    """Each layer's ``layer_types`` entry, or ``default`` when the key is absent or null."""
    return kinds(r, "layer_types", layers, default, allowed, unit="layer types")


def sliding_window(r: _Reader, layer_types: list[str]) -> int | None:
    """sliding_window when ``layer_types`` has sliding layers (which need one), else None (not read)."""
    if SLIDING not in layer_types:
        return None
    window = r.integer("sliding_window")
    if window is None:
        r.error(
            "sliding_window",
            Code.CONTRADICTION,
            "expected a window: layer_types has sliding_attention layers, which transformers cannot build without one",
        )
    return window


def feedforward(
    r: _Reader, h: int, mlp_kinds: list[str], dense_key: str, moe: Callable[[], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The dense MLP layers (width ``dense_key``) and the MoE layers (specs from ``moe``)."""
    dense = [i for i, k in enumerate(mlp_kinds) if k != SPARSE]
    sparse = [i for i, k in enumerate(mlp_kinds) if k == SPARSE]
    mixed = bool(dense and sparse)
    out: list[dict[str, Any]] = []
    if dense:
        specs = {"layer_idx": dense[0], "hidden_size": h, "intermediate_size": r.dimension(dense_key)}
        name = "feedforward_dense" if mixed else "feedforward"
        out.append({"name": name, "class": "GatedMLPLayer", "count": len(dense), "specs": specs})
    if sparse:
        name = "feedforward_moe" if mixed else "feedforward"
        out.append(
            {"name": name, "class": "MoELayer", "count": len(sparse), "specs": {"layer_idx": sparse[0], **moe()}}
        )
    return out


def nested_object(r: _Reader, key: str) -> dict[str, Any]:
    """An optional object of settings (``{}`` when absent or null)."""
    value = r.value(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.error(key, Code.INVALID_VALUE, f"expected an object, got {_show(value)}")
        return {}
    return value


def nested_or_top(r: _Reader, parent: str, nested: dict[str, Any], key: str, top: str, *, required: bool) -> int | None:
    """``nested[key]`` (the object ``parent``'s value, which wins) when given, else the top-level key ``top``."""
    if key not in nested:
        return r.dimension(top) if required else r.integer(top)
    value = nested[key]
    if type(value) is not int or value < 1:
        r.error(f"{parent}.{key}", Code.INVALID_VALUE, f"expected a positive integer, got {_show(value)}")
        return None
    return value
