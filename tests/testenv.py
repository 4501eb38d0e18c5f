"""Names shared by test modules (conftest modules are not importable by name: several exist)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

# Every database a test run creates starts with this, and is deleted at the end.
RUN_PREFIX = f"fqtest{uuid.uuid4().hex[:6]}_"


def login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    """Log a Flask test client in through ``/api/auth/login`` and send the session's CSRF
    token with every later request, as the dashboard's pages do. Returns the answer."""
    answer = client.post("/api/auth/login", json={"username": username, "password": password})
    csrf = client.get_cookie("fq_csrf")
    if csrf is not None:
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf.value
    return answer


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is truthy (True) or ``timeout`` seconds pass (False):
    replication and feeds take their time; a test bounds every wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
