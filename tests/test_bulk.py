"""COPY-based inserts (registry/bulk.py): values come back exactly as written, escaping included."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.bulk import RawJson, insert_rows
from registry.core.keys import CONFIG_VALUE_KEYS
from registry.models import ConfigRevision, LayerType, ModelConfig
from tests.conftest import config_row

pytestmark = pytest.mark.django_db

AWKWARD = "tab\there, new\nline, cr\rreturn, back\\slash, \\N, \\t literal, quote \" ' , ünïcødé ✓, 𝔘"


def test_text_with_copy_delimiters_and_escapes_round_trips():
    """Tabs, newlines, carriage returns, backslashes (and a literal \\N) are escaped, not taken as COPY syntax."""
    config = config_row()
    insert_rows(
        LayerType,
        ("config", "position", "name", "class_name", "count", "specs", "parameter_count"),
        [[config.pk, 0, AWKWARD, "NormLayer", 1, {"note": AWKWARD, "n": 2**62}, 0]],
    )
    layer = LayerType.objects.get(config=config)
    assert layer.name == AWKWARD
    assert layer.specs == {"note": AWKWARD, "n": 2**62}


def test_nulls_json_and_pre_encoded_json():
    """None is SQL NULL (not the text 'None'); RawJson is written as its text; ids come back in row order."""
    now = timezone.now()
    document = {"a": [1, 2, {"b": AWKWARD}]}
    ids = insert_rows(
        ConfigRevision,
        ("model_id", "config", "action", "source", "user", "before", "after", "created"),
        [
            ["x_1", None, "deleted", "api", None, document, None, now],
            ["x_2", None, "created", "api", None, None, RawJson(document, '{"a":[1,2,{"b":"raw"}]}'), now],
        ],
        return_ids=True,
    )
    first, second = (ConfigRevision.objects.get(pk=pk) for pk in ids)
    assert (first.model_id, first.before, first.after, first.user_id) == ("x_1", document, None, None)
    assert second.after == {"a": [1, 2, {"b": "raw"}]}  # the pre-encoded text, not a re-encoding
    assert ids == sorted(ids)


def test_a_copy_that_breaks_a_constraint_is_djangos_integrity_error():
    """COPY's errors are Django's (so the services map them), and the transaction rolls back."""
    config_row()
    row = ["acme_tiny-1", "acme/tiny-1", "x", 1, 1, 1, None, 1, "1", None, None, None, "", False, "", "0" * 64]
    fields = (*CONFIG_VALUE_KEYS, "digest")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ModelConfig, fields, [row])
    assert ModelConfig.objects.count() == 1


def test_gc_paused_restores_the_collector_and_nests():
    """The collector is off inside (nested pauses included) and back on after, even when the job raises."""
    import gc

    from registry.bulk import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not turn it back on early
        raise RuntimeError
    assert gc.isenabled()
