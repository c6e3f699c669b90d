"""Liveness and readiness probes, and what every entry point answers while the database is away."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from registry import conf
from registry.core import Code, Issue

logger = logging.getLogger("registry.database")

# What a database that cannot be reached, or a connection lost under a request, raises through Django.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER = "5"
UNAVAILABLE = "the database cannot be reached; try again shortly"
NOTHING_WRITTEN = "Nothing was written."
# The request attribute holding the database error a request met (read by registry.middleware).
OUTAGE_ATTRIBUTE = "database_outage"

# When this process last found every migration applied (time.monotonic()); trusted for REGISTRY_READY_CACHE_SECONDS,
# so a probe is one query most of the time, yet a database swapped for another (an empty one) is seen soon after.
_migrated_at: float | None = None


def note_outage(request: HttpRequest | None, exc: BaseException) -> None:
    """Log a request's database error and mark the request, so that a read can be retried once."""
    if request is not None:
        setattr(request, OUTAGE_ATTRIBUTE, exc)
    logger.warning("database unavailable: %s", first_line(exc), exc_info=exc, extra={"request": request})


def outage_body() -> dict[str, list[dict[str, str]]]:
    return {"errors": [Issue("$", Code.DATABASE_UNAVAILABLE, UNAVAILABLE).as_dict()]}


def outage_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After: the API's JSON error body, a plain text page for the admin."""
    note_outage(request, exc)
    if request.path.startswith("/admin/"):
        response: HttpResponse = HttpResponse(
            "Service unavailable: the database cannot be reached. Try again in a few seconds.\n",
            content_type="text/plain; charset=utf-8",
            status=503,
        )
    else:
        response = JsonResponse(outage_body(), status=503)
    response["Retry-After"] = RETRY_AFTER
    return response


def outage_message(exc: BaseException, using: str = DEFAULT_DB_ALIAS) -> str:
    """One paragraph for a command's user: what failed, where, what to check, and that nothing was written."""
    s = connections[using].settings_dict
    engine = s["ENGINE"].rsplit(".", 1)[-1]
    where = f"{engine} at {s['HOST'] or 'localhost'}:{s['PORT'] or 'default port'}" if s.get("HOST") else engine
    return (
        f"The database could not be reached or the connection to it was lost ({where}, database "
        f"{s['NAME']}): {first_line(exc)}. Check DATABASE_URL and that the database server is running, then run "
        f"the command again. {NOTHING_WRITTEN}"
    )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def connections_in_transaction() -> bool:
    return any(c.in_atomic_block for c in connections.all(initialized_only=True))


def drop_broken_connections() -> None:
    """Close kept connections that no longer answer (the server restarted), so that the next query reconnects."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


def close_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def _database_problem() -> Issue | None:
    """None when the default database answers a query, else why not (a lost connection is retried once)."""
    conn = connections[DEFAULT_DB_ALIAS]
    for attempt in (1, 2):
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            return None
        except DATABASE_ERRORS as exc:
            if attempt == 2 or conn.in_atomic_block:
                logger.warning("readiness: database unavailable: %s", first_line(exc))
                return Issue("$", Code.DATABASE_UNAVAILABLE, UNAVAILABLE)
            conn.close()
    return None  # pragma: no cover


def _migration_problem() -> Issue | None:
    global _migrated_at
    now = time.monotonic()
    if _migrated_at is not None and now - _migrated_at < conf.ready_cache_seconds():
        return None
    _migrated_at = None
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return Issue("$", Code.MIGRATIONS_PENDING, f"{len(pending)} migration(s) not applied: {names}{more}")
    _migrated_at = now
    return None


def _static_problem() -> Issue | None:
    """A manifest storage whose manifest was empty when this process started serves every page as a 500."""
    storage: Any = storages["staticfiles"]  # the instance pages use, with the manifest it read at start
    if isinstance(storage, ManifestFilesMixin) and not storage.hashed_files:
        return Issue("$", Code.STATIC_FILES_MISSING, "static files were not collected: run collectstatic, then restart")
    return None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers (no database involved): for liveness probes."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers, every migration is applied, static files are collected."""
    problem = _database_problem()
    if problem is None:
        try:
            problem = _migration_problem()
        except DATABASE_ERRORS:
            problem = Issue("$", Code.DATABASE_UNAVAILABLE, UNAVAILABLE)
    problems = [p for p in (problem, _static_problem()) if p is not None]
    if not problems:
        return JsonResponse({"status": "ready"})
    response = JsonResponse({"status": "unavailable", "errors": [p.as_dict() for p in problems]}, status=503)
    response["Retry-After"] = RETRY_AFTER
    return response
