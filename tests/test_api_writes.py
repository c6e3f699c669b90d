"""Writes through the REST API: the one write path, the core's validation, conditional requests."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from registry import services
from registry.api import views
from registry.core import validate_config
from registry.core.counts import BIGINT_MAX
from registry.models import ConfigRevision, LayerType, ModelConfig
from tests.conftest import error_codes, moe_config, small_config, store

pytestmark = pytest.mark.django_db

TINY = "acme_tiny-1"
TINY_URL = f"/models/{TINY}"


def _state() -> tuple[list[tuple[str, str]], int, int]:
    """Everything a rejected write must leave alone."""
    return (
        list(ModelConfig.objects.order_by("model_id").values_list("model_id", "digest")),
        LayerType.objects.count(),
        ConfigRevision.objects.count(),
    )


def _etag(config: ModelConfig) -> str:
    return f'"{config.digest}"'


# ---- create ------------------------------------------------------------------------------------


def test_post_creates_a_config(writer):
    """POST /models/ stores the document, computes derived values, answers 201 with Location and ETag."""
    response = writer.post("/models/", small_config(), format="json")
    assert response.status_code == 201, response.content
    config = ModelConfig.objects.get(model_id=TINY)
    assert response["Location"] == f"http://testserver{TINY_URL}"
    assert response["ETag"] == _etag(config)
    body = response.json()
    assert body == config.to_document()
    assert body["total_params"] == 187200 and body["total_params_formatted"] == "187.2K"
    assert [lt["specs"]["parameter_count"] for lt in body["layer_types"]] == [12288, 49152, 64, 64000, 0]
    assert writer.get(TINY_URL).json() == body
    revision = ConfigRevision.objects.get()
    assert (revision.action, revision.source, revision.user.username) == ("created", "api", "writer")


def test_post_with_matching_derived_values(writer):
    """Derived values may be given; when they match they are accepted as they are."""
    doc = writer.post("/models/", small_config(), format="json").json()
    ModelConfig.objects.all().delete()
    response = writer.post("/models/", doc, format="json")
    assert response.status_code == 201 and response.json() == doc


def test_post_stale_derived_value_names_the_expected_one(writer):
    """A wrong derived value is a 400 naming the expected value; nothing is written."""
    doc = small_config(total_params=1)
    doc["layer_types"][0]["specs"]["parameter_count"] = 5
    response = writer.post("/models/", doc, format="json")
    assert response.status_code == 400
    errors = {e["loc"]: e for e in response.json()["errors"]}
    assert errors["layer_types[0].specs.parameter_count"]["code"] == "parameter_count_mismatch"
    assert errors["layer_types[0].specs.parameter_count"]["msg"].startswith("expected 12288")
    assert errors["total_params"]["code"] == "total_params_mismatch"
    assert "expected 187200" in errors["total_params"]["msg"]
    assert not ModelConfig.objects.exists()


def test_post_recompute_true_replaces_stale_derived_values(writer):
    """?recompute=true stores the computed values instead of rejecting the given ones."""
    doc = small_config(total_params=1, total_params_formatted="1")
    doc["layer_types"][0]["specs"]["parameter_count"] = 5
    response = writer.post("/models/?recompute=true", doc, format="json")
    assert response.status_code == 201
    assert response.json()["total_params"] == 187200
    assert response.json()["layer_types"][0]["specs"]["parameter_count"] == 12288


@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_recompute_is_strictly_true_or_false(writer, value):
    """?recompute takes true or false only."""
    response = writer.post(f"/models/?recompute={value}", small_config(), format="json")
    assert response.status_code == 400
    assert error_codes(response) == [("query.recompute", "invalid_choice")]
    assert not ModelConfig.objects.exists()


def test_post_existing_model_id_is_409(writer):
    """POST never replaces: an existing model_id is a 409 and the stored config is untouched."""
    store(small_config())
    before = _state()
    response = writer.post("/models/", small_config(name="Other"), format="json")
    assert response.status_code == 409
    assert error_codes(response) == [("model_id", "already_exists")]
    assert _state() == before


def _rejected(**changes: Any) -> dict[str, Any]:
    doc = small_config()
    for path, value in changes.items():
        target = doc
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return doc


_DELETE = object()


def _case(loc: str, code: str, *, id: str | None = None, **changes: Any) -> Any:
    """The example config with ``changes`` (as ``_rejected`` takes them), rejected at ``loc`` with ``code``; the
    test's id is ``code`` unless ``id`` is given."""
    return pytest.param(_rejected(**changes), loc, code, id=id or code)


# One rejected body per validation rule: (body, loc, code). Same codes as loadconfigs.
REJECTED = [
    pytest.param([], "$", "not_an_object", id="not_an_object"),
    _case("layer_types", "not_a_list", layer_types={"a": 1}),
    _case("hidden_size", "not_an_integer", hidden_size="64"),
    _case("num_layers", "not_an_integer", id="not_an_integer_float", num_layers=2.0),
    _case("validated", "not_a_boolean", validated="yes"),
    _case("name", "not_a_string", name=7),
    _case("validation_notes", "nul_character", validation_notes="a\x00b"),
    _case("vocab_size", "not_positive", vocab_size=0),
    _case("layer_types[0].specs.layer_idx", "negative", layer_types__0__specs__layer_idx=-1),
    _case("vocab_size", "too_large", vocab_size=BIGINT_MAX + 1),
    _case("name", "blank", name="  "),
    _case("name", "too_long", name="x" * 201),
    _case("vocab_size", "required", vocab_size=_DELETE),
    _case("layer_types[0].specs.head_dim", "required", id="required_spec", layer_types__0__specs__head_dim=_DELETE),
    _case("colour", "unknown_key", colour="red"),
    _case("layer_types[2].specs.num_heads", "unknown_key", id="unknown_spec", layer_types__2__specs__num_heads=4),
    _case("layer_types", "empty", layer_types=[]),
    _case("layer_types[1].name", "duplicate_name", layer_types__1__name="attention"),
    _case("layer_types[0].class", "unknown_class", layer_types__0__class="GQALayer"),
    _case("model_id", "model_id_characters", model_id="acme tiny", hf_model_id="acme tiny"),
    _case("model_id", "model_id_mismatch", model_id="acme_tiny-2"),
    _case("layer_types[1].specs.hidden_size", "hidden_size_mismatch", layer_types__1__specs__hidden_size=65),
    _case("layer_types[3].specs.vocab_size", "vocab_size_mismatch", layer_types__3__specs__vocab_size=999),
    _case("layer_types[0].specs.num_kv_heads", "heads_not_divisible", layer_types__0__specs__num_kv_heads=3),
    _case(
        "layer_types[2].specs.parameter_count", "parameter_count_mismatch", layer_types__2__specs__parameter_count=65
    ),
    _case("total_params", "total_params_mismatch", total_params=187201),
    _case("total_params_formatted", "total_params_formatted_mismatch", total_params_formatted="187K"),
    _case("layer_types[0]", "not_an_object", id="layer_not_an_object", layer_types=[7]),
    _case("layer_types[0].specs", "not_an_object", id="specs_not_an_object", layer_types__0__specs=[]),
]


@pytest.mark.parametrize("body, loc, code", REJECTED)
@pytest.mark.parametrize("method", ["post", "put"])
def test_rejected_body_names_loc_and_code_and_writes_nothing(writer, body, loc, code, method):
    """Each broken rule is a 400 {"errors": [{loc, code, msg}]} with the core's code; nothing is written."""
    store(small_config(model_id="acme_stored", hf_model_id="acme/stored"))
    before = _state()
    url = "/models/" if method == "post" else TINY_URL
    response = getattr(writer, method)(url, body, format="json")
    assert response.status_code == 400, response.content
    assert (loc, code) in error_codes(response)
    assert all(e["msg"] for e in response.json()["errors"])
    assert _state() == before


def test_rejected_body_reports_every_error_at_once(writer):
    """All problems come back in one response, as loadconfigs reports them."""
    doc = _rejected(hidden_size="x", name="", layer_types__0__specs__num_kv_heads=3)
    response = writer.post("/models/", doc, format="json")
    assert {
        ("hidden_size", "not_an_integer"),
        ("name", "blank"),
        ("layer_types[0].specs.num_kv_heads", "heads_not_divisible"),
    } <= set(error_codes(response))


def test_errors_match_loadconfigs(writer, tmp_path):
    """The API and loadconfigs give the same codes and messages for the same document."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    doc = _rejected(layer_types__0__specs__num_kv_heads=7)
    api_errors = writer.post("/models/", doc, format="json").json()["errors"]
    path = tmp_path / f"{TINY}.json"
    path.write_text(json.dumps(doc))
    err = StringIO()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("loadconfigs", str(path), stderr=err, stdout=out)
    for e in api_errors:
        assert f"{e['loc']}: {e['msg']} [{e['code']}]" in err.getvalue() + out.getvalue()


def test_malformed_json_and_other_media_types(writer):
    """A body that is not JSON is a 400 (the core's invalid_json, as loadconfigs says); another media type is a 415."""
    response = writer.post("/models/", data='{"model_id": ', content_type="application/json")
    assert response.status_code == 400 and error_codes(response) == [("$", "invalid_json")]
    assert response.json()["errors"][0]["msg"].startswith("invalid JSON at line 1, column 14")
    response = writer.post("/models/", data="model_id=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.json()["errors"][0]["code"] == "unsupported_media_type"
    assert not ModelConfig.objects.exists()


# ---- replace, change, delete -------------------------------------------------------------------


def test_put_replaces_a_config(writer):
    """PUT /models/{id} replaces the whole document (200) and records the revision."""
    store(small_config())
    response = writer.put(TINY_URL, small_config(name="Replaced", validated=True), format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Replaced" and response.json()["validated"] is True
    assert ModelConfig.objects.get().name == "Replaced"
    assert ConfigRevision.objects.filter(action="updated", source="api").count() == 1


def test_put_unknown_id_creates(writer):
    """PUT to an id not stored yet creates it: 201 with Location."""
    response = writer.put(f"{TINY_URL}/", small_config(), format="json")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver{TINY_URL}"
    assert ModelConfig.objects.filter(model_id=TINY).exists()


def test_put_unchanged_document_writes_no_revision(writer):
    """Replacing a config with the same document answers 200 and records nothing."""
    store(small_config())
    before = _state()
    response = writer.put(TINY_URL, small_config(), format="json")
    assert response.status_code == 200 and _state() == before


def test_put_body_for_another_id_is_rejected(writer):
    """The document's model_id must be the one in the URL."""
    store(small_config())
    before = _state()
    other = small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2")
    response = writer.put(TINY_URL, other, format="json")
    assert response.status_code == 400 and error_codes(response) == [("model_id", "model_id_changed")]
    assert _state() == before


def test_put_if_none_match_star_only_creates(writer):
    """If-None-Match: * makes PUT create-only: 412 when the config exists."""
    assert writer.put(TINY_URL, small_config(), format="json", HTTP_IF_NONE_MATCH="*").status_code == 201
    before = _state()
    response = writer.put(TINY_URL, small_config(name="Again"), format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 412 and _state() == before
    # The body is judged first, as with If-Match: an invalid one is a 400 whatever the precondition.
    response = writer.put(TINY_URL, small_config(name=""), format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 400 and error_codes(response) == [("name", "blank")]
    assert _state() == before


@pytest.mark.parametrize(
    "raw, code",
    [
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, "invalid_json", id="nested-5000"),
        pytest.param(b'{"name": "x\\ud800y"}', "invalid_json", id="lone-surrogate"),
        pytest.param(b'{"hidden_size": ' + b"9" * 5000 + b"}", "invalid_json", id="5000-digits"),
        pytest.param(b'{"name": "\xff"}', "not_utf8", id="not-utf8"),
        pytest.param(b"   ", "empty_file", id="blank"),
    ],
)
@pytest.mark.parametrize("url", ["/models/", "/models/validate", TINY_URL])
def test_unreadable_bodies_are_400s_with_the_core_codes(writer, raw, code, url):
    """Bodies the parser cannot take are the same 400s loadconfigs reports for such files; nothing is written."""
    method = writer.put if url == TINY_URL else writer.post
    response = method(url, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert error_codes(response) == [("$", code)]
    assert not ModelConfig.objects.exists()


def test_a_body_over_the_upload_limit_is_413(writer, settings):
    """More than DATA_UPLOAD_MAX_MEMORY_SIZE bytes is a 413 naming the limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    document = small_config(validation_notes="x" * 2000)
    response = writer.post("/models/", data=json.dumps(document), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"loc": "$", "code": "too_large", "msg": "expected a body of at most 1000 bytes"}
    ]
    assert not ModelConfig.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_write_whose_if_none_match_names_the_current_version_is_412(writer, method):
    """RFC 9110: If-None-Match on a write fails when it lists the current ETag; another tag lets it through."""
    store(small_config())
    etag = writer.get(TINY_URL)["ETag"]
    before = _state()
    body = {"name": "Changed"} if method == "patch" else small_config(name="Changed")
    call = getattr(writer, method)
    response = call(TINY_URL, body, format="json", HTTP_IF_NONE_MATCH=f'"other", {etag}')
    assert response.status_code == 412
    assert error_codes(response) == [("header.If-None-Match", "precondition_failed")]
    assert _state() == before
    assert call(TINY_URL, body, format="json", HTTP_IF_NONE_MATCH='"other"').status_code in (200, 204)


def test_patch_merges_top_level_keys(writer):
    """PATCH replaces the given keys, keeps the rest, recomputes derived values and validates the whole."""
    store(small_config())
    response = writer.patch(TINY_URL, {"name": "Patched", "validation_notes": "checked"}, format="json")
    assert response.status_code == 200
    expected = validate_config(small_config(name="Patched", validation_notes="checked")).config
    assert response.json() == expected.to_document()
    assert ModelConfig.objects.get().name == "Patched"


def test_patch_replaces_layer_types_wholesale(writer):
    """layer_types given in a PATCH replace the stored list; the totals follow."""
    store(small_config())
    layers = copy.deepcopy(small_config()["layer_types"][:1])
    response = writer.patch(TINY_URL, {"layer_types": layers}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert [lt["name"] for lt in body["layer_types"]] == ["attention"]
    assert body["total_params"] == 2 * 12288


def test_patch_result_is_validated_as_a_whole(writer):
    """A PATCH whose result breaks a rule is a 400 naming the stored part it conflicts with."""
    store(small_config())
    before = _state()
    response = writer.patch(TINY_URL, {"hidden_size": 128}, format="json")
    assert response.status_code == 400
    assert ("layer_types[0].specs.hidden_size", "hidden_size_mismatch") in error_codes(response)
    assert _state() == before


def test_patch_of_a_moe_config_recomputes_active_params(writer):
    """Changing a MoE config's layer types, or making it dense, recomputes (or drops) active_params."""
    moe = moe_config()
    store(moe)
    layers = copy.deepcopy(moe["layer_types"])
    layers[1]["specs"]["num_experts_per_tok"] = 1
    response = writer.patch(TINY_URL, {"layer_types": layers}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total_params"] - body["active_params"] == 2 * 3 * 3 * 64 * 32
    layers[1] = small_config()["layer_types"][1]
    response = writer.patch(TINY_URL, {"layer_types": layers}, format="json")
    assert response.status_code == 200, response.content
    assert "active_params" not in response.json()
    assert ModelConfig.objects.get().active_params is None


def test_patch_given_derived_values_must_match(writer):
    """A derived value in the patch is checked against the recomputed one."""
    store(small_config())
    response = writer.patch(TINY_URL, {"total_params": 5}, format="json")
    assert response.status_code == 400 and error_codes(response) == [("total_params", "total_params_mismatch")]


def test_patch_body_must_be_an_object(writer):
    """A PATCH body that is not an object is the core's not_an_object."""
    store(small_config())
    response = writer.patch(TINY_URL, [1, 2], format="json")
    assert response.status_code == 400 and error_codes(response) == [("$", "not_an_object")]


def test_patch_unknown_id_is_404(writer):
    """PATCH never creates."""
    assert writer.patch(TINY_URL, {"name": "x"}, format="json").status_code == 404


def test_delete(writer):
    """DELETE answers 204, the config is gone, its last document is kept in the history."""
    store(small_config())
    response = writer.delete(TINY_URL)
    assert response.status_code == 204 and response.content == b""
    assert not ModelConfig.objects.exists() and not LayerType.objects.exists()
    assert ConfigRevision.objects.filter(action="deleted", source="api").get().before["model_id"] == TINY
    assert writer.get(TINY_URL).status_code == 404
    assert writer.delete(TINY_URL).status_code == 404


# ---- If-Match ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_write_with_the_current_etag_succeeds(writer, method):
    """If-Match with the current ETag (or *) lets the write through."""
    config = store(small_config())
    for header in (_etag(config), "*"):
        kwargs = {"format": "json", "HTTP_IF_MATCH": header}
        if method == "delete":
            response = writer.delete(TINY_URL, HTTP_IF_MATCH=header)
            assert response.status_code == 204
            return
        body = small_config(name=f"via {header}") if method == "put" else {"name": f"via {header}"}
        response = getattr(writer, method)(TINY_URL, body, **kwargs)
        assert response.status_code == 200, response.content
        config = ModelConfig.objects.get()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("header", ['"stale"', 'W/"{d}"', "not-an-etag"])
def test_write_with_a_stale_if_match_is_412_and_changes_nothing(writer, method, header):
    """A stale, weak or malformed If-Match is 412, carries the current ETag, and nothing changes."""
    config = store(small_config())
    before = _state()
    header = header.format(d=config.digest)
    if method == "delete":
        response = writer.delete(TINY_URL, HTTP_IF_MATCH=header)
    else:
        body = small_config(name="Lost") if method == "put" else {"name": "Lost"}
        response = getattr(writer, method)(TINY_URL, body, format="json", HTTP_IF_MATCH=header)
    assert response.status_code == 412
    assert error_codes(response) == [("header.If-Match", "precondition_failed")]
    assert response["ETag"] == _etag(config)
    assert _state() == before


def test_if_match_star_on_a_missing_config_is_412(writer):
    """PUT with If-Match: * does not create."""
    response = writer.put(TINY_URL, small_config(), format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 412 and not ModelConfig.objects.exists()
    assert response.json()["errors"][0]["msg"] == "there is no config with this model_id for If-Match to match"


def test_two_clients_cannot_lose_an_update(writer):
    """Both read the same ETag; the first write wins, the second gets 412 and must re-read."""
    store(small_config())
    etag = writer.get(TINY_URL)["ETag"]
    first = writer.put(TINY_URL, small_config(name="First"), format="json", HTTP_IF_MATCH=etag)
    second = writer.put(TINY_URL, small_config(name="Second"), format="json", HTTP_IF_MATCH=etag)
    assert (first.status_code, second.status_code) == (200, 412)
    assert ModelConfig.objects.get().name == "First"
    assert second["ETag"] == first["ETag"]


def test_if_match_is_checked_inside_the_write(writer, monkeypatch):
    """A write landing between the view's read and the write's transaction still makes If-Match fail."""
    config = store(small_config())
    real_upsert = views.config_upsert

    def racing_upsert(**kwargs):
        services.config_upsert(data=small_config(name="Concurrent"), source="api")
        return real_upsert(**kwargs)

    monkeypatch.setattr(views, "config_upsert", racing_upsert)
    response = writer.put(TINY_URL, small_config(name="Mine"), format="json", HTTP_IF_MATCH=_etag(config))
    assert response.status_code == 412
    assert ModelConfig.objects.get().name == "Concurrent"


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_without_if_match_all_apply(django_user_model):
    """PATCHes without If-Match from several clients at once are serialized: every one applies, none is
    refused, and the history holds exactly one revision per change."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    store(small_config())
    user = django_user_model.objects.create_superuser("patcher", password="x-secret-pass")
    statuses: list[int] = []

    def patch_notes(i: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            response = client.patch(TINY_URL, {"validation_notes": f"note {i}"}, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=patch_notes, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    updates = ConfigRevision.objects.filter(action="updated").order_by("id")
    assert updates.count() == 8
    # Each write started from the one before it: nothing lost, nothing merged into a stale copy.
    notes = [(r.before["validation_notes"], r.after["validation_notes"]) for r in updates]
    assert all(before == prior_after for (before, _), (_, prior_after) in zip(notes[1:], notes, strict=False))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["post", "put"])
def test_concurrent_creates_of_one_id_give_one_201_and_documented_refusals(django_user_model, method):
    """Eight clients create the same new config at once: one 201; the others 409 already_exists (POST) or
    412 (PUT with If-None-Match: *), never a database's raw text."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_superuser("creator", password="x-secret-pass")
    answers: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            if method == "post":
                response = client.post("/models/", small_config(), format="json")
            else:
                response = client.put(TINY_URL, small_config(), format="json", HTTP_IF_NONE_MATCH="*")
            answers.append((response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = 409 if method == "post" else 412
    assert sorted(status for status, _ in answers) == [201] + [refused] * 7
    assert not any(b"duplicate key" in body or b"constraint" in body for _, body in answers)
    assert ModelConfig.objects.count() == 1 and ConfigRevision.objects.count() == 1


# ---- validate ----------------------------------------------------------------------------------


def test_validate_a_valid_document(api, db):
    """POST /models/validate returns valid, no errors, the warnings, counts and the normalized document."""
    response = api.post("/models/validate", small_config(num_layers=3), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["errors"] == [] and body["recomputed"] == []
    assert ("layer_types[0].count", "count_not_num_layers") in [(w["loc"], w["code"]) for w in body["warnings"]]
    assert body["counts"]["total_params"] == 187200
    assert [r["subtotal"] for r in body["counts"]["layer_types"]] == [24576, 98304, 320, 64000, 0]
    assert body["document"]["total_params_formatted"] == "187.2K"
    assert not ModelConfig.objects.exists()


def test_validate_an_invalid_document(api, db):
    """A 400 with valid false, the errors, no counts and no document; nothing is written."""
    response = api.post("/models/validate/", _rejected(layer_types__0__specs__num_kv_heads=3), format="json")
    body = response.json()
    assert response.status_code == 400 and body["valid"] is False
    assert [(e["loc"], e["code"]) for e in body["errors"]] == [
        ("layer_types[0].specs.num_kv_heads", "heads_not_divisible")
    ]
    assert body["counts"] is None and body["document"] is None
    assert not ModelConfig.objects.exists()


def test_validate_with_recompute_lists_replaced_values(api, db):
    """With ?recompute=true stale derived values are listed as recomputed, not as errors."""
    response = api.post("/models/validate?recompute=true", small_config(total_params=3), format="json")
    body = response.json()
    assert body["valid"] is True
    assert [(r["loc"], r["code"]) for r in body["recomputed"]] == [("total_params", "total_params_mismatch")]


def test_validate_is_not_a_model_id(writer):
    """'validate' is routed to validation, before the detail route."""
    assert writer.get("/models/validate").status_code == 405
