"""POST /models/import-hf keeps the permission it checked when another write deletes or creates the config meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from registry import selectors, services
from registry.core import Code
from registry.models import ConfigRevision, ModelConfig
from registry.services import imports
from tests.conftest import hub_config, token_client, user_with

HF_ID = "openai-community/gpt2"
MODEL_ID = "openai-community_gpt2"
BODY = {"hf_model_id": HF_ID, "config": hub_config(HF_ID)}

pytestmark = pytest.mark.django_db


def imported() -> dict[str, Any]:
    """The document the import writes for BODY."""
    return services.hf_document(hf_model_id=HF_ID, config=BODY["config"]).to_document()


def deleted_after_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another client deletes the config right after the view has read that it exists."""
    real = selectors.current_digest

    def read_then_deleted(*, model_id: str) -> str | None:
        seen = real(model_id=model_id)
        if seen is not None:
            services.config_delete(model_id=model_id)
        return seen

    monkeypatch.setattr(selectors, "current_digest", read_then_deleted)


def created_before_the_write(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]) -> None:
    """Another client creates ``document`` after the import has judged its input, before its locked write."""
    real: Callable[..., Any] = imports._write_import

    def created_first(*args: Any, **kwargs: Any) -> Any:
        services.config_upsert(data=document)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_write_import", created_first)


def counts() -> tuple[int, int]:
    return ModelConfig.objects.count(), ConfigRevision.objects.count()


@pytest.mark.parametrize("query", ["?replace=true", ""])
def test_a_change_only_user_does_not_create_a_config_deleted_after_the_check(monkeypatch, query):
    """The config the permission check saw is deleted before the write (which would replace it, or match it
    unchanged): 404 as PUT answers, nothing created."""
    changer = token_client(user_with("changer", "change_modelconfig"))
    services.config_upsert(data=imported())
    deleted_after_the_check(monkeypatch)
    response = changer.post(f"/models/import-hf{query}", BODY, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["errors"][0]["code"] == Code.NOT_FOUND
    assert counts() == (0, 2)  # the create and the racing delete

    services.config_upsert(data=imported())
    put = changer.put(f"/models/{MODEL_ID}", imported(), format="json")
    assert (put.status_code, put.json()) == (404, response.json())
    assert counts() == (0, 4)


def test_a_change_only_user_still_replaces_a_stored_config():
    """Without a race the guard changes nothing: the stored config is replaced (200)."""
    changer = token_client(user_with("changer", "change_modelconfig"))
    services.config_upsert(data={**imported(), "name": "curated"})
    response = changer.post("/models/import-hf?replace=true", BODY, format="json")
    assert response.status_code == 200, response.content
    assert ModelConfig.objects.get(model_id=MODEL_ID).name == "gpt2"


def test_an_add_only_user_does_not_replace_a_config_created_before_the_write(monkeypatch):
    """Another write creates a different config between the check and the write: 409 already_exists, as PUT
    answers, and the other write's config stays as written."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    created_before_the_write(monkeypatch, {**imported(), "name": "curated"})
    response = adder.post("/models/import-hf", BODY, format="json")
    assert response.status_code == 409, response.content
    assert [e["code"] for e in response.json()["errors"]] == [Code.ALREADY_EXISTS]
    assert ModelConfig.objects.get(model_id=MODEL_ID).name == "curated"
    assert counts() == (1, 1)  # the other write's create only


def test_an_add_only_user_importing_a_config_created_identical_meanwhile_writes_nothing(monkeypatch):
    """The config created meanwhile is the import's own document: 200 unchanged, no revision, as without a race."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    created_before_the_write(monkeypatch, imported())
    response = adder.post("/models/import-hf", BODY, format="json")
    assert response.status_code == 200, response.content
    assert counts() == (1, 1)


def test_an_add_only_user_creates_and_never_replaces():
    """An add-only user creates (201); over a stored config it confirms an identical one (200) and replaces none:
    409 without ?replace=true, 403 with it."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    assert adder.post("/models/import-hf", BODY, format="json").status_code == 201
    assert adder.post("/models/import-hf", BODY, format="json").status_code == 200
    services.config_patch(model_id=MODEL_ID, patch={"name": "curated"})
    assert adder.post("/models/import-hf", BODY, format="json").status_code == 409
    assert adder.post("/models/import-hf?replace=true", BODY, format="json").status_code == 403
    assert ModelConfig.objects.get(model_id=MODEL_ID).name == "curated"


def test_the_service_refuses_to_create_with_must_exist():
    """config_import_hf(must_exist=True) of a config not stored raises ModelConfig.DoesNotExist; import_hf reports
    the input failed (not_found); nothing is written."""
    with pytest.raises(ModelConfig.DoesNotExist):
        services.config_import_hf(hf_model_id=HF_ID, config=BODY["config"], must_exist=True)
    report = services.import_hf(sources=[services.HFSource("config", HF_ID, config=BODY["config"])], must_exist=True)
    assert not report.written
    assert [i.code for i in report.sources[0].errors] == [Code.NOT_FOUND]
    assert counts() == (0, 0)
