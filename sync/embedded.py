"""The embedded CouchDB: ``pouchdb-server`` (npm, pinned in package-lock.json) as a subprocess.

Used by the demo, development and the tests when ``COUCHDB_URL`` is unset. It listens
on a free loopback port, keeps its data under ``<home>/couch`` and logs to
``<home>/couch/pouchdb-server.log``. A pid file (``pouchdb-server.json``: pid, port, url)
lets a second command attach to a server that is already running on the same home —
LevelDB allows one process per directory — and lets a later start clean up after a
crashed one.

The rest of the code gets a URL and cannot tell this server from Apache CouchDB.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from .errors import EmbeddedServerError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pouchdb_server_script(node_modules: Path | None = None) -> Path:
    """Where ``npm ci`` put pouchdb-server's entry script."""
    base = node_modules or Path(os.environ.get("FENGQIAO_NODE_MODULES", PROJECT_ROOT / "node_modules"))
    script = base / "pouchdb-server" / "bin" / "pouchdb-server"
    if not script.exists():
        raise EmbeddedServerError(
            f"找不到 pouchdb-server（{script}）。请在项目根目录运行 `npm ci --ignore-scripts`（`make test` 会自动安装）。",
            f"pouchdb-server not found at {script}. Run `npm ci --ignore-scripts` in the project "
            "root (`make test` does it for you).",
        )
    return script


def _answers(url: str, timeout: float = 1.0) -> bool:
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "version" in response.text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_pouchdb_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"pouchdb-server" in cmdline


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the Python parent dies (Linux), so a parent killed
    with SIGKILL leaves no orphaned server behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


class EmbeddedCouch:
    """One pouchdb-server process bound to a home directory.

    ``start()`` either launches the server or attaches to the one already running on
    this home (then ``stop()`` leaves it running: it belongs to another command).
    """

    def __init__(self, home: Path | str, *, port: int | None = None, startup_timeout: float = 60.0):
        self.home = Path(home).resolve()
        self.dir = self.home / "couch"
        self.port = port
        self.startup_timeout = startup_timeout
        self.pid_file = self.dir / "pouchdb-server.json"
        self.log_file = self.dir / "pouchdb-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.owned = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Start (or attach to) the server; returns its URL. Raises EmbeddedServerError."""
        self.dir.mkdir(parents=True, exist_ok=True)
        attached = self._attach_or_clean()
        if attached:
            self.url = attached
            return attached
        node = shutil.which("node")
        if node is None:
            raise EmbeddedServerError(
                "找不到 node。请安装 Node.js 20。", "node not found on PATH: install Node.js 20."
            )
        script = pouchdb_server_script()
        port = self.port or free_port()
        url = f"http://127.0.0.1:{port}/"
        config_file = self.dir / "config.json"
        self._write_config(config_file)
        log = open(self.log_file, "ab")
        try:
            self.process = subprocess.Popen(
                # pouchdb-server 4.2.0's replicator leaves promise rejections unhandled
                # (e.g. updating a _replicator doc that was just deleted); Node 20 would
                # end the whole server on the first one.
                [node, "--unhandled-rejections=warn", str(script), "--host", "127.0.0.1", "--port", str(port),
                 "--dir", str(self.dir), "--config", str(config_file), "--no-stdout-logs"],
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self.owned = True
        self.url = url
        self._wait_until_ready(url)
        self.pid_file.write_text(json.dumps({"pid": self.process.pid, "port": port, "url": url}))
        return url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this object started it; idempotent."""
        if not self.owned or self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        self.owned = False

    def kill(self) -> None:
        """SIGKILL the server (for failure tests); the pid file stays behind, stale."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> EmbeddedCouch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _write_config(self, config_file: Path) -> None:
        """pouchdb-server's own settings: its log goes to our log file, warnings and errors
        only. Measured: at its default level (info) it logs every request, and under a test
        suite or a load run that log grew by megabytes a second and kept a core busy."""
        try:
            config = json.loads(config_file.read_text()) if config_file.exists() else {}
        except ValueError:
            config = {}
        config.setdefault("log", {}).update({"file": str(self.log_file), "level": "warning"})
        config_file.write_text(json.dumps(config))

    def _attach_or_clean(self) -> str | None:
        """Attach to a live server of this home, or remove a stale pid file."""
        if not self.pid_file.exists():
            return None
        try:
            record = json.loads(self.pid_file.read_text())
            pid, url = int(record["pid"]), str(record["url"])
        except (ValueError, KeyError, TypeError):
            self.pid_file.unlink()
            return None
        if _alive(pid) and _is_pouchdb_server(pid):
            if _answers(url):
                return url
            # A server of ours that no longer answers holds the LevelDB lock: end it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not _alive(pid):
                    break
                time.sleep(0.1)
        self.pid_file.unlink()
        return None

    def _wait_until_ready(self, url: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"pouchdb-server 启动失败（退出码 {self.process.returncode}），日志：{self.log_file}\n{self._log_tail()}",
                    f"pouchdb-server exited with {self.process.returncode}; log: {self.log_file}",
                )
            if _answers(url, timeout=0.5):
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedServerError(
            f"pouchdb-server 在 {self.startup_timeout:.0f} 秒内未响应（{url}），日志：{self.log_file}",
            f"pouchdb-server did not answer at {url} within {self.startup_timeout:.0f} s; log: {self.log_file}",
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def couchdb(couchdb_url: str | None, home: Path | str) -> Iterator[str]:
    """The CouchDB URL to use: ``couchdb_url`` if given, else an embedded server for the
    duration of the block."""
    if couchdb_url:
        yield couchdb_url
        return
    server = EmbeddedCouch(home)
    try:
        yield server.start()
    finally:
        server.stop()
