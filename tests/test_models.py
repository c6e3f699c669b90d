"""The database holds the invariants itself: constraints hold even when the ORM bypasses validation."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DataError, IntegrityError, connection, transaction

from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.services import config_upsert
from tests.conftest import config_row, layer_row, small_config

pytestmark = pytest.mark.django_db


def _violates(error: type[Exception], make) -> None:
    with transaction.atomic(), pytest.raises(error):
        make()


def test_config_row_builder_is_valid():
    """The builder's row is accepted, so each violation below fails for its own reason."""
    config = config_row()
    layer_row(config)
    assert ModelConfig.objects.count() == 1
    assert LayerType.objects.count() == 1


def test_model_id_is_unique():
    """Two configs cannot share a model_id."""
    config_row()
    _violates(IntegrityError, lambda: config_row(hf_model_id="other/id"))
    assert ModelConfig.objects.count() == 1


def test_hf_model_id_is_unique():
    """Two configs cannot share a hf_model_id."""
    config_row()
    _violates(IntegrityError, lambda: config_row(model_id="other_id"))
    assert ModelConfig.objects.count() == 1


@pytest.mark.parametrize("model_id", ["acme/tiny", "acme tiny", "", "acmé"])
def test_model_id_characters_are_checked(model_id):
    """model_id holds only A-Za-z0-9._- (and is not empty) in the database too."""
    _violates(IntegrityError, lambda: config_row(model_id=model_id))
    assert not ModelConfig.objects.exists()


@pytest.mark.parametrize("field", ["hidden_size", "num_layers", "vocab_size", "total_params"])
@pytest.mark.parametrize("value", [0, -1])
def test_sizes_and_total_are_positive(field, value):
    """Sizes and the total must be greater than zero."""
    _violates(IntegrityError, lambda: config_row(**{field: value}))
    assert not ModelConfig.objects.exists()


@pytest.mark.parametrize("field", ["hidden_size", "total_params"])
def test_sizes_are_bigints(field):
    """Counts past 32 bits are stored (405e9 does not fit an int); past 63 bits the database refuses."""
    config = config_row(**{field: 405853388800})
    config.refresh_from_db()
    assert getattr(config, field) == 405853388800
    _violates(DataError, lambda: config_row(model_id="b", hf_model_id="b", **{field: 2**63}))


def test_layer_name_is_unique_within_a_config():
    """A config cannot hold two layer types with one name; another config can reuse it."""
    config = config_row()
    layer_row(config, position=0, name="norm")
    _violates(IntegrityError, lambda: layer_row(config, position=1, name="norm"))
    other = config_row(model_id="other", hf_model_id="other")
    layer_row(other, position=0, name="norm")
    assert LayerType.objects.filter(name="norm").count() == 2


def test_layer_position_is_unique_within_a_config():
    """Two layer types of a config cannot share a position."""
    config = config_row()
    layer_row(config, position=0, name="a")
    _violates(IntegrityError, lambda: layer_row(config, position=0, name="b"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"count": 0},
        {"count": -1},
        {"parameter_count": -5},
        {"name": ""},
        {"position": -1},
    ],
)
def test_layer_checks(overrides):
    """Layer counts and parameter counts are positive, names non-empty, positions non-negative."""
    config = config_row()
    _violates(IntegrityError, lambda: layer_row(config, **overrides))
    assert not LayerType.objects.exists()


def test_layer_count_is_a_bigint():
    """A layer's parameter_count past 32 bits is stored exactly."""
    layer = layer_row(config_row(), parameter_count=2617245696)
    layer.refresh_from_db()
    assert layer.parameter_count == 2617245696


def test_deleting_a_config_deletes_its_layers_and_keeps_its_history():
    """Layer types go with their config; revisions stay, detached."""
    result = config_upsert(data=small_config(), source="api")
    config = result.config
    assert config.layer_types.count() == 5
    config.delete()
    assert not LayerType.objects.exists()
    revision = ConfigRevision.objects.get()
    assert revision.config is None
    assert revision.model_id == "acme_tiny-1"


def test_to_document_reads_layers_in_position_order_and_specs_in_class_order():
    """Stored rows come back as the canonical document whatever the storage order."""
    config = config_row()
    layer_row(config, position=1, name="b_norm")
    layer_row(
        config,
        position=0,
        name="z_embedding",
        class_name="EmbeddingLayer",
        count=1,
        specs={"hidden_size": 64, "vocab_size": 1000},
        parameter_count=64000,
    )
    doc = config.to_document()
    assert [lt["name"] for lt in doc["layer_types"]] == ["z_embedding", "b_norm"]
    assert list(doc["layer_types"][0]["specs"]) == ["vocab_size", "hidden_size", "parameter_count"]


def test_str_and_subtotal():
    """Configs print as their id; a layer type as name, class and count; subtotal is count × parameter_count."""
    config = config_row()
    layer = layer_row(config)
    assert str(config) == "acme_tiny-1"
    assert str(layer) == "norm (NormLayer × 5)"
    assert layer.subtotal == 5 * 64


def test_migrations_match_the_models():
    """Every model change has its migration: makemigrations finds nothing to write."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_layer_types_and_history_are_read_through_indexes():
    """The queries the API and admin run can use an index (sequential scans priced out of the planner)."""
    config = config_upsert(data=small_config(), source="api").config
    queries = [
        ("SELECT * FROM registry_layertype WHERE config_id = %s ORDER BY position", [config.pk]),
        ("SELECT * FROM registry_configrevision WHERE model_id = %s ORDER BY created DESC, id DESC", [config.model_id]),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql, params in queries:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Index" in plan and "Seq Scan" not in plan, plan


# ---- model validators: full_clean() runs the core's rules -----------------------------------------------------


def _codes(error) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


@pytest.mark.django_db
def test_full_clean_of_a_config_runs_the_naming_rules():
    """A model_id that does not follow hf_model_id, or ends in a newline, fails with the core's codes."""
    from django.core.exceptions import ValidationError

    from registry.models import ModelConfig

    config = ModelConfig(
        model_id="acme_other",
        hf_model_id="acme/tiny-1",
        name="x",
        hidden_size=64,
        num_layers=2,
        vocab_size=10,
        total_params=1,
        total_params_formatted="1",
        digest="0" * 64,
    )
    with pytest.raises(ValidationError) as error:
        config.full_clean()
    assert _codes(error.value) == {"model_id": ["model_id_mismatch"]}
    config.model_id = "acme_tiny-1\n"
    with pytest.raises(ValidationError) as error:
        config.full_clean()
    assert "model_id_characters" in _codes(error.value)["model_id"]
    config.model_id = "acme_tiny-1"
    config.full_clean()


@pytest.mark.django_db
def test_full_clean_of_a_layer_type_runs_the_class_and_spec_rules():
    """An unknown class, a missing or mistyped spec, a width other than the config's: the core's codes."""
    from django.core.exceptions import ValidationError

    config = config_row()
    layer = LayerType(
        config=config, position=0, name="attention", class_name="NoSuchLayer", count=2, specs={"hidden_size": 64}
    )
    with pytest.raises(ValidationError) as error:
        layer.full_clean()
    assert _codes(error.value) == {"class_name": ["unknown_class"]}
    layer.class_name = "GroupedQueryAttentionLayer"
    layer.specs = {"hidden_size": 32, "num_heads": 4, "head_dim": "16"}
    with pytest.raises(ValidationError) as error:
        layer.full_clean()
    codes = _codes(error.value)["specs"]
    assert sorted(codes) == ["hidden_size_mismatch", "not_an_integer", "required"]
    assert any(m.startswith("specs.num_kv_heads: ") for m in error.value.message_dict["specs"])
    layer.specs = {"hidden_size": 64, "num_heads": 4, "num_kv_heads": 2, "head_dim": 16}
    layer.full_clean()
