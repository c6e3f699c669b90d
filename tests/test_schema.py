"""The API against its own OpenAPI schema (schemathesis, in-process): no 5xx, every response as documented."""

from __future__ import annotations

import collections
import functools
import json
import os
import re
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from registry.core.device_documents import device_document
from registry.core.devices import load_devices
from registry.core.examples import llama_like
from registry.core.validation import MODEL_ID_RE, model_id_for
from registry.models import ModelConfig
from registry.wsgi import application
from tests.conftest import FIXTURES, HF_DATA

# Each test calls the WSGI application directly (schemathesis), outside the test Client.
pytestmark = pytest.mark.usefixtures("keep_the_test_connection")

schema = schemathesis.openapi.from_wsgi("/schema/?format=json", application)


@pytest.fixture
def superuser_token(db, django_user_model, loaded_fixtures) -> str:
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_superuser("schemathesis", password="x-secret-pass")
    return Token.objects.create(user=user).key


# ---- bodies the registry accepts (test_schema_coverage.py sends them too) -------------------------------------

NOTES = st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=40)


@st.composite
def valid_configs(draw: st.DrawFn) -> dict:
    """Small config documents that satisfy the cross-field rules the schema describes: model_id from
    hf_model_id, every layer's hidden_size and vocab_size the config's, num_kv_heads dividing num_heads."""
    owner = draw(st.from_regex(r"[a-z][a-z0-9-]{0,7}", fullmatch=True))
    name = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,11}", fullmatch=True))
    head_dim = draw(st.sampled_from([8, 16, 32, 64]))
    kv_heads = draw(st.integers(1, 4))
    heads = kv_heads * draw(st.integers(1, 4))
    hidden = heads * head_dim
    layers = draw(st.integers(1, 8))
    vocab = draw(st.integers(2, 5000))
    tied = draw(st.booleans())
    intermediate = draw(st.integers(1, 4096))
    return llama_like(
        hf_model_id=f"{owner}/{name}",
        name=f"{owner.title()} {name}",
        hidden_size=hidden,
        num_layers=layers,
        vocab_size=vocab,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        tied=tied,
        validated=draw(st.booleans()),
        validation_notes=draw(NOTES),
    )


valid_patches = st.fixed_dictionaries(
    {},
    optional={
        "name": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .-]{0,30}", fullmatch=True),
        "validated": st.booleans(),
        "validation_notes": NOTES,
    },
)


@functools.cache
def fixture_documents() -> tuple[dict[str, Any], ...]:
    """The shipped configs' documents, as stored."""
    return tuple(json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json")))


def stored_documents() -> st.SearchStrategy[dict[str, Any]]:
    """A shipped config's document as stored (a PUT replaces it, a POST meets it: 409), maybe renamed."""
    return st.tuples(st.sampled_from(fixture_documents()), st.booleans()).map(
        lambda pair: {**pair[0], "name": pair[0]["name"] + " (renamed)"} if pair[1] else pair[0]
    )


@st.composite
def hub_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A small llama config.json with every dimension given, under a Hub id of its own."""
    owner = draw(st.from_regex(r"[a-z][a-z0-9-]{0,7}", fullmatch=True))
    name = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,11}", fullmatch=True))
    kv_heads = draw(st.integers(1, 4))
    heads = kv_heads * draw(st.integers(1, 4))
    config = {
        "model_type": "llama",
        "hidden_size": heads * draw(st.sampled_from([8, 16, 32])),
        "num_hidden_layers": draw(st.integers(1, 6)),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "intermediate_size": draw(st.integers(1, 512)),
        "vocab_size": draw(st.integers(2, 5000)),
    }
    return {"hf_model_id": f"{owner}/{name}", "config": config}


def stored_hub_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """The Hub config.json of a shipped config: its import differs from the curated document (409, or 200 with
    ?replace=true)."""
    ids = [d["hf_model_id"] for d in fixture_documents() if (HF_DATA / d["hf_model_id"] / "config.json").is_file()]
    # First (the draws start there): one whose curated document differs from its import in more than its notes.
    ids.sort(key=lambda hf_id: hf_id != "mistralai/Mistral-7B-v0.1")
    return st.sampled_from(ids).map(
        lambda hf_id: {"hf_model_id": hf_id, "config": json.loads((HF_DATA / hf_id / "config.json").read_text())}
    )


@functools.cache
def device_documents() -> tuple[dict[str, Any], ...]:
    """The shipped devices' documents (fixtures/devices/devices.json, read by the core's parse rules)."""
    return tuple(device_document(spec) for spec in load_devices())


PRICES = st.integers(1, 10**6).map(lambda cents: cents / 100)  # US dollars per hour, within parse_device's range
DEVICE_NOTES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .,-]{0,39}", fullmatch=True)


@st.composite
def valid_devices(draw: st.DrawFn) -> dict[str, Any]:
    """A shipped device's document: as stored, with a new price or notes, or under a new name of its own (and no
    aliases, which name the shipped one): a PUT to its name replaces (200) or creates (201) it."""
    document = dict(draw(st.sampled_from(device_documents())))
    change = draw(st.sampled_from(["new", "price", "notes", "none"]))  # the draws start at the first
    if change == "price":
        document["price_per_hour"] = draw(PRICES)
    elif change == "notes":
        document["notes"] = draw(DEVICE_NOTES)
    elif change == "new":
        document["name"] = f"{document['name']}-{draw(st.from_regex(r'[a-z0-9]{1,6}', fullmatch=True))}"
        document["aliases"] = []
    return document


valid_device_patches = st.fixed_dictionaries(
    {},
    optional={"price_per_hour": PRICES, "notes": DEVICE_NOTES, "tdp_watts": st.integers(1, 5000)},
)


def accepted_bodies(label: str | None, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """For a write, bodies the registry accepts most of the time (new configs and devices, stored ones, Hub
    config.json files), the schema's own strategy's bodies the rest of it."""
    if label in ("POST /models/", "PUT /models/{model_id}", "POST /models/validate"):
        return st.one_of(stored_documents(), valid_configs(), strategy)
    if label == "PATCH /models/{model_id}":
        return st.one_of(valid_patches, valid_patches, strategy)
    if label == "POST /models/import-hf":
        return st.one_of(stored_hub_bodies(), hub_configs(), strategy)
    if label == "PUT /devices/{name}":
        return st.one_of(valid_devices(), valid_devices(), strategy)
    if label == "PATCH /devices/{name}":
        return st.one_of(valid_device_patches, valid_device_patches, strategy)
    return strategy


# A model_id or device name that routes to its own URL (not only dots: /models/.. is another path).
PATH_SEGMENT = re.compile(r"[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*")


def address_the_body(case: Any) -> bool:
    """A PUT addresses the config or device its body names (the rule path and body share), where that name can
    be a path segment, unless the path drawn is outside its pattern (a negative case: 404); whether it did."""
    if case.method != "PUT" or not isinstance(case.body, dict):
        return False
    params = case.path_parameters or {}
    if not all(isinstance(value, str) and MODEL_ID_RE.match(value) for value in params.values()):
        return False
    hf_model_id, name = case.body.get("hf_model_id"), case.body.get("name")
    if "model_id" in params and isinstance(hf_model_id, str) and PATH_SEGMENT.fullmatch(model_id_for(hf_model_id)):
        params["model_id"] = model_id_for(hf_model_id)
    elif "name" in params and isinstance(name, str) and PATH_SEGMENT.fullmatch(name):
        params["name"] = name
    else:
        return False
    case.path_parameters = params
    return True


def _unconditional(headers: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in headers.items() if k not in ("If-Match", "If-None-Match")} if headers else headers


def mostly_unconditional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Made-up If-Match and If-None-Match values fail their precondition (412): one request in three sends them,
    so that most writes reach their target."""
    return st.one_of(strategy.map(_unconditional), strategy.map(_unconditional), strategy)


@schema.hook("before_generate_headers")
def generate_mostly_unconditional(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    return mostly_unconditional(strategy)


@schema.hook("before_generate_body")
def generate_accepted_bodies(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The generated requests' writes send mostly bodies the registry accepts (see ``accepted_bodies``)."""
    return accepted_bodies(context.operation.label if context.operation is not None else None, strategy)


@pytest.fixture
def unthrottled(settings) -> None:
    """No write rate: the schema's coverage cases (a thousand writes per operation) would otherwise leave the
    generated ones only 429s (test_schema_coverage.py reaches the 429s)."""
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "write": None}}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")),
    # The same examples on every run, so the test gate never flips at random; SCHEMATHESIS_RANDOM=1
    # (with a larger SCHEMATHESIS_MAX_EXAMPLES) explores new ones.
    derandomize=os.environ.get("SCHEMATHESIS_RANDOM") != "1",
    database=None if os.environ.get("SCHEMATHESIS_RANDOM") != "1" else settings.default.database,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, superuser_token, unthrottled):
    """Generated requests (as a superuser, so writes run) never get a 5xx, and every response —
    status, headers, content type, body — is what the schema documents.

    Bodies of valid shape may still break the format's cross-field rules (model_id from
    hf_model_id, a layer's hidden_size equal to the config's, ...), which OpenAPI cannot state:
    for bodies a documented 400 is a right answer, so the positive-data check is left out there.
    """
    address_the_body(case)
    excluded = [positive_data_acceptance] if case.body is not None or case.method in ("POST", "PUT", "PATCH") else []
    case.call_and_validate(headers={"Authorization": f"Token {superuser_token}"}, excluded_checks=excluded)


# ---- writes the schema documents are accepted (finding 9) ---------------------------------------------------

AUTH = "Authorization"


def example_cases(path: str, method: str) -> list:
    """The requests schemathesis builds from the schema's explicit examples for one operation."""
    operation = schema[path][method]
    return [
        find(strategy, lambda _: True, settings=settings(database=None, suppress_health_check=list(HealthCheck)))
        for strategy in operation.get_strategies_from_examples()
    ]


@pytest.mark.django_db
def test_the_schema_examples_create_replace_change_and_delete(superuser_token):
    """The explicit examples of the write operations are accepted writes, not rejections: PUT creates (201)
    and then replaces (200), PATCH changes (200), POST meets the config PUT created (409) and, once it is
    deleted (204), creates it (201); each answer conforms to the schema."""
    headers = {AUTH: f"Token {superuser_token}"}
    (put,) = example_cases("/models/{model_id}", "PUT")
    (post,) = example_cases("/models/", "POST")
    (patch,) = example_cases("/models/{model_id}", "PATCH")
    assert put.path_parameters["model_id"] == put.body["model_id"] == post.body["model_id"]

    for case, status in ((put, 201), (put, 200), (patch, 200)):
        response = case.call_and_validate(headers=headers)
        assert response.status_code == status, (case.method, response.text)
    assert post.call(headers=headers).status_code == 409  # put created it

    model_id = post.body["model_id"]
    delete = schema["/models/{model_id}"]["DELETE"].Case(path_parameters={"model_id": model_id})
    assert delete.call_and_validate(headers=headers).status_code == 204
    assert not ModelConfig.objects.filter(model_id=model_id).exists()
    response = post.call_and_validate(headers=headers)
    assert response.status_code == 201, response.text
    document = response.json()
    # Stored as given, the derived values added (parameter_count in each layer's specs, the totals).
    assert {k: document[k] for k in post.body if k != "layer_types"} == {
        k: v for k, v in post.body.items() if k != "layer_types"
    }
    for stored, given in zip(document["layer_types"], post.body["layer_types"], strict=True):
        assert {**stored, "specs": {**stored["specs"], "parameter_count": 0}} == {
            **given,
            "specs": {**given["specs"], "parameter_count": 0},
        }

    # The PATCH example, sent to the created config, changes it too.
    patch.path_parameters["model_id"] = model_id
    response = patch.call_and_validate(headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["validated"] is True


# The stateful run has a schema of its own: its hook and settings must not reach the test above.
STATEFUL_CONFIG = SchemathesisConfig.from_dict(
    {
        # Bodies from the strategy below are valid: they must be accepted, or meet a documented conflict
        # (schemathesis' default answers, and 412 for an If-Match that is no longer current).
        "generation": {"mode": "positive"},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
            }
        },
    }
)
stateful_schema = schemathesis.openapi.from_wsgi("/schema/?format=json", application, config=STATEFUL_CONFIG).include(
    operation_id=["models_create", "models_retrieve", "models_update", "models_partial_update", "models_destroy"]
)


@stateful_schema.hook
def before_generate_body(context, strategy):
    """Writes the state machine starts itself send bodies the registry accepts (the cross-field rules
    kept); a write that follows a link sends the link's body (the document just written, or a rename)."""
    label = context.operation.label if context.operation is not None else None
    if label in ("POST /models/", "PUT /models/{model_id}"):
        return valid_configs()
    if label == "PATCH /models/{model_id}":
        return valid_patches
    return strategy


STATEFUL_TOKEN: dict[str, str] = {}


@stateful_schema.auth(refresh_interval=None)
class SuperuserToken:
    """The test's superuser token, as an auth provider: schemathesis then knows the credentials are
    real, and checks that the same requests without them are refused."""

    def get(self, case, context):
        return STATEFUL_TOKEN["key"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), AUTH: f"Token {data}"}


@pytest.mark.django_db
def test_stateful_create_read_update_delete(superuser_token):
    """Following the schema's links: create → read → replace / change (If-Match: the ETag just given)
    → delete, with every response checked against the schema and the stateful checks (a deleted config
    stays gone, a created one is there). Small and derandomized, so the gate stays fast and stable."""
    seen: list[tuple[str, int, bool]] = []  # operation, status, whether it sent If-Match

    STATEFUL_TOKEN["key"] = superuser_token

    class Machine(stateful_schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the fixtures alone: what one wrote would change what the next
            # one's responses (and so its steps) are, and Hypothesis replays scenarios.
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case):
            """A PUT the machine starts addresses its body's config (the rule path and body share); values
            schemathesis takes from the app's constants may have replaced the ids the strategy drew."""
            super().before_call(case)
            if case.method == "PUT" and isinstance(case.body, dict) and isinstance(case.body.get("hf_model_id"), str):
                model_id = case.body["hf_model_id"].replace("/", "_")
                case.body["model_id"] = model_id
                case.path_parameters = {**(case.path_parameters or {}), "model_id": model_id}

        def after_call(self, response, case):
            super().after_call(response, case)
            seen.append((case.operation.label, response.status_code, "If-Match" in (case.headers or {})))

    Machine.run(
        settings=settings(
            max_examples=int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "25")),
            stateful_step_count=6,
            derandomize=os.environ.get("SCHEMATHESIS_RANDOM") != "1",
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    statuses = collections.defaultdict(set)
    for label, status, conditional in seen:
        statuses[label].add(status)
        if conditional:
            statuses[f"{label} If-Match"].add(status)
    # The chain ran through: configs were created, read, replaced, changed and deleted, and each write that
    # followed a link with the ETag just given (If-Match: only the schema's links send a current one) was
    # accepted at least once: a replace, a change and a delete.
    assert 201 in statuses["POST /models/"], statuses
    assert 200 in statuses["GET /models/{model_id}"], statuses
    assert statuses["PUT /models/{model_id}"] & {200, 201}, statuses
    assert 200 in statuses["PATCH /models/{model_id}"], statuses
    assert 204 in statuses["DELETE /models/{model_id}"], statuses
    assert 200 in statuses["PUT /models/{model_id} If-Match"], statuses
    assert 200 in statuses["PATCH /models/{model_id} If-Match"], statuses
    assert 204 in statuses["DELETE /models/{model_id} If-Match"], statuses


def test_the_schema_links_writes_to_what_follows_them():
    """Each write's success response links to reading, replacing, changing and deleting the config (with
    If-Match: its ETag) and to its history; a read links to the writes."""
    paths = schema.raw_schema["paths"]
    for path, method, status in (
        ("/models/", "post", "201"),
        ("/models/{model_id}", "put", "200"),
        ("/models/{model_id}", "put", "201"),
        ("/models/{model_id}", "patch", "200"),
    ):
        links = paths[path][method]["responses"][status]["links"]
        targets = {link["operationId"] for link in links.values()}
        assert targets == {
            "models_retrieve",
            "models_update",
            "models_partial_update",
            "models_destroy",
            "models_history",
        }
        assert links["DeleteConfig"]["parameters"] == {
            "model_id": "$response.body#/model_id",
            "header.If-Match": "$response.header.ETag",
        }
    assert set(paths["/models/{model_id}"]["get"]["responses"]["200"]["links"]) == {
        "ReplaceConfig",
        "ChangeConfig",
        "DeleteConfig",
        "GetHistory",
    }
    document = schema.raw_schema["components"]["schemas"]["ConfigDocumentRequest"]
    assert document["properties"]["layer_types"]["minItems"] == 1
    assert document["additionalProperties"] is False
    assert "`model_id` is `hf_model_id` with every '/' replaced by '_'" in document["description"]
