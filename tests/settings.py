"""Settings for the tests: always PostgreSQL (DATABASE_URL, or the local server with trust auth)."""

import os

import dj_database_url

# The tests run the development configuration, as manage.py starts it (pytest-django turns DEBUG off in each test).
os.environ.setdefault("DEBUG", "true")

from registry.settings import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("The tests run on PostgreSQL: set DATABASE_URL to a postgres:// URL.")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test servers (client, live_server) serve static files themselves; WhiteNoise wants collectstatic's folder.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405

# Limits on failed logins and bad tokens count across the whole run (the cache and the database outlive a test):
# off here, on in tests/test_throttles.py, which sets its own rates.
AXES_ENABLED = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "failed_token": None},  # noqa: F405
}
