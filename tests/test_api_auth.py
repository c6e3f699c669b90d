"""Who may use the REST API: public reads (or not, by setting), writes by model permission."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.models import ModelConfig
from tests.conftest import small_config, store, token_client, user_with

pytestmark = pytest.mark.django_db

TINY_URL = "/models/acme_tiny-1"
READS = [
    ("get", "/models/"),
    ("get", TINY_URL),
    ("get", f"{TINY_URL}/parameters"),
    ("get", "/layer-classes/"),
    ("get", "/layer-classes/NormLayer"),
    ("post", "/models/validate"),
    ("get", "/schema/"),
    ("get", "/docs/"),
]
# (method, url, permission it needs)
WRITES = [
    ("post", "/models/", "add_modelconfig"),
    ("put", TINY_URL, "change_modelconfig"),
    ("patch", TINY_URL, "change_modelconfig"),
    ("delete", TINY_URL, "delete_modelconfig"),
]


def _call(client: APIClient, method: str, url: str):
    body = small_config(model_id="acme_tiny-2", hf_model_id="acme/tiny-2") if url == "/models/" else small_config()
    if method == "patch":
        body = {"name": "Changed"}
    return getattr(client, method)(url, body, format="json") if method != "get" else client.get(url)


@pytest.fixture
def stored(db):
    return store(small_config())


@pytest.mark.parametrize("method, url", READS)
def test_anonymous_reads_are_allowed(api, stored, method, url):
    """Reads (and validation, which writes nothing) need no credentials by default."""
    assert _call(api, method, url).status_code == 200


@pytest.mark.parametrize("method, url", READS)
def test_reads_require_auth_setting(api, stored, settings, method, url):
    """With REGISTRY_READS_REQUIRE_AUTH, anonymous reads are 401 and any authenticated user may read."""
    settings.REGISTRY_READS_REQUIRE_AUTH = True
    response = _call(api, method, url)
    assert response.status_code == 401
    if not url.startswith(("/schema", "/docs")):  # those answer in their own formats (YAML, HTML)
        assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert _call(token_client(user_with("reader")), method, url).status_code == 200


@pytest.mark.parametrize("method, url, perm", WRITES)
def test_anonymous_writes_are_401(api, stored, method, url, perm):
    """A write without credentials is 401 with a JSON body and a WWW-Authenticate challenge; nothing changes."""
    digest = stored.digest
    response = _call(api, method, url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["errors"] == [
        {"loc": "$", "code": "not_authenticated", "msg": "Authentication credentials were not provided."}
    ]
    assert list(ModelConfig.objects.values_list("digest", flat=True)) == [digest]


def test_bad_token_is_401(api, stored):
    """An unknown token is 401 (authentication_failed), even for a read."""
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(TINY_URL)
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.mark.parametrize("method, url, perm", WRITES)
def test_writes_without_the_permission_are_403(stored, method, url, perm):
    """An authenticated user without the model's permission gets 403 with a JSON body; nothing changes."""
    others = [p for _, _, p in WRITES if p != perm]
    client = token_client(user_with("limited", *others))
    digest = stored.digest
    response = _call(client, method, url)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert list(ModelConfig.objects.values_list("digest", flat=True)) == [digest]


@pytest.mark.parametrize("method, url, perm", WRITES)
def test_writes_with_just_the_permission(stored, method, url, perm):
    """The one permission a write needs is enough."""
    client = token_client(user_with("exact", perm))
    assert _call(client, method, url).status_code in (200, 201, 204)


def test_put_that_creates_needs_the_add_permission(db):
    """PUT to a new id creates, so change alone is not enough."""
    client = token_client(user_with("changer", "change_modelconfig"))
    response = client.put(TINY_URL, small_config(), format="json")
    assert response.status_code == 403 and not ModelConfig.objects.exists()
    client = token_client(user_with("adder", "add_modelconfig", "change_modelconfig"))
    assert client.put(TINY_URL, small_config(), format="json").status_code == 201


def test_superuser_token_may_write(db, admin_user):
    """A superuser has every permission."""
    assert token_client(admin_user).post("/models/", small_config(), format="json").status_code == 201


def test_drf_create_token_issues_a_working_token(db):
    """`manage.py drf_create_token USER` prints a token that authenticates API writes."""
    user = user_with("tool", "add_modelconfig")
    out = StringIO()
    call_command("drf_create_token", "tool", stdout=out)
    key = Token.objects.get(user=user).key
    assert key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post("/models/", small_config(), format="json").status_code == 201


def test_session_auth_for_the_browsable_api(db):
    """A logged-in session may write, with Django's CSRF protection enforced."""
    user_with("browser", "add_modelconfig")
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="browser", password="secret-pass-1")
    response = client.post("/models/", small_config(), format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["errors"][0]["msg"]
    client.get("/admin/login/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.post("/models/", small_config(), format="json", HTTP_X_CSRFTOKEN=token).status_code == 201


def test_put_creates_with_the_add_permission_alone(db):
    """PUT to a new id needs add, not change; replacing an existing config still needs change."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    assert adder.put(TINY_URL, small_config(), format="json").status_code == 201
    response = adder.put(TINY_URL, small_config(name="Replaced"), format="json")
    assert response.status_code == 403
    assert "change permission" in response.json()["errors"][0]["msg"]
    assert ModelConfig.objects.get().name == small_config()["name"]


@pytest.mark.parametrize(
    "method, url",
    [("delete", "/models/"), ("put", "/models/"), ("post", f"{TINY_URL}/parameters"), ("get", "/models/validate")],
)
def test_a_method_the_path_lacks_is_405_for_anyone(api, stored, method, url):
    """405 with Allow comes before authentication: an anonymous caller is not told to log in first."""
    response = getattr(api, method)(url)
    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
    assert "Allow" in response


# ---- the permission checked holds when another write creates or deletes the config in between ----------


def _read_as(monkeypatch, digest):
    """Make the view read ``digest`` as the config's current version, as if it had read before another write."""
    from registry.api import views

    monkeypatch.setattr(views.selectors, "current_digest", lambda **lookup: digest)


@pytest.mark.django_db
def test_put_by_a_user_who_may_only_add_does_not_replace_a_config_created_meanwhile(monkeypatch):
    """Read as absent (add suffices), stored by the time of the write: 409, the stored config untouched."""
    adder = token_client(user_with("adder", "add_modelconfig"))
    stored = store(small_config())
    _read_as(monkeypatch, None)
    response = adder.put(TINY_URL, small_config(name="Taken over"), format="json")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "already_exists"
    assert ModelConfig.objects.get().digest == stored.digest


@pytest.mark.django_db
def test_put_by_a_user_who_may_only_change_does_not_create_a_config_deleted_meanwhile(monkeypatch):
    """Read as stored (change suffices), gone by the time of the write: 404, nothing created."""
    changer = token_client(user_with("changer", "change_modelconfig"))
    _read_as(monkeypatch, "0" * 64)
    response = changer.put(TINY_URL, small_config(), format="json")
    assert response.status_code == 404
    assert not ModelConfig.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_if_none_match_star_on_a_stored_config_is_412(method):
    """If-None-Match: * asks that no such config exist: PATCH and DELETE of a stored one write nothing."""
    root = token_client(user_with("root", "add_modelconfig", "change_modelconfig", "delete_modelconfig"))
    stored = store(small_config())
    response = getattr(root, method)(TINY_URL, {"name": "x"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 412
    assert ModelConfig.objects.get().digest == stored.digest
