"""The gateway as production runs it: ``python -m server serve`` (gunicorn, gthread) as a
subprocess, for ``bench sync``, ``bench load`` and the chaos tests (which SIGKILL it).

It is started from the folder that holds the ``server`` package (the checkout, or
site-packages for an installed wheel), so the child imports the same code as its parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from sync.embedded import free_port

from .errors import BenchError
from .measure import children

# The folder holding the ``server`` package: ``python -m server`` run there imports this code.
CODE_ROOT = Path(__file__).resolve().parents[2]


class GatewayProcess:
    """``python -m server serve`` (gunicorn, gthread) as a subprocess in its own session,
    so ``kill()`` can SIGKILL the master and its workers at once (``kill -9``)."""

    def __init__(self, couch_url: str, prefix: str, county: str, home: Path | str, *,
                 port: int | None = None, workers: int = 2, threads: int = 8,
                 log_level: str = "WARNING", stats_follow: str | None = None) -> None:
        """``stats_follow``: ``FENGQIAO_STATS_FOLLOW`` — ``eager`` (as a county runs it: the
        read model follows the county feed from the start, whatever the number of workers),
        ``off`` (the sync path alone), None: the product's default."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = Path(home)
        self.env = {**os.environ, "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix,
                    "FENGQIAO_COUNTY": county, "FENGQIAO_HOME": str(self.home),
                    "FENGQIAO_PORT": str(self.port), "FENGQIAO_HOST": "127.0.0.1",
                    "FENGQIAO_LOG_LEVEL": log_level,
                    "FENGQIAO_SECRET_KEY": "bench-" + uuid.uuid4().hex}
        if stats_follow is not None:
            self.env["FENGQIAO_STATS_FOLLOW"] = stats_follow
        self.args = [sys.executable, "-m", "server", "serve", "--workers", str(workers),
                     "--threads", str(threads)]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.home / "gateway.log"

    def start(self, timeout: float = 60.0) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(self.args, cwd=CODE_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError("网关启动失败", f"the gateway exited with {self.process.returncode}; "
                                 f"log: {self.log_file}\n{self.log_tail()}", kind="unavailable")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise BenchError("网关未在时限内响应", f"the gateway did not answer at {self.url} within {timeout:.0f} s",
                         kind="unavailable")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *children(self.process.pid)]

    def kill(self) -> None:
        """SIGKILL master and workers (the whole process group): a crash, not a shutdown."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def couch_requests(self) -> dict[str, int]:
        """CouchDB requests its workers made, by endpoint (logged as each worker ends:
        call after :meth:`stop`)."""
        total: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in self.log_file.read_text(errors="replace").splitlines():
                if "couchdb_requests " in line:
                    for name, n in json.loads(line.split("couchdb_requests ", 1)[1]).items():
                        total[name] = total.get(name, 0) + int(n)
        return total

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

