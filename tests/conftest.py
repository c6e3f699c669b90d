"""Shared builders for the tests."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
HF_DATA = DATA / "hf"  # Hugging Face config.json files, as tests/data/hf/ORG/NAME/config.json
# The shipped configs: the four seed models of the format and the ones imported from tests/data/hf.
FIXTURE_IDS = sorted(p.stem for p in FIXTURES.glob("*.json"))
N = len(FIXTURE_IDS)


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def came_up(
    process: subprocess.Popen[Any],
    probe: Callable[[], object],
    refused: type[Exception] | tuple[type[Exception], ...],
    *,
    tries: int,
    pause: float,
) -> bool:
    """Whether ``probe()`` answered (raised none of ``refused``) before ``process`` exited or ``tries`` ran out."""
    for _ in range(tries):
        try:
            probe()
            return True
        except refused:
            if process.poll() is not None:
                return False
            time.sleep(pause)
    return False


def fixture_document(model_id: str) -> dict[str, Any]:
    """One of the shipped fixture files, parsed."""
    return json.loads((FIXTURES / f"{model_id}.json").read_text())


def stack_of(documents: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The configs and layer rows ``planning.plan_stacks`` takes, for these documents (config i's rows say i)."""
    from registry.core.planning import StackConfig, StackRow

    configs = [StackConfig(d["model_id"], d["num_layers"], d.get("max_position_embeddings")) for d in documents]
    rows = [
        StackRow(
            i, lt["name"], lt["class"], lt["count"], {k: v for k, v in lt["specs"].items() if k != "parameter_count"}
        )
        for i, d in enumerate(documents)
        for lt in d["layer_types"]
    ]
    return configs, rows


def small_config(**overrides: Any) -> dict[str, Any]:
    """A small valid config document with no derived values (the schema's example); override top-level keys."""
    from registry.core.examples import EXAMPLE_CONFIG

    doc = copy.deepcopy(EXAMPLE_CONFIG)
    doc.update(copy.deepcopy(overrides))
    return doc


def moe_config(name: str = "feedforward", **specs: Any) -> dict[str, Any]:
    """``small_config()`` with its gated MLP (both layers) a MoE layer: 4 experts of width 32, 2 per token, unless
    ``specs`` says otherwise; ``name`` names that layer type."""
    doc = small_config()
    doc["layer_types"][1] = {
        "name": name,
        "class": "MoELayer",
        "count": 2,
        "specs": {"hidden_size": 64, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, **specs},
    }
    return doc


def dense_config(
    hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int, vocab: int, **extra: Any
) -> dict[str, Any]:
    """A valid Llama-shaped document (derived values filled in), its untied head a second embedding."""
    from registry.core import validate_config
    from registry.core.examples import llama_like

    doc = llama_like(
        hf_model_id="acme/x",
        name="x",
        hidden_size=hidden,
        num_layers=layers,
        vocab_size=vocab,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=hidden // heads,
        intermediate_size=intermediate,
        tied=None,
    )
    result = validate_config({**doc, **extra})
    assert result.ok, result.errors
    return result.config.to_document()


@pytest.fixture
def config_data() -> dict[str, Any]:
    return small_config()


@pytest.fixture
def loaded_fixtures(db, device_catalogue) -> None:
    """The shipped configs in the database, through loadconfigs, and the device catalogue the planner reads."""
    from django.core.management import call_command

    call_command("loadconfigs", str(FIXTURES), verbosity=0)


@pytest.fixture
def device_catalogue(db) -> None:
    """The device catalogue (fixtures/devices/devices.json) in the database, as loadconfigs loads it."""
    from registry.services.devices import load_device_fixture

    load_device_fixture()


# ---- helpers added for the registry-core tests ---------------------------------------------------

# The published parameter counts of the four seed models (model cards), and their short forms.
SEED = {
    "meta-llama_Llama-3.1-405B-Instruct": (405853388800, "405.9B"),
    "meta-llama_Llama-3.3-70B-Instruct": (70553706496, "70.6B"),
    "TinyLlama_TinyLlama-1.1B-Chat-v1.0": (1100048384, "1.1B"),
    "mistralai_Mistral-7B-v0.1": (7241732096, "7.2B"),
}
# The configs imported by importhf from tests/data/hf: transformers' published totals (tied tensors once)
# and, for mixtures of experts, the parameters active per token.
IMPORTED = {
    "Qwen_Qwen2.5-7B-Instruct": (7615616512, "7.6B"),
    "google_gemma-2-2b": (2614341888, "2.6B"),
    "mistralai_Mixtral-8x7B-v0.1": (46702792704, "46.7B"),
    "deepseek-ai_DeepSeek-V3": (671026404352, "671.0B"),
    "openai-community_gpt2": (124439808, "124.4M"),
    # 2026: transformers 5.25's counts of the text models (tests/test_hf_*.py say how each meets its model card).
    "openai_gpt-oss-120b": (116829156672, "116.8B"),
    "Qwen_Qwen3.5-397B-A17B": (396346350336, "396.3B"),
    "meta-llama_Llama-4-Scout-17B-16E-Instruct": (107769861120, "107.8B"),
    "google_gemma-4-26B-A4B": (25233141760, "25.2B"),
    "deepseek-ai_DeepSeek-V3.2-Exp": (671877929216, "671.9B"),
    "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": (31577937344, "31.6B"),
}
# The 2026 fixtures, imported by importhf from tests/data/hf.
MODELS_2026 = (
    "openai_gpt-oss-120b",
    "Qwen_Qwen3.5-397B-A17B",
    "meta-llama_Llama-4-Scout-17B-16E-Instruct",
    "google_gemma-4-26B-A4B",
    "deepseek-ai_DeepSeek-V3.2-Exp",
    "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
)
PUBLISHED_ACTIVE = {
    "mistralai_Mixtral-8x7B-v0.1": 12879925248,
    "deepseek-ai_DeepSeek-V3": 37552282624,
    "openai_gpt-oss-120b": 5711982912,
    "Qwen_Qwen3.5-397B-A17B": 17349040896,
    "meta-llama_Llama-4-Scout-17B-16E-Instruct": 17172894720,
    "google_gemma-4-26B-A4B": 3822530560,
    "deepseek-ai_DeepSeek-V3.2-Exp": 38403807488,
    "nvidia_NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": 3580073408,
}
PUBLISHED = {**SEED, **IMPORTED}
SPEC_EXAMPLE = DATA / "spec_worked_example.json"
# The format's key orders, as its worked example writes them (an independent source for the tests): top-level
# keys, and the spec keys of its first layer type (a GroupedQueryAttentionLayer: parameter_count last).
_SPEC_EXAMPLE_DOCUMENT = json.loads(SPEC_EXAMPLE.read_text(encoding="utf-8"))
SPEC_KEY_ORDER = list(_SPEC_EXAMPLE_DOCUMENT)
SPEC_GQA_SPEC_ORDER = list(_SPEC_EXAMPLE_DOCUMENT["layer_types"][0]["specs"])
SPEC_EXAMPLE_ID = "meta-llama_Llama-3.3-70B-Instruct"


# The classes conftest's hand formulas cover; every other class is checked against its own per-row
# formula by test_every_class_counts_the_same_vectorized_and_per_row.
HAND_CLASSES = (
    "AttentionLayer",
    "GroupedQueryAttentionLayer",
    "MLPLayer",
    "GatedMLPLayer",
    "NormLayer",
    "EmbeddingLayer",
    "OutputHeadLayer",
    "PositionEmbeddingLayer",
    "MoELayer",
    "MultiHeadLatentAttentionLayer",
    "MultiTokenPredictionLayer",
)


def hand_parameter_count(class_name: str, specs: dict[str, Any]) -> int:
    """Parameters of one layer, by the issues' formulas written out independently of the catalogue."""
    h = specs.get("hidden_size")
    if class_name in ("AttentionLayer", "GroupedQueryAttentionLayer"):
        heads, d = specs["num_heads"], specs["head_dim"]
        kv_heads = specs.get("num_kv_heads", heads)
        v_heads = 0 if specs.get("k_eq_v") else kv_heads
        gate = {"elementwise": heads * d, "headwise": heads}.get(specs.get("output_gate", "none"), 0)
        q, kv = h * heads * d, h * (kv_heads + v_heads) * d
        total = q + kv + heads * d * h + h * gate + (heads if specs.get("attention_sinks") else 0)
        if specs.get("qkv_bias"):
            total += heads * d + (kv_heads + v_heads) * d + gate
        if specs.get("output_bias"):
            total += h
        norm = specs.get("qk_norm", "none")
        if norm == "per_head":
            total += 2 * d
        elif norm == "across_heads":
            total += heads * d + kv_heads * d
        return total
    if class_name == "MLPLayer":
        i = specs["intermediate_size"]
        return 2 * h * i + ((i + h) if specs.get("mlp_bias") else 0)
    if class_name == "GatedMLPLayer":
        i = specs["intermediate_size"]
        return 3 * h * i + ((2 * i + h) if specs.get("mlp_bias") else 0)
    if class_name == "NormLayer":
        if specs.get("elementwise_affine") is False:
            return 0
        return 2 * h if specs["has_bias"] else h
    if class_name == "EmbeddingLayer":
        return specs["vocab_size"] * h
    if class_name == "OutputHeadLayer":
        return 0 if specs.get("tie_word_embeddings") else specs["vocab_size"] * h
    if class_name == "PositionEmbeddingLayer":
        return specs["max_position_embeddings"] * h
    if class_name == "MoELayer":
        e, i = specs["num_experts"], specs["moe_intermediate_size"]
        gated = specs.get("gated_experts", True)
        expert = h * i * 2 + i * h if gated else h * i + i * h  # (gate,) up, down
        if specs.get("expert_bias"):
            expert += (2 * i if gated else i) + h
        total = e * expert + h * e  # experts and router
        total += e if specs.get("router_bias") else 0
        shared = specs.get("shared_expert_intermediate_size", 0)
        total += (3 if gated else 2) * h * shared + (h if specs.get("shared_expert_gate") else 0)
        return total
    if class_name == "MultiHeadLatentAttentionLayer":
        heads, rope, nope, v = (
            specs["num_heads"],
            specs["qk_rope_head_dim"],
            specs["qk_nope_head_dim"],
            specs["v_head_dim"],
        )
        kv_rank, q_rank = specs["kv_lora_rank"], specs.get("q_lora_rank")
        bias = specs.get("attention_bias", False)
        if q_rank is None:
            q = h * heads * (nope + rope)
        else:  # q_a_proj (+bias), q_a_layernorm, q_b_proj
            q = h * q_rank + (q_rank if bias else 0) + q_rank + q_rank * heads * (nope + rope)
        kv = h * (kv_rank + rope) + ((kv_rank + rope) if bias else 0) + kv_rank + kv_rank * heads * (nope + v)
        return q + kv + heads * v * h + (h if bias else 0)
    if class_name == "MultiTokenPredictionLayer":
        return 2 * h * h + 3 * h  # eh_proj (2h -> h), enorm, hnorm, the shared head's norm
    raise AssertionError(f"no hand formula for {class_name}")


def in_total(layer_type: dict[str, Any]) -> bool:
    """Whether a document's layer type counts in total_params (multi-token-prediction ones do not)."""
    return not layer_type["specs"].get("mtp") and layer_type["class"] != "MultiTokenPredictionLayer"


def hand_active_parameter_count(class_name: str, specs: dict[str, Any]) -> int:
    """Parameters of one layer one token uses: routed experts count k of E."""
    if class_name != "MoELayer":
        return hand_parameter_count(class_name, specs)
    e, k = specs["num_experts"], specs["num_experts_per_tok"]
    router_of_one = specs["hidden_size"] + bool(specs.get("router_bias"))
    without = hand_parameter_count(class_name, {**specs, "num_experts": 1}) - router_of_one  # one expert, shared
    shared_part = hand_parameter_count(class_name, {**specs, "num_experts": 0})
    one_expert = without - shared_part
    return shared_part + k * one_expert + specs["hidden_size"] * e + (e if specs.get("router_bias") else 0)


def hand_total(document: dict[str, Any]) -> int:
    """Σ count × parameter_count of a document, by the hand formulas."""
    return sum(
        lt["count"] * hand_parameter_count(lt["class"], lt["specs"]) for lt in document["layer_types"] if in_total(lt)
    )


def issues(validation: Any) -> list[tuple[str, str]]:
    """The (loc, code) pairs of a validation's errors, in the order reported."""
    return [(i.loc, i.code) for i in validation.errors]


def write_config(folder: Path, document: Any, filename: str | None = None) -> Path:
    """Write ``document`` as JSON into ``folder`` (created if needed), named ``<model_id>.json`` by default."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (filename or f"{document['model_id']}.json")
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def copy_fixtures(folder: Path) -> Path:
    """Copy the shipped fixture files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A writable copy of ``fixtures/``."""
    return copy_fixtures(tmp_path / "fixtures")


def config_row(**overrides: Any) -> Any:
    """A ModelConfig saved straight through the ORM (no validation, no services): for constraint tests."""
    from registry.models import ModelConfig

    fields: dict[str, Any] = {
        "model_id": "acme_tiny-1",
        "hf_model_id": "acme/tiny-1",
        "name": "Acme Tiny 1",
        "hidden_size": 64,
        "num_layers": 2,
        "vocab_size": 1000,
        "total_params": 187200,
        "total_params_formatted": "187.2K",
        "digest": "0" * 64,
    }
    fields.update(overrides)
    return ModelConfig.objects.create(**fields)


def layer_row(config: Any, **overrides: Any) -> Any:
    """A LayerType saved straight through the ORM for ``config``."""
    from registry.models import LayerType

    fields: dict[str, Any] = {
        "config": config,
        "position": 0,
        "name": "norm",
        "class_name": "NormLayer",
        "count": 5,
        "specs": {"hidden_size": 64, "has_bias": False},
        "parameter_count": 64,
    }
    fields.update(overrides)
    return LayerType.objects.create(**fields)


def subprocess_database_url() -> str:
    """A DATABASE_URL naming the test database, for subprocesses (call inside a test using ``db``)."""
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def manage(*args: str, database_url: str, cwd: Path | None = None) -> Any:
    """Run ``python manage.py ARGS`` in a subprocess against ``database_url``; returns the CompletedProcess."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- API clients and stored configs (shared by the API tests) ----------------------------------------------


@pytest.fixture
def api() -> Any:
    """An anonymous client."""
    from rest_framework.test import APIClient

    return APIClient()


def user_with(username: str, *codenames: str) -> Any:
    """A user with these registry permissions."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, password="secret-pass-1")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))
    return user


def token_client(user: Any) -> Any:
    """A client authenticated by a token of ``user``."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def writer(db) -> Any:
    """A token-authenticated client whose user may add, change and delete configs."""
    return token_client(user_with("writer", "add_modelconfig", "change_modelconfig", "delete_modelconfig"))


def store(document: dict[str, Any]) -> Any:
    """A config written through the one write path."""
    from registry import services

    return services.config_upsert(data=document, source="api").config


def variant(i: int, **overrides: Any) -> dict[str, Any]:
    """A small valid config numbered i (hidden size and layer count vary with i)."""
    hidden = 64 * (1 + i % 4)
    doc = small_config(
        model_id=f"acme_tiny-{i:03d}",
        hf_model_id=f"acme/tiny-{i:03d}",
        name=f"Acme Tiny {i:03d}",
        hidden_size=hidden,
        num_layers=2 + i % 3,
    )
    for layer in doc["layer_types"]:
        layer["specs"]["hidden_size"] = hidden
    doc.update(overrides)
    return doc


def store_many(n: int) -> None:
    """n variants, through the bulk write path."""
    from registry import services

    items = [services.ImportItem(source=f"v{i}", data=variant(i)) for i in range(n)]
    report = services.import_configs(items=items, source="api")
    assert report.ok, [s.errors for s in report.failed]


# ---- the admin's forms, as a browser posts them ------------------------------------------------------------

LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
CHANGELIST = "admin:registry_modelconfig_changelist"
ADD = "admin:registry_modelconfig_add"


def change_url(config: Any) -> str:
    """The admin change page of ``config``."""
    from django.urls import reverse

    return reverse("admin:registry_modelconfig_change", args=[config.pk])


def form_data(response: Any) -> dict[str, Any]:
    """The POST data a browser would send for a rendered admin change form left as it is."""
    from django import forms

    all_forms: list[Any] = [response.context["adminform"].form]
    data: dict[str, Any] = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        all_forms += formset.forms
    for form in all_forms:
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            if isinstance(bound.field, forms.NullBooleanField):
                data[bound.html_name] = bound.field.widget.format_value(value)
            elif isinstance(bound.field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value
    return data


def row(data: dict[str, Any], name: str) -> str:
    """The field prefix (``layer_types-1-``) of the inline row holding the layer type called ``name``."""
    for key, value in data.items():
        if key.endswith("-name") and key.startswith("layer_types-") and value == name:
            return key[: -len("name")]
    raise KeyError(name)


def set_layer(data: dict[str, Any], index: int, position: int, layer: dict[str, Any]) -> None:
    """Fill inline row ``index`` with a layer type in the document's shape."""
    prefix = f"layer_types-{index}-"
    data.update({f"{prefix}position": position, f"{prefix}name": layer["name"], f"{prefix}class_name": layer["class"]})
    data[f"{prefix}count"] = layer["count"]
    for key, value in layer["specs"].items():
        # "true"/"false" read the same from a checkbox and from a yes/no/default select.
        data[f"{prefix}spec_{key}"] = ("true" if value else "false") if isinstance(value, bool) else value


def add_data(client: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The add form's POST data for ``document``: its own fields and one inline row per layer type."""
    from django.urls import reverse

    data = form_data(client.get(reverse(ADD)))
    data = {k: v for k, v in data.items() if not k.startswith("layer_types-0-")}
    for key in ("model_id", "hf_model_id", "name", "hidden_size", "num_layers", "vocab_size", "validation_notes"):
        data[key] = document[key]
    if document.get("validated"):
        data["validated"] = "on"
    for i, layer in enumerate(document["layer_types"]):
        set_layer(data, i, i, layer)
    data["layer_types-TOTAL_FORMS"] = len(document["layer_types"])
    return data


def field_errors(response: Any, prefix: str, field: str) -> list[tuple[str, str]]:
    """``(code, message)`` of each error the inline row with ``prefix`` shows at ``field``."""
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            if form.prefix + "-" == prefix:
                return [(e.code, e.message) for e in form.errors.as_data().get(field, [])]
    raise KeyError(prefix)


def hub_config(hf_model_id: str) -> dict[str, Any]:
    """The config.json of a Hub repo under tests/data/hf, parsed."""
    import json

    return json.loads(hub_config_path(hf_model_id).read_text())


def hub_config_path(hf_model_id: str) -> Path:
    return HF_DATA / hf_model_id / "config.json"


def canonical(document: dict[str, Any]) -> dict[str, Any]:
    """A valid document as the registry stores it: normalized, derived values filled in."""
    from registry.core import validate_config

    result = validate_config(document)
    assert result.ok, result.errors
    return result.config.to_document()


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """For tests that call the WSGI application directly (schemathesis): the raw call fires request_started and
    request_finished, whose close_old_connections would close the test transaction's connection, so they are
    disconnected meanwhile, as Django's test Client does. Set up after any test-client request, which connects
    them again."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def error_codes(response: Any) -> list[tuple[str, str]]:
    """An API error response's ``(loc, code)`` pairs, in order."""
    return [(e["loc"], e["code"]) for e in response.json()["errors"]]


def get_errors(client: Any, url: str) -> list[tuple[str, str]]:
    """GET ``url``, which must answer 400: its ``(loc, code)`` pairs, in order."""
    response = client.get(url)
    assert response.status_code == 400, response.content
    return error_codes(response)


# ---- Hugging Face imports (shared by tests/test_hf_*.py) ---------------------------------------------------


def converted(config: dict[str, Any], hf_model_id: str = "test/model") -> dict[str, Any]:
    """The document the importer makes of a parsed config.json; fails the test on any import error."""
    from registry.core.hf import convert

    conversion = convert(config, hf_model_id)
    assert not conversion.errors, [i.as_dict() for i in conversion.errors]
    assert conversion.document is not None
    return conversion.document


def validated(config: dict[str, Any], hf_model_id: str = "test/model") -> Any:
    """The validation of a config.json's imported document; fails the test unless it is valid."""
    from registry.core import validate_config

    result = validate_config(converted(config, hf_model_id))
    assert result.ok, [i.as_dict() for i in result.errors]
    return result


def param_counts(config: dict[str, Any], hf_model_id: str = "test/model") -> tuple[int, int | None]:
    """``(total, active)`` parameters of a config.json's imported document (active None: no routed experts)."""
    imported = validated(config, hf_model_id).config
    return imported.total_params, imported.active_params


def hub_counts(hf_model_id: str) -> tuple[int, int | None]:
    """``(total, active)`` of the config.json of a Hub repo under tests/data/hf, imported under its id."""
    return param_counts(hub_config(hf_model_id), hf_model_id)


def refusals(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The importer's ``(loc, code)`` errors for a parsed config.json, in order; a refused config has no document."""
    from registry.core.hf import convert

    conversion = convert(config, "test/model")
    assert (conversion.document is None) == bool(conversion.errors)
    return [(i.loc, i.code) for i in conversion.errors]


def layer_named(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The layer type called ``name`` of a document (or of a plan's ``as_dict()``)."""
    return next(lt for lt in document["layer_types"] if lt["name"] == name)


def layers_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A document's layer types by name."""
    return {lt["name"]: lt for lt in document["layer_types"]}
