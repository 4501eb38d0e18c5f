"""Events per key in a sliding window (one process): public tracking-code lookups."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateWindow:
    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, limit: int | None = None, window: float | None = None) -> int:
        """0 while ``key`` has budget left, else seconds until it has again."""
        limit = self.limit if limit is None else limit
        window = self.window if window is None else window
        t = time.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            while hits and hits[0] <= t - window:
                hits.popleft()
            if not hits:
                self._hits.pop(key, None)
                return 0
            if len(hits) < limit:
                return 0
            return max(1, math.ceil(hits[-limit] + window - t))

    def hit(self, key: str) -> None:
        with self._lock:
            if len(self._hits) > 100_000:  # bounded memory under a spray of addresses
                self._hits.clear()
            self._hits.setdefault(key, deque()).append(time.monotonic())
