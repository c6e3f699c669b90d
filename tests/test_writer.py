"""The one writer: config rows, layer rows and revisions from validated documents, with the acting user."""

from __future__ import annotations

import pytest
from django.db import transaction

from registry.core import validate_config
from registry.models import ConfigRevision, LayerType, ModelConfig
from registry.writer import Delete, Source, Write, write
from tests.conftest import small_config

pytestmark = pytest.mark.django_db


def doc(**overrides):
    result = validate_config(small_config(**overrides))
    assert result.ok, result.errors
    return result.config


def test_creates_updates_and_deletes_in_one_batch_with_their_revisions(django_user_model):
    """A batch creates, updates and deletes; each config gets one revision naming the user and the source."""
    user = django_user_model.objects.create_user("curator")
    with transaction.atomic():
        [pk] = write([Write(doc())], user=user, source=Source.API)
    a = doc(model_id="acme_tiny-2", hf_model_id="acme/tiny-2")
    b = doc(name="Renamed")
    with transaction.atomic():
        write([Write(a), Write(b, pk=pk)], user=user, source=Source.LOADCONFIGS)
    stored = {c.model_id: c for c in ModelConfig.objects.all()}
    assert stored["acme_tiny-1"].name == "Renamed" and stored["acme_tiny-1"].pk == pk
    assert stored["acme_tiny-1"].to_document() == b.to_document()
    assert stored["acme_tiny-2"].to_document() == a.to_document()
    assert LayerType.objects.filter(config_id=pk).count() == len(b.layer_types)
    gone = stored["acme_tiny-2"]
    with transaction.atomic():
        write([], deletes=[Delete(gone.pk, gone.model_id, gone.to_document())], user=None, source=Source.ADMIN)
    history = list(ConfigRevision.objects.order_by("id").values_list("model_id", "action", "source", "user_id"))
    assert history == [
        ("acme_tiny-1", "created", "api", user.pk),
        ("acme_tiny-2", "created", "loadconfigs", user.pk),
        ("acme_tiny-1", "updated", "loadconfigs", user.pk),
        ("acme_tiny-2", "deleted", "admin", None),
    ]
    update = ConfigRevision.objects.get(action="updated")
    assert update.before["name"] == "Acme Tiny 1" and update.after["name"] == "Renamed"
    assert not ModelConfig.objects.filter(model_id="acme_tiny-2").exists()


def test_an_upsert_is_a_batch_of_one():
    """The services' single write and the batch writer store the same rows and digest."""
    from registry.services import config_upsert

    result = config_upsert(data=small_config(), source="api")
    via_service = (result.config.digest, result.config.to_document())
    ModelConfig.objects.all().delete()
    with transaction.atomic():
        [pk] = write([Write(doc())], source=Source.API)
    stored = ModelConfig.objects.get(pk=pk)
    assert (stored.digest, stored.to_document()) == via_service
