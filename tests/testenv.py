"""Names shared by test modules (conftest modules are not importable by name: several exist):
the repository's root, logging in, the one way to wait (``poll``), cluster-safe writes.
Apps, servers and database names come from ``apps``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# The repository (a test module's own depth under tests/ never matters).
ROOT = Path(__file__).resolve().parents[1]


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


def poll(check: Callable[[], T], timeout: float = 60.0, *, every: float = 0.2,
         until: Callable[[T], Any] = bool, ignore: tuple[type[BaseException], ...] = (),
         what: str = "the condition") -> T:
    """Call ``check()`` every ``every`` seconds until ``until`` accepts its value (by default:
    any truthy value) and return that value. The one way tests wait: replication, feeds,
    followers and subprocesses take their time, and every wait is bounded.

    An exception of a type in ``ignore`` counts as "not yet". After ``timeout`` seconds it
    fails: with the last exception of those types if the last call raised one (so an
    ``assert`` inside ``check``, with ``ignore=(AssertionError,)``, keeps pytest's detailed
    message), otherwise with an AssertionError naming ``what`` and the last value read.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except ignore:
            if time.monotonic() > deadline:
                raise
        else:
            if until(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:g} s; last value: {value!r:.1500}")
        time.sleep(every)


def every_copy(db: Any) -> int:
    """A ``w`` that makes a write answer only once every copy holds it: ``cluster.n`` of
    the database info on Apache CouchDB (pouchdb-server keeps one copy and ignores ``w``).

    Why: a cluster answers a write at quorum (2 of 3 copies), while ``_changes``, views,
    ``_find`` and ``_all_docs`` read one copy per shard, possibly the third. A test that must
    read its own write at once through those writes everywhere first.
    """
    return int(db.info().get("cluster", {}).get("n", 1))
