"""Small per-process caches that save the sync gateway CouchDB round trips (issue 16).

Both hold hints, never the truth: a gateway process is stateless, and every answer here is
either checked by CouchDB or harmless when a little stale.

* :class:`CheckpointRevs` — the stored revision of each replication checkpoint (``_local``)
  this process last read or wrote. PouchDB reads a checkpoint, then writes it after every
  batch; the write needs the stored revision, which cost a second read per write.
* :class:`InfoCache` — a database's ``GET /db`` for one second. PouchDB 9 asks for it after
  every batch of a replication, only to show progress (``update_seq``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    """A stored checkpoint: its revision and the scope fingerprint it was written under."""

    rev: str
    scope: str | None

    def visible_rev(self, fingerprint: str) -> str | None:
        """The revision the user sees: none when written under another scope."""
        return self.rev if self.scope == fingerprint else None


class CheckpointRevs:
    """``(database, local id) → Checkpoint`` for the most recent ``size`` checkpoints.

    Used only when the client names the revision this process last saw: then the write goes
    straight to CouchDB with the stored revision. If another process wrote the checkpoint
    meanwhile, pouchdb-server refuses the stale revision (409) and the caller reads and
    decides as without the cache; Apache CouchDB 3.4 accepts any revision on a ``_local``
    document, so there the write wins — which only two replications of the same checkpoint
    running at once, on two processes, could bring about.
    """

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], Checkpoint] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, db: str, local_id: str) -> Checkpoint | None:
        with self._lock:
            return self._items.get((db, local_id))

    def put(self, db: str, local_id: str, checkpoint: Checkpoint | None) -> None:
        """Remember ``checkpoint`` (None: forget the entry, e.g. after a delete)."""
        with self._lock:
            if checkpoint is None:
                self._items.pop((db, local_id), None)
                return
            self._items[(db, local_id)] = checkpoint
            self._items.move_to_end((db, local_id))
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class InfoCache:
    """``GET /db`` answers kept ``ttl`` seconds per database name."""

    def __init__(self, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl, clock
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The cached answer for ``name``, or ``fetch()`` when there is none this recent."""
        now = self._clock()
        with self._lock:
            hit = self._items.get(name)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        info = fetch()
        with self._lock:
            self._items[name] = (now, info)
        return info
