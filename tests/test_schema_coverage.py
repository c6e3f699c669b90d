"""Every status the schema documents for a write (configs and devices) is one that schemathesis-generated requests
reach."""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from registry import selectors, services
from registry.core.device_documents import device_document
from registry.models import ConfigRevision, Device, ModelConfig
from registry.wsgi import application
from tests.conftest import user_with
from tests.test_schema import accepted_bodies, address_the_body, mostly_unconditional
from tests.test_throttles import rates, redis  # noqa: F401 (fixtures: a real Redis counts the throttles)

# Each test calls the WSGI application directly (schemathesis), outside the test Client.
pytestmark = pytest.mark.usefixtures("keep_the_test_connection")

schema = schemathesis.openapi.from_wsgi("/schema/?format=json", application)

WRITE_METHODS = ("post", "put", "patch", "delete")
# The writes this test covers, by operationId: every write of the schema (a new one fails the test until it is
# added here, so none slips past unmeasured).
CONFIG_WRITES = (
    "models_create",
    "models_update",
    "models_partial_update",
    "models_destroy",
    "models_validate",
    "models_import_hf",
    "models_history_restore",
)
DEVICE_WRITES = ("devices_update", "devices_partial_update", "devices_destroy")
COVERED = CONFIG_WRITES + DEVICE_WRITES
AUTH = "Authorization"
# Examples per operation and setup (SCHEMATHESIS_COVERAGE_SCALE multiplies them).
SCALE = int(os.environ.get("SCHEMATHESIS_COVERAGE_SCALE", "1"))
# The superuser's plain requests (most of them written), each other identity's, each tweak's, the races', and
# past the write rate.
SUPERUSER_EXAMPLES, IDENTITY_EXAMPLES = 12 * SCALE, 4 * SCALE
TWEAK_EXAMPLES, RACE_EXAMPLES, THROTTLED_EXAMPLES = 6 * SCALE, 30 * SCALE, 4 * SCALE


def write_operations() -> dict[str, Any]:
    """operationId → schemathesis operation, for every POST, PUT, PATCH and DELETE the schema has."""
    found = {}
    for path, methods in schema.raw_schema["paths"].items():
        for method, definition in methods.items():
            if method in WRITE_METHODS:
                found[definition["operationId"]] = schema[path][method.upper()]
    return found


def documented(operation: Any) -> set[int]:
    return {int(code) for code in operation.definition.raw["responses"]}


# ---- bodies: mostly what the registry accepts, the schema's own strategy for the rest -----------------------


@schema.hook("before_generate_headers")
def generate_mostly_unconditional(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Made-up If-Match and If-None-Match values in one request in three (the tweaks below send current ones)."""
    return mostly_unconditional(strategy)


@schema.hook("before_generate_body")
def generate_accepted_bodies(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Writes send bodies the registry accepts most of the time (new configs and devices, stored ones, Hub
    config.json files), and the schema's own strategy's bodies the rest of it."""
    return accepted_bodies(context.operation.label if context.operation is not None else None, strategy)


# ---- who asks, and what else is true when they do ----------------------------------------------------------

# adder: add configs and devices; changer: change and delete both; curator: every config permission and no
# device one (a device write is a 403 for them, as for the reader).
IDENTITIES = ("superuser", "reader", "adder", "changer", "anonymous", "bad_token", "session")
DEVICE_IDENTITIES = ("superuser", "curator", "adder", "changer", "anonymous", "bad_token", "session")
# Changes to a generated request, each sent by the superuser (so that it is the change that is answered).
TWEAKS = (
    "oversize",
    "plain_text",
    "accept_xml",
    "unknown_query",
    "if_match_current",
    "if_match_stale",
    "if_none_match_star",
    "if_none_match_current",
)
# Device writes take no If-None-Match; a name outside the path's pattern is no device URL (404, even for a PUT).
DEVICE_TWEAKS = (*TWEAKS[:6], "name_outside_pattern")


@dataclass(frozen=True)
class Scenario:
    """Who sends the generated request, what is changed in it, and which stored config it addresses."""

    who: str
    tweak: str
    aim: int | None  # the aim-th stored config or device (or revision, for a restore) replaces the generated path


AIMS = st.one_of(st.integers(0, 63), st.integers(0, 63), st.none())  # mostly a stored config or device
SUPERUSER = st.just("superuser")


def setups(
    identities: tuple[str, ...], tweaks: tuple[str, ...], racers: tuple[str, ...] = ("adder", "changer")
) -> tuple[tuple[Any, int], ...]:
    """(scenarios, examples): requests as each identity unchanged (each identity in turn, so that none is left
    out by the draws); changed by each tweak; racing another client's write, as the identities whose permission
    decides what the race does."""
    return (
        *(
            (
                st.builds(Scenario, who=st.just(who), tweak=st.just("none"), aim=AIMS),
                SUPERUSER_EXAMPLES if who == "superuser" else IDENTITY_EXAMPLES,
            )
            for who in identities
        ),
        *((st.builds(Scenario, who=SUPERUSER, tweak=st.just(t), aim=AIMS), TWEAK_EXAMPLES) for t in tweaks),
        (
            st.builds(Scenario, who=st.sampled_from(racers), tweak=st.just("race"), aim=AIMS),
            RACE_EXAMPLES,
        ),
    )


SETUPS = {
    **dict.fromkeys(CONFIG_WRITES, setups(IDENTITIES, TWEAKS)),
    # A device PUT's race is on a name the adder creates (a changer's PUT of a new name is a 403 before it); a
    # PATCH's or DELETE's on a device the changer changes.
    "devices_update": setups(DEVICE_IDENTITIES, DEVICE_TWEAKS, racers=("adder",)),
    "devices_partial_update": setups(DEVICE_IDENTITIES, DEVICE_TWEAKS, racers=("changer",)),
    "devices_destroy": setups(DEVICE_IDENTITIES, DEVICE_TWEAKS, racers=("changer",)),
}
# Past a tiny write rate.
THROTTLED = (st.builds(Scenario, who=SUPERUSER, tweak=st.just("none"), aim=AIMS), THROTTLED_EXAMPLES)


@dataclass
class World:
    """The credentials of each identity (a token, or a session cookie without its CSRF token)."""

    tokens: dict[str, str]
    session: str


def _credentials(case: Any, who: str, world: World) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "cookie")}
    case.cookies = {}
    if who == "session":
        case.cookies = {django_settings.SESSION_COOKIE_NAME: world.session}
    elif who == "bad_token":
        headers[AUTH] = "Token " + "0" * 40
    elif who != "anonymous":
        headers[AUTH] = f"Token {world.tokens[who]}"
    case.headers = headers


def _aim(case: Any, aim: int | None, tweak: str) -> None:
    """Point the path at a stored config or device, or at a stored revision for a restore; a PUT at what its body
    names."""
    if address_the_body(case):
        return
    params = case.path_parameters or {}
    if aim is not None and "name" in params:
        names = list(Device.objects.order_by("position").values_list("name", flat=True))
        params["name"] = names[aim % len(names)]
    elif aim is not None and "revision" in params:
        # Those of deleted configs first (the draws start there): a restore of one re-creates the config; with a
        # current If-Match, those of stored configs (a restore of one replaces it: 200).
        deleted_first = tweak != "if_match_current"
        order = F("config").asc(nulls_first=True) if deleted_first else F("config").asc(nulls_last=True)
        revisions = list(ConfigRevision.objects.order_by(order, "pk").values_list("model_id", "pk"))
        params["model_id"], revision = revisions[aim % len(revisions)]
        params["revision"] = revision
    elif aim is not None and "model_id" in params:
        ids = list(ModelConfig.objects.order_by("model_id").values_list("model_id", flat=True))
        params["model_id"] = ids[aim % len(ids)]
    case.path_parameters = params


def _current(case: Any) -> str | None:
    """The ETag's digest of the config or device the path names, None if there is none."""
    from registry.api import devices as device_views  # after the app (importing it first is circular)

    params = case.path_parameters or {}
    if "name" in params:
        found = device_views._resolve(params["name"]) if isinstance(params["name"], str) else None
        return found.digest if found is not None else None
    return selectors.current_digest(model_id=params.get("model_id", ""))


def _tweak(case: Any, tweak: str) -> None:
    headers = case.headers
    current = _current(case)
    if tweak == "oversize" and case.body is not None:
        case.body = {"validation_notes": "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    elif tweak == "plain_text":
        case.media_type, case.body = "text/plain", "not JSON"
    elif tweak == "accept_xml":
        headers["Accept"] = "application/xml"
    elif tweak == "unknown_query":
        case.query = {**(case.query or {}), "colour": "red"}
    elif tweak == "if_match_current":
        headers["If-Match"] = f'"{current}"' if current else '"gone"'
    elif tweak == "if_match_stale":
        headers["If-Match"] = '"' + "0" * 64 + '"'
    elif tweak == "if_none_match_star":
        headers["If-None-Match"] = "*"
    elif tweak == "if_none_match_current" and current is not None:
        headers["If-None-Match"] = f'"{current}"'
    elif tweak == "name_outside_pattern":
        case.path_parameters = {**(case.path_parameters or {}), "name": "H100 SXM"}


@contextlib.contextmanager
def racing(case: Any) -> Iterator[None]:
    """Another client's write lands between the view's read of the current version and the write itself: the
    config the view saw is deleted, or the one it did not see is created (with the request's own document)."""
    real = selectors.current_digest

    def raced(*, model_id: str) -> str | None:
        seen = real(model_id=model_id)
        if seen is not None:
            services.config_delete(model_id=model_id)
        else:
            document = case.body if case.method == "PUT" else None
            if document is None:
                revision = ConfigRevision.objects.filter(model_id=model_id).first()
                document = revision and (revision.after or revision.before)
            with contextlib.suppress(services.ConfigRejected):
                services.config_upsert(data=document, model_id=model_id)
        return seen

    # Views read it as selectors.current_digest, the history module by its own name.
    with (
        mock.patch.object(selectors, "current_digest", raced),
        mock.patch("registry.api.history.current_digest", raced),
    ):
        yield


@contextlib.contextmanager
def racing_devices() -> Iterator[None]:
    """Another client's write lands in a device write: the device the view found is deleted before the write
    (a PATCH or DELETE then finds nothing: 404), or one the service found no row for is created between its
    locked read and its insert (the insert then breaks the unique name: 409)."""
    from registry.api import devices as device_views  # after the app (importing it first is circular)
    from registry.services import devices as device_services

    real_resolve, real_clashes = device_views._resolve, device_services._clashes
    raced: list[str] = []  # one racing write per request

    def resolve(name: str) -> Device | None:
        found = real_resolve(name)
        if found is not None and not raced:
            raced.append(found.name)
            device_services.device_delete(name=found.name)
        return found

    def clashes(spec: Any, own: int | None) -> list[Any]:
        found = real_clashes(spec, own)
        if own is None and not raced:
            raced.append(spec.name)
            device_services.device_upsert(data=device_document(spec))
        return found

    with mock.patch.object(device_views, "_resolve", resolve), mock.patch.object(device_services, "_clashes", clashes):
        yield


# ---- the run ------------------------------------------------------------------------------------------------


@pytest.fixture
def world(loaded_fixtures, django_user_model) -> World:
    """The shipped configs, three of them deleted (their history restores them: 201), one with a revision that
    breaks today's rules (a restore of it is a 400); the shipped devices; a user per identity."""
    from rest_framework.authtoken.models import Token

    # Every other one of the first six as the body strategies list them, so their first draws meet both kinds.
    ordered = sorted(ModelConfig.objects.all(), key=lambda config: config.model_id)
    gone = [config.to_document() for config in ordered[0:6:2]]
    for document in gone:
        services.config_delete(model_id=document["model_id"])
    document = gone[0]
    ConfigRevision.objects.create(
        model_id=document["model_id"],
        action=ConfigRevision.Action.UPDATED,
        source=ConfigRevision.Source.API,
        before=document,
        after={**document, "hidden_size": document["hidden_size"] + 1},  # its layers no longer agree
    )
    users = {
        "superuser": django_user_model.objects.create_superuser("coverage", password="x-secret-pass"),
        "reader": user_with("reader"),
        "adder": user_with("adder", "add_modelconfig", "add_device"),
        "changer": user_with("changer", "change_modelconfig", "delete_modelconfig", "change_device", "delete_device"),
        "curator": user_with("curator", "add_modelconfig", "change_modelconfig", "delete_modelconfig"),
    }
    client = Client()
    client.force_login(users["superuser"])
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return World({who: Token.objects.create(user=user).key for who, user in users.items()}, session)


EXCLUDED_CHECKS = [
    # The scenarios change generated requests on purpose (another identity, an oversized body, a conflict), so a
    # positive case may rightly be refused and a negative one may meet an earlier refusal.
    positive_data_acceptance,
    negative_data_rejection,
    # The credentials are the test's own, real ones (ignored_auth takes a header it did not set for a made-up one).
    ignored_auth,
]


def explore(
    operation: Any,
    world: World,
    scenarios: st.SearchStrategy[Scenario],
    examples: int,
    seen: dict[str, collections.Counter],
    plain: collections.Counter | None = None,
) -> None:
    """Send ``examples`` generated requests to ``operation``, each under a drawn scenario; count their statuses."""
    modes = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    if operation.method.upper() != "DELETE" and operation.label != "POST /models/{model_id}/history/{revision}/restore":
        modes.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # a failure is reported as drawn: shrinking it costs minutes
        report_multiple_bugs=False,
    )
    @given(case=st.one_of(*modes), scenario=scenarios)
    def send(case: Any, scenario: Scenario) -> None:
        savepoint = transaction.savepoint()
        try:
            _credentials(case, scenario.who, world)
            _aim(case, scenario.aim, scenario.tweak)
            _tweak(case, scenario.tweak)
            race: Any = contextlib.nullcontext()
            if scenario.tweak == "race":
                race = racing_devices() if "name" in (case.path_parameters or {}) else racing(case)
            with race:
                response = case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
            seen[operation.definition.raw["operationId"]][response.status_code] += 1
            positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
            if plain is not None and positive and scenario.who == "superuser" and scenario.tweak == "none":
                plain[response.status_code] += 1
        finally:
            transaction.savepoint_rollback(savepoint)

    send()


@pytest.mark.django_db
def test_every_documented_status_of_every_write_is_reached(world, redis, rates):  # noqa: F811
    """Generated requests (schemathesis' cases, sent by drawn identities, some oversized, some not JSON, some
    with a stale or current If-Match, some racing another write, and a last few past a tiny write rate) reach
    every status the schema documents for every write, config or device, each response conforming to the
    schema; and most PUTs are accepted writes, not rejections."""
    operations = write_operations()
    assert set(operations) == set(COVERED), sorted(operations)
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    # Positive PUTs the superuser sent unchanged, by operation.
    puts: dict[str, collections.Counter] = {
        "models_update": collections.Counter(),
        "devices_update": collections.Counter(),
    }
    rates(write=None, failed_token=None)
    for operation_id in COVERED:
        for scenarios, examples in SETUPS[operation_id]:
            explore(operations[operation_id], world, scenarios, examples, seen, puts.get(operation_id))
    rates(write="2/min")  # the superuser's third write in a minute is a 429
    for operation_id in COVERED:
        explore(operations[operation_id], world, *THROTTLED, seen)

    missing = {
        operation_id: sorted(documented(operations[operation_id]) - set(seen[operation_id])) for operation_id in COVERED
    }
    reached = {operation_id: dict(sorted(seen[operation_id].items())) for operation_id in COVERED}
    if any(missing.values()):
        pytest.fail(f"documented but never reached: {missing}; reached (status: requests): {reached}")
    # Of the positive PUTs the superuser sent unchanged, most are written (the rest: the schema's own bodies,
    # made-up If-Match values; negative cases are meant to be refused).
    for operation_id, counts in puts.items():
        assert counts[200] + counts[201] >= 0.5 * sum(counts.values()), (operation_id, dict(counts))
