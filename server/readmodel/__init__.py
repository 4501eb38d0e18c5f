"""Statistics read model: DuckDB under ``FENGQIAO_HOME`` fed from the county ``_changes``.

Layout::

    store.py     the DuckDB file, its tables, one-transaction batch apply + checkpoint
    follower.py  catch-up (normal feed, streamed), rebuild, the longpoll follower thread
    queries.py   metrics (same definitions as ``server.domain.metrics``), list, exports rows
    exports.py   xlsx / csv / geojson writers
    calendar.py  memoising working-day calendar (bulk projection)
    remote.py    the owning process's query socket and the workers' cursor over it
    cli.py       ``fengqiao stats …``, ``fengqiao export …``, ``fengqiao bench stats``
    bench.py     the benchmark

**One owning process.** DuckDB allows one process to open the file for writing. With
``serve`` at 1 worker × N threads the server process owns it: readers use their own
cursor, one follower thread writes. With N > 1 workers, ``fengqiao stats serve`` owns it
and the workers read over a Unix socket (``remote.py``, ``FENGQIAO_STATS_SOCKET``). ``fengqiao stats rebuild``
and ``fengqiao export`` open the file themselves, so they need the server stopped (they
say so clearly when the file is locked).

``FENGQIAO_STATS_FOLLOW`` (app config): ``lazy`` (default: the first request that needs
the read model starts the follower thread), ``eager`` (started by ``init_app``), ``off``
(no thread: every request first applies pending changes synchronously — tests, tools).
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from server.config import SETTINGS, party_key

from .follower import Follower, catch_up
from .remote import RemoteStore
from .store import ReadModel, ReadModelError, default_path

__all__ = ["ReadModel", "ReadModelError", "ReadModelService", "init_app", "service"]

FOLLOW_MODES = next(s.choices for s in SETTINGS if s.name == "FENGQIAO_STATS_FOLLOW")


class ReadModelService:
    """The app's read model and its follower, created on first use."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.path = Path(settings.get("FENGQIAO_STATS_PATH") or default_path(settings["FENGQIAO_HOME"]))
        self.mode = str(settings.get("FENGQIAO_STATS_FOLLOW") or "lazy")
        if self.mode not in FOLLOW_MODES:
            raise ValueError(f"FENGQIAO_STATS_FOLLOW must be one of {FOLLOW_MODES}")
        self._store: ReadModel | None = None
        self.follower: Follower | None = None
        self._lock = threading.Lock()
        socket_path = settings.get("FENGQIAO_STATS_SOCKET")
        self.remote = RemoteStore(socket_path) if socket_path else None

    def county_db_name(self) -> str:
        from server.databases import topology_for

        return topology_for(self.settings).county_db()

    @property
    def store(self) -> ReadModel:
        if self.remote is not None:
            return self.remote  # type: ignore[return-value]  # the reading part of a ReadModel
        with self._lock:
            if self._store is None:
                self._store = ReadModel(self.path, party_key=party_key(self.settings))
            return self._store

    def ready(self) -> ReadModel:
        """The store, made current the way the mode says (called by every read path)."""
        store = self.store
        if self.remote is not None:
            return store  # the owning process follows the feed
        if self.mode == "off":
            from server.databases import couch

            db = couch().db(self.county_db_name())
            if db.exists():
                catch_up(store, db)
        else:
            self.start_follower()
        return store

    def start_follower(self) -> Follower:
        with self._lock:
            if self.follower is None or not self.follower.alive:
                store = self._store or ReadModel(self.path, party_key=party_key(self.settings))
                self._store = store
                self.follower = Follower(store, self.settings["COUCHDB_URL"],
                                         self.county_db_name()).start()
                atexit.register(self.shutdown)
            return self.follower

    def shutdown(self) -> None:
        """Stop the follower and close the file (idempotent)."""
        with self._lock:
            if self.follower is not None:
                self.follower.stop()
                self.follower = None
            if self._store is not None:
                self._store.close()
                self._store = None

    def status(self) -> dict[str, Any]:
        if self.remote is not None:
            return {"path": str(self.path), "mode": "remote", "socket": str(self.remote.path),
                    "seq": self.remote.seq(), "follower": None}
        f = self.follower
        return {
            "path": str(self.path), "mode": self.mode,
            "seq": self.store.seq(),
            "follower": None if f is None else {
                "running": f.alive, "batches": f.status.batches, "changes": f.status.changes,
                "last_batch_at": f.status.last_batch_at, "errors": f.status.errors,
                "last_error": f.status.last_error,
            },
        }


def init_app(app: Flask) -> ReadModelService:
    svc = ReadModelService(dict(app.config))
    app.extensions["readmodel"] = svc
    if svc.mode == "eager" and svc.remote is None:
        svc.start_follower()
    return svc


def service(app: Flask | None = None) -> ReadModelService:
    """The read model service of ``app`` (default: the current app); created if missing."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    svc = app.extensions.get("readmodel")
    if svc is None:
        svc = init_app(app)
    return svc
