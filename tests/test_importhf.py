"""Import from Hugging Face: the conversion's rules and errors, the importhf command, and POST /models/import-hf."""

from __future__ import annotations

import json
import os
import shutil
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.core import validate_config
from registry.core.document import dumps
from registry.core.hf import SUPPORTED_MODEL_TYPES, Code, convert
from registry.models import ConfigRevision, ModelConfig
from tests.conftest import (
    FIXTURES,
    HF_DATA,
    IMPORTED,
    PUBLISHED_ACTIVE,
    error_codes,
    hub_config,
    token_client,
    user_with,
)

# Every model_type the issue names, with the test config.json that covers it.
HUB_FILES = {
    "llama": "meta-llama/Llama-3.2-1B",
    "mistral": "mistralai/Mistral-7B-v0.1",
    "mixtral": "mistralai/Mixtral-8x7B-v0.1",
    "qwen2": "Qwen/Qwen2.5-7B-Instruct",
    "qwen2_moe": "Qwen/Qwen1.5-MoE-A2.7B",
    "qwen3": "Qwen/Qwen3-8B",
    "qwen3_moe": "Qwen/Qwen3-30B-A3B",
    "gemma": "google/gemma-7b",
    "gemma2": "google/gemma-2-2b",
    "phi3": "microsoft/Phi-3-mini-4k-instruct",
    "gpt2": "openai-community/gpt2",
    "olmo": "allenai/OLMo-1B-hf",
    "olmo2": "allenai/OLMo-2-1124-7B",
    "deepseek_v3": "deepseek-ai/DeepSeek-V3",
}
# transformers 5.24 on the meta device, sum(p.numel() for p in model.parameters()); see tests/test_hf_oracle.py.
TRANSFORMERS_TOTALS = {
    "meta-llama/Llama-3.2-1B": (1235814400, None),
    "mistralai/Mistral-7B-v0.1": (7241732096, None),
    "Qwen/Qwen1.5-MoE-A2.7B": (14315784192, 2689173504),
    "Qwen/Qwen3-8B": (8190735360, None),
    "Qwen/Qwen3-30B-A3B": (30532122624, 3353032704),
    "google/gemma-7b": (8537680896, None),
    "microsoft/Phi-3-mini-4k-instruct": (3821079552, None),
    "allenai/OLMo-1B-hf": (1176764416, None),
    "allenai/OLMo-2-1124-7B": (7298617344, None),
}


def imported(config: dict[str, Any], hf_id: str = "test/model") -> Any:
    conversion = convert(config, hf_id)
    assert not conversion.errors, conversion.errors
    result = validate_config(conversion.document)
    assert result.ok, result.errors
    return result.config


def errors(config: Any, hf_id: str = "test/model") -> list[tuple[str, str]]:
    return [(i.loc, i.code) for i in convert(config, hf_id).errors]


def small(model_type: str, **keys: Any) -> dict[str, Any]:
    """A small config of ``model_type`` with every dimension given."""
    config: dict[str, Any] = {
        "model_type": model_type,
        "hidden_size": 64,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 96,
        "vocab_size": 300,
    }
    if model_type in ("qwen2_moe", "qwen3_moe"):
        config.update(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32)
    if model_type == "qwen2_moe":
        config["shared_expert_intermediate_size"] = 48
    return {**config, **keys}


# ---- the conversion ------------------------------------------------------------------------------------------------


def test_every_model_type_of_the_issue_is_supported():
    """The model_types the issue names, each with a test config.json."""
    assert set(HUB_FILES) <= set(SUPPORTED_MODEL_TYPES)


@pytest.mark.parametrize("model_id", sorted(IMPORTED))
def test_the_published_totals(model_id):
    """Qwen2.5-7B-Instruct, gemma-2-2b, Mixtral-8x7B, DeepSeek-V3 and gpt2 total (and activate) what is published."""
    hf_id = model_id.replace("_", "/", 1)
    config = imported(hub_config(hf_id), hf_id)
    assert (config.total_params, config.total_params_formatted) == IMPORTED[model_id]
    assert config.active_params == PUBLISHED_ACTIVE.get(model_id)


@pytest.mark.parametrize("hf_id", sorted(TRANSFORMERS_TOTALS))
def test_other_model_types_count_what_transformers_builds(hf_id):
    """The other test configs total (and activate) what transformers builds from them."""
    config = imported(hub_config(hf_id), hf_id)
    assert (config.total_params, config.active_params) == TRANSFORMERS_TOTALS[hf_id]


def test_the_document_names_and_describes_the_model():
    """model_id from the repo id, name its name part, context length kept, not marked validated."""
    config = imported(hub_config("Qwen/Qwen2.5-7B-Instruct"), "Qwen/Qwen2.5-7B-Instruct")
    assert (config.model_id, config.name, config.max_position_embeddings) == (
        "Qwen_Qwen2.5-7B-Instruct",
        "Qwen2.5-7B-Instruct",
        32768,
    )
    assert config.validated is False and "model_type qwen2" in config.validation_notes
    attention = config.layer_types[0]
    assert attention.specs["qkv_bias"] is True and "output_bias" not in attention.specs


def test_quantization_config_is_noted_and_changes_nothing():
    """DeepSeek-V3's fp8 quantization_config: the same counts, and the notes say why."""
    with_quantization = hub_config("deepseek-ai/DeepSeek-V3")
    without = {k: v for k, v in with_quantization.items() if k != "quantization_config"}
    a, b = imported(with_quantization), imported(without)
    assert (a.total_params, a.active_params) == (b.total_params, b.active_params)
    assert "quantization_config (fp8) does not change the parameter counts" in a.validation_notes
    assert "quantization_config" not in b.validation_notes


def test_absent_keys_take_the_model_types_defaults():
    """head_dim and tie_word_embeddings differ by model_type: gemma 256 and tied, qwen3 128, llama h/H and untied."""
    gemma = imported(small("gemma", num_key_value_heads=4))
    assert gemma.layer_types[0].specs["head_dim"] == 256
    assert gemma.layer_types[-1].specs["tie_word_embeddings"] is True
    assert imported(small("qwen3")).layer_types[0].specs["head_dim"] == 128
    llama = imported(small("llama"))
    assert llama.layer_types[0].specs["head_dim"] == 16
    assert llama.layer_types[-1].specs["tie_word_embeddings"] is False
    assert imported(small("llama", num_key_value_heads=None)).layer_types[0].class_name == "AttentionLayer"


def test_gpt2_n_inner_null_is_four_times_the_width():
    """gpt2's n_inner null: the MLP is 4 · n_embd wide."""
    config = {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_inner": None}
    mlp = imported(config).layer_types[1]
    assert (mlp.class_name, mlp.specs["intermediate_size"], mlp.specs["mlp_bias"]) == ("MLPLayer", 128, True)


def test_llama_biases_follow_its_flags():
    """attention_bias puts biases on q, k, v and o; mlp_bias on the MLP."""
    config = imported(small("llama", attention_bias=True, mlp_bias=True))
    attention, mlp = config.layer_types[0], config.layer_types[1]
    assert attention.specs["qkv_bias"] and attention.specs["output_bias"] and mlp.specs["mlp_bias"]
    plain = imported(small("llama"))
    assert config.total_params - plain.total_params == 4 * ((64 + 2 * 32) + 64 + (2 * 96 + 64))


def test_qwen_moe_dense_layers_are_counted_exactly():
    """mlp_only_layers and decoder_sparse_step make dense layers of intermediate_size, the rest experts."""
    config = imported(small("qwen3_moe", mlp_only_layers=[0], decoder_sparse_step=2))
    kinds = [(lt.name, lt.class_name, lt.count, lt.specs.get("layer_idx")) for lt in config.layer_types[1:3]]
    # Layers 0..3: 0 is listed, 1 and 3 are experts ((i + 1) % 2 == 0), 2 is dense.
    assert kinds == [("feedforward_dense", "GatedMLPLayer", 2, 0), ("feedforward_moe", "MoELayer", 2, 1)]


def test_deepseek_dense_first_layers():
    """first_k_dense_replace dense layers, then experts; n_shared_experts widens the shared expert."""
    config = hub_config("deepseek-ai/DeepSeek-V3")
    doc = imported(config)
    assert [(lt.name, lt.count) for lt in doc.layer_types[:3]] == [
        ("attention", 61),
        ("feedforward_dense", 3),
        ("feedforward_moe", 58),
    ]
    wider = imported({**config, "n_shared_experts": 2})
    assert wider.layer_types[2].specs["shared_expert_intermediate_size"] == 4096
    assert "shared_expert_intermediate_size" not in imported({**config, "n_shared_experts": 0}).layer_types[2].specs
    no_q_lora = imported({**config, "q_lora_rank": None}).layer_types[0]
    assert "q_lora_rank" not in no_q_lora.specs


def test_sliding_windows_become_layer_types():
    """Gemma-2 alternates sliding and global layers; Qwen2 with use_sliding_window slides from max_window_layers."""
    gemma = imported(small("gemma2", sliding_window=512))
    assert [(lt.name, lt.count, lt.specs.get("sliding_window")) for lt in gemma.layer_types[:2]] == [
        ("attention_sliding", 2, 512),
        ("attention_full", 2, None),
    ]
    qwen = imported(small("qwen2", use_sliding_window=True, sliding_window=256, max_window_layers=1))
    assert [(lt.name, lt.count, lt.specs.get("layer_idx")) for lt in qwen.layer_types[:2]] == [
        ("attention_full", 1, 0),
        ("attention_sliding", 3, 1),
    ]
    assert imported(small("qwen2", sliding_window=256)).layer_types[0].name == "attention"  # not enabled


# ---- the conversion's errors -----------------------------------------------------------------------------------------


def test_an_unsupported_model_type_is_named_with_the_supported_ones():
    """rwkv: unsupported_model_type, listing every supported type."""
    conversion = convert(small("rwkv"), "RWKV/rwkv-4-169m-pile")
    assert [(i.loc, i.code) for i in conversion.errors] == [("config.model_type", Code.UNSUPPORTED_MODEL_TYPE)]
    assert '"rwkv"' in conversion.errors[0].msg and ", ".join(SUPPORTED_MODEL_TYPES) in conversion.errors[0].msg
    assert errors({"hidden_size": 1}) == [("config.model_type", Code.UNSUPPORTED_MODEL_TYPE)]


@pytest.mark.parametrize(
    ("model_type", "missing", "loc"),
    [
        ("llama", "hidden_size", "config.hidden_size"),
        ("llama", "num_hidden_layers", "config.num_hidden_layers"),
        ("llama", "num_attention_heads", "config.num_attention_heads"),
        ("llama", "vocab_size", "config.vocab_size"),
        ("llama", "intermediate_size", "config.intermediate_size"),
        ("mistral", "num_key_value_heads", "config.num_key_value_heads"),
        ("qwen3_moe", "moe_intermediate_size", "config.moe_intermediate_size"),
        ("qwen2_moe", "shared_expert_intermediate_size", "config.shared_expert_intermediate_size"),
        ("qwen3_moe", "num_experts", "config.num_experts"),
    ],
)
def test_a_missing_dimension_is_an_error_naming_its_key(model_type, missing, loc):
    """The model's dimensions are never taken from a default model."""
    config = small(model_type)
    del config[missing]
    assert errors(config) == [(loc, Code.MISSING_DIMENSION)]
    config[missing] = None
    if missing == "num_key_value_heads":  # null is num_attention_heads to every configuration class
        assert imported(config).layer_types[0].class_name == "AttentionLayer"
    else:
        assert errors(config) == [(loc, Code.MISSING_DIMENSION)]


def test_gpt2_dimensions_have_gpt2_names():
    """gpt2 names its width n_embd."""
    assert errors({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "vocab_size": 9}) == [
        ("config.n_embd", Code.MISSING_DIMENSION)
    ]


@pytest.mark.parametrize(
    ("config", "loc"),
    [
        (
            {**small("gpt2"), "n_embd": 32, "n_layer": 2, "n_head": 2, "add_cross_attention": True},
            "add_cross_attention",
        ),
        ({**hub_config("deepseek-ai/DeepSeek-V3"), "moe_layer_freq": 2}, "moe_layer_freq"),
    ],
)
def test_an_architecture_key_the_importer_cannot_count_is_an_error(config, loc):
    """A non-default value that changes the architecture is refused by name, never dropped."""
    assert (f"config.{loc}", Code.UNSUPPORTED_KEY) in errors(config)


def test_contradictions_are_errors():
    """More experts per token than experts; kv heads that do not divide the heads; two names that disagree."""
    assert errors(small("qwen3_moe", num_experts_per_tok=5)) == [("config.num_experts_per_tok", Code.CONTRADICTION)]
    assert errors(small("llama", num_key_value_heads=3)) == [("config.num_key_value_heads", Code.CONTRADICTION)]
    conflict = {**small("mixtral", num_local_experts=4, num_experts_per_tok=2), "num_experts": 8}
    assert errors(conflict) == [("config.num_local_experts", Code.CONTRADICTION)]
    assert errors(small("llama", hidden_size=66)) == [("config.num_attention_heads", Code.CONTRADICTION)]


@pytest.mark.parametrize(
    ("key", "value"),
    [("hidden_size", "64"), ("num_hidden_layers", 0), ("num_attention_heads", 2.0), ("tie_word_embeddings", "yes")],
)
def test_a_value_of_the_wrong_type_is_an_error(key, value):
    """Dimensions are positive integers, flags booleans."""
    assert errors(small("llama", **{key: value})) == [(f"config.{key}", Code.INVALID_VALUE)]


@pytest.mark.parametrize("hf_id", ["gpt2", "a/b/c", "/x", 7])
def test_the_hub_id_must_be_org_slash_name(hf_id):
    """An id without exactly one '/' is refused."""
    assert ("hf_model_id", Code.INVALID_HF_ID) in errors(small("llama"), hf_id)


# ---- the importhf command -----------------------------------------------------------------------------------


def importhf(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("importhf", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def hub_cache(root: Path, hf_id: str, revisions: dict[str, dict[str, Any]]) -> Path:
    """A Hub cache as huggingface_hub leaves it: models--ORG--NAME/{refs,snapshots/REV}/config.json."""
    repo = root / f"models--{hf_id.replace('/', '--')}"
    for i, (revision, config) in enumerate(revisions.items()):
        folder = repo / "snapshots" / revision
        folder.mkdir(parents=True)
        path = folder / "config.json"
        path.write_text(json.dumps(config))
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(list(revisions)[-1])
    return root


@pytest.mark.django_db
def test_imports_a_config_json_with_its_hub_id():
    """A file with --hf-id: created, with history source importhf."""
    out, _ = importhf(str(HF_DATA / "openai-community/gpt2/config.json"), "--hf-id", "openai-community/gpt2")
    assert "1 created, 0 updated, 0 unchanged, 0 failed" in out
    config = ModelConfig.objects.get(model_id="openai-community_gpt2")
    assert (config.total_params, config.max_position_embeddings) == (124439808, 1024)
    assert ConfigRevision.objects.get(model_id=config.model_id).source == "importhf"
    out, _ = importhf(str(HF_DATA / "openai-community/gpt2/config.json"), "--hf-id", "openai-community/gpt2")
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in out


@pytest.mark.django_db
def test_a_file_without_its_hub_id_is_refused():
    """A bare config.json does not say which repo it is."""
    with pytest.raises(CommandError, match="needs --hf-id ORG/NAME") as error:
        importhf(str(HF_DATA / "openai-community/gpt2/config.json"))
    assert "Nothing was written." in str(error.value)


@pytest.mark.django_db
def test_imports_every_org_name_folder_and_matches_the_fixtures(tmp_path):
    """A folder of ORG/NAME/config.json: all imported; dumpconfigs writes the shipped fixtures byte for byte, but
    for the published total and its source, which a curator adds (a config.json does not say them)."""
    out, _ = importhf(str(HF_DATA))
    files = len(list(HF_DATA.glob("*/*/config.json")))
    assert f"{files} created, 0 updated, 0 unchanged, 0 failed" in out
    call_command("dumpconfigs", "--output", str(tmp_path), *IMPORTED, stdout=StringIO())
    curated = ("published_total_params", "published_total_params_source")
    for model_id in IMPORTED:
        shipped = json.loads((FIXTURES / f"{model_id}.json").read_text(encoding="utf-8"))
        assert all(key in shipped for key in curated)
        expected = dumps({key: value for key, value in shipped.items() if key not in curated})
        assert (tmp_path / f"{model_id}.json").read_text(encoding="utf-8") == expected
    call_command("loadconfigs", str(tmp_path), "--no-progress", stdout=(loaded := StringIO()))
    assert f"0 created, 0 updated, {len(IMPORTED)} unchanged, 0 failed" in loaded.getvalue()


@pytest.mark.django_db
def test_one_bad_config_writes_nothing_and_exits_nonzero(tmp_path):
    """All or nothing, in loadconfigs' report format: the bad file's error names its key."""
    shutil.copytree(HF_DATA / "google", tmp_path / "google")
    bad = tmp_path / "acme" / "broken"
    bad.mkdir(parents=True)
    (bad / "config.json").write_text(json.dumps(small("llama", num_attention_heads=None)))
    with pytest.raises(CommandError) as error:
        importhf(str(tmp_path))
    message = str(error.value)
    valid = len(list((HF_DATA / "google").glob("*/config.json")))
    assert f"0 created, 0 updated, 0 unchanged, 1 failed, {valid} valid but not written." in message
    assert f"Nothing was written: 1 of {valid + 1} files failed." in message
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_the_errors_are_printed_per_file(tmp_path):
    """Each failing file lists its issues with loc and code."""
    folder = tmp_path / "acme" / "odd"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(small("rwkv")))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("importhf", str(tmp_path), stdout=StringIO(), stderr=err)
    assert f"{folder / 'config.json'}: 1 error(s)" in err.getvalue()
    assert 'config.model_type: model_type "rwkv" is not supported' in err.getvalue()
    assert "[unsupported_model_type]" in err.getvalue()


@pytest.mark.django_db
def test_dry_run_writes_nothing():
    """--dry-run reports what would be created."""
    out, _ = importhf(str(HF_DATA / "mistralai"), "--dry-run")
    files = len(list((HF_DATA / "mistralai").glob("*/config.json")))
    assert f"{files} created, 0 updated, 0 unchanged, 0 failed. Dry run: nothing was written." in out
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
def test_a_hub_cache_folder_takes_the_newest_revision(tmp_path):
    """models--ORG--NAME/snapshots/*/config.json: the id from the folder name, the newest file of its revisions."""
    old = small("llama", num_hidden_layers=2)
    new = small("llama", num_hidden_layers=3)
    hub_cache(tmp_path, "acme/tiny", {"aaa111": old, "bbb222": new})
    importhf(str(tmp_path))
    assert ModelConfig.objects.get(model_id="acme_tiny").num_layers == 3


@pytest.mark.django_db
def test_a_hub_id_comes_from_the_users_hub_cache(tmp_path, monkeypatch):
    """ORG/NAME is looked up in HF_HUB_CACHE with huggingface_hub; not cached and no --download is an error."""
    import huggingface_hub.constants

    hub_cache(tmp_path, "acme/tiny", {"abc123": small("olmo")})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    importhf("acme/tiny")
    config = ModelConfig.objects.get(model_id="acme_tiny")
    assert config.layer_types.get(name="norm").parameter_count == 0  # OLMo's norms have no weights
    with pytest.raises(CommandError, match=r"acme/other: no config.json in the Hugging Face cache .* --download"):
        importhf("acme/other")


@pytest.mark.django_db
def test_a_source_that_is_nothing_is_refused():
    """Neither a file, a folder nor a Hub id."""
    with pytest.raises(CommandError, match="no such file or folder, and not a Hub id"):
        importhf("no/such/path.json")


# ---- POST /models/import-hf -------------------------------------------------------------------------


def test_api_import_creates_and_returns_the_document(writer):
    """201 with the document and its Location; the same body again is 200 unchanged."""
    body = {"hf_model_id": "mistralai/Mixtral-8x7B-v0.1", "config": hub_config("mistralai/Mixtral-8x7B-v0.1")}
    response = writer.post("/models/import-hf", body, format="json")
    assert response.status_code == 201, response.content
    document = response.json()
    shipped = json.loads((FIXTURES / "mistralai_Mixtral-8x7B-v0.1.json").read_text())
    curated = ("published_total_params", "published_total_params_source")  # a config.json does not say them
    assert document == {key: value for key, value in shipped.items() if key not in curated}
    assert response["Location"].endswith("/models/mistralai_Mixtral-8x7B-v0.1")
    assert ConfigRevision.objects.get().source == "importhf"
    again = writer.post("/models/import-hf", body, format="json")
    assert again.status_code == 200 and ConfigRevision.objects.count() == 1


def test_api_import_dry_run_writes_nothing(writer):
    """?dry_run=true: 200 with the document it would write."""
    body = {"hf_model_id": "google/gemma-2-2b", "config": hub_config("google/gemma-2-2b")}
    response = writer.post("/models/import-hf?dry_run=true", body, format="json")
    assert response.status_code == 200 and response.json()["total_params"] == 2614341888
    assert not ModelConfig.objects.exists()
    assert writer.post("/models/import-hf?dry_run=yes", body, format="json").status_code == 400


def test_api_import_errors_name_the_key(writer):
    """Conversion errors in the API's usual shape, at the config.json key."""
    config = small("llama")
    del config["vocab_size"]
    response = writer.post("/models/import-hf", {"hf_model_id": "acme/x", "config": config}, format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("config.vocab_size", Code.MISSING_DIMENSION)]
    response = writer.post("/models/import-hf", {"config": config, "colour": 1}, format="json")
    assert error_codes(response) == [
        ("hf_model_id", "required"),
        ("colour", "unknown_key"),
    ]
    assert not ModelConfig.objects.exists()


def test_api_import_needs_write_permission(db):
    """Anonymous clients may not import."""
    from rest_framework.test import APIClient

    body = {"hf_model_id": "google/gemma-2-2b", "config": hub_config("google/gemma-2-2b")}
    assert APIClient().post("/models/import-hf", body, format="json").status_code in (401, 403)
    assert not ModelConfig.objects.exists()


# ---- hostile and curated inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layers", [2**62, 100_001])
def test_a_huge_layer_count_is_refused_before_anything_is_expanded(layers):
    """Per-layer rules are never expanded for an absurd num_hidden_layers: too_large at the key."""
    config = hub_config("Qwen/Qwen3-8B") | {"num_hidden_layers": layers}
    assert errors(config) == [("config.num_hidden_layers", Code.TOO_LARGE)]
    assert errors(small("llama", hidden_size=2**70)) == [("config.hidden_size", Code.TOO_LARGE)]


@pytest.mark.parametrize("model_type", [["qwen3"], {"a": 1}, 3])
def test_a_model_type_that_is_not_a_string_is_unsupported(model_type):
    """Lists and objects are named like any unsupported model_type."""
    assert errors({"model_type": model_type}) == [("config.model_type", Code.UNSUPPORTED_MODEL_TYPE)]


@pytest.mark.parametrize("hf_id", ["../x", "a/..", ".a/b", "x/.", "a b/c"])
def test_hub_ids_follow_the_hubs_rule(hf_id):
    """Each part starts with a letter or digit and holds only letters, digits, '.', '_' and '-'."""
    assert errors(small("llama"), hf_id) == [("hf_model_id", Code.INVALID_HF_ID)]


def test_one_problem_per_key():
    """A flag read for two purposes, or a bad count, is reported once at its key."""
    assert errors(small("qwen3", attention_bias=1)) == [("config.attention_bias", Code.INVALID_VALUE)]
    gpt2 = {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 0}
    assert errors(gpt2) == [("config.n_positions", Code.INVALID_VALUE)]


@pytest.mark.django_db
def test_a_curated_config_is_not_replaced_without_the_flag():
    """Mistral-7B's curated fixture differs from its import: refused (nothing written) unless --replace."""
    call_command("loadconfigs", str(FIXTURES), "--no-progress", stdout=StringIO())
    before = ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1").digest
    with pytest.raises(CommandError) as error:
        importhf(str(HF_DATA / "mistralai"))
    files = len(list((HF_DATA / "mistralai").glob("*/config.json")))  # Mistral-7B, Mixtral and new ones
    assert f"1 failed, {files - 1} valid but not written" in str(error.value)
    assert ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1").digest == before
    out, _ = importhf(str(HF_DATA / "mistralai"), "--replace")
    assert f"{files - 2} created, 1 updated, 1 unchanged, 0 failed" in out
    replaced = ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1")
    assert replaced.validated is False and replaced.layer_types.filter(class_name="OutputHeadLayer").exists()


@pytest.mark.django_db
def test_a_source_named_twice_is_one_input():
    """The same Hub folder twice imports once."""
    out, _ = importhf(str(HF_DATA / "google"), str(HF_DATA / "google"))
    files = len(list((HF_DATA / "google").glob("*/config.json")))
    assert f"{files} created, 0 updated, 0 unchanged, 0 failed" in out


def test_api_import_does_not_replace_a_different_config_without_replace(writer):
    """409 already_exists; ?replace=true replaces it (200)."""
    call_command("loadconfigs", str(FIXTURES), "--no-progress", stdout=StringIO())
    body = {"hf_model_id": "mistralai/Mistral-7B-v0.1", "config": hub_config("mistralai/Mistral-7B-v0.1")}
    response = writer.post("/models/import-hf", body, format="json")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "already_exists"
    assert ModelConfig.objects.get(model_id="mistralai_Mistral-7B-v0.1").validated is True
    response = writer.post("/models/import-hf?replace=true", body, format="json")
    assert response.status_code == 200 and response.json()["validated"] is False


def test_api_replace_needs_the_change_permission(db):
    """?replace=true is refused (403) to a user who may only add; nothing is written."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    body = {"hf_model_id": "mistralai/Mistral-7B-v0.1", "config": hub_config("mistralai/Mistral-7B-v0.1")}
    response = adder.post("/models/import-hf?replace=true", body, format="json")
    assert response.status_code == 403 and "change permission" in response.json()["errors"][0]["msg"]
    assert not ModelConfig.objects.exists()
    assert adder.post("/models/import-hf", body, format="json").status_code == 201


# ---- keys a model's own switches turn off (counts: transformers 5.25 on the meta device) ------------------------


def test_gpt2_ignores_a_head_dim_key_as_gpt2config_does():
    """GPT2Config reads no head_dim: a file that carries one counts n_embd // n_head wide heads."""
    config = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 300, "head_dim": 32}
    doc = imported(config)
    assert doc.total_params == 184_832
    assert doc.layer_types[0].specs["head_dim"] == 16


def test_a_disabled_sliding_window_of_zero_as_transformers_writes_it_is_not_read():
    """save_pretrained writes sliding_window 0 with use_sliding_window false: it imports, all layers full."""
    config = small("qwen2", use_sliding_window=False, sliding_window=0, max_window_layers=4)
    doc = imported(config)
    assert doc.total_params == 162_368
    assert all("sliding_window" not in layer.specs for layer in doc.layer_types)


def test_a_zero_width_shared_expert_counts_its_gate_as_transformers_builds_it():
    """qwen2_moe's shared_expert_intermediate_size 0: no shared expert weights, its gate (hidden_size) stays."""
    doc = imported(small("qwen2_moe", shared_expert_intermediate_size=0))
    assert (doc.total_params, doc.active_params) == (188_224, 139_072)
    moe = next(layer for layer in doc.layer_types if layer.class_name == "MoELayer")
    assert (moe.specs["shared_expert_intermediate_size"], moe.specs["shared_expert_gate"]) == (0, True)
