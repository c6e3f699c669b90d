"""Production: settings fail closed, check --deploy is clean, gunicorn serves hashed static files, logs are JSON."""

from __future__ import annotations

import json
import logging
import os
import re
import runpy
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.log import JsonFormatter, RequestIdFilter, current_request_id
from tests.conftest import ROOT, free_port, manage, subprocess_database_url

SECRET = "x7Gq2pL9vR4tY8wK1mN6bZ3cF5hJ0dS2aE7uI9oP4lQ8rT6yW1xV3nM5kB"
# The README's production variables ("Run in production"), for a site served over HTTPS behind a proxy.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "registry.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://registry.example.com",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto,https",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
}
UNREACHABLE = "postgres://registry:registry@127.0.0.1:1/registry"


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set for the browser tests (tests/browser/conftest.py), never in production.
    for name in (*PRODUCTION_ENV, "STATIC_ROOT", "LOG_FORMAT", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        monkeypatch.delenv(name, raising=False)


def _outer_env(**extra: str) -> dict[str, str]:
    """This process's environment (as monkeypatched) with ``extra``, without the tests' settings module."""
    env = {**os.environ, **extra}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess[str]:
    """``args`` run to their end in ``cwd``: exit code and what they printed, as text."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


# ---- fail closed ---------------------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_production_variables(monkeypatch):
    """`manage.py check --deploy` reports nothing (not even a warning) with the documented variables."""
    _clean_env(monkeypatch)
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    result = manage("check", "--deploy", "--fail-level", "WARNING", database_url=UNREACHABLE)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_each_checklist_setting_comes_from_the_environment(monkeypatch):
    """Without the HTTPS variables check --deploy names them: the variables, not the code, turn them on."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    result = manage("check", "--deploy", database_url=UNREACHABLE)
    warned = set(re.findall(r"security\.W\d+", result.stdout + result.stderr))
    assert warned == {"security.W004", "security.W008", "security.W012", "security.W016"}


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("django-insecure-development-key-change-me-in-production", "SECRET_KEY is not set"),
        ("django-insecure-" + "k" * 60, "a development or weak key"),
        ("short-but-random-Qx9", "a development or weak key"),
    ],
)
def test_production_without_a_real_secret_key_does_not_start(monkeypatch, secret, says):
    """DEBUG off with a missing, development or weak SECRET_KEY stops with ImproperlyConfigured."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("DEBUG", "false")
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    result = manage("check", database_url=UNREACHABLE)
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: DEBUG is off (production) but" in result.stderr
    assert says in result.stderr


def test_gunicorn_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    """gunicorn with the repo's config is production (DEBUG off by default): no SECRET_KEY, no server."""
    _clean_env(monkeypatch)
    monkeypatch.delenv("DEBUG", raising=False)
    env = _outer_env(DATABASE_URL=UNREACHABLE, PORT=str(free_port()))
    result = _run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "registry.wsgi"], tmp_path, env
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"])
def test_a_misspelt_switch_is_refused_not_read_as_off(monkeypatch, name):
    """'ture' is an error, not False: a typo must not turn a protection off."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv(name, "ture")
    result = manage("check", database_url=UNREACHABLE)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be true or false" in result.stderr


def _bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a start outside manage.py and gunicorn.conf.py: no DEBUG, no SECRET_KEY, no settings."""
    env = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE", "LOG_FORMAT"}}
    env.update(DATABASE_URL=UNREACHABLE, PYTHONPATH=str(ROOT), HOME=str(tmp_path), **extra)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


# Imports registry.wsgi as any WSGI server would, then asks it for a page that does not exist.
IMPORT_WSGI = """
from wsgiref.util import setup_testing_defaults
import registry.wsgi
from django.conf import settings
environ = {"PATH_INFO": "/admin/no-such-page/"}
setup_testing_defaults(environ)
body = b"".join(registry.wsgi.application(environ, lambda status, headers: None))
print("DEBUG", settings.DEBUG, settings.SECRET_KEY.startswith("django-insecure"))
print("technical 404" if b"Using the URLconf" in body else "plain 404")
"""


def test_importing_registry_wsgi_from_elsewhere_without_a_secret_key_does_not_start(tmp_path):
    """registry.wsgi imported directly, from another directory, with no DEBUG and no SECRET_KEY: production, refused."""
    result = _run([sys.executable, "-c", IMPORT_WSGI], tmp_path, _bare_env(tmp_path))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is off (production) but SECRET_KEY is not set" in result.stderr


def test_importing_registry_wsgi_with_a_key_runs_with_debug_off(tmp_path):
    """With a SECRET_KEY and no DEBUG, a direct WSGI start serves with DEBUG off: no routes on a 404 page."""
    env = _bare_env(tmp_path, SECRET_KEY=SECRET)
    result = _run([sys.executable, "-c", IMPORT_WSGI], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["DEBUG False False", "plain 404"]


def test_gunicorn_without_the_repos_config_refuses_to_start_without_a_secret_key(tmp_path):
    """`gunicorn registry.wsgi` from another directory, without gunicorn.conf.py: no SECRET_KEY, no server."""
    env = _bare_env(tmp_path)
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"]
    result = _run([*command, "--no-control-socket", "registry.wsgi"], tmp_path, env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stdout + result.stderr


def readme_production_block() -> str:
    """The variables block of the README's "Run in production", de-indented as a reader pastes it."""
    section = (ROOT / "README.md").read_text().split("## Run in production", 1)[1]
    block = re.search(r"```bash\n((?:[ ]*[A-Z_]+=.*\n)+)[ ]*```", section)
    assert block, "the README's production variables block is missing"
    return "\n".join(line.strip() for line in block.group(1).splitlines()) + "\n"


def read_env_file(path: Path) -> dict[str, str]:
    """An env file read as `docker --env-file` and systemd's EnvironmentFile read an unquoted one.

    Lines starting with # are comments; everything after the first = is the value, an inline ``# ...`` included.
    """
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def test_the_readmes_production_block_pasted_into_an_env_file_gives_the_intended_settings(monkeypatch, tmp_path):
    """Pasted as is into an env file, the README's variables configure HTTPS behind the proxy, not a silent mistake."""
    env_file = tmp_path / "registry.env"
    env_file.write_text(readme_production_block().replace("<the key generated above>", SECRET))
    values = read_env_file(env_file)
    assert values.pop("DATABASE_URL").startswith("postgres://")
    assert values == PRODUCTION_ENV  # the tests' production variables are the README's
    _clean_env(monkeypatch)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    shown = "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER, s.ALLOWED_HOSTS, s.DEBUG)"
    result = manage("shell", "-v0", "-c", shown, database_url=UNREACHABLE)
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https') ['registry.example.com'] False", result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https   # your proxy sets it"),
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto https"),
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https,http"),
        ("ALLOWED_HOSTS", "registry.example.com  # the public name"),
        ("ALLOWED_HOSTS", "registry.example.com internal.example.com"),
        ("CSRF_TRUSTED_ORIGINS", "registry.example.com"),
        ("SECURE_HSTS_SECONDS", "31536000 # a year"),
        ("SECURE_SSL_REDIRECT", "true # behind the proxy"),
        ("X_FRAME_OPTIONS", "deny"),
        ("SECURE_REFERRER_POLICY", "same-origin # default"),
        ("SECRET_KEY", SECRET + "  # from the vault"),
        ("DATABASE_URL", "postgres://registry:registry@127.0.0.1:1/registry  # the primary"),
    ],
)
def test_a_malformed_or_commented_value_stops_the_start_with_its_name(monkeypatch, name, value):
    """A value an env file garbled (an inline comment) or a malformed structured value: ImproperlyConfigured, named."""
    _clean_env(monkeypatch)
    for var, production in PRODUCTION_ENV.items():
        monkeypatch.setenv(var, production)
    monkeypatch.setenv(name, value)
    result = _run([sys.executable, str(ROOT / "manage.py"), "check"], ROOT, _outer_env(), timeout=120)
    assert result.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {name} " in result.stderr, result.stderr[-2000:]


def test_a_secret_key_holding_hashes_is_not_a_comment(monkeypatch):
    """Django's generated keys use '#' too: a key starting with or holding one (no space before it) is a key."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "#" + SECRET + "#(-_=+)")
    result = manage(
        "shell",
        "-v0",
        "-c",
        "from django.conf import settings; print(len(settings.SECRET_KEY))",
        database_url=UNREACHABLE,
    )
    assert result.stdout.strip() == str(len(SECRET) + 8), result.stderr


def test_proxy_ssl_header_is_read_as_header_and_value(monkeypatch):
    """SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto,https is Django's ("HTTP_X_FORWARDED_PROTO", "https")."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https")
    result = manage(
        "shell",
        "-v0",
        "-c",
        "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
        database_url=UNREACHABLE,
    )
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", result.stderr


def test_development_needs_no_variables_and_no_collectstatic(monkeypatch):
    """The quick start: DEBUG on by default, static files served from the apps as they are."""
    _clean_env(monkeypatch)
    result = manage(
        "shell",
        "-v0",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.STORAGES['staticfiles'])",
        database_url=UNREACHABLE,
    )
    assert result.stdout.startswith("True {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}")


# ---- gunicorn.conf.py ----------------------------------------------------------------------------------------


def _gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_CONTROL_SOCKET", "PORT", "GUNICORN_BIND", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEBUG", os.environ.get("DEBUG", "true"))  # the conf only sets a default
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    """Workers, bind, and no shared control socket unless one is named for this instance."""
    conf = _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="5", PORT="9001")
    assert conf["workers"] == 5
    assert conf["bind"] == ["0.0.0.0:9001"]
    assert conf["control_socket_disable"] is True
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["timeout"] == 30 and conf["logger_class"].__name__ == "JsonLogger"
    conf = _gunicorn_conf(monkeypatch, GUNICORN_CONTROL_SOCKET="/tmp/registry-a.ctl")
    assert conf["control_socket_disable"] is False and conf["control_socket"] == "/tmp/registry-a.ctl"
    assert 1 <= conf["workers"] <= 8


# ---- logs ----------------------------------------------------------------------------------------------------


def test_json_formatter_writes_one_line_with_traceback_and_request_id():
    """A record with an exception is one JSON object: message, level, request id, the whole traceback."""
    logger = logging.getLogger("registry.test")
    record = None
    try:
        raise RuntimeError("kaboom")
    except RuntimeError:
        record = logger.makeRecord("registry.test", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    token = current_request_id.set("req-42")
    try:
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        current_request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed here" and entry["level"] == "ERROR" and entry["request_id"] == "req-42"
    assert entry["exception"].startswith("Traceback") and "RuntimeError: kaboom" in entry["exception"]


def test_logging_goes_to_stdout_and_mails_nobody(settings):
    """LOGGING replaces Django's mail_admins handler: errors reach stdout whatever DEBUG is."""
    from django.utils.log import AdminEmailHandler

    handlers = logging.getLogger("django").handlers
    ours = [h for h in handlers if type(h) is logging.StreamHandler]
    assert len(ours) == 1 and any(isinstance(f, RequestIdFilter) for f in ours[0].filters)
    assert not any(isinstance(h, AdminEmailHandler) for h in handlers)
    assert settings.LOGGING["handlers"]["stdout"]["stream"] == "ext://sys.stdout"


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    """X-Request-ID: the caller's when it is a short token, a new one otherwise (no newlines into logs)."""
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.01")
    assert kept["X-Request-ID"] == "lb-7f3a.01"
    for hostile in ("abc\n", "a b", "x" * 129, ""):
        made = client.get("/models/", HTTP_X_REQUEST_ID=hostile)
        assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert client.get("/nowhere")["X-Request-ID"]


# ---- the landing page ----------------------------------------------------------------------------------------


def test_the_site_root_is_a_page_about_the_registry(client):
    """/ is an HTML page linking the API docs, the admin and the configs (it used to be a 404)."""
    response = client.get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "LLM architecture config registry" in html
    for href in ('href="/docs/"', 'href="/admin/"', 'href="/models/"'):
        assert href in html


def test_the_admins_view_site_link_lands_on_it(admin_client):
    """The admin's "View site" link points at / , which answers 200."""
    html = admin_client.get("/admin/").content.decode()
    assert re.search(r'<a href="/">View site</a>', html)
    assert admin_client.get("/").status_code == 200


# ---- gunicorn, DEBUG off, the README's way --------------------------------------------------------------------

BOOM_SETTINGS = """
from registry.settings import *  # noqa
ROOT_URLCONF = "boom_urls"
"""
BOOM_URLS = """
from django.urls import path
from registry.urls import handler400, handler403, handler404, handler500, urlpatterns as project


def boom(request):
    raise RuntimeError("boom for the log test")


urlpatterns = [path("boom/", boom), *project]
"""


class Served:
    def __init__(self, base: str, log: Path, home: Path) -> None:
        self.base, self.log, self.home = base, log, home

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Served]:
    """collectstatic, then gunicorn -c gunicorn.conf.py with DEBUG off on the test database."""
    tmp = tmp_path_factory.mktemp("production")
    (tmp / "boom_settings.py").write_text(BOOM_SETTINGS)
    (tmp / "boom_urls.py").write_text(BOOM_URLS)
    with django_db_blocker.unblock():
        database_url = subprocess_database_url()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION_ENV, "LOG_FORMAT", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DEBUG="false",
        SECRET_KEY=SECRET,
        DATABASE_URL=database_url,
        STATIC_ROOT=str(tmp / "static"),
        DJANGO_SETTINGS_MODULE="boom_settings",
        PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)]),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        HOME=str(tmp / "home"),
    )
    env.pop("XDG_RUNTIME_DIR", None)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, capture_output=True
    )
    assert collected.returncode == 0, collected.stderr
    log = tmp / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "registry.wsgi"],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", log, tmp / "home")
    try:
        for _ in range(150):
            try:
                if served.get("/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")
        yield served
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_served_admin_links_hashed_static_files_that_are_served_compressed(served):
    """The admin's CSS has a hashed name, comes back 200, gzip-compressed and cached for good (it was a 404)."""
    status, _, html = served.get("/admin/login/")
    assert status == 200
    css = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', html)
    assert css, html[:500]
    status, headers, _ = served.get(css.group(1).decode(), **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "immutable" in headers.get("Cache-Control", "")


def test_served_swagger_ui_loads_its_scripts(served):
    """/docs/ links the Swagger UI's JS by hashed names, and each is served."""
    status, _, html = served.get("/docs/")
    assert status == 200
    scripts = re.findall(rb'src="(/static/drf_spectacular_sidecar/[^"]+\.[0-9a-f]{12}\.js)"', html)
    assert len(scripts) >= 2
    for src in scripts:
        assert served.get(src.decode())[0] == 200


def test_served_root_and_probes(served):
    """/ is the landing page; /healthz and /readyz answer 200 on a migrated database."""
    status, _, html = served.get("/")
    assert status == 200 and b'href="/docs/"' in html
    assert served.get("/healthz")[0] == 200
    status, _, body = served.get("/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_served_errors_are_logged_as_json_with_traceback_and_request_id(served):
    """A 500 under gunicorn is a JSON line on stdout with the traceback and the response's X-Request-ID."""
    status, headers, body = served.get("/boom/", **{"X-Request-ID": "trace-me-1"})
    assert status == 500 and headers["X-Request-ID"] == "trace-me-1"
    assert b"boom for the log test" not in body
    for _ in range(50):
        lines = served.log_lines()
        errors = [e for e in lines if e.get("request_id") == "trace-me-1" and e["level"] == "ERROR"]
        access = [e for e in lines if e.get("request_id") == "trace-me-1" and e["logger"] == "gunicorn.access"]
        if errors and access:
            break
        time.sleep(0.1)
    assert errors, lines
    assert errors[0]["logger"] == "django.request" and errors[0]["path"] == "/boom/"
    assert "Traceback" in errors[0]["exception"] and "RuntimeError: boom for the log test" in errors[0]["exception"]
    assert access and access[0]["status"] == 500


def test_served_instances_do_not_share_a_control_socket(served):
    """gunicorn 27 would open ~/.gunicorn/gunicorn.ctl for every instance; the repo's config opens none."""
    assert not (served.home / ".gunicorn").exists()
