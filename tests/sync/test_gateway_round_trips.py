"""How many CouchDB requests a tablet's sync session costs (issue 16), counted by the
gateway's own CouchDB client — never timed. Each saving below keeps its check: the
refusal and scope tests in tests/sync, tests/hostile and tests/security still hold."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from typing import Any

import factories as f
import pytest

HEADERS = {"Authorization": "Basic " + base64.b64encode(f"alice:{f.PASSWORD}".encode()).decode()}
BASE = "/sync/alice"


def _pouch_rev(doc: dict[str, Any]) -> dict[str, Any]:
    digest = uuid.uuid4().hex
    return {**doc, "_rev": f"1-{digest}", "_revisions": {"start": 1, "ids": [digest]}}


class Session:
    """PouchDB 9's requests for one pull and one push, through the Flask test client,
    recording the CouchDB requests each gateway request made."""

    def __init__(self, app: Any) -> None:
        self.http = app.test_client()
        self.couch = app.extensions["sync_gateway"].client
        self.made: list[tuple[str, Counter[str]]] = []

    def call(self, name: str, method: str, path: str, **kw: Any) -> Any:
        before = Counter(self.couch.request_counts())
        answer = self.http.open(BASE + path, method=method, headers=HEADERS, **kw)
        assert answer.status_code < 500, answer.data
        self.made.append((name, Counter(self.couch.request_counts()) - before))
        return answer

    def run(self, pushed: list[dict[str, Any]]) -> None:
        self.call("GET db", "GET", "/")
        found = self.call("GET _local", "GET", "/_local/pull")
        checkpoint = found.get_json() if found.status_code == 200 else {}
        since: Any = checkpoint.get("last_seq", 0)
        while True:
            page = self.call("_changes", "GET", f"/_changes?style=all_docs&since={since}&limit=100").get_json()
            if page["results"]:
                wanted = [{"id": r["id"], "rev": c["rev"]} for r in page["results"] for c in r["changes"]]
                got = self.call("_bulk_get", "POST", "/_bulk_get?revs=true&latest=true", json={"docs": wanted})
                assert all("ok" in d for r in got.get_json()["results"] for d in r["docs"])
            since = page["last_seq"]
            if len(page["results"]) < 100:
                break
        body = {"last_seq": since, "session_id": uuid.uuid4().hex}
        if checkpoint:
            body["_rev"] = checkpoint["_rev"]
        assert self.call("PUT _local", "PUT", "/_local/pull", json=body).status_code == 201
        docs = [_pouch_rev(d) for d in pushed]
        diff = self.call("_revs_diff", "POST", "/_revs_diff", json={d["_id"]: [d["_rev"]] for d in docs})
        assert set(diff.get_json()) == {d["_id"] for d in docs}
        written = self.call("_bulk_docs", "POST", "/_bulk_docs", json={"docs": docs, "new_edits": False})
        assert not [r for r in written.get_json() if r.get("error")]

    def requests(self, name: str | None = None) -> int:
        return sum(sum(c.values()) for n, c in self.made if name in (None, n))


@pytest.fixture
def warm(sync_app, accounts, township_db):  # type: ignore[no-untyped-def]
    """Alice's township with two of her cases and a case of bob's; one session already run."""
    for reporter, grid in (("alice", f.GRID_A), ("alice", f.GRID_A), ("bob", f.GRID_B)):
        case = f.case(grid, reporter)
        township_db.bulk_docs([case, f.event(case, reporter)])
    session = Session(sync_app)
    session.run([])
    session.couch.is_apache_couchdb()  # asked once per process (GET /), not per session
    return sync_app


def _reads_by_id(made: Counter[str]) -> int:
    """Reads of documents by id (``Database.held_rows``: _bulk_get on Apache CouchDB,
    _all_docs by keys on pouchdb-server)."""
    return made["POST _all_docs"] + made["POST _bulk_get"]


def _new_case_with_events(n: int) -> list[dict[str, Any]]:
    case = f.case(f.GRID_A, "alice")
    return [case, *(f.event(case, "alice", at=f"2026-11-20T10:{i:02d}:00+08:00") for i in range(n))]


def test_a_warm_session_costs_one_couchdb_request_per_step(warm, township_db) -> None:  # type: ignore[no-untyped-def]
    stored = township_db.all_docs(include_docs=True)["rows"]
    case = next(r["doc"] for r in stored if r["id"].startswith("case:") and r["doc"]["reported_by"] == "alice")
    township_db.bulk_docs([f.event(case, "mia", at="2026-11-21T09:00:00+08:00")])  # the mediator, since
    session = Session(warm)
    session.run(_new_case_with_events(4))
    per_step = {name: sum(c.values()) for name, c in session.made}
    assert per_step.pop("GET db") <= 1  # `GET /db` is kept a second (PouchDB asks it per batch)
    # _changes: the page, and the index reading what another writer added (feed + bodies);
    # _bulk_get: no _revs_diff for revisions the feed listed; PUT _local: no second read of
    # the checkpoint; _revs_diff: the township and the county by id, side by side (no index
    # refresh for new ids, no CouchDB _revs_diff when the township holds none of them) …
    assert per_step == {"GET _local": 1, "_changes": 3, "_bulk_get": 1, "PUT _local": 1,
                        "_revs_diff": 2, "_bulk_docs": 1}
    by_id = "POST _revs_diff" if session.couch.is_apache_couchdb() else "POST _all_docs"  # Database.holding
    assert dict(session.made[-2][1]) == {by_id: 2}
    # … so the push that follows only writes: the ids were found in neither database a
    # moment ago. Never the township's feed, which grows with every other writer's documents.
    assert dict(session.made[-1][1]) == {"POST _bulk_docs": 1}


def test_a_push_without_its_revs_diff_reads_what_it_decides_on(warm) -> None:  # type: ignore[no-untyped-def]
    # The hint is per process, per user and used once: a repeated push (its answer lost),
    # or one whose _revs_diff another process served, reads the township and the county.
    session = Session(warm)
    docs = [_pouch_rev(d) for d in _new_case_with_events(2)]
    session.call("_revs_diff", "POST", "/_revs_diff", json={d["_id"]: [d["_rev"]] for d in docs})
    for _ in range(2):
        written = session.call("_bulk_docs", "POST", "/_bulk_docs", json={"docs": docs, "new_edits": False})
        assert not [r for r in written.get_json() if r.get("error")]
    first, again = session.made[-2][1], session.made[-1][1]
    assert dict(first) == {"POST _bulk_docs": 1}
    # again: the township by id (each document now holds its revision), the county, the write
    assert (_reads_by_id(again), again["POST _bulk_docs"]) == (2, 1)


def test_a_pushed_event_is_judged_on_its_stored_case_read_in_one_request(warm, township_db) -> None:  # type: ignore[no-untyped-def]
    case = f.case(f.GRID_A, "alice")
    township_db.bulk_docs([case, f.event(case, "mia", kind="accepted", at="2026-11-20T11:00:00+08:00")])
    session = Session(warm)
    again = _pouch_rev(f.event(case, "alice", kind="accepted", at="2026-11-21T10:00:00+08:00"))
    written = session.call("_bulk_docs", "POST", "/_bulk_docs", json={"docs": [again], "new_edits": False})
    [refused] = written.get_json()
    assert refused["error"] == "forbidden" and "accepted" in refused["reason"]
    # the pushed id and the case by id, the case's stored events as one range (the
    # mediator's, written by another writer, included), the county (is the new id taken
    # elsewhere?); no feed, no read per event. (The refusal's audit record makes requests
    # of its own, one of them a GET _all_docs: the chain's tail.)
    made = session.made[-1][1]
    assert (made["GET _changes"], _reads_by_id(made), made["GET _all_docs"], made["GET doc"],
            made["POST _bulk_docs"]) == (0, 2, 1 + 1, 0, 0)


def test_latest_true_for_a_revision_the_feed_never_listed_is_asked_first(warm) -> None:  # type: ignore[no-untyped-def]
    session = Session(warm)
    missing = [{"id": "case:" + str(uuid.uuid4()), "rev": "1-" + "a" * 32}]
    got = session.call("_bulk_get", "POST", "/_bulk_get?revs=true&latest=true", json={"docs": missing})
    assert got.get_json()["results"][0]["docs"][0]["error"]["error"] == "not_found"
