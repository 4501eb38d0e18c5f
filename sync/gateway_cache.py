"""Small per-process caches that save the sync gateway CouchDB round trips (issue 16).

Both hold hints, never the truth: a gateway process is stateless, and every answer here is
either checked by CouchDB or harmless when a little stale.

* :class:`CheckpointRevs` — the stored revision of each replication checkpoint (``_local``)
  this process last read or wrote. PouchDB reads a checkpoint, then writes it after every
  batch; the write needs the stored revision, which cost a second read per write.
* :class:`InfoCache` — a database's ``GET /db`` for one second. PouchDB 9 asks for it after
  every batch of a replication, only to show progress (``update_seq``).
* :class:`AbsentIds` — the ids a user's ``_revs_diff`` just found in neither the township
  nor the county. PouchDB pushes those documents a moment later; the push then needs no
  second read to learn that they are new.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
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


class AbsentIds:
    """``(database, user) → {id: when it was found absent}``, each kept ``ttl`` seconds.

    ``_revs_diff`` reads the township and the county by id anyway; what it found missing in
    both is remembered here, and the ``_bulk_docs`` that follows (same user, same process)
    takes those ids instead of reading them again (issue 16: that read cost a push about as
    much as its write). Taken once: a repeated push reads. The hint can only be stale by a
    document created under the same id in between, and ids are UUIDs the tablet made: that
    write then meets ours as a conflict in CouchDB, which the review queue shows — never a
    silent overwrite. A request served by another process simply finds no hint and reads.
    """

    def __init__(self, ttl: float = 30.0, size: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._size, self._clock = ttl, size, clock
        self._items: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, db: str, user: str, ids: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for doc_id in ids:
                self._items[(db, user, doc_id)] = now
                self._items.move_to_end((db, user, doc_id))
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def take(self, db: str, user: str, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` found absent less than ``ttl`` ago; their hints are used up."""
        now, out = self._clock(), set()
        with self._lock:
            for doc_id in ids:
                seen = self._items.pop((db, user, doc_id), None)
                if seen is not None and now - seen < self.ttl:
                    out.add(doc_id)
        return out
