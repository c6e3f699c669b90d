"""recomputecounts: every derived count recomputed from the catalogue; stale ones fixed, overflow refused."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registry.core import format_params
from registry.models import ConfigRevision, LayerType, ModelConfig
from tests.conftest import PUBLISHED

pytestmark = pytest.mark.django_db

MISTRAL = "mistralai_Mistral-7B-v0.1"
TINY = "TinyLlama_TinyLlama-1.1B-Chat-v1.0"


def recompute(*args: str) -> str:
    out = StringIO()
    call_command("recomputecounts", *args, stdout=out)
    return out.getvalue()


def _tamper(model_id: str, parameter_count: int) -> int:
    """Write a wrong attention parameter_count and a total that agrees with it, around the services."""
    config = ModelConfig.objects.get(model_id=model_id)
    row = config.layer_types.get(name="attention")
    wrong = config.total_params + row.count * (parameter_count - row.parameter_count)
    LayerType.objects.filter(pk=row.pk).update(parameter_count=parameter_count)
    ModelConfig.objects.filter(pk=config.pk).update(total_params=wrong, total_params_formatted=format_params(wrong))
    return wrong


def _stored() -> dict:
    return {c.model_id: (c.total_params, c.total_params_formatted) for c in ModelConfig.objects.all()}


def test_fixes_a_tampered_count_and_prints_it(loaded_fixtures):
    """A stale count is reported as 'model_id: old -> new' and fixed, with a revision."""
    wrong = _tamper(MISTRAL, 7)
    out = recompute()
    assert f"{MISTRAL}: {wrong} -> {PUBLISHED[MISTRAL][0]}" in out
    assert "1 config(s) changed." in out
    assert _stored() == PUBLISHED
    assert LayerType.objects.get(config__model_id=MISTRAL, name="attention").parameter_count == 41943040
    assert ConfigRevision.objects.filter(source="recomputecounts", model_id=MISTRAL).count() == 1


def test_nothing_to_fix_changes_nothing(loaded_fixtures):
    """With every count right, it reports zero changes and writes no revision."""
    revisions = ConfigRevision.objects.count()
    assert "0 config(s) changed." in recompute()
    assert ConfigRevision.objects.count() == revisions


def test_dry_run_reports_without_writing(loaded_fixtures):
    """--dry-run prints what would change and leaves the stale values."""
    wrong = _tamper(MISTRAL, 7)
    out = recompute("--dry-run")
    assert f"{MISTRAL}: {wrong} -> {PUBLISHED[MISTRAL][0]}" in out
    assert "1 config(s) would change." in out
    assert ModelConfig.objects.get(model_id=MISTRAL).total_params == wrong
    assert LayerType.objects.get(config__model_id=MISTRAL, name="attention").parameter_count == 7
    assert not ConfigRevision.objects.filter(source="recomputecounts").exists()


def test_only_the_model_ids_given(loaded_fixtures):
    """MODEL_ID arguments limit the pass to those configs."""
    _tamper(MISTRAL, 7)
    tiny_wrong = _tamper(TINY, 7)
    out = recompute(MISTRAL)
    assert MISTRAL in out and TINY not in out
    assert ModelConfig.objects.get(model_id=MISTRAL).total_params == PUBLISHED[MISTRAL][0]
    assert ModelConfig.objects.get(model_id=TINY).total_params == tiny_wrong


def test_an_unknown_model_id_is_a_command_error(loaded_fixtures):
    """An id that is not stored is named; nothing is recomputed."""
    wrong = _tamper(MISTRAL, 7)
    with pytest.raises(CommandError, match="No config with model_id: acme_nope"):
        recompute(MISTRAL, "acme_nope")
    assert ModelConfig.objects.get(model_id=MISTRAL).total_params == wrong


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("specs", {"vocab_size": 2**40, "hidden_size": 2**40}),  # the layer's own count overflows
        ("count", 2**40),  # the layer fits; the config's total overflows
    ],
)
def test_overflow_is_a_command_error_with_nothing_written(loaded_fixtures, field, value):
    """A row whose count does not fit a bigint fails the whole pass: CommandError, no fix written."""
    wrong = _tamper(MISTRAL, 7)
    LayerType.objects.filter(config__model_id=TINY, name="embedding").update(**{field: value})
    with pytest.raises(CommandError, match="Nothing was written") as excinfo:
        recompute()
    assert "9223372036854775807" in str(excinfo.value)
    assert TINY in str(excinfo.value)  # the config is named, not an internal row number
    assert ModelConfig.objects.get(model_id=MISTRAL).total_params == wrong
    assert LayerType.objects.get(config__model_id=MISTRAL, name="attention").parameter_count == 7
    assert not ConfigRevision.objects.filter(source="recomputecounts").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"class_name": "NoSuchLayer"}, "NoSuchLayer"),
        ({"specs": {"hidden_size": 2**64, "has_bias": False}}, "exceeds"),
    ],
    ids=["unknown-class", "spec-beyond-int64"],
)
def test_uncountable_stored_rows_are_a_command_error(loaded_fixtures, overrides, message):
    """Rows written around the services that cannot be counted give a CommandError, and nothing changes."""
    from tests.conftest import config_row, layer_row

    layer_row(config_row(), **overrides)
    before = _stored()
    with pytest.raises(CommandError, match=message):
        recompute()
    assert _stored() == before
