"""Rerun the adversarial checks of an operator's trial against gunicorn (DEBUG off, PostgreSQL, a private Redis).

Starts two gunicorn instances of the repo's gunicorn.conf.py (write throttle on and off, each with its own
control socket) on a fresh database and a redis-server of its own, then checks, one line each:
- Redis out of memory (OOM), read-only (READONLY) and paused (SIGSTOP): PUT, PATCH, POST, validate, reads and
  bad tokens never get a 5xx, each answers within --max-latency, and each outage is logged once per worker;
- loadconfigs and importhf given a FIFO or a symlink to /dev/zero, named directly or found in a folder: refused
  by name with not_a_regular_file, within a time and memory limit, nothing written;
- the admin: integers typed as JSON does not write them (768.0, " 768", Arabic-Indic digits) refused at their
  field, a NUL in any query parameter or the object id never a 5xx, TOTAL_FORMS=100000 refused within --max-latency;
- starts: `gunicorn registry.wsgi` without gunicorn.conf.py from another directory, and a script importing
  registry.wsgi, stop without SECRET_KEY and serve DEBUG off with one; the README's production block pasted into
  an env file (read as `docker --env-file` reads it) starts with the right SECURE_PROXY_SSL_HEADER, and an inline
  `# comment` in it stops the start naming the variable;
- a Content-Security-Policy on every page; no usernames in a config's history for anonymous readers;
- input: hf_model_ids that are paths refused on PUT; blank filters on /plans/ a 400; fits=false lists the configs
  the degrees cannot split;
- behaviour (on fixtures/ and the device catalogue, loaded once): import-hf ?replace=true by a change-only user,
  restore without If-Match a 428, a new total clears validated, published_total_mismatch and its filter, the CSV
  list with filters, a spec filter, /compare/ of three, the admin's page at a model_id, H100-80GB planned as GiB;
- /readyz after the database is replaced by an empty one: 503 migrations_pending within seconds.
Exits 1 if any check fails; the whole run is bounded (--budget seconds). A new check is one more function in
CHECKS; --only runs the checks whose names hold the words given.

Usage: python bench/trial.py [--database-url postgres://registry:registry@127.0.0.1:5432/registry_trial]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from common import PYTHON, ROOT, bench_env, drop_database, manage, recreate_database, start_gunicorn

from registry.core.examples import example_config
from tests.private_redis import PrivateRedis, available, free_port

MODEL_ID = "trial_tiny"
COOLDOWN = 1  # REGISTRY_REDIS_COOLDOWN_SECONDS for the trial: the breaker closes again quickly between checks
WORKERS = 2


def document(name: str = "Trial tiny", hf_model_id: str = "trial/tiny", num_layers: int = 2) -> dict:
    """The API's example architecture with a 320-token vocabulary, a 128-wide MLP and an untied head."""
    return example_config(
        hf_model_id=hf_model_id, name=name, num_layers=num_layers, vocab_size=320, intermediate_size=128, tied=None
    )


@dataclass
class Server:
    label: str
    port: int
    token: str
    process: subprocess.Popen | None = None

    def call(self, method: str, path: str, body: object = None, token: str | None = None) -> tuple[int, float, bytes]:
        """(status, seconds, body) of one request; a timeout or a dropped connection is status 0."""
        started = time.perf_counter()
        status, _, text = self.fetch(method, path, body, token=token)
        return status, time.perf_counter() - started, text

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def fetch(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        anonymous: bool = False,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers, body) of one request, with the trial's token unless ``anonymous``; status 0 when
        the connection failed."""
        sent = {"Accept": "application/json"} if anonymous else {"Accept": "application/json", **self.auth(token)}
        sent.update(headers or {})
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        except OSError as exc:
            return 0, http.client.HTTPMessage(), str(exc).encode()
        finally:
            conn.close()


@dataclass
class Trial:
    args: argparse.Namespace
    url: str
    env: dict[str, str]
    redis: PrivateRedis
    servers: list[Server]
    logs: dict[str, Path]
    tmp: Path
    notes: list[str] = field(default_factory=list)


# ---- Redis faults ------------------------------------------------------------------------------------------------


def _requests(server: Server) -> list[tuple[str, str, object, str | None]]:
    """What the trial found answered 500: writes, validate, reads and bad tokens (method, path, body, token)."""
    return [
        ("GET", f"/models/{MODEL_ID}", None, None),
        ("PUT", f"/models/{MODEL_ID}", document(f"Trial tiny {server.label}"), None),
        ("PATCH", f"/models/{MODEL_ID}", {"validation_notes": f"patched by {server.label}"}, None),
        ("POST", "/models/validate", document(), None),
        ("GET", "/models/?limit=5&expand=layer_types", None, None),
        ("GET", "/models/", None, "not-a-real-token"),
        ("POST", "/models/validate", document(), "not-a-real-token"),
    ]


def _redis_fault(trial: Trial, fault: Callable[[], None]) -> tuple[bool, str]:
    time.sleep(COOLDOWN + 0.2)  # every worker's breaker is closed: the first request meets the fault itself
    fault()
    problems, slowest = [], 0.0
    deadline = time.monotonic() + trial.args.check_timeout
    try:
        for _ in range(3):
            for server in trial.servers:
                for method, path, body, token in _requests(server):
                    if time.monotonic() > deadline:
                        problems.insert(0, f"stopped after {trial.args.check_timeout:.0f}s")
                        return False, "; ".join(problems[:4])
                    status, seconds, text = server.call(method, path, body, token)
                    slowest = max(slowest, seconds)
                    expected = 401 if token else (200, 201)
                    if status not in (expected if isinstance(expected, tuple) else (expected,)):
                        problems.append(f"{server.label} {method} {path}: {status} {text[:120]!r}")
                    if seconds > trial.args.max_latency:
                        problems.append(f"{server.label} {method} {path}: {seconds:.2f}s")
        for server in trial.servers:  # the committed write is the one read back
            status, _, text = server.call("GET", f"/models/{MODEL_ID}")
            if status != 200:
                problems.append(f"{server.label} read back: {status}")
    finally:
        trial.redis.heal()
    return not problems, "; ".join(problems[:4]) or f"no 5xx, slowest request {slowest * 1000:.0f} ms"


def redis_out_of_memory(trial: Trial) -> tuple[bool, str]:
    return _redis_fault(trial, trial.redis.oom)


def redis_read_only(trial: Trial) -> tuple[bool, str]:
    return _redis_fault(trial, trial.redis.read_only)


def redis_paused(trial: Trial) -> tuple[bool, str]:
    return _redis_fault(trial, trial.redis.pause)


def redis_outages_logged_once(trial: Trial) -> tuple[bool, str]:
    """Three outages, each logged once per worker that met it (not once per request)."""
    counts = {
        label: log.read_text().count("cache reads miss and writes are skipped") for label, log in trial.logs.items()
    }
    worst = max(counts.values())
    return 1 <= worst <= 3 * WORKERS, ", ".join(f"{label}: {n} warning(s)" for label, n in counts.items())


def redis_used_again(trial: Trial) -> tuple[bool, str]:
    """After the faults, a read fills the cache again (the breakers closed)."""
    time.sleep(COOLDOWN + 0.2)
    before = trial.redis.admin.dbsize()
    for server in trial.servers:
        server.call("PATCH", f"/models/{MODEL_ID}", {"validation_notes": f"healed {server.label}"})
        server.call("GET", f"/models/{MODEL_ID}")
    after = trial.redis.admin.dbsize()
    return after > before, f"Redis keys {before} -> {after}"


# ---- special files -----------------------------------------------------------------------------------------------


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))


def _stored(trial: Trial) -> int:
    import psycopg

    with psycopg.connect(trial.url) as conn:
        return int(conn.execute("SELECT count(*) FROM registry_modelconfig").fetchone()[0])


def _refused(trial: Trial, *args: str, names: list[Path]) -> tuple[bool, str]:
    before = _stored(trial)
    env = {k: v for k, v in trial.env.items() if k != "REDIS_URL"}
    try:
        done = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=trial.args.command_timeout,
            preexec_fn=_limits,
        )
    except subprocess.TimeoutExpired:
        return False, f"still running after {trial.args.command_timeout}s"
    problems = []
    if done.returncode != 1:
        problems.append(f"exit {done.returncode}")
    if done.returncode < 0 or "MemoryError" in done.stderr:
        problems.append("ran out of memory")
    for name in names:
        if not any(str(name) in line and "[not_a_regular_file]" in line for line in done.stderr.splitlines()):
            problems.append(f"{name.name} not refused by name")
    if "Nothing was written" not in done.stderr:
        problems.append("no 'Nothing was written'")
    if _stored(trial) != before:
        problems.append("configs were written")
    return not problems, "; ".join(problems) or f"refused {len(names)} file(s), exit 1, nothing written"


def _special(folder: Path, name: str, kind: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


def _write_good(folder: Path) -> None:
    from registry.core import dumps

    doc = document()
    (folder / f"{doc['model_id']}.json").write_text(dumps(doc))


def _files_check(command: str, kind: str, where: str) -> Callable[[Trial], tuple[bool, str]]:
    def check(trial: Trial) -> tuple[bool, str]:
        folder = Path(tempfile.mkdtemp(dir=trial.tmp))
        if command == "loadconfigs":
            _write_good(folder)
            bad = _special(folder, "sub/special.json", kind)
            args = ["loadconfigs", "--no-progress", str(bad if where == "named" else folder)]
        elif where == "named":
            bad = _special(folder, "config.json", kind)
            args = ["importhf", str(bad), "--hf-id", "trial/special"]
        else:
            bad = _special(folder, "trial/special/config.json", kind)
            args = ["importhf", str(folder)]
        return _refused(trial, *args, names=[bad])

    check.__name__ = f"{command}_{kind}_{where}"
    return check


# ---- admin input (the admin's integer fields, NUL in its query strings, forged row counts) ------------------------

ADMIN_PASSWORD = "trial-password-not-used-1"  # DJANGO_SUPERUSER_PASSWORD in setup()
CHANGELIST = "/admin/registry/modelconfig/"


def _admin(server: Server, method: str, path: str, cookies: dict[str, str], form: dict | None = None) -> tuple:
    """(status, seconds, body) of one admin request with a session's cookies, which it updates."""
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    data = None
    if form is not None:
        form = {"csrfmiddlewaretoken": cookies.get("csrftoken", ""), **form}
        data, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        body = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
        return response.status, time.perf_counter() - started, body
    except OSError as exc:
        return 0, time.perf_counter() - started, str(exc).encode()
    finally:
        conn.close()


def _admin_session(server: Server) -> dict[str, str]:
    cookies: dict[str, str] = {}
    _admin(server, "GET", "/admin/login/", cookies)
    form = {"username": "trial", "password": ADMIN_PASSWORD, "next": CHANGELIST}
    status, _, text = _admin(server, "POST", "/admin/login/", cookies, form)
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"admin login answered {status}: {text[:200]!r}")
    return cookies


def admin_integers_typed_as_json(trial: Trial) -> tuple[bool, str]:
    """768.0, " 768" and Arabic-Indic digits in hidden_size are refused at the field (the JSON format's rule)."""
    server = trial.servers[0]
    cookies = _admin_session(server)
    url = f"{CHANGELIST}{MODEL_ID}/change/"
    problems = []
    for text, said in (("64.0", "written with a decimal point"), (" 64", "as JSON writes it"), ("٦٤", "as JSON")):
        status, _, body = _admin(server, "POST", url, cookies, {"hidden_size": text, "_continue": "1"})
        if status != 200 or said not in body.decode(errors="replace"):
            problems.append(f"{text!r}: {status}")
    return not problems, "; ".join(problems) or "each refused at its field (200, the core's message)"


def admin_nul_in_query_strings(trial: Trial) -> tuple[bool, str]:
    """A NUL in any changelist parameter, the change page's plan fields or the object id: never a 5xx."""
    server = trial.servers[0]
    cookies = _admin_session(server)
    paths = [f"{CHANGELIST}?{p}=%00" for p in ("layer_class", "q", "validated__exact", "o", "p", "_changelist_filters")]
    paths += [f"{CHANGELIST}{MODEL_ID}/change/?plan-{p}=%00" for p in ("device", "tp", "dtype", "batch")]
    paths += [f"{CHANGELIST}%00/change/", f"{CHANGELIST}{MODEL_ID}/history/?a=%00&b=%00"]
    answers = [(path, _admin(server, "GET", path, cookies)[0]) for path in paths]
    bad = [f"{path}: {status}" for path, status in answers if not 200 <= status < 500]
    return not bad, "; ".join(bad[:4]) or f"{len(paths)} requests, no 5xx"


def admin_forged_total_forms(trial: Trial) -> tuple[bool, str]:
    """TOTAL_FORMS=100000 on the change form is refused with the core's cap, within --max-latency."""
    server = trial.servers[0]
    cookies = _admin_session(server)
    form = {"layer_types-TOTAL_FORMS": "100000", "layer_types-INITIAL_FORMS": "0", "_continue": "1"}
    status, seconds, body = _admin(server, "POST", f"{CHANGELIST}{MODEL_ID}/change/", cookies, form)
    refused = status == 200 and "expected at most 512 layer types" in body.decode(errors="replace")
    ok = refused and seconds <= trial.args.max_latency
    return ok, f"{'refused' if refused else f'not refused ({status})'} in {seconds * 1000:.0f} ms"


# ---- starts outside gunicorn.conf.py, and the README's env block (issue 17) ---------------------------------------

IMPORT_WSGI = """
from wsgiref.util import setup_testing_defaults
import registry.wsgi
from django.conf import settings
environ = {"PATH_INFO": "/no-such-page/"}
setup_testing_defaults(environ)
body = b"".join(registry.wsgi.application(environ, lambda status, headers: None))
print("DEBUG", settings.DEBUG, "technical 404" if b"Using the URLconf" in body else "plain 404")
"""
DEBUG_PAGE_MARKS = (b"Using the URLconf", b"Traceback", b"DEBUG = True", b"urlpatterns")


def _bare_env(trial: Trial, home: Path, **extra: str) -> dict[str, str]:
    """A start outside manage.py and gunicorn.conf.py: no DEBUG, no SECRET_KEY, no settings module, only PATH."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "TZ"}}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "DATABASE_URL": trial.url, "PYTHONPATH": str(ROOT), "HOME": str(home), **extra}


def _import_wsgi(trial: Trial, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """A script that imports registry.wsgi, as any WSGI server would, and asks it for a missing page."""
    timeout = trial.args.command_timeout
    return subprocess.run(
        [PYTHON, "-c", IMPORT_WSGI], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _launch(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """Stops a server this trial started (its own process group: the master and its workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _serving(process: subprocess.Popen, port: int, host: str, seconds: float) -> bool:
    """Whether 127.0.0.1:``port`` answers HTTP (any status) before the process exits or ``seconds`` pass."""
    probe = Server("probe", port, "")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if probe.fetch("GET", "/healthz", anonymous=True, headers={"Host": host})[0]:
            return True
        time.sleep(0.1)
    return False


def _refuses_to_start(trial: Trial, command: list[str], env: dict[str, str], cwd: Path, says: str) -> list[str]:
    """Problems, if ``command`` (a server) serves, runs on past --command-timeout, exits 0, or does not say ``says``."""
    port = int(command[command.index("--bind") + 1].rpartition(":")[2]) if "--bind" in command else int(env["PORT"])
    log = Path(tempfile.mkstemp(dir=trial.tmp, suffix=".log")[1])
    process = _launch(command, env, cwd, log)
    try:
        served = _serving(process, port, "127.0.0.1", trial.args.command_timeout)
        if process.poll() is None:
            process.wait(timeout=max(1.0, trial.args.command_timeout / 3))
    except subprocess.TimeoutExpired:
        pass
    finally:
        running = process.poll() is None
        _stop(process)
    output = log.read_text()
    problems = ["it served requests"] if served else []
    if running:
        problems.append(f"still running after {trial.args.command_timeout:.0f}s")
    elif process.returncode == 0:
        problems.append("exit 0")
    if says not in output:
        problems.append(f"no {says!r} in its output: {output[-300:]!r}")
    return problems


def wsgi_start_without_the_conf_refuses_without_a_key(trial: Trial) -> tuple[bool, str]:
    """`gunicorn registry.wsgi` from another directory (no gunicorn.conf.py) and a script importing
    registry.wsgi, neither with DEBUG nor SECRET_KEY: both stop, naming the missing key."""
    where = Path(tempfile.mkdtemp(dir=trial.tmp))
    env = _bare_env(trial, where / "home")
    command = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"]
    problems = _refuses_to_start(
        trial, [*command, "--no-control-socket", "registry.wsgi"], env, where, "SECRET_KEY is not set"
    )
    problems = [f"gunicorn: {p}" for p in problems]
    done = _import_wsgi(trial, env, where)
    if done.returncode == 0 or "DEBUG is off (production) but SECRET_KEY is not set" not in done.stderr:
        problems.append(f"import: exit {done.returncode}, {(done.stdout + done.stderr)[-200:]!r}")
    return not problems, "; ".join(problems) or "gunicorn exited and the import raised: SECRET_KEY is not set"


def wsgi_start_with_a_key_runs_debug_off(trial: Trial) -> tuple[bool, str]:
    """The same starts with only SECRET_KEY added serve with DEBUG off: a 404 shows no routes or traceback."""
    where = Path(tempfile.mkdtemp(dir=trial.tmp))
    env = _bare_env(trial, where / "home", SECRET_KEY=trial.env["SECRET_KEY"])
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket"]
    process = _launch([*command, "registry.wsgi"], env, where, where / "gunicorn.log")
    problems = []
    try:
        if not _serving(process, port, "127.0.0.1", trial.args.command_timeout):
            return False, f"gunicorn did not serve: {(where / 'gunicorn.log').read_text()[-300:]!r}"
        server = Server("bare", port, "")
        for path in ("/no-such-page/", "/models/no-such-config/x", "/admin/registry/nothing/"):
            status, _, body = server.fetch("GET", path, anonymous=True, headers={"Accept": "text/html"})
            shown = [mark.decode() for mark in DEBUG_PAGE_MARKS if mark in body]
            if status not in (302, 404) or shown:
                problems.append(f"gunicorn GET {path}: {status}, shows {shown}")
    finally:
        _stop(process)
    done = _import_wsgi(trial, env, where)
    if "DEBUG False plain 404" not in done.stdout.splitlines():  # after the 404's own log line
        problems.append(f"import: exit {done.returncode}, {(done.stdout + done.stderr)[-200:]!r}")
    return not problems, "; ".join(problems) or "gunicorn and the import: DEBUG False, plain 404 pages"


def _readme_env_file(trial: Trial, *, inline_comment: bool = False) -> dict[str, str]:
    """The README's production variables pasted into an env file (the key and this trial's database filled in,
    optionally a comment after SECURE_PROXY_SSL_HEADER), read as `docker --env-file` reads it."""
    section = (ROOT / "README.md").read_text().split("## Run in production", 1)[1]
    block = re.search(r"```bash\n((?:[ ]*[A-Z_]+=.*\n)+)[ ]*```", section)
    if block is None:
        raise RuntimeError("README: the production variables block is missing")
    lines = [line.strip() for line in block.group(1).splitlines()]
    lines = [f"DATABASE_URL={trial.url}" if line.startswith("DATABASE_URL=") else line for line in lines]
    text = "\n".join(lines).replace("<the key generated above>", trial.env["SECRET_KEY"]) + "\n"
    if inline_comment:
        text = text.replace("X-Forwarded-Proto,https\n", "X-Forwarded-Proto,https   # your proxy sets it\n")
    env_file = Path(tempfile.mkstemp(dir=trial.tmp, suffix=".env")[1])
    env_file.write_text(text)
    values = {}
    for line in env_file.read_text().splitlines():  # docker --env-file: no quotes, no inline comments
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def _readme_start(trial: Trial, values: dict[str, str]) -> tuple[list[str], dict[str, str], int]:
    port = free_port()
    home = Path(tempfile.mkdtemp(dir=trial.tmp))
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "TZ"}}
    env.update(values, PORT=str(port), HOME=str(home), STATIC_ROOT=trial.env["STATIC_ROOT"], WEB_CONCURRENCY="1")
    return [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "registry.wsgi"], env, port


def readme_env_file_sets_the_proxy_header(trial: Trial) -> tuple[bool, str]:
    """gunicorn -c gunicorn.conf.py with the README's block as an env file: plain HTTP is redirected to https,
    a request the proxy marks X-Forwarded-Proto: https is served with HSTS (SECURE_PROXY_SSL_HEADER works)."""
    values = _readme_env_file(trial)
    if values.get("SECURE_PROXY_SSL_HEADER") != "X-Forwarded-Proto,https":
        return False, f"the README gives SECURE_PROXY_SSL_HEADER={values.get('SECURE_PROXY_SSL_HEADER')!r}"
    host = values["ALLOWED_HOSTS"].split(",")[0]
    command, env, port = _readme_start(trial, values)
    log = Path(tempfile.mkstemp(dir=trial.tmp, suffix=".log")[1])
    process = _launch(command, env, ROOT, log)
    try:
        if not _serving(process, port, host, trial.args.command_timeout):
            return False, f"gunicorn did not serve: {log.read_text()[-400:]!r}"
        server = Server("readme", port, "")
        plain = server.fetch("GET", "/", anonymous=True, headers={"Host": host, "Accept": "text/html"})
        proxied = server.fetch(
            "GET", "/", anonymous=True, headers={"Host": host, "Accept": "text/html", "X-Forwarded-Proto": "https"}
        )
    finally:
        _stop(process)
    problems = []
    if plain[0] != 301 or plain[1].get("Location") != f"https://{host}/":
        problems.append(f"plain http: {plain[0]} Location {plain[1].get('Location')!r}")
    if proxied[0] != 200 or "max-age=31536000" not in (proxied[1].get("Strict-Transport-Security") or ""):
        problems.append(f"X-Forwarded-Proto https: {proxied[0]} HSTS {proxied[1].get('Strict-Transport-Security')!r}")
    return not problems, "; ".join(problems) or "http: 301 to https; X-Forwarded-Proto https: 200 with HSTS"


def env_file_inline_comment_stops_the_start(trial: Trial) -> tuple[bool, str]:
    """The same env file with `SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto,https   # your proxy sets it`: gunicorn
    stops, naming the variable."""
    command, env, _ = _readme_start(trial, _readme_env_file(trial, inline_comment=True))
    problems = _refuses_to_start(trial, command, env, ROOT, "SECURE_PROXY_SSL_HEADER has an inline comment")
    return not problems, "; ".join(problems) or "gunicorn exited: SECURE_PROXY_SSL_HEADER has an inline comment"


# ---- headers and what anonymous readers see -----------------------------------------------------------------------


def every_page_has_a_csp(trial: Trial) -> tuple[bool, str]:
    """The landing page, the admin's login, Swagger UI, the browsable API and a 404 carry an enforced CSP."""
    server = trial.servers[0]
    pages = {"/": 200, "/admin/login/": 200, "/docs/": 200, "/models/": 200, "/no-such-page/": 404}
    problems = []
    for path, expected in pages.items():
        status, headers, _ = server.fetch("GET", path, anonymous=True, headers={"Accept": "text/html"})
        policy = headers.get("Content-Security-Policy") or ""
        html = (headers.get("Content-Type") or "").startswith("text/html") or status == 404
        if status != expected or not html or "script-src" not in policy or "frame-ancestors" not in policy:
            problems.append(f"{path}: {status} {headers.get('Content-Type')}, Content-Security-Policy {policy[:80]!r}")
    return not problems, "; ".join(problems) or f"{len(pages)} pages, each with script-src and frame-ancestors"


def anonymous_history_shows_no_usernames(trial: Trial) -> tuple[bool, str]:
    """A config's history (list and one revision) names the trial's user to its token, to nobody anonymous."""
    server = trial.servers[1]
    status, _, _ = server.call("PATCH", f"/models/{MODEL_ID}", {"validation_notes": "history by trial"})
    if status != 200:
        return False, f"PATCH answered {status}"
    history = f"/models/{MODEL_ID}/history"
    signed = json.loads(server.fetch("GET", history)[2])["results"]
    if "trial" not in {r["user"] for r in signed}:
        return False, f"the token's reader sees no username: {[r['user'] for r in signed][:5]}"
    status, _, body = server.fetch("GET", history, anonymous=True)
    shown = {r["user"] for r in json.loads(body)["results"]} if status == 200 else {status}
    revision = next(r for r in signed if r["user"] == "trial")["id"]
    status, _, detail = server.fetch("GET", f"{history}/{revision}", anonymous=True)
    problems = [] if shown == {None} else [f"list: users {shown}"]
    if status != 200 or json.loads(detail).get("user") is not None or b'"trial"' in detail:
        problems.append(f"revision {revision}: {status} {detail[:120]!r}")
    return not problems, "; ".join(problems) or f"{len(signed)} revisions: users null (the token's reader: trial)"


# ---- input: Hub ids, blank filters, fits=false --------------------------------------------------------------------


def _errors(body: bytes) -> list[tuple[str, str]]:
    try:
        return [(e["loc"], e["code"]) for e in json.loads(body)["errors"]]
    except (ValueError, KeyError, TypeError):
        return [("?", body[:80].decode(errors="replace"))]


def hub_ids_that_are_paths_refused(trial: Trial) -> tuple[bool, str]:
    """PUT of a document whose hf_model_id is `/`, `adv//h2`, `../h3` or `.a/.b`: 400 invalid_hf_model_id at
    hf_model_id, nothing stored."""
    server = trial.servers[1]
    problems = []
    for hf_id in ("/", "adv//h2", "../h3", ".a/.b"):
        doc = document(hf_model_id=hf_id)
        path = f"/models/{quote(doc['model_id'], safe='')}"
        status, _, body = server.call("PUT", path, doc)
        if status != 400 or ("hf_model_id", "invalid_hf_model_id") not in _errors(body):
            problems.append(f"{hf_id!r}: {status} {_errors(body)}")
        if server.call("GET", path)[0] != 404:
            problems.append(f"{hf_id!r}: stored")
    return not problems, "; ".join(problems) or "4 ids: 400 invalid_hf_model_id, nothing stored"


def plans_blank_filters_are_400(trial: Trial) -> tuple[bool, str]:
    """`num_layers=`, `ordering=`, `validated=` are a 400 (blank) on /plans/ as on /models/."""
    server = trial.servers[0]
    problems = []
    for name in ("num_layers", "ordering", "validated"):
        for path in ("/models/", "/plans/"):
            status, _, body = server.call("GET", f"{path}?{name}=")
            if status != 400 or _errors(body) != [(f"query.{name}", "blank")]:
                problems.append(f"{path}?{name}=: {status} {_errors(body) if status == 400 else ''}")
    return not problems, "; ".join(problems) or "6 requests: 400 blank at query.<name>"


def plans_fits_false_lists_what_cannot_split(trial: Trial) -> tuple[bool, str]:
    """tp=3 divides no head count here: those configs are items with errors, listed by fits=false, not fits=true."""
    _load_fixtures(trial)
    server = trial.servers[0]
    query = "/plans/?tp=3&device_memory=80GB&limit=500"
    items = {}
    for fits in ("", "&fits=true", "&fits=false"):
        status, _, body = server.call("GET", query + fits)
        if status != 200:
            return False, f"{query}{fits}: {status} {body[:120]!r}"
        items[fits] = {p["model_id"]: p for p in json.loads(body)["results"]}
    refused = {m for m, p in items[""].items() if p["errors"]}
    problems = [] if MODEL_ID in refused else [f"{MODEL_ID} (4 heads) has no error at tp=3"]
    if refused - set(items["&fits=false"]):
        problems.append(f"fits=false leaves out {sorted(refused - set(items['&fits=false']))[:3]}")
    if refused & set(items["&fits=true"]):
        problems.append(f"fits=true lists {sorted(refused & set(items['&fits=true']))[:3]}")
    if set(items["&fits=true"]) | set(items["&fits=false"]) != set(items[""]):
        problems.append("fits=true and fits=false together are not every config")
    summary = f"{len(refused)} of {len(items[''])} cannot split; fits=false lists them"
    return not problems, "; ".join(problems) or summary


# ---- behaviour: permissions, preconditions, curation flags, lists, admin URLs, units ------------------------------

FIXTURE_DIR = ROOT / "fixtures"
LLAMA = "meta-llama_Llama-3.3-70B-Instruct"
CHANGER = "trial_changer"
MAKE_CHANGER = f"""
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user({CHANGER!r}, password="not-used-by-the-trial-1")
user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry", codename="change_modelconfig"))
print(Token.objects.create(user=user).key)
"""


def _load_fixtures(trial: Trial) -> None:
    """Once per run: fixtures/ (the 15 configs) and the device catalogue, as the quick start loads them."""
    if "fixtures" not in trial.notes:
        manage(trial.env, "loadconfigs", "--no-progress")
        trial.notes.append("fixtures")


def import_hf_replace_by_a_change_only_user(trial: Trial) -> tuple[bool, str]:
    """A user with the change permission only replaces a curated config with POST /models/import-hf?replace=true
    (gpt2's config.json from tests/data/hf as the body: no Hub)."""
    server = trial.servers[1]
    config = json.loads((ROOT / "tests/data/hf/openai-community/gpt2/config.json").read_text())
    body = {"hf_model_id": "openai-community/gpt2", "config": config}
    status, _, text = server.call("POST", "/models/import-hf?replace=true", body)
    if status not in (200, 201):
        return False, f"the superuser's import: {status} {text[:120]!r}"
    status, _, _ = server.call("PATCH", "/models/openai-community_gpt2", {"name": "curated by the trial"})
    changer = manage(trial.env, "shell", "-v0", "-c", MAKE_CHANGER).split()[-1]
    status, _, text = server.call("POST", "/models/import-hf?replace=true", body, token=changer)
    name = json.loads(server.call("GET", "/models/openai-community_gpt2")[2])["name"]
    ok = status == 200 and name == "gpt2"
    return ok, f"{CHANGER} (change only): {status}, name now {name!r}" + ("" if ok else f" {text[:120]!r}")


def restore_without_if_match_is_428(trial: Trial) -> tuple[bool, str]:
    """POST .../history/{first}/restore without If-Match: 428 precondition_required, the config unchanged."""
    server = trial.servers[1]
    server.call("PATCH", f"/models/{MODEL_ID}", {"validation_notes": "before the restore"})
    before = server.fetch("GET", f"/models/{MODEL_ID}")[1].get("ETag")
    revisions = json.loads(server.call("GET", f"/models/{MODEL_ID}/history?limit=500")[2])["results"]
    status, _, body = server.call("POST", f"/models/{MODEL_ID}/history/{revisions[-1]['id']}/restore")
    after = server.fetch("GET", f"/models/{MODEL_ID}")[1].get("ETag")
    ok = status == 428 and _errors(body) == [("header.If-Match", "precondition_required")] and before == after
    return ok, f"{status} {_errors(body)}, ETag {'unchanged' if before == after else 'changed'}"


def total_change_clears_validated(trial: Trial) -> tuple[bool, str]:
    """A validated config: a PATCH of its notes keeps validated; a PUT with another layer count (another total)
    clears it, in the answer and in the stored document."""
    server = trial.servers[1]
    path = "/models/trial_validated"
    server.call("PUT", path, document(hf_model_id="trial/validated"))
    steps = [
        server.call("PATCH", path, {"validated": True}),
        server.call("PATCH", path, {"validation_notes": "notes only"}),
        server.call("PUT", path, document(hf_model_id="trial/validated", num_layers=3)),
    ]
    flags = [json.loads(body).get("validated") if status == 200 else status for status, _, body in steps]
    stored = json.loads(server.call("GET", path)[2])["validated"]
    ok = flags == [True, True, False] and stored is False
    return ok, f"validated after mark, notes, new total: {flags}; stored {stored}"


def published_total_mismatch(trial: Trial) -> tuple[bool, str]:
    """A published_total_params the derived total misses: /models/validate warns published_total_mismatch, and
    ?published_mismatch=true lists the stored config (and not one whose figure agrees)."""
    server = trial.servers[1]
    source = {"published_total_params_source": "https://example.org/card says so"}
    wrong = {**document(hf_model_id="trial/published-wrong"), "published_total_params": 1_000_000_000, **source}
    status, _, body = server.call("POST", "/models/validate", wrong)
    report = json.loads(body)
    warnings = [(w["loc"], w["code"]) for w in report["warnings"]]
    warned = ("published_total_params", "published_total_mismatch") in warnings
    right = {**document(hf_model_id="trial/published-right"), **source}
    right["published_total_params"] = report["document"]["total_params"]
    problems = [] if status == 200 and warned else [f"validate: {status} warnings {report.get('warnings')}"]
    for doc in (wrong, right):
        status, _, body = server.call("PUT", f"/models/{doc['model_id']}", doc)
        if status not in (200, 201):
            problems.append(f"PUT {doc['model_id']}: {status} {body[:120]!r}")
    listed = {}
    for flag in ("true", "false"):
        body = server.call("GET", f"/models/?published_mismatch={flag}&limit=500")[2]
        listed[flag] = {item["model_id"] for item in json.loads(body)["results"]}
    if wrong["model_id"] not in listed["true"] or right["model_id"] in listed["true"]:
        problems.append(f"published_mismatch=true: {sorted(listed['true'])[:6]}")
    if right["model_id"] not in listed["false"] or wrong["model_id"] in listed["false"]:
        problems.append("published_mismatch=false lists the wrong one or not the right one")
    return not problems, "; ".join(problems) or "warned at validate; listed by ?published_mismatch=true only"


def _fixture_ids(keep: Callable[[dict], bool]) -> set[str]:
    return {doc["model_id"] for doc in map(json.loads, map(Path.read_text, FIXTURE_DIR.glob("*.json"))) if keep(doc)}


def csv_list_takes_the_filters(trial: Trial) -> tuple[bool, str]:
    """?format=csv on /models/: CSV, a header and the JSON list's rows for the same filters and ordering."""
    _load_fixtures(trial)
    server = trial.servers[0]
    query = "/models/?spec=num_experts__gte:16&vocab_size__gt=150000&ordering=-total_params"
    status, headers, body = server.fetch("GET", f"{query}&format=csv", headers={"Accept": "*/*"})
    items = json.loads(server.call("GET", f"{query}&limit=500")[2])["results"]
    if status != 200 or not (headers.get("Content-Type") or "").startswith("text/csv"):
        return False, f"{status} {headers.get('Content-Type')} {body[:120]!r}"
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    got = [(r["model_id"], int(r["total_params"])) for r in rows]
    listed = [(i["model_id"], i["total_params"]) for i in items]
    ok = 0 < len(items) < len(_fixture_ids(lambda doc: True)) and got == listed
    return ok, f"{len(rows)} rows, the JSON list's {len(items)} in its order" if ok else f"CSV {got} vs JSON {items}"


def spec_filter_num_experts(trial: Trial) -> tuple[bool, str]:
    """?spec=num_experts__gte:64 lists exactly the fixtures with a layer type of 64 or more experts."""
    _load_fixtures(trial)

    def experts(doc: dict) -> bool:
        return any(layer["specs"].get("num_experts", 0) >= 64 for layer in doc["layer_types"])

    expected = _fixture_ids(experts)
    status, _, body = trial.servers[0].call("GET", "/models/?spec=num_experts__gte:64&limit=500")
    got = {item["model_id"] for item in json.loads(body)["results"]} if status == 200 else {str(status)}
    return got == expected and bool(expected), f"{len(got)} configs" if got == expected else f"{got} != {expected}"


def compare_three_configs(trial: Trial) -> tuple[bool, str]:
    """GET /compare/?model_ids=a,b,c: 200 with the three, in order."""
    _load_fixtures(trial)
    three = [LLAMA, "mistralai_Mistral-7B-v0.1", MODEL_ID]
    status, _, body = trial.servers[0].call("GET", f"/compare/?model_ids={','.join(three)}")
    got = json.loads(body).get("model_ids") if status == 200 else _errors(body)
    return status == 200 and got == three, f"{status} {got}"


def admin_change_page_at_its_model_id(trial: Trial) -> tuple[bool, str]:
    """/admin/registry/modelconfig/<model_id>/change/ answers 200 with that config, deepseek-ai_DeepSeek-V3 too
    (whose `_De` Django's admin would unquote to another id)."""
    _load_fixtures(trial)
    server = trial.servers[0]
    cookies = _admin_session(server)
    problems = []
    for model_id, hf_id in ((MODEL_ID, "trial/tiny"), ("deepseek-ai_DeepSeek-V3", "deepseek-ai/DeepSeek-V3")):
        status, _, body = _admin(server, "GET", f"{CHANGELIST}{model_id}/change/", cookies)
        if status != 200 or hf_id.encode() not in body:
            problems.append(f"{model_id}: {status}")
    return not problems, "; ".join(problems) or "200, the config's page, for both"


def plan_device_memory_is_gib(trial: Trial) -> tuple[bool, str]:
    """/models/{id}/plan?device=H100-80GB plans 80 GiB = 85,899,345,920 bytes; the command prints 80.00 GiB."""
    _load_fixtures(trial)
    query = f"/models/{LLAMA}/plan?device=H100-80GB&tp=8&context=32768&batch=4"
    status, _, body = trial.servers[0].call("GET", query)
    plan = json.loads(body) if status == 200 else {}
    memory = (plan.get("deployment", {}).get("device_memory"), plan.get("fit", {}).get("device_memory"))
    problems = [] if memory == (80 * 2**30, 80 * 2**30) == (85_899_345_920,) * 2 else [f"API: {status} {memory}"]
    options = ["--tp", "8", "--context", "32768", "--batch", "4", "--device", "H100-80GB"]
    printed = manage(trial.env, "plan", LLAMA, *options)
    if "on 80.00 GiB × 0.9" not in printed:
        problems.append(f"command: {[line for line in printed.splitlines() if line.startswith('on ')]}")
    return not problems, "; ".join(problems) or "API 85,899,345,920 bytes; the command: on 80.00 GiB × 0.9"


# ---- readiness ---------------------------------------------------------------------------------------------------


def readyz_sees_an_empty_database(trial: Trial) -> tuple[bool, str]:
    """The database is dropped and created again empty under the running servers: /readyz turns 503
    migrations_pending on every worker (each had just answered 200, and caches that answer a few seconds)."""
    probes = WORKERS * 4  # enough probes in a row to reach every worker of an instance
    for server in trial.servers:
        for _ in range(probes):
            status, _, text = server.call("GET", "/readyz")
            if status != 200:
                return False, f"{server.label}: not ready before: {status} {text[:200]!r}"
    recreate_database(trial.url)
    emptied = time.monotonic()
    seen: dict[str, float] = {}
    while time.monotonic() - emptied < trial.args.ready_wait and len(seen) < len(trial.servers):
        for server in trial.servers:
            answers = [server.call("GET", "/readyz") for _ in range(probes)]
            if server.label not in seen and all(s == 503 and b"migrations_pending" in t for s, _, t in answers):
                seen[server.label] = time.monotonic() - emptied
        time.sleep(0.5)
    if len(seen) < len(trial.servers):
        return False, f"some worker still ready {trial.args.ready_wait:.0f}s after the database was emptied"
    return True, "every worker 503 migrations_pending after " + ", ".join(f"{k} {v:.1f}s" for k, v in seen.items())


CHECKS: list[Callable[[Trial], tuple[bool, str]]] = [
    redis_out_of_memory,
    redis_read_only,
    redis_paused,
    redis_outages_logged_once,
    redis_used_again,
    *(
        _files_check(c, k, w)
        for c in ("loadconfigs", "importhf")
        for k in ("fifo", "dev_zero")
        for w in ("named", "folder")
    ),
    admin_integers_typed_as_json,
    admin_nul_in_query_strings,
    admin_forged_total_forms,
    wsgi_start_without_the_conf_refuses_without_a_key,
    wsgi_start_with_a_key_runs_debug_off,
    readme_env_file_sets_the_proxy_header,
    env_file_inline_comment_stops_the_start,
    every_page_has_a_csp,
    anonymous_history_shows_no_usernames,
    hub_ids_that_are_paths_refused,
    plans_blank_filters_are_400,
    plans_fits_false_lists_what_cannot_split,
    import_hf_replace_by_a_change_only_user,
    restore_without_if_match_is_428,
    total_change_clears_validated,
    published_total_mismatch,
    csv_list_takes_the_filters,
    spec_filter_num_experts,
    compare_three_configs,
    admin_change_page_at_its_model_id,
    plan_device_memory_is_gib,
    readyz_sees_an_empty_database,  # last: it empties the database
]


# ---- the run -----------------------------------------------------------------------------------------------------


def setup(args: argparse.Namespace, tmp: Path, redis: PrivateRedis) -> Trial:
    env = bench_env(
        args.database_url,
        REDIS_URL=redis.url,
        REGISTRY_REDIS_COOLDOWN_SECONDS=str(COOLDOWN),
        WEB_CONCURRENCY=str(WORKERS),
        LOG_FORMAT="json",
        LOG_LEVEL="warning",
        STATIC_ROOT=str(tmp / "static"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
    )
    for name in ("GUNICORN_BIND", "PORT", "REGISTRY_WRITE_RATE", "REGISTRY_READY_CACHE_SECONDS"):
        env.pop(name, None)
    recreate_database(args.database_url)
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "createsuperuser", "--noinput", "--username", "trial", "--email", "trial@example.com")
    token = manage(env, "drf_create_token", "trial").split()[2]
    servers, logs = [], {}
    for label, rate in (("throttled", "1200/min"), ("unthrottled", "off")):
        server = Server(label, free_port(), token)
        logs[label] = tmp / f"gunicorn-{label}.log"
        server_env = {**env, "REGISTRY_WRITE_RATE": rate, "GUNICORN_CONTROL_SOCKET": str(tmp / f"{label}.ctl")}
        with logs[label].open("w") as out:
            try:
                server.process = start_gunicorn(
                    ["-c", str(ROOT / "gunicorn.conf.py")],
                    server_env,
                    port=server.port,
                    probe="/healthz",
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            except SystemExit as exc:
                raise SystemExit(f"{exc}:\n{logs[label].read_text()[-3000:]}") from None
        servers.append(server)
    status, _, text = servers[0].call("POST", "/models/", document())
    if status != 201:
        raise SystemExit(f"setup: POST /models/ answered {status}: {text[:300]!r}")
    return Trial(args, args.database_url, env, redis, servers, logs, tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://registry:registry@127.0.0.1:5432/registry_trial"),
    )
    parser.add_argument("--max-latency", type=float, default=1.0, help="seconds a request may take under a fault")
    parser.add_argument("--command-timeout", type=float, default=30, help="seconds a command may run")
    parser.add_argument("--check-timeout", type=float, default=30, help="seconds of requests a Redis check may send")
    parser.add_argument("--ready-wait", type=float, default=15, help="seconds /readyz has to see an empty database")
    parser.add_argument("--budget", type=float, default=240, help="seconds for the whole run")
    parser.add_argument("--only", default="", help="run only the checks whose name holds one of these (a,b,...)")
    args = parser.parse_args()
    checks = [c for c in CHECKS if not args.only or any(part in c.__name__ for part in args.only.split(","))]
    if not available():
        print("FAIL setup: redis-server is not installed")
        return 1
    started = time.monotonic()
    failed = 0
    redis = PrivateRedis()
    with tempfile.TemporaryDirectory(prefix="registry-trial-") as name:
        tmp = Path(name)
        trial = None
        try:
            trial = setup(args, tmp, redis)
            print(f"setup: 2 gunicorn instances x {WORKERS} workers, DEBUG off, PostgreSQL, Redis on {redis.port}")
            for check in checks:
                if time.monotonic() - started > args.budget:
                    print(f"FAIL {check.__name__}: not run, the {args.budget:.0f}s budget is spent")
                    failed += 1
                    continue
                t0 = time.monotonic()
                try:
                    ok, detail = check(trial)
                except Exception as exc:  # a check that crashes is a failed check, and the others still run
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                failed += not ok
                print(
                    f"{'PASS' if ok else 'FAIL'} {check.__name__}: {detail} ({time.monotonic() - t0:.1f}s)", flush=True
                )
        finally:
            for server in trial.servers if trial else []:
                if server.process is not None:
                    server.process.terminate()
                    server.process.wait(timeout=30)
            redis.stop()
            drop_database(args.database_url)
    print(f"{len(checks) - failed} passed, {failed} failed in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
