"""Hammer one model_id with concurrent writes under gunicorn and check every answer and the history.

In one run: recreate a database, migrate, create a superuser and its token, serve the project with the
repo's gunicorn.conf.py (sync workers, DEBUG off, a throwaway SECRET_KEY, no control socket, write throttle
off), create the config once and change it once (its first ETag is then stale for good), then let N
threads send M requests each at that one id, all released at once, a seeded mix of:

    POST /models/                          create                      201, or 409 already_exists
    PUT  If-None-Match: *                  create only                 201, or 412
    PUT  If-Match: <fresh ETag>            replace (GET, then PUT)     200, or 412 (a write came between: read
                                           again and retry, up to 5 times)
    PATCH (no If-Match)                    merge new notes             200, or 404 (deleted); never 412
    PATCH If-Match: <stale ETag>           merge new notes             412, or 404 (deleted)
    DELETE If-Match: <fresh ETag>          delete (GET, then DELETE)   204, 412 or 404 (a write came between)

Every write carries validation_notes of its own, so every 2xx changes the document and names its
revision. Asserted: no 5xx; no body with database error text; every status one of the above for its
request, with the documented error code; and the history (GET /models/{id}/history, every page) holds
exactly one revision per successful write, each write's own (its document is the response's), in each
thread's order, each revision's ``before`` equal to the previous one's ``after`` (no lost update; read
from the revisions table, as the API shows only the changed paths).

Usage: python bench/race_bench.py [--database-url postgres://postgres@127.0.0.1:5432/registry_race_bench]
       [--workers 3] [--threads 16] [--requests 20] [--seed 1] [--port 8766]

Exits 1 on any violation (listed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from common import ROOT, bench_env, manage, recreate_database, start_gunicorn

from registry.core.examples import example_config

MODEL_ID = "acme_race-1"
HF_MODEL_ID = "acme/race-1"
# Text a database error would carry, which no response may.
RAW_ERROR_TEXT = ("duplicate key", "constraint", "psycopg", "integrityerror", "traceback", "violates")

# kind: (weight, statuses allowed, error code expected for each error status)
KINDS: dict[str, tuple[int, set[int], dict[int, str]]] = {
    "POST create": (2, {201, 409}, {409: "already_exists"}),
    "PUT If-None-Match: *": (2, {201, 412}, {412: "precondition_failed"}),
    "PUT If-Match: fresh": (3, {200, 412}, {412: "precondition_failed"}),
    "PATCH no If-Match": (4, {200, 404}, {404: "not_found"}),
    "PATCH If-Match: stale": (2, {412, 404}, {412: "precondition_failed", 404: "not_found"}),
    "DELETE If-Match: fresh": (2, {204, 412, 404}, {412: "precondition_failed", 404: "not_found"}),
}


# Kinds that read the config for its ETag first; on a 412 the client reads again and retries, up to this often.
FRESH = ("PUT If-Match: fresh", "DELETE If-Match: fresh")
FRESH_TRIES = 5


def config(notes: str) -> dict:
    """A small valid config under MODEL_ID; ``notes`` makes each write's document its own."""
    return example_config(hf_model_id=HF_MODEL_ID, name="Acme Race 1", validation_notes=notes)


@dataclass
class Result:
    thread: int
    seq: int
    kind: str
    status: int  # 0: the request was not sent (the fresh GET found no config)
    notes: str | None = None  # the notes the write set (None for DELETE)
    deleted_notes: str | None = None  # DELETE: the notes of the version it was conditioned on
    document: dict | None = None
    body: str = ""
    problems: list[str] = field(default_factory=list)


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def __call__(self, method: str, path: str, body: dict | None = None, **headers: str) -> requests.Response:
        return self.session.request(method, self.base + path, json=body, headers=headers, timeout=60)


def check_response(result: Result, response: requests.Response) -> None:
    """The status is one the request may get, errors carry their documented code, no raw database text."""
    result.status = response.status_code
    result.body = response.text
    _weight, allowed, codes = KINDS[result.kind]
    if response.status_code >= 500:
        result.problems.append(f"server error {response.status_code}")
    elif response.status_code not in allowed:
        result.problems.append(f"status {response.status_code} not in {sorted(allowed)}")
    lowered = response.text.lower()
    for text in RAW_ERROR_TEXT:
        if text in lowered:
            result.problems.append(f"raw database error text {text!r} in the body")
    if response.status_code in codes:
        try:
            got = [e["code"] for e in response.json()["errors"]]
        except (ValueError, KeyError, TypeError):
            got = None
        if got != [codes[response.status_code]]:
            result.problems.append(f"error codes {got}, expected [{codes[response.status_code]!r}]")
    if response.status_code in (200, 201):
        result.document = response.json()
        if result.document.get("validation_notes") != result.notes:
            result.problems.append("the response's document does not hold the notes this write set")


def one_request(client: Client, result: Result, stale_etag: str) -> None:
    path = f"/models/{MODEL_ID}"
    kind = result.kind
    if kind == "POST create":
        check_response(result, client("POST", "/models/", config(result.notes)))
    elif kind == "PUT If-None-Match: *":
        check_response(result, client("PUT", path, config(result.notes), **{"If-None-Match": "*"}))
    elif kind == "PATCH no If-Match":
        check_response(result, client("PATCH", path, {"validation_notes": result.notes}))
    elif kind == "PATCH If-Match: stale":
        check_response(result, client("PATCH", path, {"validation_notes": result.notes}, **{"If-Match": stale_etag}))
    else:  # a fresh ETag: read, then write on it
        current = client("GET", path)
        if current.status_code == 404:
            return  # nothing to replace or delete: not sent
        if current.status_code != 200:
            result.problems.append(f"GET before the write: {current.status_code}")
            return
        etag = current.headers["ETag"]
        if kind == "PUT If-Match: fresh":
            check_response(result, client("PUT", path, config(result.notes), **{"If-Match": etag}))
        else:
            result.notes = None
            result.deleted_notes = current.json()["validation_notes"]
            check_response(result, client("DELETE", path, **{"If-Match": etag}))


def hammer(base: str, token: str, args: argparse.Namespace, stale_etag: str) -> list[Result]:
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    results: list[Result] = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads)

    def worker(t: int) -> None:
        rng = random.Random(f"{args.seed}-{t}")
        client = Client(base, token)
        client("GET", "/healthz")  # connect before the start
        barrier.wait()
        mine: list[Result] = []
        kind, tries = rng.choices(names, weights)[0], 0
        while len(mine) < args.requests:
            result = Result(t, len(mine), kind, 0, notes=f"thread {t} request {len(mine)}")
            try:
                one_request(client, result, stale_etag)
            except requests.RequestException as exc:
                result.problems.append(f"no response: {exc}")
            mine.append(result)
            tries += 1
            # A client whose fresh ETag lost the race reads again and retries, a few times.
            if not (result.status == 412 and kind in FRESH and tries < FRESH_TRIES):
                kind, tries = rng.choices(names, weights)[0], 0
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def history(client: Client) -> list[dict]:
    """Every revision of MODEL_ID through the API, every page, oldest first."""
    items, url = [], f"/models/{MODEL_ID}/history?limit=50"
    while url:
        page = client("GET", url)
        page.raise_for_status()
        data = page.json()
        items.extend(data["results"])
        url = data["next"].removeprefix(client.base) if data["next"] else None
    return items[::-1]


def check_history(
    client: Client, database_url: str, results: list[Result], setup: list[Result]
) -> tuple[list[str], int, int]:
    """Problems with the history, how many revisions show a lost update, and how many revisions there are."""
    problems: list[str] = []
    listed = history(client)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, action, before, after FROM registry_configrevision WHERE model_id = %s ORDER BY id",
            (MODEL_ID,),
        ).fetchall()
    if [item["id"] for item in listed] != [row[0] for row in rows]:
        problems.append("the API's history does not list the revisions in order (newest first)")
    if [item["action"] for item in listed] != [row[1] for row in rows]:
        problems.append("the API's history gives other actions than the revisions hold")

    writes = [r for r in setup + results if r.status in (200, 201, 204)]
    if len(rows) != len(writes):
        problems.append(f"{len(rows)} revisions for {len(writes)} successful writes")

    # Each revision is one write's: found by the notes its document carries.
    revision_of: dict[str, tuple[int, int]] = {}  # notes -> (position, revision id)
    for position, (rev_id, action, before, after) in enumerate(rows):
        document = after if after is not None else before
        key = ("deleted " if action == "deleted" else "") + str(document.get("validation_notes"))
        if key in revision_of:
            problems.append(f"revision {rev_id}: a second revision for the write with notes {key!r}")
        revision_of[key] = (position, rev_id)
    by_thread: dict[int, list[int]] = collections.defaultdict(list)
    for write in writes:
        key = f"deleted {write.deleted_notes}" if write.status == 204 else str(write.notes)
        found = revision_of.get(key)
        if found is None:
            problems.append(f"{write.kind} (thread {write.thread}, #{write.seq}): {write.status} but no revision")
            continue
        position, rev_id = found
        if write.document is not None and rows[position][3] != write.document:
            problems.append(f"revision {rev_id}: its document is not the one the write answered with")
        if write.thread >= 0:
            by_thread[write.thread].append(position)
    for thread, positions in by_thread.items():
        if positions != sorted(positions):
            problems.append(f"thread {thread}: its writes' revisions are out of its order")

    # Each revision starts from where the one before it left the config: no write based on an older version.
    lost = 0
    previous_after = None
    for rev_id, action, before, after in rows:
        if before != previous_after:
            lost += 1
            problems.append(f"revision {rev_id} ({action}): its before is not the previous revision's after")
        if action == "created" and before is not None:
            problems.append(f"revision {rev_id}: created, but with a before")
        if action == "deleted" and after is not None:
            problems.append(f"revision {rev_id}: deleted, but with an after")
        previous_after = after
    return problems, lost, len(rows)


def serve(env: dict, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    options = ["-c", str(ROOT / "gunicorn.conf.py"), "--workers", str(args.workers)]
    with log.open("w") as out:
        try:
            return start_gunicorn(options, env, port=args.port, probe="/healthz", stdout=out, stderr=subprocess.STDOUT)
        except SystemExit as exc:
            raise SystemExit(f"{exc}:\n{log.read_text()}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_race_bench")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20, help="requests per thread")
    parser.add_argument("--seed", default="1", help="seeds each thread's mix of requests")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    env = bench_env(
        args.database_url,
        REGISTRY_WRITE_RATE="off",
        WEB_CONCURRENCY=str(args.workers),
        LOG_LEVEL="warning",
        LOG_FORMAT="json",
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
    )
    for name in ("GUNICORN_CONTROL_SOCKET", "REDIS_URL", "GUNICORN_BIND", "PORT"):
        env.pop(name, None)  # no control socket shared with another instance; this machine's own cache
    recreate_database(args.database_url)
    manage(env, "migrate", "-v0")
    manage(env, "createsuperuser", "--noinput", "--username", "race", "--email", "race@example.com")
    token = manage(env, "drf_create_token", "race").split()[2]

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "gunicorn.log"
        server = serve(env, args, log)
        try:
            client = Client(f"http://127.0.0.1:{args.port}", token)
            setup = [Result(-1, 0, "POST create", 0, notes="setup: created"), Result(-1, 1, "PATCH no If-Match", 0)]
            setup[1].notes = "setup: changed"
            first = client("POST", "/models/", config(setup[0].notes))
            check_response(setup[0], first)
            check_response(setup[1], client("PATCH", f"/models/{MODEL_ID}", {"validation_notes": setup[1].notes}))
            if setup[0].status != 201 or setup[1].status != 200:
                raise SystemExit(f"setup failed: {first.status_code} {first.text[:500]}")
            stale_etag = first.headers["ETag"]

            started = time.perf_counter()
            results = hammer(client.base, token, args, stale_etag)
            elapsed = time.perf_counter() - started
            history_problems, lost, revisions = check_history(client, args.database_url, results, setup)
        finally:
            server.terminate()
            server.wait(timeout=30)
        server_log = log.read_text()

    sent = [r for r in results if r.status]
    table: dict[str, collections.Counter] = {kind: collections.Counter() for kind in KINDS}
    for r in results:
        table[r.kind][r.status or "not sent"] += 1
    statuses = sorted({s for c in table.values() for s in c}, key=lambda s: (isinstance(s, str), s))
    raw = sum(any("raw database" in p for p in r.problems) for r in results)
    server_errors = sum(r.status >= 500 for r in results)
    undocumented = sum(any("status" in p or "error codes" in p for p in r.problems) for r in results)
    request_problems = [f"{r.kind} (thread {r.thread}, #{r.seq}): {p}" for r in setup + results for p in r.problems]

    print(
        f"gunicorn {args.workers} sync workers, {args.threads} threads x {args.requests} requests on {MODEL_ID}, "
        f"seed {args.seed}, {os.cpu_count()} CPUs: {len(sent)} requests sent in {elapsed:.1f} s "
        f"(+2 setup writes)\n"
    )
    header = f"| {'request':<24} | " + " | ".join(f"{s!s:>8}" for s in statuses) + " |"
    print(header)
    print("|" + "-" * 26 + "|" + "|".join("-" * 9 + ":" for _ in statuses) + "|")
    for kind, counts in table.items():
        print(f"| {kind:<24} | " + " | ".join(f"{counts.get(s, 0):>8}" for s in statuses) + " |")
    writes = sum(r.status in (200, 201, 204) for r in setup + results)
    print(
        f"\nsuccessful writes {writes} (2 in setup), revisions {revisions}; 5xx {server_errors}; "
        f"raw errors {raw}; undocumented statuses or codes {undocumented}; lost updates {lost}"
    )
    problems = request_problems + history_problems
    if problems:
        print(f"\n{len(problems)} violations:")
        for problem in problems[:50]:
            print(f"  {problem}")
        errors = [line for line in server_log.splitlines() if '"level": "ERROR"' in line or "Traceback" in line]
        if errors:
            print("\nserver errors logged:\n" + "\n".join(errors[:10]))
        sys.exit(1)
    print("OK: no 5xx, no raw database errors, every status documented, history = the successful writes")


if __name__ == "__main__":
    main()
