"""Shared fixtures: one CouchDB per test run, fresh databases per test, a county per test.

With ``COUCHDB_URL`` set the suite runs against that server (Apache CouchDB 3.x, with
admin credentials); otherwise one embedded pouchdb-server is started on a random port in
a temporary directory. Every database a test creates is named under this run's prefix
(``apps.RUN_PREFIX``) and deleted afterwards, even when the test fails; on an external
server the session ends by deleting whatever is still named with the run's prefix.

Apps, sites and the live server are built by ``tests/apps.py``; tests/README.md has the map.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps import RUN_PREFIX, AppFactory, LiveServer, Site, drop_prefix, new_prefix
from factories import TOWNSHIP_1
from testenv import ROOT

from sync.couch import CouchClient, Database
from sync.embedded import EmbeddedCouch


@pytest.fixture(scope="session")
def couch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("COUCHDB_URL")
    if external:
        yield external
        with CouchClient(external) as client:
            drop_prefix(client, RUN_PREFIX)
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


# -- per test: a prefix, a database, apps on the prefix -----------------------------------------

@pytest.fixture
def db_prefix() -> str:
    """A prefix unique to one test, under the run's prefix."""
    return new_prefix()


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
    """``db_prefix``, whose databases and ``_replicator`` documents are deleted after the test."""
    yield db_prefix
    drop_prefix(couch, db_prefix)


@pytest.fixture
def make_app(couch_url: str, cleanup_prefix: str, tmp_path: Path) -> Iterator[AppFactory]:
    """``make_app(variant="default", **settings)``: an app on this test's prefix
    (variants: ``apps.VARIANTS``)."""
    factory = AppFactory(couch_url, cleanup_prefix, tmp_path / "home")
    yield factory
    factory.close()


@pytest.fixture
def app(make_app: AppFactory):  # type: ignore[no-untyped-def]
    return make_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots and generated files go to be looked at (``test-artifacts/``, not
    committed)."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


# -- a county: per test here, per session under tests/server/ (its conftest) ------------------

@pytest.fixture
def site(couch: CouchClient, make_app: AppFactory) -> Site:
    """The county this test runs in, on its prefix (townships get databases as accounts
    need them)."""
    return Site(couch, make_app, townships=())


@pytest.fixture
def topology(site: Site):  # type: ignore[no-untyped-def]
    return site.topology


@pytest.fixture
def accounts(site: Site) -> dict[str, Any]:
    """Every account of ``factories.ACCOUNTS``, with its databases and replications."""
    return site.provision()


@pytest.fixture
def sync_app(site: Site):  # type: ignore[no-untyped-def]
    """The county's app (gateway, API, pages) with the product's defaults."""
    return site.app()


@pytest.fixture
def live(sync_app, accounts) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """``sync_app`` over HTTP (for PouchDB, browsers, httpx), the accounts provisioned."""
    with LiveServer(sync_app) as server:
        yield server


@pytest.fixture
def township_db(site: Site) -> Database:
    return site.township_db(TOWNSHIP_1)


@pytest.fixture
def county_db(site: Site) -> Database:
    return site.county_db()
