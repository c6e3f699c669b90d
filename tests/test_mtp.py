"""Multi-token-prediction layer types: outside total_params, counted in mtp_params, never planned."""

from __future__ import annotations

import copy

from registry.core import validate_config
from registry.core.planning import Deployment, plan_config
from tests.conftest import fixture_document, issues

DEEPSEEK = "deepseek-ai_DeepSeek-V3"
TOTAL, ACTIVE = 671_026_404_352, 37_552_282_624  # transformers 5.25, which builds no MTP module


def test_deepseek_v3_checkpoint_is_total_plus_mtp_params():
    """DeepSeek's model card: 671B of main model and the MTP module, 685B in all. The module as the checkpoint
    stores it: a decoder layer (MLA, MoE, two norms), enorm, hnorm, eh_proj, the shared head's norm, and copies
    of the embedding and head."""
    result = validate_config(fixture_document(DEEPSEEK))
    assert result.ok
    config = result.config
    h, vocab = 7168, 129_280
    mla, moe = 187_107_328, 11_320_164_352  # the main model's per-layer counts (its layer types' parameter_count)
    module = mla + moe + 2 * h + (2 * h * h + 3 * h) + 2 * vocab * h
    assert (config.total_params, config.active_params) == (TOTAL, ACTIVE)
    assert config.mtp_params == module == 13_463_426_048
    assert config.total_params + config.mtp_params == 684_489_830_400  # "685B"
    document = config.to_document()
    assert list(document)[list(document).index("active_params_formatted") + 1] == "mtp_params"


def test_mtp_params_given_must_match_and_needs_mtp_layer_types():
    """A given mtp_params is derived like total_params: stale is an error; without MTP layer types it is refused."""
    document = fixture_document(DEEPSEEK)
    stale = {**copy.deepcopy(document), "mtp_params": 1}
    assert ("mtp_params", "mtp_params_mismatch") in issues(validate_config(stale))
    assert validate_config({**copy.deepcopy(document), "mtp_params": 13_463_426_048}).ok
    plain = fixture_document("mistralai_Mistral-7B-v0.1")
    assert ("mtp_params", "mtp_params_without_mtp") in issues(validate_config({**plain, "mtp_params": 5}))


def test_mtp_layer_types_take_no_part_in_the_decoder_stack_rules():
    """The module's attention and MoE rows do not make the attention or feedforward counts disagree with
    num_layers, and its embedding copy is no untied head."""
    result = validate_config(fixture_document(DEEPSEEK))
    assert result.warnings == []


def test_planning_leaves_the_mtp_module_out():
    """The plan's weights are total_params' (an engine loads the module only for speculative decoding)."""
    plan = plan_config(fixture_document(DEEPSEEK), Deployment(context=1))
    assert plan.ok
    figures = plan.as_dict()
    assert figures["total_params"] == TOTAL and figures["active_params"] == ACTIVE
    assert not any(row["name"].startswith("mtp_") for row in figures["layer_types"])
    assert any("multi-token-prediction" in note for note in figures["notes"])
