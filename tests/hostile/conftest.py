"""One live server for the whole hostile-input corpus: an app on its own databases, an
account of every role, and documents of other users to attack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import factories as f
import pytest
from apps import LiveServer, Site
from testenv import poll

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
    with Site.open(couch, couch_url, tmp_path_factory.mktemp("hostile-home"), tag="hostile") as site:
        app = site.app("quiet")
        site.provision(ACCOUNTS)
        with LiveServer(app) as server:
            yield Hostile(server.url, *_seed(site))


def _seed(site: Site) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The victims' documents, written into the townships; they reach the county database
    before the corpus starts, so it starts from still databases."""
    tw1, tw2, county = site.township_db(f.TOWNSHIP_1), site.township_db(f.TOWNSHIP_2), site.county_db()
    bob_case = f.case(f.GRID_B, "bob", description="BOBSECRET 鲍勃的案件")
    bob_event = f.event(bob_case, "bob", text="BOBSECRET 事件")
    carol_case = f.case(f.GRID_C, "carol", description="BOBSECRET 卡罗尔的案件")
    alice_case = f.case(f.GRID_A, "alice")
    alice_event = f.event(alice_case, "alice")
    for db, docs in ((tw1, [bob_case, bob_event, alice_case, alice_event]), (tw2, [carol_case])):
        for doc, result in zip(docs, db.bulk_docs(docs), strict=True):
            doc["_rev"] = result["rev"]
    want = [bob_case, bob_event, carol_case, alice_case, alice_event]
    poll(lambda: all(county.get_or_none(d["_id"]) is not None for d in want), 60,
         what="the seed documents in the county database")
    return ({"tw1": tw1, "tw2": tw2, "county": county},
            {"bob_case": bob_case, "bob_event": bob_event, "carol_case": carol_case,
             "alice_case": alice_case, "alice_event": alice_event})
