"""API fixtures: an app with accounts of every role, a logged-in test client per user."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from factories import COUNTY, GRID_A, GRID_B, GRID_C, PASSWORD, TOWNSHIP_1, TOWNSHIP_2

from sync.topology import Topology
from sync.users import UserStore, provision

ACCOUNTS = {
    "alice": ("grid_worker", [GRID_A]),
    "bob": ("grid_worker", [GRID_B]),
    "carol": ("grid_worker", [GRID_C]),
    "mia": ("township_mediator", [TOWNSHIP_1]),
    "noah": ("township_mediator", [TOWNSHIP_2]),
    "rex": ("county_reviewer", [COUNTY]),
    "root": ("admin", [COUNTY]),
}


@pytest.fixture
def api_app(make_app):  # type: ignore[no-untyped-def]
    return make_app(FENGQIAO_AUTH_FAIL_DELAY=0, FENGQIAO_COUNTY=COUNTY)


@pytest.fixture
def topology(api_app) -> Topology:  # type: ignore[no-untyped-def]
    return Topology(COUNTY, (), api_app.config["FENGQIAO_DB_PREFIX"])


@pytest.fixture
def accounts(api_app, couch, topology) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    store = UserStore(couch, topology.prefix, COUNTY)
    return {name: provision(couch, topology, store, name, role, codes, PASSWORD)
            for name, (role, codes) in ACCOUNTS.items()}


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def as_user(api_app, accounts):  # type: ignore[no-untyped-def]
    """``as_user(name)``: a test client logged in through ``/api/auth/login``
    (``None``: anonymous)."""
    clients: dict[str | None, Any] = {}

    def get(name: str | None):  # type: ignore[no-untyped-def]
        if name not in clients:
            client = api_app.test_client()
            if name is not None:
                r = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
                assert r.status_code == 200, r.get_json()
            clients[name] = client
        return clients[name]

    return get
