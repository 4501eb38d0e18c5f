"""One live server for the whole hostile-input corpus: an app on its own databases, an
account of every role, and documents of other users to attack."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import factories as f
import pytest
from live import LiveServer

from sync.topology import Topology, remove_replications
from sync.users import UserStore, provision

ACCOUNTS = {
    "alice": ("grid_worker", [f.GRID_A]),
    "bob": ("grid_worker", [f.GRID_B]),
    "carol": ("grid_worker", [f.GRID_C]),
    "eve": ("grid_worker", [f.GRID_A]),   # only for wrong-password cases (lockout)
    "mia": ("township_mediator", [f.TOWNSHIP_1]),
    "root": ("admin", [f.COUNTY]),
}


class Hostile:
    """What the corpus needs: the server URL, the databases, the victims' documents, and
    the sequence of every database before the first case ran."""

    def __init__(self, url: str, dbs: dict[str, Any], docs: dict[str, dict[str, Any]]) -> None:
        self.url, self.dbs, self.docs = url, dbs, docs
        self.before = {name: db.info()["update_seq"] for name, db in dbs.items()}
        self.sent_ids: dict[str, str] = {}   # document id sent → case name


@pytest.fixture(scope="session")
def hostile(couch, couch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:  # type: ignore[no-untyped-def]
    from server.app import create_app

    prefix = f"fqtesthostile{uuid.uuid4().hex[:6]}_"
    app = create_app({"COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix,
                      "FENGQIAO_HOME": str(Path(tmp_path_factory.mktemp("hostile-home"))),
                      "FENGQIAO_SECRET_KEY": "test-secret",
                      "FENGQIAO_COUNTY": f.COUNTY, "FENGQIAO_LOG_LEVEL": "ERROR"})
    topology = Topology(f.COUNTY, (f.TOWNSHIP_1, f.TOWNSHIP_2), prefix)
    store = UserStore(couch, prefix, f.COUNTY)
    for name, (role, codes) in ACCOUNTS.items():
        provision(couch, topology, store, name, role, codes, f.PASSWORD)
    tw1, tw2 = couch.db(topology.township_db(f.TOWNSHIP_1)), couch.db(topology.township_db(f.TOWNSHIP_2))
    county = couch.db(topology.county_db())
    bob_case = f.case(f.GRID_B, "bob", description="BOBSECRET 鲍勃的案件")
    bob_event = f.event(bob_case, "bob", text="BOBSECRET 事件")
    carol_case = f.case(f.GRID_C, "carol", description="BOBSECRET 卡罗尔的案件")
    alice_case = f.case(f.GRID_A, "alice")
    alice_event = f.event(alice_case, "alice")
    for db, docs in ((tw1, [bob_case, bob_event, alice_case, alice_event]), (tw2, [carol_case])):
        for doc, result in zip(docs, db.bulk_docs(docs), strict=True):
            doc["_rev"] = result["rev"]
    # The seed flows up into the county first, so the corpus starts from still databases.
    deadline = time.monotonic() + 60
    want = [bob_case, bob_event, carol_case, alice_case, alice_event]
    while any(county.get_or_none(d["_id"]) is None for d in want):
        assert time.monotonic() < deadline, "seed documents did not reach the county database"
        time.sleep(0.2)
    try:
        with LiveServer(app) as server:
            yield Hostile(server.url, {"tw1": tw1, "tw2": tw2, "county": county},
                          {"bob_case": bob_case, "bob_event": bob_event, "carol_case": carol_case,
                           "alice_case": alice_case, "alice_event": alice_event})
    finally:
        remove_replications(couch, topology)
        for name in couch.all_dbs():
            if name.startswith(prefix):
                couch.delete_db(name)
