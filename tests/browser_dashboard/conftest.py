"""Dashboard browser fixtures: a small demo county served over HTTP, and Debian's chromium.

The county is ``fengqiao demo``'s own loader at a small size (2 townships, 12 grids, 120
cases, 60 risks), so the page shows real boundaries, accounts of every role and figures the
read model computed. The read model follows the county database in its thread (the default,
``lazy``); the fixture waits until every demo case has arrived and the read model's
checkpoint has stopped moving, so the page and the test read the same figures.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import LiveServer
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"townships": 2, "villages": 4, "grids": 12}
CASES = 120


@pytest.fixture(scope="session")
def demo(couch, couch_url, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from server.app import create_app
    from server.demo import DEMO_PASSWORD, prepare_demo
    from sync.topology import remove_replications

    prefix = f"fqtest{uuid.uuid4().hex[:6]}_dash_"
    app = create_app({
        "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix,
        "FENGQIAO_HOME": str(tmp_path_factory.mktemp("dash-home")),
        "FENGQIAO_SECRET_KEY": "test-secret",
        "FENGQIAO_COUNTY": "339901", "FENGQIAO_STATS_FOLLOW": "lazy",
    })
    app.testing = True
    loaded = prepare_demo(dict(app.config), Console(quiet=True), sizes=SMALL, cases=CASES)
    accounts = {name: (role, codes) for name, role, codes, _ in loaded["accounts"]}
    try:
        with LiveServer(app) as live:
            _wait_for_replication(live.url, DEMO_PASSWORD)
            yield {"url": live.url, "password": DEMO_PASSWORD, "accounts": accounts,
                   "topology": loaded["topology"]}
    finally:
        if "readmodel" in app.extensions:
            app.extensions["readmodel"].shutdown()
        remove_replications(couch, loaded["topology"])
        for name in couch.all_dbs():
            if name.startswith(prefix):
                couch.delete_db(name)


def _wait_for_replication(url: str, password: str, timeout: float = 60) -> None:
    """Until the read model holds every demo case and its checkpoint stands still."""
    query = "/api/stats?from=2000-01-01&breakdown=false&trend=false"
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/api/auth/login", json={"username": "county", "password": password})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        still = 0
        while time.monotonic() < deadline:
            r = client.get(query)
            # Before the first batch the read model is empty (and /api/stats may fail then).
            body = r.json() if r.status_code == 200 else {"cases": -1, "read_model": {}}
            still = still + 1 if body["cases"] >= CASES and body["read_model"] == last else 0
            if still >= 3:
                return
            last = body["read_model"] if body["cases"] >= CASES else {}
            time.sleep(0.5)
    raise AssertionError(f"the demo cases did not all reach the read model: {last}")


