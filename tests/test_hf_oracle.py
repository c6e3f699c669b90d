"""The importer against transformers itself: every config counts exactly what transformers builds.

A development-time oracle. It needs a Python with torch and transformers, which the project's own
environment never has: set REGISTRY_HF_ORACLE_PYTHON to such an interpreter (or run pytest from one
where ``transformers`` imports); otherwise every test here is skipped. All configs go to one
subprocess, which builds each model on the meta device (no weights, no downloads) and reports
its total and active parameters.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from registry.core import validate_config
from registry.core.hf import convert
from tests import hf_sweeps

# Not conftest's HF_DATA: the oracle's interpreter imports this module without pytest.
HF_DATA = Path(__file__).resolve().parent / "data" / "hf"
ORACLE_ENV = "REGISTRY_HF_ORACLE_PYTHON"
SEED = 20240611
VARIANTS = 15


def _oracle_python() -> tuple[str | None, str]:
    """The interpreter that has transformers, or None and why there is none."""
    given = os.environ.get(ORACLE_ENV)
    if given:
        if not os.access(given, os.X_OK):
            return None, f"{ORACLE_ENV}={given} is not an executable"
        return given, ""
    if importlib.util.find_spec("transformers") and importlib.util.find_spec("torch"):
        return sys.executable, ""
    return None, (
        f"the transformers oracle needs torch and transformers: set {ORACLE_ENV} to a python that has them "
        "(they are not both importable in this interpreter)"
    )


ORACLE_PYTHON, SKIP_REASON = _oracle_python()
pytestmark = pytest.mark.skipif(ORACLE_PYTHON is None, reason=SKIP_REASON)

# Runs in the oracle interpreter: reads [{"id", "config"}] on stdin, prints {id: {total, active} | {error}}.
# A routed expert's tensors are those under ".experts." (not a shared expert's); E is read from the tensors
# themselves (fused [E, ...] tensors in transformers 5, or experts.<i>. modules), never from a config key.
ORACLE_SCRIPT = r"""
import json, logging, re, sys, traceback, warnings
from collections import defaultdict

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.models.auto.configuration_auto import CONFIG_MAPPING

transformers.logging.set_verbosity_error()
INDEXED = re.compile(r"^(.*\.experts)\.(\d+)\.")


def count(config):
    config = dict(config)
    config.pop("quantization_config", None)
    config.pop("auto_map", None)
    if config.get("model_type") not in CONFIG_MAPPING:  # kimi_k2: the model_type of its architectures class
        for name in config.get("architectures") or []:
            known = getattr(getattr(transformers, name, None), "config_class", None)
            if known is not None:
                config["model_type"] = known.model_type
                break
    wrapper = AutoConfig.for_model(**config)
    # A multimodal wrapper: its text model alone (the importer counts the decoder, not the towers).
    cfg = wrapper.get_text_config()
    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg)
        named = list(model.named_parameters())  # tied weights appear once
    except ValueError:  # a text config with no causal-LM class (step3p7): the wrapper's text model and head
        from transformers import AutoModelForImageTextToText

        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(wrapper)
        text = ("model.language_model.", "lm_head.")
        named = [(n, p) for n, p in model.named_parameters() if n.startswith(text)]
    total = sum(p.numel() for _, p in named)
    routed = [(n, p) for n, p in named if ".experts." in n and "shared_expert" not in n]
    if not routed:
        return {"total": total, "active": None}
    per_token = getattr(cfg, "num_experts_per_tok", None) or cfg.top_k_experts  # Gemma-4: top_k_experts
    groups = defaultdict(lambda: [set(), 0])  # experts.<i>. modules: the experts seen, their parameters
    inactive = 0
    for name, p in routed:
        indexed = INDEXED.match(name)
        if indexed:
            groups[indexed.group(1)][0].add(indexed.group(2))
            groups[indexed.group(1)][1] += p.numel()
        else:  # fused: [E, ...]
            experts = p.shape[0]
            inactive += p.numel() // experts * (experts - per_token)
    for experts, numel in groups.values():
        inactive += numel // len(experts) * (len(experts) - per_token)
    return {"total": total, "active": total - inactive}


out = {}
for case in json.load(sys.stdin):
    try:
        out[case["id"]] = count(case["config"])
    except Exception:
        out[case["id"]] = {"error": traceback.format_exc(limit=3)}
sys.stdout.write("\n" + json.dumps(out) + "\n")
"""


# ---- the configs -------------------------------------------------------------------------------


def _hub_configs() -> dict[str, dict[str, Any]]:
    """Every config.json under tests/data/hf, by its Hub id ORG/NAME."""
    return {
        str(path.parent.relative_to(HF_DATA)): json.loads(path.read_text())
        for path in sorted(HF_DATA.glob("*/*/config.json"))
    }


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _maybe(rng: random.Random, config: dict[str, Any], key: str, values: list[Any]) -> None:
    """Set ``key`` to one of ``values``, or leave it absent (one chance in len(values) + 1)."""
    choice = rng.randrange(len(values) + 1)
    if choice < len(values):
        config[key] = values[choice]


def _heads(rng: random.Random, hidden: int) -> int:
    """A head count whose hidden_size // heads is even (RoPE needs an even head_dim)."""
    return rng.choice([d for d in _divisors(hidden) if 2 <= d <= 16 and (hidden // d) % 2 == 0])


def _attention(rng: random.Random, config: dict[str, Any], model_type: str, *, kv_required: bool) -> None:
    """Heads, head_dim and key/value heads as a config.json of ``model_type`` may give them."""
    heads = _heads(rng, config["hidden_size"])
    config["num_attention_heads"] = heads
    head_dim_values: list[Any] = [rng.randrange(4, 33, 2)]
    if model_type in ("llama", "mistral", "mixtral"):
        head_dim_values.append(None)  # null: hidden_size // num_attention_heads there
    _maybe(rng, config, "head_dim", head_dim_values)
    kv_values: list[Any] = _divisors(heads)
    if kv_required:
        config["num_key_value_heads"] = rng.choice(kv_values)
    else:
        _maybe(rng, config, "num_key_value_heads", [*kv_values, None])


def _sliding(rng: random.Random, config: dict[str, Any], model_type: str) -> None:
    """Sliding-window keys: they change no parameter, and must not break the import."""
    layers = config["num_hidden_layers"]
    _maybe(rng, config, "sliding_window", [rng.randrange(16, 4097), None])
    if model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        _maybe(rng, config, "use_sliding_window", [True, False])
    if model_type in ("qwen2", "qwen2_moe", "qwen3"):
        _maybe(rng, config, "max_window_layers", [rng.randrange(0, layers + 2)])
    if model_type in ("qwen2", "qwen3", "gemma2") and rng.random() < 0.4:
        if config.get("sliding_window") is None:
            config["sliding_window"] = rng.randrange(16, 4097)
        config["layer_types"] = [rng.choice(["full_attention", "sliding_attention"]) for _ in range(layers)]


def _experts(rng: random.Random, config: dict[str, Any], key: str) -> None:
    experts = rng.randrange(2, 9)
    config[key] = experts
    config["num_experts_per_tok"] = rng.randrange(1, experts + 1)
    config["moe_intermediate_size"] = rng.randrange(8, 97)


def _sparse_layers(rng: random.Random, config: dict[str, Any]) -> None:
    """qwen2_moe/qwen3_moe: which layers are dense (mlp_only_layers, decoder_sparse_step)."""
    layers = config["num_hidden_layers"]
    _maybe(rng, config, "decoder_sparse_step", [1, 2, 3])
    _maybe(rng, config, "mlp_only_layers", [[], sorted(rng.sample(range(layers), rng.randrange(1, layers + 1)))])


def random_config(model_type: str, rng: random.Random) -> dict[str, Any]:
    """A small config.json of ``model_type``: every dimension the importer requires, options at random."""
    hidden = rng.randrange(32, 129, 8)
    layers = rng.randrange(1, 7)
    vocab = rng.randrange(100, 1001)
    config: dict[str, Any] = {"model_type": model_type}
    _maybe(rng, config, "tie_word_embeddings", [True, False])
    if model_type == "gpt2":
        config.update(n_embd=hidden, n_layer=layers, n_head=_heads(rng, hidden), vocab_size=vocab)
        _maybe(rng, config, "n_inner", [None, rng.randrange(16, 513)])
        _maybe(rng, config, "n_positions", [rng.randrange(16, 2049)])
        return config
    config.update(hidden_size=hidden, num_hidden_layers=layers, vocab_size=vocab)
    config["intermediate_size"] = rng.randrange(16, 513)
    if model_type == "deepseek_v3":
        config["num_attention_heads"] = rng.randrange(1, 9)
        _maybe(rng, config, "num_key_value_heads", [config["num_attention_heads"], None])
        _experts(rng, config, "n_routed_experts")
        config.update(
            kv_lora_rank=rng.randrange(8, 65),
            q_lora_rank=rng.choice([None, rng.randrange(8, 65)]),
            qk_nope_head_dim=rng.randrange(4, 33, 2),
            qk_rope_head_dim=rng.randrange(4, 33, 2),
            v_head_dim=rng.randrange(4, 33, 2),
            n_group=1,
            topk_group=1,
        )
        _maybe(rng, config, "first_k_dense_replace", [0, 1, rng.randrange(0, layers + 2)])
        _maybe(rng, config, "n_shared_experts", [0, 1, 2])
        _maybe(rng, config, "attention_bias", [True, False])
        return config
    kv_required = model_type in ("mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2")
    _attention(rng, config, model_type, kv_required=kv_required)
    if model_type in ("llama", "qwen3", "qwen3_moe", "gemma", "gemma2", "olmo", "olmo2"):
        _maybe(rng, config, "attention_bias", [True, False])
    elif model_type in ("qwen2", "phi3", "mistral", "mixtral"):
        _maybe(rng, config, "attention_bias", [True, False])  # not a key of theirs: ignored
    if model_type == "llama":
        _maybe(rng, config, "mlp_bias", [True, False])
    if model_type == "qwen2_moe":
        _maybe(rng, config, "qkv_bias", [True, False])
    if model_type == "mixtral":
        _experts(rng, config, rng.choice(["num_local_experts", "num_experts"]))
        del config["moe_intermediate_size"]  # mixtral's experts are intermediate_size wide
    elif model_type == "qwen2_moe":
        _experts(rng, config, "num_experts")
        config["shared_expert_intermediate_size"] = rng.randrange(8, 257)
        _sparse_layers(rng, config)
    elif model_type == "qwen3_moe":
        _experts(rng, config, rng.choice(["num_experts", "num_local_experts"]))
        _sparse_layers(rng, config)
    if model_type in ("mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma2", "phi3"):
        _sliding(rng, config, model_type)
    if model_type == "phi3":  # its default pad_token_id (32000) lies outside a small vocabulary
        config["pad_token_id"] = rng.choice([None, rng.randrange(vocab)])
    return config


SWEEP_TYPES = (
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "phi3",
    "gpt2",
    "olmo",
    "olmo2",
    "deepseek_v3",
)


def _sweep() -> dict[str, dict[str, Any]]:
    """The seeded random configs, by a Hub id test/<model_type>-<i>: the types above, then each family's
    (tests/hf_sweeps), each family from a seed of its own so that adding one changes no other's cases."""
    rng = random.Random(SEED)
    out = {f"test/{t}-{i}": random_config(t, rng) for t in SWEEP_TYPES for i in range(VARIANTS)}
    for model_type, generator in hf_sweeps.sweeps().items():
        family_rng = random.Random(f"{SEED}-{model_type}")
        out |= {f"test/{model_type}-{i}": generator(family_rng) for i in range(VARIANTS)}
    return out


def _small(model_type: str, **keys: Any) -> dict[str, Any]:
    """A fixed small config of ``model_type`` with ``keys`` added."""
    base: dict[str, Any] = {"model_type": model_type, "vocab_size": 300}
    if model_type == "gpt2":
        base.update(n_embd=64, n_layer=2, n_head=4)
    else:
        base.update(hidden_size=64, num_hidden_layers=3, intermediate_size=96, num_attention_heads=4)
        base.update(num_key_value_heads=2, num_experts_per_tok=2, moe_intermediate_size=24)
    if model_type == "deepseek_v3":
        base.update(kv_lora_rank=16, q_lora_rank=None, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8)
        base.update(n_group=1, topk_group=1, first_k_dense_replace=1)
    return {**base, **keys}


# A key given by its attribute_map alias alone counts what transformers builds.
ALIAS_CONFIGS = {
    "test/mixtral-alias-only": _small("mixtral", num_experts=6),
    "test/qwen3_moe-alias-only": _small("qwen3_moe", num_local_experts=6),
    "test/deepseek_v3-alias-only": _small("deepseek_v3", num_local_experts=6),
    "test/gpt2-alias-only": {
        "model_type": "gpt2",
        "vocab_size": 300,
        "hidden_size": 32,
        "num_hidden_layers": 3,
        "num_attention_heads": 2,
        "max_position_embeddings": 77,
    },
}
HUB_CONFIGS = _hub_configs()
SWEEP_CONFIGS = _sweep()
ALIAS_CONFIGS |= hf_sweeps.cases()


# ---- the oracle and the importer ---------------------------------------------------------------


@pytest.fixture(scope="module")
def transformers_counts() -> dict[str, dict[str, Any]]:
    """Total and active parameters transformers builds for every config here, from one subprocess."""
    assert ORACLE_PYTHON is not None
    cases = [{"id": i, "config": c} for i, c in {**HUB_CONFIGS, **SWEEP_CONFIGS, **ALIAS_CONFIGS}.items()]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [ORACLE_PYTHON, "-c", ORACLE_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"the oracle failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def importer_counts(config: dict[str, Any], hf_id: str) -> dict[str, Any]:
    """Total and active parameters of the document convert() makes of ``config``."""
    conversion = convert(config, hf_id)
    assert not conversion.errors, [i.as_dict() for i in conversion.errors]
    validation = validate_config(conversion.document)
    assert validation.ok, [i.as_dict() for i in validation.errors]
    return {"total": validation.config.total_params, "active": validation.config.active_params}


def _check(hf_id: str, config: dict[str, Any], oracle: dict[str, dict[str, Any]]) -> None:
    expected = oracle[hf_id]
    assert "error" not in expected, f"transformers could not build {json.dumps(config)}:\n{expected['error']}"
    ours = importer_counts(config, hf_id)
    assert ours == expected, f"{json.dumps(config)}\nimporter {ours}\ntransformers {expected}"


@pytest.mark.parametrize("hf_id", sorted(HUB_CONFIGS))
def test_imported_config_counts_what_transformers_builds(hf_id: str, transformers_counts: dict) -> None:
    """Each imported config.json counts exactly what transformers builds, in total and per token."""
    _check(hf_id, HUB_CONFIGS[hf_id], transformers_counts)


@pytest.mark.parametrize("hf_id", list(SWEEP_CONFIGS))
def test_random_small_config_counts_what_transformers_builds(hf_id: str, transformers_counts: dict) -> None:
    """A small config with its options at random counts exactly what transformers builds, in total and per token."""
    _check(hf_id, SWEEP_CONFIGS[hf_id], transformers_counts)


@pytest.mark.parametrize("hf_id", list(ALIAS_CONFIGS))
def test_config_naming_a_key_by_its_alias_counts_what_transformers_builds(
    hf_id: str, transformers_counts: dict
) -> None:
    """A key given by its alias counts exactly what transformers builds."""
    _check(hf_id, ALIAS_CONFIGS[hf_id], transformers_counts)
