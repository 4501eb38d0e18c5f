"""Keeping the read model current: catch-up (normal feed) and a longpoll follower thread.

Both read the county database's ``_changes`` with ``include_docs=true`` from the stored
checkpoint and hand batches to :meth:`ReadModel.apply_changes`, which commits rows and the
new checkpoint together. A crash between two batches therefore loses nothing and repeats
nothing that matters: the next start resumes at the last committed ``seq``, and replaying
a change is a no-op. Only documented CouchDB behaviour is used: ``since``, ``limit``,
``include_docs``, ``feed=longpoll`` with ``timeout``, each row's ``seq`` and ``last_seq``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sync.couch import CouchClient, Database
from sync.errors import CouchUnreachable

from .store import BatchResult, ReadModel

log = logging.getLogger("fengqiao.readmodel")


def catch_up(store: ReadModel, db: Database, *, batch: int = 2000,
             on_batch: Callable[[BatchResult], None] | None = None) -> int:
    """Apply every change after the checkpoint, streaming the feed; returns changes applied.

    Each batch is checkpointed at the ``seq`` of its last row, so an interrupted catch-up
    resumes where it stopped.
    """
    since = store.seq()
    pending: list[dict[str, Any]] = []
    total = 0
    params: dict[str, Any] = {"include_docs": True}
    if since is not None:
        params["since"] = since
    for item in db.iter_changes(**params):
        if "last_seq" in item and "id" not in item:
            break
        pending.append(item)
        if len(pending) >= batch:
            result = store.apply_changes(pending, pending[-1]["seq"])
            total += len(pending)
            pending = []
            if on_batch:
                on_batch(result)
    if pending:
        result = store.apply_changes(pending, pending[-1]["seq"])
        total += len(pending)
        if on_batch:
            on_batch(result)
    return total


def rebuild(store: ReadModel, db: Database, *, batch: int = 2000,
            on_batch: Callable[[BatchResult], None] | None = None) -> int:
    """Forget everything and re-read the whole feed."""
    store.reset()
    return catch_up(store, db, batch=batch, on_batch=on_batch)


@dataclass
class FollowerStatus:
    running: bool = False
    seq: Any = None
    batches: int = 0
    changes: int = 0
    last_batch_at: float | None = None
    last_error: str | None = None
    errors: int = 0
    started_at: float | None = None
    history: list[float] = field(default_factory=list)


class Follower:
    """A daemon thread following the county feed with longpoll; ``stop()`` ends it.

    It owns its own CouchDB client, so ``stop()`` can close that client to cut a longpoll
    short instead of waiting for its timeout.
    """

    def __init__(self, store: ReadModel, couch_url: str, db_name: str, *,
                 batch: int = 1000, poll_timeout_ms: int = 20000,
                 on_batch: Callable[[BatchResult], None] | None = None) -> None:
        self.store = store
        self.couch_url = couch_url
        self.db_name = db_name
        self.batch = batch
        self.poll_timeout_ms = poll_timeout_ms
        self.on_batch = on_batch
        self.status = FollowerStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: CouchClient | None = None
        self._applied = threading.Condition()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Follower:
        if self.alive:
            return self
        self._stop.clear()
        self._client = CouchClient(self.couch_url)
        self._thread = threading.Thread(target=self._run, name="fengqiao-readmodel-follower",
                                        daemon=True)
        self.status.running = True
        self.status.started_at = time.time()
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        client, self._client = self._client, None
        if client is not None:
            client.close()  # interrupts a pending longpoll
        if self._thread is not None:
            self._thread.join(timeout)
        self.status.running = False

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` holds after some batch (or timeout)."""
        deadline = time.monotonic() + timeout
        with self._applied:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._applied.wait(min(left, 0.5))
        return True

    def _run(self) -> None:
        backoff = 0.5
        client = self._client
        assert client is not None
        db = client.db(self.db_name)
        since = self.store.seq()
        while not self._stop.is_set():
            try:
                if not db.exists():
                    self._stop.wait(2.0)
                    continue
                params: dict[str, Any] = {"feed": "longpoll", "include_docs": True,
                                          "limit": self.batch, "timeout": self.poll_timeout_ms}
                if since is not None:
                    params["since"] = since
                # The read ends a second after the longpoll's own timeout, so a stop is
                # noticed within that even where the server ignores the timeout (closing
                # the client from ``stop`` does not always cut a read short); a read timeout
                # on a quiet feed is handled below as nothing new.
                answer = db.changes(read_timeout=self.poll_timeout_ms / 1000 + 1.0, **params)
                results = answer.get("results") or []
                if results and not self._stop.is_set():
                    result = self.store.apply_changes(results, results[-1]["seq"])
                    since = results[-1]["seq"]
                    self.status.batches += 1
                    self.status.changes += len(results)
                    self.status.last_batch_at = time.time()
                    self.status.seq = since
                    with self._applied:
                        self._applied.notify_all()
                    if self.on_batch:
                        self.on_batch(result)
                backoff = 0.5
            except Exception as exc:  # keep following; report, back off, retry
                if self._stop.is_set():
                    break
                if isinstance(exc, CouchUnreachable) and isinstance(exc.__cause__, httpx.ReadTimeout):
                    continue  # a quiet feed: the embedded server ignores a longpoll's timeout
                self.status.errors += 1
                self.status.last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning("read model follower: %s (retry in %.1fs)", self.status.last_error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.status.running = False
