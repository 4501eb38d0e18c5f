"""Sync fixtures: accounts of every role, a live gateway over HTTP, real PouchDB clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from factories import COUNTY, TOWNSHIP_1, provision_accounts
from live import LiveServer
from pouch import PouchNode

from sync.topology import Topology


@pytest.fixture
def sync_app(make_app):  # type: ignore[no-untyped-def]
    return make_app(FENGQIAO_COUNTY=COUNTY)


@pytest.fixture
def topology(sync_app) -> Topology:  # type: ignore[no-untyped-def]
    return Topology(COUNTY, (), sync_app.config["FENGQIAO_DB_PREFIX"])


@pytest.fixture
def accounts(sync_app, couch, topology) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return provision_accounts(couch, topology)


@pytest.fixture
def live(sync_app, accounts) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with LiveServer(sync_app) as server:
        yield server


@pytest.fixture(scope="session")
def pouch() -> Iterator[PouchNode]:
    node = PouchNode()
    yield node
    node.close()


@pytest.fixture
def township_db(couch, topology):  # type: ignore[no-untyped-def]
    return couch.db(topology.township_db(TOWNSHIP_1))


@pytest.fixture
def county_db(couch, topology):  # type: ignore[no-untyped-def]
    return couch.db(topology.county_db())
