"""The server's one clock: ``now()``.

Sessions, the audit log and every event recorded through the API take their time from
here, so a test can move time for all of them at once by giving ``create_app`` a
``FENGQIAO_CLOCK`` (declared in ``server.config``; a function returning an aware
datetime). There were three copies of this function, each reading that setting itself;
one of them could have been missed by a test that meant to move all three.

Outside an application context (a CLI command, the notification worker) it is the
system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """The current time, timezone-aware (UTC unless ``FENGQIAO_CLOCK`` says otherwise)."""
    clock = current_app.config.get("FENGQIAO_CLOCK") if has_app_context() else None
    return clock() if clock else datetime.now(UTC)
