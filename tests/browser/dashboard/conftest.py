"""Dashboard browser fixtures: a small demo county served over HTTP, and Debian's chromium.

The county is ``fengqiao demo``'s own loader at a small size (2 townships, 12 grids, 120
cases, 60 risks), so the page shows real boundaries, accounts of every role and figures the
read model computed. The read model follows the county database in its thread (the default,
``lazy``); the fixture waits until every demo case has arrived and the read model's
checkpoint has stopped moving, so the page and the test read the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apps import LiveServer, Site
from rich.console import Console
from testenv import poll

SMALL = {"townships": 2, "villages": 4, "grids": 12}
CASES = 120


@pytest.fixture(scope="session")
def demo(couch, couch_url, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from server.demo import DEMO_PASSWORD, prepare_demo

    with Site.open(couch, couch_url, tmp_path_factory.mktemp("dash-home"), tag="dash") as site:
        app = site.app()  # the read model follows lazily, in its thread, as in production
        loaded = prepare_demo(dict(app.config), Console(quiet=True), sizes=SMALL, cases=CASES)
        accounts = {name: (role, codes) for name, role, codes, _ in loaded["accounts"]}
        with LiveServer(app) as live:
            _wait_for_replication(live.url, DEMO_PASSWORD)
            yield {"url": live.url, "password": DEMO_PASSWORD, "accounts": accounts,
                   "topology": loaded["topology"]}


def _wait_for_replication(url: str, password: str, timeout: float = 60) -> None:
    """Until the read model holds every demo case and its checkpoint stands still."""
    query = "/api/stats?from=2000-01-01&breakdown=false&trend=false"
    seen: dict[str, Any] = {"checkpoint": {}, "still": 0}
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/api/auth/login", json={"username": "county", "password": password})
        assert r.status_code == 200, r.text

        def settled() -> bool:
            r = client.get(query)
            # Before the first batch the read model is empty (and /api/stats may fail then).
            body = r.json() if r.status_code == 200 else {"cases": -1, "read_model": {}}
            complete = body["cases"] >= CASES
            seen["still"] = seen["still"] + 1 if complete and body["read_model"] == seen["checkpoint"] else 0
            seen["checkpoint"] = body["read_model"] if complete else {}
            return seen["still"] >= 3

        poll(settled, timeout, every=0.5, what="every demo case in the read model, its checkpoint still")
