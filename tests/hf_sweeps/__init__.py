"""Random small config.json generators for the oracle sweep (tests/test_hf_oracle.py), one module per family.

A module here defines ``SWEEPS``: model_type -> a function of a ``random.Random`` returning a small
config.json of that type (every dimension the importer requires, options at random), and may define
``CASES``: Hub-style id (``test/<name>``) -> a fixed config.json exercising one option. The sweep
draws each generator ``VARIANTS`` times from one seed.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Callable
from typing import Any

Generator = Callable[[random.Random], dict[str, Any]]


def _modules() -> list[Any]:
    return [importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules(__path__), key=str)]


def sweeps() -> dict[str, Generator]:
    """Every family module's generators, by model_type."""
    out: dict[str, Generator] = {}
    for module in _modules():
        for model_type, generator in getattr(module, "SWEEPS", {}).items():
            assert model_type not in out, f"two sweeps for {model_type}"
            out[model_type] = generator
    return out


def cases() -> dict[str, dict[str, Any]]:
    """Every family module's fixed cases, by id."""
    out: dict[str, dict[str, Any]] = {}
    for module in _modules():
        out.update(getattr(module, "CASES", {}))
    return out


def maybe(rng: random.Random, config: dict[str, Any], key: str, values: list[Any]) -> None:
    """Set ``key`` to one of ``values``, or leave it absent (one chance in len(values) + 1)."""
    choice = rng.randrange(len(values) + 1)
    if choice < len(values):
        config[key] = values[choice]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def small(model_type: str, **keys: Any) -> dict[str, Any]:
    """A fixed small config.json of ``model_type`` (4 layers 64 wide, 4 heads of 2 key/value heads, a 96-wide
    MLP, 300 tokens), ``keys`` added or replaced."""
    base = {
        "model_type": model_type,
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 300,
        "intermediate_size": 96,
    }
    return {**base, **keys}


def maybe_drop_model_type(rng: random.Random, text: dict[str, Any]) -> None:
    """Leave a wrapper's text_config without its model_type three times in ten (the wrapper says it)."""
    if rng.random() < 0.3:
        del text["model_type"]


def wrapper(rng: random.Random, model_type: str, text: dict[str, Any], architecture: str) -> dict[str, Any]:
    """A multimodal wrapper around ``text``, naming its ``architectures`` class or not."""
    config: dict[str, Any] = {"model_type": model_type, "text_config": text}
    maybe(rng, config, "architectures", [[architecture]])
    return config
