"""Fixtures for the registers API (risks, reviews, reminders, conflicts, tracking).

One app and accounts of every role for the whole module run (provisioning is the slow
part); the read model runs in ``off`` mode, so every list request first applies the
county feed synchronously. Tests write their own documents and check those.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import COUNTY, PASSWORD, TOWNSHIP_1, TOWNSHIP_2, provision_accounts
from testenv import signed_in_clients

from sync.couch import CouchClient, Database
from sync.topology import Topology, remove_replications


@pytest.fixture(scope="session")
def reg_prefix(couch: CouchClient) -> Iterator[str]:
    prefix = f"fqtestreg{uuid.uuid4().hex[:6]}_"
    yield prefix
    remove_replications(couch, Topology(COUNTY, (TOWNSHIP_1, TOWNSHIP_2), prefix))
    for name in couch.all_dbs():
        if name.startswith(prefix):
            couch.delete_db(name)


@pytest.fixture(scope="session")
def reg_app(couch_url: str, reg_prefix: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from server.app import create_app

    home = tmp_path_factory.mktemp("reg-home")
    app = create_app({"COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": reg_prefix,
                      "FENGQIAO_HOME": str(Path(home)), "FENGQIAO_SECRET_KEY": "test-secret",
                       "FENGQIAO_COUNTY": COUNTY,
                      "FENGQIAO_STATS_FOLLOW": "off", "FENGQIAO_TRACK_RATE_MAX": 1000})
    app.testing = True
    yield app
    from server import readmodel

    readmodel.service(app).shutdown()


@pytest.fixture(scope="session")
def topo(reg_prefix: str) -> Topology:
    return Topology(COUNTY, (TOWNSHIP_1, TOWNSHIP_2), reg_prefix)


@pytest.fixture(scope="session")
def accounts(reg_app, couch, topo) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return provision_accounts(couch, topo)


@pytest.fixture(scope="session")
def as_user(reg_app, accounts):  # type: ignore[no-untyped-def]
    """``as_user(name)``: a logged-in test client (``None``: anonymous)."""
    return signed_in_clients(reg_app, PASSWORD)


@pytest.fixture(scope="session")
def dbs(couch: CouchClient, topo: Topology, accounts: Any) -> dict[str, Database]:
    return {"county": couch.db(topo.county_db()), TOWNSHIP_1: couch.db(topo.township_db(TOWNSHIP_1)),
            TOWNSHIP_2: couch.db(topo.township_db(TOWNSHIP_2))}
