"""A redis-server of our own on a free port, made to misbehave on demand (tests and bench/trial.py share it).

Never the shared Redis on 6379: the faults below change the server's configuration.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile

import redis

from tests.conftest import came_up, free_port

DEAD_PORT = 1  # nothing listens there: a replica of it never syncs, so it stays read-only


def available() -> bool:
    return shutil.which("redis-server") is not None


class PrivateRedis:
    """``redis-server`` on 127.0.0.1:``port``, no persistence; ``oom()``, ``read_only()``, ``pause()``, ``heal()``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="registry-redis-")
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self._dir]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), *options, "--logfile", os.path.join(self._dir, "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.paused = False
        self.admin = redis.Redis(port=self.port, socket_timeout=2)
        if came_up(self.process, self.admin.ping, redis.ConnectionError, tries=100, pause=0.05):
            return
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def oom(self) -> None:
        """Out of memory under ``noeviction``: every write is ``OOM command not allowed``."""
        self.admin.config_set("maxmemory-policy", "noeviction")
        self.admin.config_set("maxmemory", 1)

    def read_only(self) -> None:
        """A replica of a master that is gone (a failover gone wrong): every write is ``READONLY``."""
        self.admin.execute_command("REPLICAOF", "127.0.0.1", DEAD_PORT)

    def pause(self) -> None:
        """Stopped (SIGSTOP): connections are accepted by the kernel, nothing is ever answered."""
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def heal(self) -> None:
        """Back to a writable, answering server."""
        if self.paused:
            self.process.send_signal(signal.SIGCONT)
            self.paused = False
        self.admin.execute_command("REPLICAOF", "NO", "ONE")
        self.admin.config_set("maxmemory", 0)

    def stop(self) -> None:
        if self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self._dir, ignore_errors=True)
