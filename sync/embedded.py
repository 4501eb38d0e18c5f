"""The embedded CouchDB: ``pouchdb-server`` (npm, pinned in package-lock.json) as a subprocess.

Used by the demo, development and the tests when ``COUCHDB_URL`` is unset. It listens
on a loopback port, keeps its data under ``<home>/couch`` and logs to
``<home>/couch/pouchdb-server.log`` (rotated by size: ``.1``, ``.2``). A pid file
(``pouchdb-server.json``: pid, port, url, supervisor) lets a second command attach to a
server that is already running on the same home — LevelDB allows one process per
directory — and lets a later start clean up after a crashed one. The port is remembered
(``port``) and reused when free, so ``_replicator`` documents written for it stay right.

With ``supervise=True`` (``fengqiao serve``/``demo``) a thread restarts the server when it
dies, on the same data directory and the same port, with a back-off and at most
``max_restarts`` restarts within ``restart_window`` seconds; it records what happened in
``supervisor.json`` for ``/healthz`` (the app's workers are other processes).

The rest of the code gets a URL and cannot tell this server from Apache CouchDB.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from .errors import EmbeddedServerError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRELOAD = Path(__file__).resolve().parent / "pouchdb_preload.js"

LOG_MAX_BYTES = 4 * 1024 * 1024  # per file; with two old files the log stays under 12 MB
LOG_BACKUPS = 2
MAX_RESTARTS = 5  # within RESTART_WINDOW seconds; then the supervisor gives up
RESTART_WINDOW = 60.0
BACKOFF = (0.2, 1.0, 2.0, 4.0, 8.0)  # seconds before the 1st, 2nd, … restart of a burst


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now (as Node does: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def node_modules_dir(node_modules: Path | str | None = None) -> Path:
    """The folder of the pinned npm packages (``npm ci``): ``node_modules`` if given, else the
    setting ``FENGQIAO_NODE_MODULES`` (declared in ``server.config``; read here because
    ``sync`` never imports ``server``), else ``node_modules`` beside the sources. An
    installed wheel has none beside it: set ``FENGQIAO_NODE_MODULES`` there."""
    if node_modules:
        return Path(node_modules)
    return Path(os.environ.get("FENGQIAO_NODE_MODULES") or PROJECT_ROOT / "node_modules")


def pouchdb_server_script(node_modules: Path | None = None) -> Path:
    """Where ``npm ci`` put pouchdb-server's entry script."""
    script = node_modules_dir(node_modules) / "pouchdb-server" / "bin" / "pouchdb-server"
    if not script.exists():
        raise EmbeddedServerError(
            f"找不到 pouchdb-server（{script}）。请在项目根目录运行 `npm ci --ignore-scripts`（`make test` 会自动安装）。",
            f"pouchdb-server not found at {script}. Run `npm ci --ignore-scripts` in the project "
            "root (`make test` does it for you).",
            kind="config",
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
    with SIGKILL leaves no orphaned server behind. (The kernel ties this to the thread that
    started the child: the supervisor thread lives as long as the server it restarted.)"""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


def _write_json(path: Path, record: dict[str, Any]) -> None:
    """Replace ``path`` atomically: readers in other processes never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(record, ensure_ascii=False))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RotatingLog:
    """Appends bytes to ``path``, moving it to ``path.1`` (``.1`` to ``.2`` …) when it
    would pass ``max_bytes``: the log never grows past ``max_bytes × (backups + 1)``.

    Writing never raises (a full disk loses log lines, never stalls the server)."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        with self._lock:
            try:
                if self._file is None:
                    self._open()
                assert self._file is not None
                if self._size and self._size + len(data) > self.max_bytes:
                    self._rotate()
                # A single chunk larger than the bound keeps only its end.
                data = data[-self.max_bytes:]
                self._file.write(data)
                self._file.flush()
                self._size += len(data)
            except OSError:
                self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines (for error messages and the supervisor's reason)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(max(0, os.path.getsize(self.path) - 16384))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _open(self) -> None:
        self._file = open(self.path, "ab")
        self._size = self._file.tell()

    def _close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = None

    def _rotate(self) -> None:
        self._close()
        for number in range(self.backups, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            newer = self.path.with_name(f"{self.path.name}.{number - 1}") if number > 1 else self.path
            if newer.exists():
                os.replace(newer, older)
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        self._open()


def pump(stream: IO[bytes], log: RotatingLog) -> threading.Thread:
    """Copy a child's output into ``log`` in a daemon thread until the child closes it.

    Node writes to a pipe synchronously on Linux: a pipe nobody drains would stall the
    whole server, so this thread only reads and appends, and never stops on an error."""

    def run() -> None:
        with stream:
            while True:
                try:
                    chunk = os.read(stream.fileno(), 65536)
                except OSError:
                    return
                if not chunk:
                    return
                log.write(chunk)

    thread = threading.Thread(target=run, name="pouchdb-server-log", daemon=True)
    thread.start()
    return thread


def _exit_status(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Wait for ``process`` to end; its exit code or signal.

    ``waitid(WNOWAIT)`` reads the status without reaping, because gunicorn's arbiter (same
    process) reaps every child on SIGCHLD; if it got there first, the status is unknown."""
    if process.returncode is not None:  # reaped by our own poll() already
        code = process.returncode
        return {"code": None, "signal": signal.Signals(-code).name} if code < 0 else {"code": code, "signal": None}
    try:
        info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        info = None
    except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for old kernels
        info = None
    with contextlib.suppress(ChildProcessError):
        process.wait()
    if info is None:
        return {"code": None, "signal": None}
    if info.si_code == os.CLD_EXITED:
        return {"code": info.si_status, "signal": None}
    return {"code": None, "signal": signal.Signals(info.si_status).name}


MARK = "--- fengqiao: "  # our own lines in the server's log
_URL = re.compile(r"\b\w+://\S+")


def _reason(tail: str) -> str | None:
    """A short reason from the log's last lines: the last error message (not its stack),
    URLs removed (``/healthz`` is unauthenticated)."""
    lines = [line.strip() for line in tail.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith(MARK) and "starting" in line]
    lines = lines[starts[-1] + 1:] if starts else lines  # this run's lines only
    lines = [line for line in lines if len(line) > 3 and not line.startswith((MARK, "at ", "Node.js v"))]
    errors = [line for line in lines if re.search(r"(Error|Exception)\b|FATAL", line)]
    if not lines:
        return None
    return _URL.sub("<url>", (errors or lines)[-1])[:200]


class EmbeddedCouch:
    """One pouchdb-server process bound to a home directory.

    ``start()`` either launches the server or attaches to the one already running on
    this home (then ``stop()`` leaves it running: it belongs to another command).
    With ``supervise=True`` a server this object launched is restarted when it dies.
    """

    def __init__(self, home: Path | str, *, port: int | None = None, startup_timeout: float = 60.0,
                 supervise: bool = False, max_restarts: int = MAX_RESTARTS,
                 restart_window: float = RESTART_WINDOW, log_max_bytes: int = LOG_MAX_BYTES,
                 log_backups: int = LOG_BACKUPS, extra_args: tuple[str, ...] = ()):
        self.home = Path(home).resolve()
        self.dir = self.home / "couch"
        self.port = port
        self.startup_timeout = startup_timeout
        self.supervise = supervise
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.extra_args = extra_args  # for tests: e.g. an option that makes the server fail
        self.pid_file = self.dir / "pouchdb-server.json"
        self.port_file = self.dir / "port"
        self.state_file = self.dir / "supervisor.json"
        self.log_file = self.dir / "pouchdb-server.log"
        self.log = RotatingLog(self.log_file, log_max_bytes, log_backups)
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.owned = False
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._owner_pid = os.getpid()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        """Start (or attach to) the server; returns its URL. Raises EmbeddedServerError."""
        self.dir.mkdir(parents=True, exist_ok=True)
        attached = self._attach_or_clean()
        if attached:
            self.url = attached
            return attached
        previous = self._remembered_port()
        port = self.port or (previous if previous and port_is_free(previous) else None) or free_port()
        url = f"http://127.0.0.1:{port}/"
        self._stopping.clear()
        self._spawn(port)
        self.owned = True
        self._owner_pid = os.getpid()
        self.url = url
        self._wait_until_ready(url)
        self.port = port
        if self._move_replications(port):
            # The replications of the old documents still run (retrying the old port) and,
            # once cancelled, would mark the new documents completed: start afresh.
            self._terminate(self.process, 10.0)
            self._spawn(port)
            self._wait_until_ready(url)
        self.port_file.write_text(str(port))
        self._write_pid_file()
        if self.supervise:
            self._write_state("running", restarts=0, last_exit=None, last_restart_at=None, reason=None)
            self._supervisor = threading.Thread(target=self._supervise, name="pouchdb-server-supervisor",
                                                daemon=True)
            self._supervisor.start()
        return url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (and its supervision) if this object started it; idempotent.

        Nothing happens in a forked child (a gunicorn worker unwinds the CLI's ``with``
        blocks when it exits): the server belongs to the process that started it."""
        if not self.owned or self.process is None or os.getpid() != self._owner_pid:
            return
        with self._lock:
            self._stopping.set()
            process = self.process
        self._terminate(process, timeout)
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        if self.supervise:
            self._update_state(state="stopped")
        self.log.close()
        self.owned = False

    def kill(self) -> None:
        """SIGKILL the server, as if the whole command had crashed (failure tests): the
        supervisor stops too and the pid file stays behind, stale. To test supervision,
        SIGKILL ``self.process.pid`` yourself."""
        if os.getpid() != self._owner_pid:
            return
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        if self._supervisor is not None:
            self._supervisor.join(10)
            self._update_state(state="stopped", reason="killed")

    def __enter__(self) -> EmbeddedCouch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def state(self) -> dict[str, Any] | None:
        """What the supervisor last recorded (None without supervision)."""
        return read_supervisor_state(self.home)

    # -- internals --------------------------------------------------------------------------

    def _spawn(self, port: int) -> None:
        """Launch pouchdb-server on ``port``; its output goes through a pipe into the log."""
        node = shutil.which("node")
        if node is None:
            raise EmbeddedServerError(
                "找不到 node。请安装 Node.js 20。", "node not found on PATH: install Node.js 20.", kind="config"
            )
        script = pouchdb_server_script()
        config_file = self.dir / "config.json"
        self._write_config(config_file)
        self.log.write(f"{MARK}{_now()} starting pouchdb-server on port {port}\n".encode())
        self.process = subprocess.Popen(
            # pouchdb-server 4.2.0's replicator leaves promise rejections unhandled
            # (e.g. updating a _replicator doc that was just deleted); Node 20 would
            # end the whole server on the first one.
            [node, "--unhandled-rejections=warn", "--require", str(PRELOAD), str(script),
             "--host", "127.0.0.1", "--port", str(port), "--dir", str(self.dir),
             "--config", str(config_file), *self.extra_args],
            cwd=self.dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        assert self.process.stdout is not None
        pump(self.process.stdout, self.log)

    def _terminate(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)

    def _supervise(self) -> None:
        """Restart the server whenever it dies, until ``stop()`` or too many restarts."""
        recent: deque[float] = deque()
        try:
            while True:
                process = self.process
                assert process is not None
                status = _exit_status(process)
                if self._stopping.is_set():
                    return
                self.log.write(f"{MARK}{_now()} pouchdb-server exited: {status}\n".encode())
                now = time.monotonic()
                while recent and now - recent[0] > self.restart_window:
                    recent.popleft()
                reason = _reason(self.log.tail(80))
                if len(recent) >= self.max_restarts:
                    self._give_up(status, reason, len(recent))
                    return
                self._update_state(state="restarting", last_exit=status, reason=reason)
                if self._stopping.wait(BACKOFF[min(len(recent), len(BACKOFF) - 1)]):
                    return
                recent.append(time.monotonic())
                with self._lock:
                    if self._stopping.is_set():
                        return
                    assert self.port is not None and self.url is not None
                    self._spawn(self.port)
                self.restarts += 1
                self._update_state(restarts=self.restarts)
                try:
                    self._wait_until_ready(self.url, stop_on_timeout=False)
                except EmbeddedServerError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)  # then counted as a death
                    continue
                self._write_pid_file()
                self._update_state(state="running", restarts=self.restarts, last_restart_at=_now())
        except Exception as exc:  # noqa: BLE001 - record it: workers only see the state file
            self._update_state(state="gave_up", reason=f"supervisor: {type(exc).__name__}: {exc}"[:200])
            raise

    def _give_up(self, status: dict[str, Any], reason: str, burst: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()  # the home is free: a later command may start its own
        self._update_state(state="gave_up", last_exit=status, reason=reason)
        print(
            f"内置 CouchDB 在 {self.restart_window:.0f} 秒内重启 {burst} 次后仍然退出，已停止重启；日志：{self.log_file}\n"
            f"The embedded CouchDB died again after {burst} restarts within "
            f"{self.restart_window:.0f} s; no more restarts. Log: {self.log_file}",
            file=sys.stderr,
        )

    def _write_pid_file(self) -> None:
        assert self.process is not None
        _write_json(self.pid_file, {"pid": self.process.pid, "port": self.port, "url": self.url,
                                    "supervisor": os.getpid() if self.supervise else None})

    def _write_state(self, state: str, **fields: Any) -> None:
        _write_json(self.state_file, {"state": state, "supervisor_pid": os.getpid(), **fields, "updated_at": _now()})

    def _update_state(self, **fields: Any) -> None:
        record = _read_json(self.state_file) or {}
        record.update(fields, updated_at=_now())
        _write_json(self.state_file, record)

    def _remembered_port(self) -> int | None:
        """The port this home's server used last time: reused when free, because
        ``_replicator`` documents hold full URLs."""
        try:
            port = int(self.port_file.read_text())
        except (OSError, ValueError):
            return None
        return port if 0 < port < 65536 else None

    def _move_replications(self, new: int) -> int:
        """Point the ``_replicator`` documents that name this server's old address at the
        new one; returns how many were rewritten.

        The old address is the one other loopback port those documents name (this server
        replicates with itself); with several, nothing is guessed. Delete and create again:
        pouchdb-server 4.2.0 answers 403 to an update of a document whose replication is
        running ("Only the replicator can edit replication documents that are in the
        triggered state")."""
        base = f"http://127.0.0.1:{new}/"
        try:
            rows = httpx.get(f"{base}_replicator/_all_docs", params={"include_docs": "true"},
                             timeout=30).json().get("rows", [])
        except (httpx.HTTPError, ValueError):
            return 0
        rows = [row for row in rows if not row["id"].startswith("_design/") and row.get("doc")]
        named = {int(p) for row in rows for key in ("source", "target")
                 for p in re.findall(r"//127\.0\.0\.1:(\d+)/", json.dumps(row["doc"].get(key)))}
        others = named - {new}
        if len(others) != 1:
            return 0
        old = others.pop()
        moved = 0
        for row in rows:
            doc = row["doc"]
            fresh = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
            for key in ("source", "target"):
                fresh[key] = json.loads(json.dumps(doc.get(key)).replace(
                    f"//127.0.0.1:{old}/", f"//127.0.0.1:{new}/"))
            if fresh["source"] == doc.get("source") and fresh["target"] == doc.get("target"):
                continue
            doc_url = f"{base}_replicator/{quote(doc['_id'], safe='')}"
            for _ in range(10):  # the replicator writes its state into the document meanwhile
                if httpx.delete(doc_url, params={"rev": doc["_rev"]}, timeout=30).status_code != 409:
                    break
                doc = httpx.get(doc_url, timeout=30).json()
            if httpx.put(doc_url, json=fresh, timeout=30).status_code in (201, 202):
                moved += 1
        return moved

    def _write_config(self, config_file: Path) -> None:
        """pouchdb-server's own settings.

        * Its log goes to its stderr (our pipe, so one bounded file), warnings and errors
          only. Measured: at its default level (info) it logs every request, and under a
          test suite or a load run that log grew by megabytes a second and kept a core busy.
        * ``no-stdout-logs`` must be set here: on the command line ``--no-stdout-logs`` is
          parsed as "stdout-logs = false" and ignored, so the server tailed its log file
          and printed every line again to stdout — the same file: a feedback loop that grew
          the log by ~4.6 MB/s with the demo's 40 replications."""
        try:
            config = json.loads(config_file.read_text()) if config_file.exists() else {}
        except ValueError:
            config = {}
        config.setdefault("log", {}).update({"file": "/dev/stderr", "level": "warning"})
        config.setdefault("pouchdb_server", {}).update({"no-stdout-logs": True})
        config_file.write_text(json.dumps(config))

    def _attach_or_clean(self) -> str | None:
        """Attach to a live server of this home (waiting while its supervisor restarts
        it), or remove a stale pid file."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            record = _read_json(self.pid_file)
            if record is None:
                if self.pid_file.exists():
                    self.pid_file.unlink()  # garbage
                return None
            try:
                pid, url = int(record["pid"]), str(record["url"])
            except (KeyError, TypeError, ValueError):
                self.pid_file.unlink()
                return None
            running = _alive(pid) and _is_pouchdb_server(pid)
            if running and _answers(url):
                return url
            supervisor = record.get("supervisor")
            state = _read_json(self.state_file) or {}
            supervised = (isinstance(supervisor, int) and _alive(supervisor) and state.get("supervisor_pid") == supervisor
                          and state.get("state") in ("running", "restarting"))
            if not supervised:
                break
            # Another command supervises this server: it is being restarted (or is slow).
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"本目录的内置 CouchDB 由进程 {supervisor} 管理，但 {self.startup_timeout:.0f} 秒内未响应；日志：{self.log_file}",
                    f"the embedded CouchDB of this home is supervised by process {supervisor} but did "
                    f"not answer within {self.startup_timeout:.0f} s; log: {self.log_file}",
                )
            time.sleep(0.2)
        if running:
            # A server of ours that no longer answers holds the LevelDB lock: end it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not _alive(pid):
                    break
                time.sleep(0.1)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        return None

    def _wait_until_ready(self, url: str, stop_on_timeout: bool = True) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"pouchdb-server 启动失败（退出码 {self.process.returncode}），日志：{self.log_file}\n{self._log_tail()}",
                    f"pouchdb-server exited with {self.process.returncode}; log: {self.log_file}",
                )
            if _answers(url, timeout=0.5):
                return
            time.sleep(0.1)
        if stop_on_timeout:
            self.stop()
        raise EmbeddedServerError(
            f"pouchdb-server 在 {self.startup_timeout:.0f} 秒内未响应（{url}），日志：{self.log_file}",
            f"pouchdb-server did not answer at {url} within {self.startup_timeout:.0f} s; log: {self.log_file}",
        )

    def _log_tail(self, lines: int = 20) -> str:
        return self.log.tail(lines)


def read_supervisor_state(home: Path | str) -> dict[str, Any] | None:
    """The supervisor's record for this home (``<home>/couch/supervisor.json``), if any."""
    return _read_json(Path(home).resolve() / "couch" / "supervisor.json")


@contextlib.contextmanager
def couchdb(couchdb_url: str | None, home: Path | str, *, supervise: bool = True) -> Iterator[str]:
    """The CouchDB URL to use: ``couchdb_url`` if given, else an embedded server (restarted
    if it dies, unless ``supervise=False``) for the duration of the block."""
    if couchdb_url:
        yield couchdb_url
        return
    server = EmbeddedCouch(home, supervise=supervise)
    try:
        yield server.start()
    finally:
        server.stop()
