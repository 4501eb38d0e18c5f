"""Names shared by test modules (conftest modules are not importable by name: several exist)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

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


def signed_in_clients(app: Any, password: str) -> Callable[[str | None], Any]:
    """``get(name)``: a test client of ``app`` logged in as ``name`` through
    ``/api/auth/login`` (``None``: anonymous), one per user, reused (logins are slow)."""
    clients: dict[str | None, Any] = {}

    def get(name: str | None) -> Any:
        if name not in clients:
            client = app.test_client()
            if name is not None:
                r = login(client, name, password)
                assert r.status_code == 200, r.get_json()
            clients[name] = client
        return clients[name]

    return get


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is truthy (True) or ``timeout`` seconds pass (False):
    replication and feeds take their time; a test bounds every wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def poll(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.2) -> Any:
    """The first truthy value of ``check()``; AssertionError after ``timeout`` seconds
    (replication takes seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(every)


def every_copy(db: Any) -> int:
    """A ``w`` that makes a write answer only once every copy holds it: ``cluster.n`` of
    the database info on Apache CouchDB (pouchdb-server keeps one copy and ignores ``w``).

    Why: a cluster answers a write at quorum (2 of 3 copies), while ``_changes``, views,
    ``_find`` and ``_all_docs`` read one copy per shard, possibly the third. A test that must
    read its own write at once through those writes everywhere first.
    """
    return int(db.info().get("cluster", {}).get("n", 1))


def eventually(read: Callable[[], T], accept: Callable[[T], bool], timeout: float = 30.0) -> T:
    """The first value of ``read()`` that ``accept`` takes, or the last one read when
    ``timeout`` seconds pass (the caller asserts on it, so a failure shows the value).

    For what a CouchDB cluster makes visible eventually and offers no quorum for, such as
    ``_security`` right after it was set (read from one shard copy).
    """
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value
