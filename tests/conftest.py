"""Shared fixtures: one CouchDB per test run, a fresh database per test.

With ``COUCHDB_URL`` set the suite runs against that server (Apache CouchDB 3.x, with
admin credentials); otherwise one embedded pouchdb-server is started on a random port in
a temporary directory. Every database a test creates carries this run's random prefix
and is deleted afterwards, even when the test fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from testenv import RUN_PREFIX

from sync.couch import CouchClient, Database
from sync.embedded import EmbeddedCouch


@pytest.fixture(scope="session")
def couch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("COUCHDB_URL")
    if external:
        yield external
        with CouchClient(external) as client:
            for name in client.all_dbs():
                if name.startswith(RUN_PREFIX):
                    client.delete_db(name)
        return
    server = EmbeddedCouch(tmp_path_factory.mktemp("couch-home"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def couch(couch_url: str) -> Iterator[CouchClient]:
    with CouchClient(couch_url) as client:
        yield client


@pytest.fixture
def db_prefix() -> str:
    """A prefix unique to one test, under the run's prefix."""
    return f"{RUN_PREFIX}{uuid.uuid4().hex[:6]}_"


@pytest.fixture
def db(couch: CouchClient, db_prefix: str) -> Iterator[Database]:
    """A fresh, empty database, deleted after the test."""
    database = couch.create_db(f"{db_prefix}db")
    try:
        yield database
    finally:
        database.delete()


@pytest.fixture
def cleanup_prefix(couch: CouchClient, db_prefix: str) -> Iterator[str]:
    """Deletes every database named with ``db_prefix`` after the test."""
    yield db_prefix
    replicator = couch.db("_replicator")
    if replicator.exists():
        rows = replicator.all_docs(startkey=db_prefix, endkey=db_prefix + "\ufff0")["rows"]
        for row in rows:
            replicator.delete_doc(row["id"], row["value"]["rev"])
    for name in couch.all_dbs():
        if name.startswith(db_prefix):
            couch.delete_db(name)


@pytest.fixture
def make_app(couch_url: str, cleanup_prefix: str, tmp_path: Path) -> Callable[..., Any]:
    """Factory: an app on the test CouchDB; keyword arguments override settings."""
    from server.app import create_app

    def factory(**overrides: Any):  # type: ignore[no-untyped-def]
        config = {
            "COUCHDB_URL": couch_url,
            "FENGQIAO_DB_PREFIX": cleanup_prefix,
            "FENGQIAO_HOME": str(tmp_path / "home"),
            "FENGQIAO_SECRET_KEY": "test-secret",
            **overrides,
        }
        app = create_app(config)
        app.testing = True
        return app

    return factory


@pytest.fixture
def app(make_app: Callable[..., Any]):  # type: ignore[no-untyped-def]
    return make_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


# -- browsers (tests/browser, tests/browser_dashboard) ------------------------------------------

CHROMIUM = os.environ.get("FENGQIAO_CHROMIUM", "/usr/bin/chromium")
# Background networking off: this machine's closed network refuses Chromium's own calls.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run (Playwright's sync API allows one)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not installed: run `make test` as root (it installs Debian's "
                    "chromium) or `apt-get install chromium fonts-noto-cjk`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/``, not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
