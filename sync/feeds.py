"""How many waiting feeds (longpoll ``_changes``) the gateway holds open at once.

A waiting feed holds a server thread until something changes or its time is up, and a
server has few threads (gunicorn gthread: 16 by default). Measured before this bound: 20
open longpolls from one account made ``/healthz`` take 42 s. So waits are capped in time
(``MAX_WAIT_S``, enforced by the gateway itself: the embedded pouchdb-server ignores a
longpoll's ``timeout``) and in number — per user and per process. A request over either
bound gets 429 with ``Retry-After`` at once, and PouchDB's live replication backs off
and retries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_S = 25.0
PER_USER = 2
PER_PROCESS = 6


class FeedSlots:
    """Counts waiting feeds per user and in total (one process)."""

    def __init__(self, per_user: int = PER_USER, per_process: int = PER_PROCESS) -> None:
        self.per_user, self.per_process = per_user, per_process
        self._by_user: dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, username: str) -> Iterator[bool]:
        """Yields True with a slot held for the block, or False when none is free."""
        with self._lock:
            free = self._total < self.per_process and self._by_user.get(username, 0) < self.per_user
            if free:
                self._total += 1
                self._by_user[username] = self._by_user.get(username, 0) + 1
        try:
            yield free
        finally:
            if free:
                with self._lock:
                    self._total -= 1
                    left = self._by_user[username] - 1
                    if left:
                        self._by_user[username] = left
                    else:
                        del self._by_user[username]
