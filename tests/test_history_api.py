"""History through the API: a config's revisions, one revision's document, restoring it; comparing two configs."""

from __future__ import annotations

import json

import pytest
import schemathesis
from rest_framework.authtoken.models import Token

from registry import services
from registry.core import validate_config
from registry.core.diff import compare
from registry.models import ConfigRevision, ModelConfig
from registry.wsgi import application
from tests.conftest import error_codes, fixture_document, small_config, store, token_client, user_with

pytestmark = pytest.mark.django_db

TINY = "acme_tiny-1"
HISTORY = f"/models/{TINY}/history"


def revision_url(revision: ConfigRevision) -> str:
    return f"/models/{revision.model_id}/history/{revision.pk}"


def restore_url(revision: ConfigRevision) -> str:
    return revision_url(revision) + "/restore"


@pytest.fixture
def edited(writer) -> ModelConfig:
    """The small config, created by a service, then renamed through the API by 'writer'."""
    store(small_config())
    assert writer.patch(f"/models/{TINY}", {"name": "Renamed"}, format="json").status_code == 200
    return ModelConfig.objects.get(model_id=TINY)


@pytest.fixture
def deleted(edited) -> ConfigRevision:
    """The small config after the rename, deleted: its deletion revision."""
    services.config_delete(model_id=edited.model_id, source="api")
    return ConfigRevision.objects.get(model_id=TINY, action="deleted")


# ---- GET /models/{model_id}/history -------------------------------------------------------------------


def test_history_lists_revisions_newest_first(api, edited, settings):
    """Each revision with its id, action, source, user (username or null), time, changed paths and URL."""
    settings.REGISTRY_HISTORY_SHOW_USERS = True
    response = api.get(HISTORY)
    assert response.status_code == 200
    body = response.json()
    updated, created = ConfigRevision.objects.filter(model_id=TINY)
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert body["results"][0] == {
        "id": updated.pk,
        "action": "updated",
        "source": "api",
        "user": "writer",
        "created": updated.created.isoformat().replace("+00:00", "Z"),
        "changed": ["name"],
        "url": f"http://testserver{revision_url(updated)}",
    }
    first = body["results"][1]
    assert (first["id"], first["action"], first["source"], first["user"]) == (created.pk, "created", "api", None)
    assert first["changed"][:3] == ["model_id", "hf_model_id", "name"]
    assert "layer_types[attention].specs.num_kv_heads" in first["changed"]


def test_anonymous_readers_see_no_usernames(api, edited):
    """By default an anonymous reader gets null for every revision's user, in the list and in a revision."""
    updated = ConfigRevision.objects.get(model_id=TINY, action="updated")
    assert updated.user is not None and updated.user.username == "writer"
    assert [r["user"] for r in api.get(HISTORY).json()["results"]] == [None, None]
    detail = api.get(revision_url(updated)).json()
    assert detail["user"] is None and "writer" not in json.dumps(detail)


def test_authenticated_readers_see_usernames(edited):
    """A reader with a token sees who made each revision (null only for commands and services)."""
    reader = token_client(user_with("reader", "view_modelconfig"))
    assert [r["user"] for r in reader.get(HISTORY).json()["results"]] == ["writer", None]
    updated = ConfigRevision.objects.get(model_id=TINY, action="updated")
    assert reader.get(revision_url(updated)).json()["user"] == "writer"


def test_history_pages_with_limit_and_offset(api, edited):
    """limit/offset as the config list has them; a bad or unknown parameter is a 400."""
    body = api.get(f"{HISTORY}?limit=1&offset=1").json()
    assert body["count"] == 2
    assert [r["action"] for r in body["results"]] == ["created"]
    assert body["previous"] == f"http://testserver{HISTORY}?limit=1"
    assert body["next"] is None
    assert api.get(f"{HISTORY}?limit=1").json()["next"] == f"http://testserver{HISTORY}?limit=1&offset=1"
    assert error_codes(api.get(f"{HISTORY}?limit=0")) == [("query.limit", "out_of_range")]
    assert error_codes(api.get(f"{HISTORY}?expand=layer_types")) == [("query.expand", "unknown_parameter")]
    assert api.get(f"{HISTORY}?offset=10").json()["results"] == []


def test_history_query_count_does_not_grow_with_the_page(api, edited, django_assert_max_num_queries):
    """A page is two queries (its count, its rows with their users), however many revisions it holds."""
    for i in range(10):
        services.config_upsert(data=small_config(name=f"Name {i}"), source="api")
    with django_assert_max_num_queries(2):
        assert len(api.get(HISTORY).json()["results"]) == 12


def test_history_of_a_deleted_config(api, deleted):
    """A deleted config keeps its history, the deletion first (by a service: no user)."""
    body = api.get(HISTORY).json()
    assert [r["action"] for r in body["results"]] == ["deleted", "updated", "created"]
    assert body["results"][0]["user"] is None
    assert "layer_types[attention].count" in body["results"][0]["changed"]


def test_history_404_only_without_any_revision(api, edited):
    """An id no revision names is a 404; the trailing-slash twin answers the same."""
    response = api.get("/models/acme_never/history")
    assert response.status_code == 404
    assert error_codes(response) == [("$", "not_found")]
    assert api.get(f"{HISTORY}/").status_code == 200


def test_history_reads_follow_the_reads_setting(api, edited, settings):
    """With REGISTRY_READS_REQUIRE_AUTH, anonymous history and diff reads are 401."""
    settings.REGISTRY_READS_REQUIRE_AUTH = True
    revision = ConfigRevision.objects.filter(model_id=TINY).first()
    for url in (HISTORY, revision_url(revision), f"/models/{TINY}/diff/{TINY}"):
        assert api.get(url).status_code == 401, url


# ---- GET /models/{model_id}/history/{revision} ----------------------------------------------------------


def test_revision_gives_the_document_after_it(api, edited):
    """The revision's metadata and the document it left, keys in the format's order."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    response = api.get(revision_url(created))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["action"], body["source"], body["user"]) == (created.pk, "created", "api", None)
    document = validate_config(small_config()).config.to_document()
    assert body["document"] == document
    assert list(body["document"]) == list(document)
    assert list(body["document"]["layer_types"][0]["specs"]) == list(document["layer_types"][0]["specs"])


def test_revision_of_a_deletion_gives_the_document_before_it(api, deleted):
    """For a deletion, the last document the config had."""
    body = api.get(revision_url(deleted)).json()
    assert body["action"] == "deleted"
    assert body["document"]["name"] == "Renamed"


def test_revision_404s(api, edited):
    """A revision of another config, an unknown id and one past bigint are 404s."""
    store(small_config(model_id="acme_other", hf_model_id="acme/other"))
    other = ConfigRevision.objects.get(model_id="acme_other")
    assert api.get(f"{HISTORY}/{other.pk}").status_code == 404
    assert api.get(f"{HISTORY}/999999999").status_code == 404
    assert api.get(f"{HISTORY}/99999999999999999999").status_code == 404
    assert api.get(f"{HISTORY}/{other.pk}/restore").status_code == 405


# ---- POST /models/{model_id}/history/{revision}/restore ---------------------------------------------------


def test_restore_with_if_match_writes_the_version_back(writer, edited):
    """If-Match naming the current ETag: 200, the old document, recorded as restored by the API's user."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    response = writer.post(restore_url(created), HTTP_IF_MATCH=f'"{edited.digest}"')
    assert response.status_code == 200, response.content
    config = ModelConfig.objects.get(model_id=TINY)
    assert response.json() == config.to_document()
    assert response.json()["name"] == "Acme Tiny 1"
    assert response["ETag"] == f'"{config.digest}"'
    latest = ConfigRevision.objects.filter(model_id=TINY).first()
    assert (latest.action, latest.source, latest.user.username) == ("restored", "api", "writer")


@pytest.mark.parametrize("header", ["*", "{current}"])
def test_restore_with_if_none_match_of_the_stored_config_is_412(writer, edited, header):
    """If-None-Match: * (or the current ETag) asks that the config not be there as it is: nothing written."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    value = header.format(current=f'"{edited.digest}"')
    response = writer.post(restore_url(created), HTTP_IF_NONE_MATCH=value)
    assert response.status_code == 412
    assert ModelConfig.objects.get(model_id=TINY).name == "Renamed"
    assert ConfigRevision.objects.filter(model_id=TINY).count() == 2


def test_restore_with_a_stale_if_match_is_412(writer, edited):
    """A stale If-Match writes nothing and gives the current ETag."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    response = writer.post(restore_url(created), HTTP_IF_MATCH='"0123"')
    assert response.status_code == 412
    assert error_codes(response) == [("header.If-Match", "precondition_failed")]
    assert response["ETag"] == f'"{edited.digest}"'
    assert ModelConfig.objects.get(model_id=TINY).name == "Renamed"
    assert ConfigRevision.objects.filter(model_id=TINY).count() == 2


def test_restore_without_if_match_is_428_and_writes_nothing(writer, edited):
    """A restore of a stored config needs If-Match: without it, 428 precondition_required, nothing written (it
    would overwrite whatever was written since the caller read the config)."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    response = writer.post(restore_url(created))
    assert response.status_code == 428
    assert error_codes(response) == [("header.If-Match", "precondition_required")]
    assert ModelConfig.objects.get(model_id=TINY).digest == edited.digest


def test_restore_of_the_current_version_changes_nothing(writer, edited):
    """Restoring the version that is already stored writes no revision."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    assert writer.post(restore_url(created), HTTP_IF_MATCH=f'"{edited.digest}"').status_code == 200
    config = ModelConfig.objects.get(model_id=TINY)
    assert config.name == "Acme Tiny 1"
    count = ConfigRevision.objects.filter(model_id=TINY).count()
    assert writer.post(restore_url(created), HTTP_IF_MATCH=f'"{config.digest}"').status_code == 200
    assert ConfigRevision.objects.filter(model_id=TINY).count() == count


def test_restore_re_creates_a_deleted_config(writer, deleted):
    """Restoring a deletion re-creates the config as it was before it: 201 with Location."""
    response = writer.post(restore_url(deleted))
    assert response.status_code == 201, response.content
    assert response["Location"] == f"http://testserver/models/{TINY}"
    config = ModelConfig.objects.get(model_id=TINY)
    assert config.name == "Renamed"
    assert response.json() == config.to_document()
    assert ConfigRevision.objects.filter(model_id=TINY).first().action == "restored"


def test_restore_of_a_deleted_config_refuses_if_match(writer, deleted):
    """There is no current ETag to match: any If-Match is a 412, nothing written."""
    for header in ('"0123"', "*"):
        response = writer.post(restore_url(deleted), HTTP_IF_MATCH=header)
        assert response.status_code == 412, header
    assert not ModelConfig.objects.filter(model_id=TINY).exists()


def test_restore_goes_through_validation(writer, edited):
    """A kept version that breaks today's rules is a 400 with the core's codes; nothing written."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    created.after["layer_types"][0]["specs"]["num_kv_heads"] = 3
    created.save()
    response = writer.post(restore_url(created), HTTP_IF_MATCH=f'"{edited.digest}"')
    assert response.status_code == 400
    assert ("layer_types[0].specs.num_kv_heads", "heads_not_divisible") in error_codes(response)
    assert ModelConfig.objects.get(model_id=TINY).digest == edited.digest


def test_restore_permissions(api, edited):
    """Anonymous: 401. Restoring a stored config needs change; re-creating a deleted one needs add."""
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    assert api.post(restore_url(created)).status_code == 401
    reader = token_client(user_with("reader", "view_modelconfig"))
    assert reader.post(restore_url(created)).status_code == 403
    adder = token_client(user_with("adder", "add_modelconfig"))
    assert adder.post(restore_url(created)).status_code == 403
    changer = token_client(user_with("changer", "change_modelconfig"))
    assert changer.post(restore_url(created), HTTP_IF_MATCH=f'"{edited.digest}"').status_code == 200
    services.config_delete(model_id=TINY, source="api")
    deletion = ConfigRevision.objects.get(model_id=TINY, action="deleted")
    assert changer.post(restore_url(deletion)).status_code == 403
    assert adder.post(restore_url(deletion)).status_code == 201


def test_restore_404s(writer, edited):
    """A revision that is not this config's is a 404."""
    assert writer.post(f"{HISTORY}/999999999/restore").status_code == 404
    assert writer.post("/models/acme_never/history/1/restore").status_code == 404


# ---- GET /models/{model_id}/diff/{other_model_id} ---------------------------------------------------------


def test_diff_compares_two_stored_configs(api, loaded_fixtures):
    """The core's compare of the two stored documents, with a and b named."""
    a, b = "mistralai_Mistral-7B-v0.1", "mistralai_Mixtral-8x7B-v0.1"
    response = api.get(f"/models/{a}/diff/{b}")
    assert response.status_code == 200
    assert response.json() == {"a": a, "b": b, **compare(fixture_document(a), fixture_document(b))}
    assert response.json()["active_params"]["delta"] == 12879925248 - 7241732096
    same = api.get(f"/models/{a}/diff/{a}").json()
    assert same["values"] == [] and same["total_params"]["delta"] == 0


def test_diff_404_names_each_missing_config(api, loaded_fixtures):
    """One issue per model_id not stored."""
    stored_id = "mistralai_Mistral-7B-v0.1"
    response = api.get(f"/models/{stored_id}/diff/acme_gone")
    assert response.status_code == 404
    missing = {"loc": "$", "code": "not_found", "msg": "no config with model_id 'acme_gone'"}
    assert response.json()["errors"] == [missing]
    both = api.get("/models/acme_x/diff/acme_y").json()["errors"]
    assert [e["msg"] for e in both] == ["no config with model_id 'acme_x'", "no config with model_id 'acme_y'"]
    assert len(api.get("/models/acme_x/diff/acme_x").json()["errors"]) == 1


# ---- the responses against the OpenAPI schema -------------------------------------------------------------

schema = schemathesis.openapi.from_wsgi("/schema/?format=json", application)


def test_success_and_error_responses_match_the_schema(loaded_fixtures, edited, keep_the_test_connection):
    """Each route's answers (200, 201, 400, 404, 412), status, headers and body, are as the schema documents."""
    token = Token.objects.get(user__username="writer").key
    auth = {"Authorization": f"Token {token}"}
    created = ConfigRevision.objects.get(model_id=TINY, action="created")
    calls = [
        ("/models/{model_id}/history", "GET", {"model_id": TINY}, {}, 200),
        ("/models/{model_id}/history", "GET", {"model_id": "acme_never"}, {}, 404),
        ("/models/{model_id}/history/{revision}", "GET", {"model_id": TINY, "revision": created.pk}, {}, 200),
        ("/models/{model_id}/history/{revision}", "GET", {"model_id": "acme_never", "revision": 1}, {}, 404),
        ("/models/{model_id}/diff/{other_model_id}", "GET", {"model_id": TINY, "other_model_id": TINY}, {}, 200),
        (
            "/models/{model_id}/diff/{other_model_id}",
            "GET",
            {"model_id": "mistralai_Mistral-7B-v0.1", "other_model_id": "mistralai_Mixtral-8x7B-v0.1"},
            {},
            200,
        ),
        ("/models/{model_id}/diff/{other_model_id}", "GET", {"model_id": TINY, "other_model_id": "acme_x"}, {}, 404),
        (
            "/models/{model_id}/history/{revision}/restore",
            "POST",
            {"model_id": TINY, "revision": created.pk},
            {"If-Match": '"0123"'},
            412,
        ),
        ("/models/{model_id}/history/{revision}/restore", "POST", {"model_id": TINY, "revision": created.pk}, {}, 428),
        (
            "/models/{model_id}/history/{revision}/restore",
            "POST",
            {"model_id": TINY, "revision": created.pk},
            {"If-Match": "*"},
            200,
        ),
    ]
    for path, method, parameters, headers, status in calls:
        case = schema[path][method].Case(path_parameters=parameters)
        response = case.call_and_validate(headers={**auth, **headers})
        assert response.status_code == status, (path, parameters)
    services.config_delete(model_id=TINY, source="api")
    deletion = ConfigRevision.objects.get(model_id=TINY, action="deleted")
    history = schema["/models/{model_id}/history"]["GET"].Case(path_parameters={"model_id": TINY})
    assert history.call_and_validate().json()["results"][0]["action"] == "deleted"
    restore = schema["/models/{model_id}/history/{revision}/restore"]["POST"]
    response = restore.Case(path_parameters={"model_id": TINY, "revision": deletion.pk}).call_and_validate(headers=auth)
    assert response.status_code == 201
