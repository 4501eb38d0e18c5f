"""API fixtures: one app and accounts of every role for the whole API test session.

Provisioning accounts (argon2, databases, replications) is the slow part, so it happens
once; every test works on cases it creates itself, and checks the database for those.
Variants of the app (e.g. a short session timeout) are built by ``api_app_with`` on the
same databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import COUNTY, PASSWORD, TOWNSHIP_1, TOWNSHIP_2, provision_accounts
from testenv import signed_in_clients

from sync.couch import CouchClient
from sync.topology import Topology, remove_replications


@pytest.fixture(scope="session")
def api_prefix(couch: CouchClient) -> Iterator[str]:
    prefix = f"fqtestapi{uuid.uuid4().hex[:6]}_"
    yield prefix
    remove_replications(couch, Topology(COUNTY, (TOWNSHIP_1, TOWNSHIP_2), prefix))
    for name in couch.all_dbs():
        if name.startswith(prefix):
            couch.delete_db(name)


@pytest.fixture(scope="session")
def api_app_with(couch_url: str, api_prefix: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("api-home")

    def factory(**overrides: Any):  # type: ignore[no-untyped-def]
        from server.app import create_app

        app = create_app({"COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": api_prefix,
                          "FENGQIAO_HOME": str(Path(home)), "FENGQIAO_SECRET_KEY": "test-secret",
                           "FENGQIAO_COUNTY": COUNTY, **overrides})
        app.testing = True
        return app

    return factory


@pytest.fixture(scope="session")
def api_app(api_app_with):  # type: ignore[no-untyped-def]
    app = api_app_with()
    yield app
    from server import readmodel

    readmodel.service(app).shutdown()  # no follower left polling a stopped CouchDB


@pytest.fixture(scope="session")
def topology(api_prefix: str) -> Topology:
    return Topology(COUNTY, (TOWNSHIP_1, TOWNSHIP_2), api_prefix)


@pytest.fixture(scope="session")
def accounts(api_app, couch, topology) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return provision_accounts(couch, topology)


@pytest.fixture(scope="session")
def as_user(api_app, accounts):  # type: ignore[no-untyped-def]
    """``as_user(name)``: a test client logged in through ``/api/auth/login``
    (``None``: anonymous). One session per user for the whole run."""
    return signed_in_clients(api_app, PASSWORD)
