"""The read model shared by several server processes: one owner, readers over a socket.

DuckDB lets one process open the file for writing, and a reader in another process cannot
open it while that writer has it. So with ``fengqiao serve --workers N`` (N > 1) the file
belongs to ONE process — ``fengqiao stats serve``, started by ``serve`` — that runs the
follower (the single writer) and answers SQL from the server processes on a Unix socket.
Readers never wait for the writer: each connection reads through its own DuckDB cursor,
which sees the last committed batch (DuckDB's MVCC), while the follower commits the next.
One worker (the default) keeps the read model in-process and uses none of this.

Why a socket and not snapshot files: a snapshot of a million-case file is hundreds of MB
to copy after every batch, and the lag target (< 2 s at 20 cases/s) allows a batch every
fraction of a second; a query round trip over a Unix socket costs ~0.1 ms (measured in
``benchmarks/RESULTS.md``, issue 16).

Wire format: each message is a 4-byte big-endian length and a UTF-8 JSON object. Values
JSON cannot carry (dates, timestamps, decimals, bytes) travel as one-key objects tagged
``$d``, ``$t``, ``$n``, ``$b``; the codec is this module's, so both ends agree. Requests:

    {"op": "execute", "sql": ..., "params": [...]}  → {"columns": [...], "rows": [...], "more": bool}
    {"op": "fetch"}                                  → {"rows": [...], "more": bool}
    {"op": "version"}                                → {"version": n, "seq": ...}
    {"op": "aggregate", "spec": [...]}               → {"rows": [...]}  (``ReadModel.aggregate``)

Rows come in chunks of ``CHUNK`` so an export of every case streams with bounded memory
on both sides. The socket file is created with mode 0600 in a 0700 directory, so only the
server's own OS user can connect — the same user that can read the DuckDB file.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from datetime import time as daytime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .store import ReadModel, ReadModelError

log = logging.getLogger("fengqiao.readmodel.remote")

CHUNK = 2000            # rows per message
MAX_MESSAGE = 256 << 20  # a message larger than this is a broken peer, not data
_LEN = struct.Struct(">I")
_NESTED = re.compile(r"\b(STRUCT|MAP|UNION)\(")


# -- codec ------------------------------------------------------------------------------------

def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, daytime):
        return {"$h": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__}")


_UNTAG: dict[str, Callable[[Any], Any]] = {
    "$t": datetime.fromisoformat, "$d": date.fromisoformat, "$h": daytime.fromisoformat,
    "$n": Decimal, "$b": base64.b64decode, "$o": dict,
}


def escape(value: Any) -> Any:
    """``value`` with every one-key mapping whose key starts with ``$`` (a STRUCT or MAP
    value, or a parameter, that would read as a tag) sent as ``{"$o": [[key, value]]}``.
    Only values that can hold mappings need it (``_Handler`` checks the column types)."""
    if isinstance(value, dict):
        if len(value) == 1 and str(next(iter(value))).startswith("$"):
            return {"$o": [[k, escape(v)] for k, v in value.items()]}
        return {k: escape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape(v) for v in value]
    return value


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        (key, value), = obj.items()
        if key in _UNTAG:
            return _UNTAG[key](value)
    return obj


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, default=_tag, ensure_ascii=False, separators=(",", ":")).encode()
    return _LEN.pack(len(body)) + body


def _read_exact(sock: socket.socket, n: int) -> bytes:
    parts, left = [], n
    while left:
        part = sock.recv(min(left, 1 << 20))
        if not part:
            raise ConnectionError("peer closed the connection")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def receive(sock: socket.socket) -> dict[str, Any]:
    (size,) = _LEN.unpack(_read_exact(sock, _LEN.size))
    if size > MAX_MESSAGE:
        raise ConnectionError(f"message of {size} bytes")
    return json.loads(_read_exact(sock, size), object_hook=_untag)  # type: ignore[no-any-return]


# -- the owner's side -------------------------------------------------------------------------

class _Handler(socketserver.BaseRequestHandler):
    """One connection: its own DuckDB cursor and at most one open result."""

    server: QueryServer
    nested = False  # the open result has STRUCT / MAP / UNION columns

    def handle(self) -> None:
        cursor = self.server.store.cursor()
        result: Any = None
        try:
            while True:
                try:
                    request = receive(self.request)
                except (ConnectionError, OSError):
                    return
                try:
                    answer, result = self._answer(cursor, result, request)
                except Exception as exc:  # a bad query answers an error; the connection lives
                    result = None
                    answer = {"error": f"{exc.__class__.__name__}: {exc}"}
                self.request.sendall(encode(answer))
        finally:
            cursor.close()

    def _chunk(self, result: Any) -> list[Any]:
        rows = result.fetchmany(CHUNK)
        return escape(rows) if self.nested else rows  # type: ignore[no-any-return]

    def _answer(self, cursor: Any, result: Any, request: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        op = request.get("op")
        if op == "execute":
            result = cursor.execute(request["sql"], request.get("params") or None)
            columns = [d[0] for d in result.description] if result.description else []
            self.nested = any(_NESTED.search(str(d[1])) for d in result.description or ())
            rows = self._chunk(result) if columns else []
            return {"columns": columns, "rows": rows, "more": len(rows) == CHUNK}, result
        if op == "fetch":
            rows = self._chunk(result) if result is not None else []
            return {"rows": rows, "more": len(rows) == CHUNK}, result
        if op == "version":
            store = self.server.store
            return {"version": store.version, "seq": store.seq()}, result
        if op == "aggregate":
            return {"rows": self.server.store.aggregate(request["spec"], cursor)}, result
        raise ValueError(f"unknown op {op!r}")


class QueryServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers read-model SQL on a Unix socket, one thread per connection."""

    daemon_threads = True

    def __init__(self, store: ReadModel, path: str | Path) -> None:
        self.store = store
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()  # a socket left by a process that died
        old = os.umask(0o177)
        try:
            super().__init__(str(self.path), _Handler)
        finally:
            os.umask(old)

    def start(self) -> QueryServer:
        threading.Thread(target=self.serve_forever, name="fengqiao-readmodel-queries",
                         daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)


# -- the readers' side ------------------------------------------------------------------------

def _unavailable(path: Path, exc: BaseException) -> ReadModelError:
    return ReadModelError(f"统计读模型进程不可用（{path}）：{exc}",
                          f"the read-model process is not available ({path}): {exc}")


class RemoteCursor:
    """The part of a DuckDB cursor the queries use, answered by the owning process.

    ``execute`` returns the cursor itself, as DuckDB's does, so ``cur.execute(...)
    .fetchall()`` and ``result.fetchmany(n)`` read the same way in both set-ups.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sock: socket.socket | None = None
        self._buffer: list[tuple[Any, ...]] = []
        self._more = False
        self.description: list[tuple[Any, ...]] | None = None

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(self._path))
                self._sock = sock
            self._sock.sendall(encode(request))
            answer = receive(self._sock)
        except OSError as exc:  # ConnectionError included
            self.close()
            raise _unavailable(self._path, exc) from exc
        if "error" in answer:
            raise ReadModelError(f"统计查询失败：{answer['error']}", f"read-model query failed: {answer['error']}",
                                 kind="failed")  # a query the owner cannot run is a bug, not an outage
        return answer

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> RemoteCursor:
        answer = self._call({"op": "execute", "sql": sql, "params": escape(list(params)) if params else None})
        self.description = [(c, None, None, None, None, None, None) for c in answer["columns"]] or None
        self._buffer = [tuple(r) for r in answer["rows"]]
        self._more = answer["more"]
        return self

    def _fill(self, n: int | None) -> None:
        while self._more and (n is None or len(self._buffer) < n):
            answer = self._call({"op": "fetch"})
            self._buffer.extend(tuple(r) for r in answer["rows"])
            self._more = answer["more"]

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        self._fill(size)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._fill(None)
        out, self._buffer = self._buffer, []
        return out

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __del__(self) -> None:
        self.close()


class RemoteStore:
    """What the API reads of a :class:`ReadModel` (``cursor``, ``aggregate``, ``seq``), from
    the process that owns the file. Aggregates come from the owner's cache (one round trip):
    the owner computes the ones asked lately again after each batch, whichever process
    asked them, and an answer is never older than its previous batch."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def cursor(self) -> RemoteCursor:
        return RemoteCursor(self.path)

    def _state(self) -> dict[str, Any]:
        cur = self.cursor()
        try:
            return cur._call({"op": "version"})
        finally:
            cur.close()

    def seq(self) -> Any:
        return self._state()["seq"]

    def aggregate(self, spec: Sequence[Any], cur: Any = None) -> list[tuple[Any, ...]]:
        """``ReadModel.aggregate`` in the owner, over ``cur``'s connection when it is one of
        this store's cursors with no open result."""
        borrowed = isinstance(cur, RemoteCursor) and cur._path == self.path and not cur._more
        remote = cur if borrowed else self.cursor()
        try:
            return [tuple(row) for row in remote._call({"op": "aggregate", "spec": list(spec)})["rows"]]
        finally:
            if not borrowed:
                remote.close()

    def close(self) -> None:
        """Nothing to release: cursors hold their own connections."""


def wait_until_serving(path: str | Path, timeout: float, alive: Callable[[], bool]) -> bool:
    """True once the owner answers on ``path``; False when it died or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    store = RemoteStore(path)
    while time.monotonic() < deadline and alive():
        try:
            store.seq()
            return True
        except ReadModelError:
            time.sleep(0.1)
    return False
