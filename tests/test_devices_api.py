"""/devices/ and /devices/{name}: the catalogue with every figure's source and date, filters, conditional writes."""

from __future__ import annotations

import json

import pytest

from registry.core.devices import FIXTURE, SOURCED
from registry.models import Device, DeviceRevision
from registry.services.devices import load_device_fixture
from tests.conftest import error_codes, token_client, user_with

pytestmark = pytest.mark.django_db
FILE = json.loads(FIXTURE.read_text())["devices"]


@pytest.fixture
def catalogue(db) -> None:
    assert load_device_fixture().written


@pytest.fixture
def editor(db):
    return token_client(user_with("editor", "add_device", "change_device", "delete_device"))


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_list_serves_every_device_in_file_order_with_sources(api, catalogue):
    response = api.get("/devices/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(FILE)
    assert names(response) == [d["name"] for d in FILE]
    first = body["results"][0]
    assert {k: v for k, v in first.items() if k != "url"} == FILE[0]  # every figure, as the file has it
    assert set(first["sources"]) == set(SOURCED) and all(s["date"] for s in first["sources"].values())
    assert first["url"].endswith(f"/devices/{FILE[0]['name']}")


def test_list_pages_filters_and_orders(api, catalogue):
    page = api.get("/devices/?limit=5&offset=5").json()
    assert [d["name"] for d in page["results"]] == [d["name"] for d in FILE[5:10]]
    assert "offset=10" in page["next"]
    amd = sorted(d["name"] for d in FILE if d["vendor"] == "AMD")
    assert sorted(names(api.get("/devices/?vendor=amd"))) == amd
    assert names(api.get("/devices/?search=H100-80")) == ["H100-SXM"]  # an alias finds its device
    big = [d["name"] for d in FILE if d["memory_bytes"] >= 150 * 10**9]
    assert names(api.get(f"/devices/?min_memory_bytes={150 * 10**9}")) == big
    cheap = sorted(FILE, key=lambda d: (d["price_per_hour"], FILE.index(d)))
    ordered = names(api.get("/devices/?ordering=price_per_hour&limit=500"))
    assert ordered == [d["name"] for d in cheap]
    assert all(d["price_per_hour"] <= 1.0 for d in api.get("/devices/?max_price_per_hour=1").json()["results"])


@pytest.mark.parametrize(
    ("query", "loc"),
    [("min_memory_bytes=lots", "query.min_memory_bytes"), ("limit=0", "query.limit"), ("colour=red", "query.colour")],
)
def test_bad_list_parameters_are_400(api, catalogue, query, loc):
    response = api.get(f"/devices/?{query}")
    assert response.status_code == 400
    assert [e["loc"] for e in response.json()["errors"]] == [loc]


def test_detail_by_name_or_alias_with_etag(api, catalogue):
    by_name = api.get("/devices/H100-SXM")
    by_alias = api.get("/devices/h100")
    assert by_name.status_code == by_alias.status_code == 200
    assert by_name.json() == by_alias.json() == FILE[0]
    etag = by_name["ETag"]
    assert etag == f'"{Device.objects.get(name="H100-SXM").digest}"'
    assert api.get("/devices/H100", HTTP_IF_NONE_MATCH=etag).status_code == 304
    missing = api.get("/devices/H999")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"


def test_patch_with_if_match_changes_the_price_and_keeps_history(editor, api, catalogue):
    etag = api.get("/devices/L4")["ETag"]
    patch = {"price_per_hour": 0.5, "sources": {"price_per_hour": {"source": "our contract", "date": "2026-01"}}}
    response = editor.patch("/devices/L4", patch, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert response.json()["price_per_hour"] == 0.5
    assert response.json()["sources"]["price_per_hour"] == {"source": "our contract", "date": "2026-01"}
    assert response["ETag"] != etag
    stale = editor.patch("/devices/L4", {"price_per_hour": 0.6}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Device.objects.get(name="L4").price_per_hour == 0.5
    revision = DeviceRevision.objects.filter(name="L4").first()
    assert (revision.action, revision.source, revision.user.username) == ("updated", "api", "editor")


def test_bad_writes_are_400_with_paths(editor, catalogue):
    response = editor.patch("/devices/L4", {"sources": {"tdp_watts": {"date": "soon"}}}, format="json")
    assert response.status_code == 400
    assert ("sources.tdp_watts.date", "invalid_date") in error_codes(response)
    clash = editor.patch("/devices/L4", {"aliases": ["H200"]}, format="json")
    assert clash.status_code == 400
    assert error_codes(clash) == [("aliases[0]", "duplicate_name")]


def test_reads_are_public_writes_are_not(api, catalogue):
    assert api.patch("/devices/L4", {"price_per_hour": 0.1}, format="json").status_code == 401
    reader = token_client(user_with("reader"))
    assert reader.patch("/devices/L4", {"price_per_hour": 0.1}, format="json").status_code == 403
    assert reader.delete("/devices/L4").status_code == 403
    assert Device.objects.get(name="L4").price_per_hour == 0.71


def test_put_creates_and_delete_removes(editor, catalogue):
    new = {**FILE[10], "name": "L4-test", "aliases": ["L4t"]}
    created = editor.put("/devices/L4-test", new, format="json")
    assert created.status_code == 201, created.json()
    assert created["Location"].endswith("/devices/L4-test")
    assert editor.put("/devices/Other", new, format="json").status_code == 400  # the URL names the device
    etag = created["ETag"]
    assert editor.delete("/devices/L4t", HTTP_IF_MATCH='"0"').status_code == 412
    assert editor.delete("/devices/L4t", HTTP_IF_MATCH=etag).status_code == 204
    assert not Device.objects.filter(name="L4-test").exists()
    assert DeviceRevision.objects.filter(name="L4-test").first().action == "deleted"


def test_the_schema_documents_the_device_routes(api):
    schema = api.get("/schema/?format=json").json()
    assert set(schema["paths"]["/devices/"]) == {"get"}
    assert {"get", "put", "patch", "delete"} <= set(schema["paths"]["/devices/{name}"])
    example = schema["paths"]["/devices/{name}"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
    assert next(iter(example.values()))["value"]["sources"]["memory_bytes"]["source"]


def test_a_missing_device_is_a_404_that_says_device(api, catalogue):
    """The schema's 404 of every device route says no such device (a config's still says config)."""
    schema = api.get("/schema/?format=json").json()
    device_routes = schema["paths"]["/devices/{name}"]
    described = {method: op["responses"]["404"]["description"] for method, op in device_routes.items()}
    assert described == dict.fromkeys(("get", "put", "patch", "delete"), "No such device.")
    config = schema["paths"]["/models/{model_id}"]["get"]["responses"]["404"]["description"]
    assert config == "No such config or layer class."
    missing = api.get("/devices/H999")
    assert missing.status_code == 404
    (error,) = missing.json()["errors"]
    assert error == {"loc": "$", "code": "not_found", "msg": "No device with this name or alias."}


def test_a_change_only_user_never_creates_a_device_deleted_since_its_lookup(catalogue, monkeypatch):
    """PUT looked the device up, then another client deleted it: a user who may only change gets 404, not a create."""
    changer = token_client(user_with("changer", "change_device"))
    assert changer.get("/devices/L4").status_code == 200  # loads the URLconf (and the views) as a server would
    from registry.api import devices as views
    from registry.services.devices import document_of

    stale = Device.objects.get(name="L4")
    document = {**document_of(stale), "price_per_hour": 1.0}
    monkeypatch.setattr(views, "_resolve", lambda name: stale)  # the view's look-up ran before the delete
    Device.objects.filter(name="L4").delete()
    response = changer.put("/devices/L4", document, format="json")
    assert response.status_code == 404, response.json()
    assert not Device.objects.filter(name="L4").exists()


def test_a_patch_that_loses_an_alias_race_is_409_not_500(editor, catalogue, monkeypatch):
    """An alias another write took after the clash check: the database refuses it and the answer says so."""
    from registry.services import devices as services

    monkeypatch.setattr(services, "_clashes", lambda spec, own: [])  # the other write came after this check
    response = editor.patch("/devices/L4", {"aliases": ["H200"]}, format="json")
    assert response.status_code == 409, response.json()
    assert [e["code"] for e in response.json()["errors"]] == ["already_exists"]
    assert Device.objects.get(name="L4").document.get("aliases", []) == FILE[[d["name"] for d in FILE].index("L4")].get(
        "aliases", []
    )
