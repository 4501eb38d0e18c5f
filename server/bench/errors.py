"""The benchmarks' errors, in the server's family (drawn in ``server/errors.py``)::

    BenchError          a benchmark could not run: Node or the driver missing (config),
    │                   the gateway did not start (unavailable), seeding or a replication
    │                   failed                                                      failed
    ├── PouchFailed     the PouchDB driver answered a command with an error (``error``:
    │                   PouchDB's own, as a dict)                                   failed
    └── SessionFailed   one simulated sync session of ``bench load`` failed (``detail``);
                        counted as an error of the run, not raised to the user      failed
"""

from __future__ import annotations

import json
from typing import Any

from server.errors import ServerError


class BenchError(ServerError):
    """A benchmark could not run (driver missing, server did not start, …)."""


class PouchFailed(BenchError):
    """PouchDB answered a command with an error; ``error`` is that error (name, status, …)."""

    def __init__(self, error: dict[str, Any]) -> None:
        text = json.dumps(error, ensure_ascii=False)
        super().__init__(f"PouchDB 报错：{text}", f"PouchDB answered with an error: {text}")
        self.error = error


class SessionFailed(BenchError):
    """One simulated sync session failed; ``detail`` says at which request and how."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"同步会话失败：{detail}", f"sync session failed: {detail}")
        self.detail = detail
