"""Django settings: everything that differs between machines comes from the environment.

Production is ``DEBUG=false``, the default of every start but ``manage.py`` (the development entry point, which
defaults it to true): then a real ``SECRET_KEY`` is required, static files come from collectstatic's
hashed, compressed copies, and logs are JSON lines. Every security setting of Django's deployment checklist
is read from a variable of the same name (README, "Run in production").
"""

import base64
import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_HASHES
from django.core.checks.security.base import CROSS_ORIGIN_OPENER_POLICY_VALUES, REFERRER_POLICY_VALUES
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-change-me-in-production"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _env(name: str, default: str = "") -> str:
    """A variable's value, stripped; one carrying an inline ``# comment`` is refused.

    An env file (systemd ``EnvironmentFile``, ``docker --env-file``) keeps ``VALUE   # comment`` whole as the
    value: read as is, ``SECURE_PROXY_SSL_HEADER`` would expect the value ``https   # ...`` and never match.
    """
    value = os.environ.get(name)
    if value is None:
        return default
    if re.search(r"\s#", value):  # not a leading "#": Django's own generated keys may start with one
        raise ImproperlyConfigured(
            f"{name} has an inline comment ({value!r}): env files (systemd EnvironmentFile, docker --env-file) "
            "keep '# ...' in the value. Put comments on a line of their own."
        )
    return value.strip()


def _env_bool(name: str, default: bool) -> bool:
    """A yes/no variable; anything but the usual spellings is refused (a typo must not turn a guard off)."""
    if name not in os.environ:
        return default
    value = _env(name)
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), got {value!r}.")


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None


def _env_list(name: str, default: str = "", pattern: str = r"\S+", example: str = "") -> list[str]:
    """A comma-separated list; an item that is not one ``pattern`` (e.g. holds a space) is refused."""
    items = [item.strip() for item in _env(name, default).split(",") if item.strip()]
    for item in items:
        if not re.fullmatch(pattern, item):
            raise ImproperlyConfigured(f"{name} must be a comma-separated list{example}; {item!r} is not a valid item.")
    return items


def _env_choice(name: str, default: str, choices: set[str]) -> str:
    """One of ``choices`` (case as given); a value Django would send as a garbled header is refused."""
    value = _env(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}; got {value!r}.")
    return value


def _env_rate(name: str, default: str | None) -> str | None:
    """A DRF throttle rate such as ``1200/min`` (periods s, min, hour, day); ``off`` for no limit."""
    value = _env(name).lower()
    if not value:
        return default
    if value in {"off", "none"}:
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 1200/min (or off), got {value!r}.")
    return value


def _csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script, style or style attribute."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()}'"


def _proxy_ssl_header() -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER as ``Header-Name,value`` (e.g. ``X-Forwarded-Proto,https``), or unset."""
    value = _env("SECURE_PROXY_SSL_HEADER")
    if not value:
        return None
    header, _, expected = (part.strip() for part in value.partition(","))
    # A header name is a token; the value one word ("https"): anything else would never match a request.
    if not re.fullmatch(r"[A-Za-z0-9-]+", header) or not re.fullmatch(r"[A-Za-z0-9._~+/=:-]+", expected):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must be 'Header-Name,value' such as 'X-Forwarded-Proto,https', got {value!r}."
        )
    meta = header.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", expected)


# Off unless asked for: manage.py sets DEBUG=true by default (an explicit development start); registry.wsgi under
# any server, from any directory, and any other importer of these settings start as production.
DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = _env("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and (
    SECRET_KEY == DEVELOPMENT_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DEBUG is off (production) but SECRET_KEY is "
        + ("not set" if SECRET_KEY == DEVELOPMENT_SECRET_KEY else "a development or weak key")
        + ": set SECRET_KEY to at least 50 random characters, e.g. the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))', and keep it the same on every instance."
    )
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver", r"[^\s/#]+", " of host names")
# Origins (scheme and host) whose unsafe requests the CSRF check accepts, e.g. https://registry.example.com.
CSRF_TRUSTED_ORIGINS = _env_list(
    "CSRF_TRUSTED_ORIGINS", "", r"[a-z][a-z0-9+.-]*://[^\s/#]+", " of origins such as https://registry.example.com"
)

# Django's deployment checklist (manage.py check --deploy); Django's defaults unless the variable is set.
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
USE_X_FORWARDED_HOST = _env_bool("USE_X_FORWARDED_HOST", False)
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", False)
SECURE_REFERRER_POLICY = _env_list(
    "SECURE_REFERRER_POLICY", "same-origin", "|".join(sorted(REFERRER_POLICY_VALUES)), " of referrer policies"
)
SECURE_CROSS_ORIGIN_OPENER_POLICY = _env_choice(
    "SECURE_CROSS_ORIGIN_OPENER_POLICY", "same-origin", CROSS_ORIGIN_OPENER_POLICY_VALUES
)
X_FRAME_OPTIONS = _env_choice("X_FRAME_OPTIONS", "DENY", {"DENY", "SAMEORIGIN"})
# Content-Security-Policy on every response (django-csp): scripts, styles, images, fonts and fetches from this site
# only; an inline <script> or <style> runs only with the response's nonce (templates: nonce="{{ CSP_NONCE }}").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # DRF's browsable API has two style="float: right; margin-right: 10px" attributes: that value alone is allowed.
        "style-src": [SELF, NONCE, UNSAFE_HASHES, _csp_hash("float: right; margin-right: 10px")],
        "img-src": [SELF, "data:"],  # Swagger UI's and the admin's icons are data: URLs in their CSS
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE if X_FRAME_OPTIONS == "DENY" else SELF],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served by us, not from a CDN (works offline)
    "axes",
    "csp",
    "registry.apps.RegistryConfig",
]

MIDDLEWARE = [
    "registry.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and auth, so that a read retried after a lost connection runs them again.
    "registry.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "registry" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",  # CSP_NONCE, for the few inline <script>/<style> elements
            ],
        },
    },
]

WSGI_APPLICATION = "registry.wsgi.application"

# PostgreSQL is the database of record; the SQLite file is only the embedded default for a first look.
DATABASES = {
    "default": dj_database_url.parse(
        _env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=_env_int("CONN_MAX_AGE", 600),
        conn_health_checks=_env_bool("CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that drops packets must not hold a worker until gunicorn kills it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", _env_int("DATABASE_CONNECT_TIMEOUT", 5)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes watches every login (the admin's) and refuses one it has locked out, before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = _env("STATIC_URL", "static/")
STATIC_ROOT = Path(_env("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Production serves collectstatic's hashed, compressed copies through WhiteNoise (run collectstatic before the
# start); development serves the apps' files as they are, with no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Logs go to stdout: JSON lines in production (one object per record, tracebacks and the request id
# included), text in development. Nothing is mailed (ADMINS is empty).
LOG_FORMAT = _env("LOG_FORMAT", "text" if DEBUG else "json")
LOG_LEVEL = _env("LOG_LEVEL", "INFO").upper()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "registry.log.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "registry.log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    # Replaces Django's own handlers for "django" (console only with DEBUG, mail to ADMINS without).
    "loggers": {"django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False}},
}

# Admin uploads of several config files at once.
DATA_UPLOAD_MAX_NUMBER_FILES = 1000
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000

# Shared state: with REDIS_URL (e.g. redis://cache.internal:6379/0) the document cache and the API's throttles
# live in Redis, shared by every worker and instance; without it, each process has its own memory cache.
REDIS_URL = _env("REDIS_URL")
# A Redis that stops answering (paused, overloaded) must not set the API's latency: each call waits at most
# REGISTRY_REDIS_TIMEOUT_MS, and after a failure this process leaves Redis alone for REGISTRY_REDIS_COOLDOWN_SECONDS
# (a circuit breaker, registry/cache.py).
REDIS_CACHE_OPTIONS = {
    "socket_connect_timeout": _env_int("REGISTRY_REDIS_TIMEOUT_MS", 250) / 1000,
    "socket_timeout": _env_int("REGISTRY_REDIS_TIMEOUT_MS", 250) / 1000,
    "cooldown": _env_int("REGISTRY_REDIS_COOLDOWN_SECONDS", 5),
}
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, but any Redis error (unreachable, timed out, OOM, READONLY) is a miss, not a 500.
            "BACKEND": "registry.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": _env("CACHE_KEY_PREFIX", "registry"),
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Failed admin logins (django-axes, counted in the database, so shared by every instance): after
# REGISTRY_LOGIN_FAILURE_LIMIT failures of one username from one address, that pair is refused (429) for
# REGISTRY_LOGIN_COOLOFF_MINUTES. A success resets the count; manage.py axes_reset lifts every lockout.
AXES_FAILURE_LIMIT = _env_int("REGISTRY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("REGISTRY_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME.total_seconds() < 60:
    raise ImproperlyConfigured("REGISTRY_LOGIN_FAILURE_LIMIT and REGISTRY_LOGIN_COOLOFF_MINUTES must be at least 1.")
AXES_CLIENT_IP_CALLABLE = "registry.api.throttles.client_ip"
AXES_VERBOSE = False  # no start-up line before every command's output; lockouts are still logged

# The REGISTRY_* settings, their defaults and meaning: registry/conf.py (read through it). Only those
# read from the environment are set here: REGISTRY_FIXTURES_DIR and REGISTRY_API_CACHE keep conf's defaults.
# When true, reading the API needs an authenticated user too.
REGISTRY_READS_REQUIRE_AUTH = _env_bool("REGISTRY_READS_REQUIRE_AUTH", False)
# The largest config file loadconfigs and importhf read (64 MiB); FIFOs and devices are never read.
REGISTRY_MAX_FILE_BYTES = _env_int("REGISTRY_MAX_FILE_BYTES", 64 * 1024 * 1024)
# How long /readyz trusts its last look at the migrations (a database swapped for an empty one is seen after it).
REGISTRY_READY_CACHE_SECONDS = _env_int("REGISTRY_READY_CACHE_SECONDS", 5)
# When true, anonymous readers of the history API see usernames too (authenticated readers always do).
REGISTRY_HISTORY_SHOW_USERS = _env_bool("REGISTRY_HISTORY_SHOW_USERS", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's TokenAuthentication, plus a 429 for an address past REGISTRY_FAILED_AUTH_RATE bad tokens.
        "registry.api.throttles.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": ["registry.api.parsers.DocumentParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PERMISSION_CLASSES": ["registry.api.permissions.CanRead"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "registry.api.errors.exception_handler",
    # Write-only (reads = False): the lean read path stays on (registry/api/lean.py, registry.E003).
    "DEFAULT_THROTTLE_CLASSES": ["registry.api.throttles.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Unsafe methods per user: a tool writing 600 configs a minute with one token is not slowed.
        "write": _env_rate("REGISTRY_WRITE_RATE", "1200/min"),
        # Bad tokens (401) per client address; past it every token from that address is a 429.
        "failed_token": _env_rate("REGISTRY_FAILED_AUTH_RATE", "20/min"),
    },
    # How many proxies in front append to X-Forwarded-For; 0: the client is REMOTE_ADDR (the header is ignored,
    # so a client cannot pick its own address). django-axes uses the same address (AXES_CLIENT_IP_CALLABLE).
    "NUM_PROXIES": max(0, _env_int("REGISTRY_NUM_PROXIES", 0)),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LLM architecture config registry",
    "DESCRIPTION": "Model architecture configurations, their layer types and derived parameter counts.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI are reads like any other: public unless REGISTRY_READS_REQUIRE_AUTH.
    "SERVE_PERMISSIONS": ["registry.api.permissions.CanRead"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SpecTypeEnum": "registry.api.serializers.SPEC_TYPES",
        "EngineEnum": "registry.api.recommend.ENGINES",
    },
}
