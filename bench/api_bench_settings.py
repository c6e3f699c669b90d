"""Settings for bench/api_bench.py only: the project's settings with a URLconf that adds a bare view."""

from registry.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "api_bench_urls"
