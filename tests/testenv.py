"""Names shared by test modules (conftest modules are not importable by name: several exist)."""

from __future__ import annotations

import uuid

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
