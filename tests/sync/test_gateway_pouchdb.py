"""The sync gateway with real PouchDB tablets (pouchdb-node 9, memory adapter)."""

from __future__ import annotations

import factories as f
import httpx
from testenv import poll


def tablet(pouch, live, username):
    return pouch.device(live.url, username, f.PASSWORD)



def test_offline_cases_and_events_pushed_then_pulled_by_the_township(pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.put(f.event(case, "alice"))
    result = alice.push()
    assert result["docs_written"] == 2 and result["doc_write_failures"] == 0
    stored = township_db.get(case["_id"])
    assert stored["description"] == case["description"]


def test_first_sync_brings_own_scope_only(pouch, live, township_db):
    mine = f.case(f.GRID_A, "alice")
    theirs = f.case(f.GRID_B, "bob")
    township_db.bulk_docs([mine, theirs, f.event(theirs, "bob")])
    alice = tablet(pouch, live, "alice")
    alice.pull()
    ids = alice.ids()
    assert mine["_id"] in ids
    assert theirs["_id"] not in ids
    assert not any(i.startswith(f"event:{theirs['_id'][5:]}") for i in ids)
    assert "user:alice" in ids and "user:bob" not in ids


def test_edits_pushed_by_a_tablet_are_stored(pouch, live, township_db):
    """Regression: pouchdb-server 4.2.0 silently drops new_edits=false edits when a
    validate_doc_update exists; the databases must not have one."""
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.push()
    doc = alice.get(case["_id"])
    doc["description"] = "补充：已约双方周五面谈"
    alice.put(doc)
    alice.push()
    assert township_db.get(case["_id"])["description"] == "补充：已约双方周五面谈"


def test_updates_made_at_the_township_reach_the_tablet(pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.push()
    township_db.save(f.event(case, "mia", kind="accepted", at="2026-11-21T09:00:00+08:00"))
    alice.pull()
    assert any(i.startswith("event:") for i in alice.ids())


def test_forbidden_documents_are_reported_per_document_and_the_rest_stored(pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    good = f.case(f.GRID_A, "alice")
    other_grid = f.case(f.GRID_B, "alice")
    forged = f.case(f.GRID_A, "bob")
    invalid = f.case(f.GRID_A, "alice", category="no-such-category")
    alice.bulk([good, other_grid, forged, invalid])
    result = alice.push()
    assert result["docs_written"] == 1
    assert result["doc_write_failures"] == 3
    reasons = {d["id"]: d["reason"] for d in result["denied"]}
    assert set(reasons) == {other_grid["_id"], forged["_id"], invalid["_id"]}
    assert "不在您的负责范围" in reasons[other_grid["_id"]]
    assert "reported_by" in reasons[forged["_id"]]
    assert "category" in reasons[invalid["_id"]]
    assert township_db.get_or_none(good["_id"]) is not None
    for doc in (other_grid, forged, invalid):
        assert township_db.get_or_none(doc["_id"]) is None


def test_events_are_never_edited_once_written(pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")
    note = f.event(case, "alice")
    alice.bulk([case, note])
    alice.push()
    stored = alice.get(note["_id"])
    stored["text"] = "改写过的记录"
    alice.put(stored)
    result = alice.push()
    assert [d["id"] for d in result["denied"]] == [note["_id"]]
    assert "事件一经记录不能修改" in result["denied"][0]["reason"]
    assert township_db.get(note["_id"])["text"] == "已上门了解情况"


def test_two_tablets_in_different_grids_never_see_each_other_on_any_endpoint(pouch, live, township_db):
    alice, bob = tablet(pouch, live, "alice"), tablet(pouch, live, "bob")
    a_case, b_case = f.case(f.GRID_A, "alice"), f.case(f.GRID_B, "bob")
    alice.put(a_case)
    bob.put(b_case)
    alice.push()
    bob.push()
    alice.pull()
    bob.pull()
    assert b_case["_id"] not in alice.ids() and a_case["_id"] not in bob.ids()

    auth = ("alice", f.PASSWORD)
    base = f"{live.url}/sync/alice"
    with httpx.Client(auth=auth, timeout=30) as http:
        changes = http.get(f"{base}/_changes", params={"since": 0}).json()
        assert b_case["_id"] not in {r["id"] for r in changes["results"]}
        assert a_case["_id"] in {r["id"] for r in changes["results"]}

        rev = township_db.get(b_case["_id"])["_rev"]
        got = http.post(f"{base}/_bulk_get", json={"docs": [{"id": b_case["_id"], "rev": rev}]}).json()
        assert "ok" not in got["results"][0]["docs"][0]
        assert got["results"][0]["docs"][0]["error"]["error"] == "not_found"

        all_docs = http.get(f"{base}/_all_docs", params={"include_docs": "true"}).json()
        assert b_case["_id"] not in {r["id"] for r in all_docs["rows"]}
        keyed = http.post(f"{base}/_all_docs", json={"keys": [b_case["_id"]]}).json()
        assert keyed["rows"] == [{"key": b_case["_id"], "error": "not_found"}]

        assert http.get(f"{base}/{b_case['_id']}").status_code == 404
        assert http.get(f"{base}/{b_case['_id']}", params={"open_revs": "all"}).status_code == 404

        # As for any document alice does not have: every revision missing, even the one the
        # database holds (no existence oracle), and no possible_ancestors.
        diff = http.post(f"{base}/_revs_diff", json={b_case["_id"]: [rev, "2-abc"]}).json()
        assert diff == {b_case["_id"]: {"missing": [rev, "2-abc"]}}


def test_township_mediator_sees_every_grid_of_the_township(pouch, live, township_db):
    township_db.bulk_docs([f.case(f.GRID_A, "alice"), f.case(f.GRID_B, "bob")])
    mia = tablet(pouch, live, "mia")
    mia.pull()
    assert sum(1 for i in mia.ids() if i.startswith("case:")) == 2


STRANGERS = [(None, None, 401), ("alice", "wrong-password1", 401), ("nobody", f.PASSWORD, 401),
             ("bob", f.PASSWORD, 403), ("root", f.PASSWORD, 403)]
ENDPOINTS = [("GET", "/", None), ("GET", "/_changes?since=0", None), ("POST", "/_bulk_get", {"docs": []}),
             ("GET", "/_all_docs", None), ("POST", "/_revs_diff", {}), ("POST", "/_bulk_docs", {"docs": []}),
             ("GET", "/_local/x", None), ("PUT", "/_local/x", {}), ("GET", "/case:x", None),
             ("PUT", "/case:x", {}), ("GET", "/_design/fengqiao", None)]


def test_every_endpoint_refuses_strangers(live):
    """No credentials, wrong ones, an unknown user: 401. Another user, or an admin: 403.
    (Login delays are forgotten between requests here: they have their own tests in
    test_gateway_integrity.py.)"""
    from sync.logins import LoginGuard

    gateway = live.server.app.extensions["sync_gateway"]
    wrong = []
    with httpx.Client(timeout=30) as http:
        for who, password, status in STRANGERS:
            auth = (who, password) if who else None
            owner = "root" if who == "root" else "alice"
            for method, path, body in ENDPOINTS:
                gateway.logins = LoginGuard(gateway.users, gateway.auth)
                response = http.request(method, f"{live.url}/sync/{owner}{path}", json=body, auth=auth)
                payload = response.json()
                if response.status_code != status or payload.get("error") not in ("unauthorized", "forbidden") \
                        or " / " not in payload.get("reason", ""):
                    wrong.append((who, method, path, response.status_code, payload))
    assert wrong == []


def test_design_documents_and_foreign_local_ids_cannot_be_pushed(live, township_db):
    auth = ("alice", f.PASSWORD)
    base = f"{live.url}/sync/alice"
    design = {"_id": "_design/evil", "views": {}}
    answer = httpx.post(f"{base}/_bulk_docs", json={"docs": [design]}, auth=auth).json()
    assert answer[0]["error"] == "forbidden"
    assert township_db.get_or_none("_design/evil") is None
    # _local ids are kept per user: alice's checkpoint never touches bob's.
    httpx.put(f"{base}/_local/cp", json={"last_seq": 5}, auth=auth).raise_for_status()
    bob = httpx.get(f"{live.url}/sync/bob/_local/cp", auth=("bob", f.PASSWORD))
    assert bob.status_code == 404
    assert httpx.get(f"{base}/_local/cp", auth=auth).json()["last_seq"] == 5


def test_malformed_bodies_get_400_not_500(live):
    auth = ("alice", f.PASSWORD)
    base = f"{live.url}/sync/alice"
    for path in ("/_bulk_docs", "/_bulk_get", "/_revs_diff", "/_all_docs"):
        response = httpx.post(f"{base}{path}", content=b"{not json", auth=auth,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "bad_request"
    assert httpx.post(f"{base}/_bulk_docs", json={"docs": "x"}, auth=auth).status_code == 400
    assert httpx.get(f"{base}/_changes", params={"limit": "abc"}, auth=auth).status_code == 400


def test_a_case_from_a_tablet_arrives_in_the_county_database(pouch, live, county_db):
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.push()
    poll(lambda: county_db.get_or_none(case["_id"]) is not None, timeout=60)


def test_changed_grids_bring_new_documents_and_a_fresh_pull(pouch, live, couch, topology, township_db):
    from sync.users import UserStore, provision

    b_case = f.case(f.GRID_B, "bob")
    township_db.save(b_case)
    alice = tablet(pouch, live, "alice")
    alice.pull()
    assert b_case["_id"] not in alice.ids()
    store = UserStore(couch, topology.prefix, f.COUNTY)
    provision(couch, topology, store, "alice", "grid_worker", [f.GRID_A, f.GRID_B], f.PASSWORD, replace=True)
    live.server.app.extensions["sync_gateway"].auth.forget("alice")
    alice.pull()  # the old checkpoint belongs to the old scope: a fresh pull
    assert b_case["_id"] in alice.ids()


def test_documents_that_left_the_scope_leave_the_device(pouch, live, couch, topology, township_db):
    """The client procedure the tablet app follows: compare the scope fingerprint, push,
    discard the local copy, pull afresh."""
    from sync.users import UserStore, provision

    auth = ("alice", f.PASSWORD)
    a_case = f.case(f.GRID_A, "alice")
    township_db.save(a_case)
    alice = tablet(pouch, live, "alice")
    alice.pull()
    before = httpx.get(f"{live.url}/sync/alice/_scope", auth=auth).json()
    assert before["area_codes"] == [f.GRID_A]
    pending = f.case(f.GRID_A, "alice")
    alice.put(pending)  # made offline, not yet pushed

    store = UserStore(couch, topology.prefix, f.COUNTY)
    provision(couch, topology, store, "alice", "grid_worker", [f.GRID_B], f.PASSWORD, replace=True)
    gateway = live.server.app.extensions["sync_gateway"]
    gateway.auth.forget("alice")
    after = httpx.get(f"{live.url}/sync/alice/_scope", auth=auth).json()
    assert after["fingerprint"] != before["fingerprint"]

    # Push what is pending first (the app pushes the records not yet synced: a synced one
    # that left the scope is unknown to the new scope, like any record of another grid):
    # the new scope no longer covers GRID_A, so the pending case is refused with a reason
    # the app shows — nothing disappears without a word.
    pushed = alice.push(doc_ids=[pending["_id"]])
    assert [d["id"] for d in pushed["denied"]] == [pending["_id"]]
    alice.destroy()
    alice.pull()
    assert a_case["_id"] not in alice.ids()
    assert "user:alice" in alice.ids()
