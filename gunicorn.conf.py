"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py registry.wsgi`), each from the environment.

Access and error logs go to stdout, as JSON lines like the application's (``LOG_FORMAT=text`` for gunicorn's own
formats). Command-line options override these.
"""

import logging
import multiprocessing
import os
import sys

from gunicorn import glogging

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from registry.log import JsonFormatter  # noqa: E402

# Serving with gunicorn is production: DEBUG off (so SECRET_KEY must be set) unless DEBUG says otherwise.
os.environ.setdefault("DEBUG", "false")
chdir = HERE
wsgi_app = "registry.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")]
# Sync workers, one request each: 2 per CPU + 1 (gunicorn's advice), capped for small database servers.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A worker silent for this long is killed and replaced (keep it above the slowest legitimate request).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Set to recycle each worker after about that many requests (jittered by a tenth), e.g. against slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # heartbeat files off a possibly slow or read-only disk (containers)

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# gunicorn 25+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl) unless told otherwise,
# which several instances on a machine would share: none unless GUNICORN_CONTROL_SOCKET names one for this instance.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


class JsonLogger(glogging.Logger):
    """gunicorn's logs on stdout as JSON lines; an access line carries the response's X-Request-ID."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False) and type(handler) is logging.StreamHandler:
                    handler.setStream(sys.stdout)
                    handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        fields = {
            "remote_addr": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING", ""),
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT", "-"),
            "request_id": next((v for k, v in resp.headers if k.lower() == "x-request-id"), "-"),
        }
        self.access_log.info("%s %s %s", fields["method"], fields["path"], status, extra=fields)


if os.environ.get("LOG_FORMAT", "json") == "json":
    logger_class = JsonLogger
