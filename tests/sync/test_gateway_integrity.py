"""Sync integrity: no request from any account can crash, wedge or starve the server, and
no township can forge or take over another's records. One test per finding of the
sync-integrity review; each runs against the embedded server and Apache CouchDB."""

from __future__ import annotations

import threading
import time

import factories as f
import httpx
import pytest
from testenv import poll

from server.audit import audit_db_name
from sync.feeds import FeedSlots
from sync.logins import LoginGuard

ALICE = ("alice", f.PASSWORD)



def basic_header(name, password):
    import base64

    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def gateway(live):
    return live.server.app.extensions["sync_gateway"]


def push(live, auth, docs, *, new_edits=True):
    body = {"docs": docs} if new_edits else {"docs": docs, "new_edits": False}
    response = httpx.post(f"{live.url}/sync/{auth[0]}/_bulk_docs", json=body, auth=auth, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def as_pushed_by_pouchdb(doc, rev_hash="f" * 32, generation=999):
    """A document as PouchDB pushes it (new_edits=false), claiming any generation."""
    return {**doc, "_rev": f"{generation}-{rev_hash}",
            "_revisions": {"start": generation, "ids": [rev_hash]}}


def audit_records(couch, topology, action):
    db = couch.db(audit_db_name(topology.prefix, f.COUNTY))
    if not db.exists():
        return []
    rows = db.all_docs(include_docs=True, startkey="audit:", endkey="audit:\ufff0")["rows"]
    return [r["doc"] for r in rows if r["doc"].get("action") == action]


@pytest.fixture
def carols_case(live, couch, topology, county_db):
    """A case of township 2, pushed by its grid worker and replicated into the county."""
    case = f.case(f.GRID_C, "carol", description="BOBSECRET 另一乡镇的纠纷")
    assert push(live, ("carol", f.PASSWORD), [case])[0].get("ok")
    poll(lambda: county_db.get_or_none(case["_id"]) is not None)
    return county_db.get(case["_id"])


# -- 2. one request must not take the server down ------------------------------------------------


def test_latest_true_with_a_revision_the_document_lacks_is_answered_and_the_server_lives(live, couch, township_db):
    case = township_db.save(f.case(f.GRID_A, "alice"))
    base = f"{live.url}/sync/alice"
    with httpx.Client(auth=ALICE, timeout=30) as http:
        got = http.post(f"{base}/_bulk_get", params={"latest": "true", "revs": "true"},
                        json={"docs": [{"id": case["_id"], "rev": "1-" + "a" * 32},
                                       {"id": case["_id"], "rev": case["_rev"]}]})
        assert got.status_code == 200, got.text
        first, second = got.json()["results"]
        assert first["docs"][0]["error"]["error"] == "not_found"
        assert second["docs"][0]["ok"]["_rev"] == case["_rev"]

        revs = f'["2-{"b" * 32}", "{case["_rev"]}"]'
        opened = http.get(f"{base}/{case['_id']}", params={"open_revs": revs, "latest": "true"})
        assert opened.status_code == 200, opened.text
        assert opened.json()[0] == {"missing": "2-" + "b" * 32}
        assert opened.json()[1]["ok"]["_id"] == case["_id"]

        for rev in ("1-" + "a" * 32, "2-" + "a" * 32):
            single = http.get(f"{base}/{case['_id']}", params={"rev": rev, "latest": "true"})
            assert single.status_code == 404, single.text
    # The database still answers, and so does every path through the app.
    assert couch.info()["version"]
    assert township_db.get(case["_id"])["_rev"] == case["_rev"]
    assert httpx.get(f"{live.url}/healthz", timeout=30).status_code == 200


BAD_ARGUMENTS = [
    ("POST", "_bulk_get", {"latest": "yes"}),
    ("POST", "_bulk_get", {"revs": "1"}),
    ("POST", "_bulk_get_11", {"attachments": "true"}),
    ("GET", "_changes", {"style": "newest"}),
    ("GET", "_changes", {"feed": "eventsource"}),
    ("GET", "_changes", {"descending": "true"}),
    ("GET", "_changes", {"limit": "-1"}),
    ("GET", "_changes", {"timeout": "1e9"}),
    ("GET", "_changes", {"heartbeat": "often"}),
    ("GET", "_changes", [("limit", "1"), ("limit", "2")]),
    ("GET", "_all_docs", {"skip": "-5"}),
    ("GET", "_all_docs", {"descending": "maybe"}),
    ("GET", "DOC", {"atts_since": '["x"]'}),
    ("GET", "DOC", {"latest": "TRUE"}),
    ("GET", "DOC", {"open_revs": '["1-xyz"]'}),
    ("PUT", "DOC", {"rev": "1-abc/../x"}),
]


def test_query_arguments_are_typed_before_anything_is_forwarded(live, township_db):
    case = township_db.save(f.case(f.GRID_A, "alice"))
    wrong = []
    for method, path, params in BAD_ARGUMENTS:
        url = f"{live.url}/sync/alice/{case['_id'] if path == 'DOC' else path[:9]}"
        body = {"docs": [{"id": case["_id"]}] * (11 if path == "_bulk_get_11" else 1)} if path.startswith("_bulk_get") \
            else ({} if method == "PUT" else None)
        response = httpx.request(method, url, params=params, json=body, auth=ALICE, timeout=30)
        if response.status_code != 400 or response.json().get("error") != "bad_request" \
                or " / " not in response.json().get("reason", ""):
            wrong.append((method, path, params, response.status_code, response.text[:200]))
    assert wrong == []


def test_arguments_a_gateway_does_not_name_are_ignored(live, township_db):
    case = township_db.save(f.case(f.GRID_A, "alice"))
    response = httpx.get(f"{live.url}/sync/alice/{case['_id']}", params={"_nonce": "123", "foo": "bar"},
                         auth=ALICE, timeout=30)
    assert response.status_code == 200 and response.json()["_id"] == case["_id"]


# -- 3, 4. one identity rule across the county ----------------------------------------------------


def test_an_event_for_another_townships_case_is_refused(live, township_db, county_db, carols_case):
    forged = f.event(carols_case, "alice", kind="closed", reply="已办结", area_code=f.GRID_A)
    for new_edits, doc in ((True, forged), (False, as_pushed_by_pouchdb(forged, generation=1))):
        [answer] = push(live, ALICE, [doc], new_edits=new_edits)
        assert answer["error"] == "forbidden", answer
        assert " / " in answer["reason"]
    assert township_db.get_or_none(forged["_id"]) is None
    assert county_db.get_or_none(forged["_id"]) is None


def test_a_risk_event_for_another_townships_risk_is_refused(live, township_db, county_db):
    risk = f.risk(f.GRID_C, "carol")
    assert push(live, ("carol", f.PASSWORD), [risk])[0].get("ok")
    poll(lambda: county_db.get_or_none(risk["_id"]) is not None)
    forged = f.risk_event(risk, "alice", area_code=f.GRID_A)
    [answer] = push(live, ALICE, [forged])
    assert answer["error"] == "forbidden", answer
    assert township_db.get_or_none(forged["_id"]) is None


def test_a_case_id_of_another_township_cannot_be_taken_over(live, township_db, county_db, carols_case):
    mine = {**f.case(f.GRID_A, "alice"), "_id": carols_case["_id"]}
    for new_edits, doc in ((False, as_pushed_by_pouchdb(mine)), (False, as_pushed_by_pouchdb(mine, generation=1)),
                           (True, mine)):
        [answer] = push(live, ALICE, [doc], new_edits=new_edits)
        assert answer["error"] == "forbidden", answer
        assert "其他区域" in answer["reason"]
    assert township_db.get_or_none(carols_case["_id"]) is None
    time.sleep(1)  # a replication that had anything to carry would have started by now
    assert county_db.get(carols_case["_id"])["_rev"] == carols_case["_rev"]
    assert county_db.get(carols_case["_id"], conflicts=True).get("_conflicts") is None


def test_a_revs_diff_first_gives_no_way_round_the_county_identity_rule(live, township_db, county_db, carols_case):
    """PouchDB asks _revs_diff before every push, and what it finds absent there the push
    does not read again: an id the county holds must never be remembered as absent."""
    mine = as_pushed_by_pouchdb({**f.case(f.GRID_A, "alice"), "_id": carols_case["_id"]}, generation=1)
    diff = httpx.post(f"{live.url}/sync/alice/_revs_diff", json={mine["_id"]: [mine["_rev"]]},
                      auth=ALICE, timeout=30)
    assert diff.json() == {mine["_id"]: {"missing": [mine["_rev"]]}}  # no oracle: as for any id
    [answer] = push(live, ALICE, [mine], new_edits=False)
    assert answer["error"] == "forbidden" and "其他区域" in answer["reason"], answer
    assert township_db.get_or_none(carols_case["_id"]) is None


def test_an_event_for_a_case_of_my_own_scope_known_only_to_the_county_is_accepted(live, township_db, county_db):
    """A case the township created in the county database (it flows down later) is in
    alice's scope: her events on it are not refused by the identity rule."""
    case = county_db.save(f.case(f.GRID_A, "mia"))
    note = f.event(case, "alice")
    [answer] = push(live, ALICE, [note])
    assert answer.get("ok"), answer


# -- 5. conflicts never break a pull --------------------------------------------------------------


def test_a_conflict_whose_other_side_is_out_of_scope_never_breaks_a_pull(pouch, live, township_db):
    """A case moved to bob's grid on one device and edited in alice's on another."""
    base = township_db.save(f.case(f.GRID_A, "alice"))
    parent = base["_rev"].split("-", 1)[1]
    moved = {**base, "area_code": f.GRID_B, "_rev": "2-" + "1" * 32,
             "_revisions": {"start": 2, "ids": ["1" * 32, parent]}}
    edited = {**base, "description": "补充：双方同意周五面谈", "_rev": "2-" + "2" * 32,
              "_revisions": {"start": 2, "ids": ["2" * 32, parent]}}
    township_db.bulk_docs([moved, edited], new_edits=False)
    assert len(township_db.get(base["_id"], conflicts=True)["_conflicts"]) == 1
    for who in ("alice", "bob", "mia"):
        device = pouch.tablet(f"conflict-{who}-{time.monotonic_ns()}", f"{live.url}/sync/{who}", who, f.PASSWORD)
        result = device.pull()
        assert result["status"] == "complete" and result["errors"] == [], (who, result)
        if who == "mia":  # sees both sides: the conflict reaches the township's device
            assert len(device.get(base["_id"], conflicts=True).get("_conflicts", [])) == 1
        elif base["_id"] in device.ids():
            doc = device.get(base["_id"], conflicts=True)
            assert doc["area_code"] == (f.GRID_A if who == "alice" else f.GRID_B)
            assert "_conflicts" not in doc  # the other side is not theirs to see


# -- 7. feeds, logins and bodies cannot starve the server -----------------------------------------


def test_waiting_feeds_are_capped_in_time_and_in_number_per_user(live):
    gw = gateway(live)
    gw.max_wait_s = 2.0
    gw.feeds = FeedSlots(per_user=2, per_process=6)
    params = {"feed": "longpoll", "since": "now", "timeout": "600000"}
    answers: list[int] = []

    def wait() -> None:
        answers.append(httpx.get(f"{live.url}/sync/alice/_changes", params=params, auth=ALICE, timeout=60).status_code)

    waiting = [threading.Thread(target=wait) for _ in range(2)]
    for t in waiting:
        t.start()
    poll(lambda: gw.feeds._by_user.get("alice") == 2, timeout=30)
    third = httpx.get(f"{live.url}/sync/alice/_changes", params=params, auth=ALICE, timeout=60)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
    # another user still has their own slots, and the server answers everyone else
    assert httpx.get(f"{live.url}/healthz", timeout=30).status_code == 200
    for t in waiting:
        t.join(60)
    # the server ended both waits itself, long before the client's own 60 s timeout
    assert answers == [200, 200]
    assert "alice" not in gw.feeds._by_user


def test_wrong_passwords_are_answered_at_once_then_the_address_must_wait(live, couch, topology):
    gw = gateway(live)
    gw.logins = LoginGuard(gw.users, gw.auth, free_failures=5, address_free_failures=6)
    statuses = [httpx.get(f"{live.url}/sync/nobody{i}/", auth=(f"nobody{i}", "guess1234"), timeout=30).status_code
                for i in range(6)]
    assert statuses == [401] * 6
    refused = httpx.get(f"{live.url}/sync/alice/", auth=ALICE, timeout=30)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert " / " in refused.json()["reason"]
    assert {r["user"] for r in audit_records(couch, topology, "sync_login_failed")} >= {"nobody0", "nobody5"}
    assert [r["user"] for r in audit_records(couch, topology, "login_throttled")] == ["alice"]


def test_guessing_one_account_delays_the_guesser_for_sync_and_api_alike(live):
    gw = gateway(live)
    gw.logins = LoginGuard(gw.users, gw.auth)
    for _ in range(5):
        assert httpx.get(f"{live.url}/sync/bob/", auth=("bob", "wrong-pass1"), timeout=30).status_code == 401
    delayed = httpx.get(f"{live.url}/sync/bob/", auth=("bob", f.PASSWORD), timeout=30)
    assert delayed.status_code == 429 and "秒后再试" in delayed.json()["reason"]
    assert httpx.get(f"{live.url}/api/auth/me", auth=("bob", f.PASSWORD), timeout=30).status_code == 429
    # an unknown name is answered exactly alike: nothing tells which accounts exist
    for _ in range(5):
        assert httpx.get(f"{live.url}/sync/bobby/", auth=("bobby", "wrong-pass1"), timeout=30).status_code == 401
    assert httpx.get(f"{live.url}/sync/bobby/", auth=("bobby", "wrong-pass1"), timeout=30).status_code == 429
    # other accounts from here, and bob from anywhere else, are not held back
    assert httpx.get(f"{live.url}/sync/alice/", auth=ALICE, timeout=30).status_code == 200
    other_device = live.server.app.test_client()
    answer = other_device.get("/sync/bob/", headers={"Authorization": basic_header("bob", f.PASSWORD)},
                              environ_base={"REMOTE_ADDR": "10.7.7.7"})
    assert answer.status_code == 200


def test_a_cached_password_does_not_skip_the_delay(live):
    assert httpx.get(f"{live.url}/sync/bob/", auth=("bob", f.PASSWORD), timeout=30).status_code == 200
    for _ in range(5):
        httpx.get(f"{live.url}/sync/bob/", auth=("bob", "wrong-pass1"), timeout=30)
    assert httpx.get(f"{live.url}/sync/bob/", auth=("bob", f.PASSWORD), timeout=30).status_code == 429


def test_request_bodies_are_limited_before_they_are_read(live):
    gateway(live).max_body = 1024 * 1024
    big = b'{"docs": [' + b" " * (2 * 1024 * 1024) + b"]}"
    headers = {"Content-Type": "application/json"}
    too_large = httpx.post(f"{live.url}/sync/alice/_bulk_docs", content=big, auth=ALICE, headers=headers, timeout=30)
    assert too_large.status_code == 413 and " / " in too_large.json()["reason"]
    anonymous = httpx.post(f"{live.url}/sync/alice/_bulk_docs", content=big, headers=headers, timeout=30)
    assert anonymous.status_code == 401
    checkpoint = httpx.put(f"{live.url}/sync/alice/_local/cp", json={"pad": "x" * 100_000}, auth=ALICE, timeout=30)
    assert checkpoint.status_code == 413
    api = httpx.post(f"{live.url}/api/cases", content=b"{" + b" " * (17 * 1024 * 1024) + b"}",
                     auth=ALICE, headers=headers, timeout=60)
    assert api.status_code == 413


# -- 8. checkpoints -------------------------------------------------------------------------------


def test_checkpoints_of_similar_user_names_never_collide(live, couch, topology):
    from sync.users import UserStore, provision

    provision(couch, topology, UserStore(couch, topology.prefix, f.COUNTY), "alice_c", "grid_worker",
              [f.GRID_A], f.PASSWORD)
    other = ("alice_c", f.PASSWORD)
    assert httpx.put(f"{live.url}/sync/alice/_local/c_x", json={"last_seq": 7}, auth=ALICE).status_code == 201
    assert httpx.get(f"{live.url}/sync/alice_c/_local/x", auth=other).status_code == 404
    assert httpx.put(f"{live.url}/sync/alice_c/_local/x", json={"last_seq": 1}, auth=other).status_code == 201
    assert httpx.get(f"{live.url}/sync/alice/_local/c_x", auth=ALICE).json()["last_seq"] == 7


def test_checkpoint_revisions_are_checked_the_same_on_every_server(live):
    url = f"{live.url}/sync/alice/_local/cp"
    with httpx.Client(auth=ALICE, timeout=30) as http:
        assert http.put(url, json={"_rev": "0-9", "last_seq": 1}).status_code == 409  # stale: nothing stored
        first = http.put(url, json={"last_seq": 1})
        assert first.status_code == 201
        rev = first.json()["rev"]
        assert http.put(url, json={"last_seq": 2}).status_code == 409       # an update names its revision
        assert http.put(url, json={"_rev": "0-999", "last_seq": 2}).status_code == 409
        assert http.put(url, json={"_rev": "7-x", "last_seq": 2}).status_code == 400
        second = http.put(url, json={"_rev": rev, "last_seq": 2})
        assert second.status_code == 201
        assert http.get(url).json()["last_seq"] == 2
        assert http.delete(url, params={"rev": rev}).status_code == 409
        assert http.delete(url, params={"rev": second.json()["rev"]}).status_code == 200
        assert http.get(url).status_code == 404
        escape = http.put(f"{live.url}/sync/alice/_local/..%2F..%2F_design%2Fx", json={"_rev": "7-x"})
        assert escape.status_code in (400, 404) and " / " in escape.json()["reason"]


# -- audit ----------------------------------------------------------------------------------------


def test_refused_sync_writes_are_audited(live, couch, topology):
    elsewhere = f.case(f.GRID_B, "alice")
    [answer] = push(live, ALICE, [elsewhere])
    assert answer["error"] == "forbidden"
    records = audit_records(couch, topology, "sync_write_refused")
    assert [r["doc_id"] for r in records] == [elsewhere["_id"]]
    assert records[0]["user"] == "alice" and records[0]["detail"]["count"] == 1
    assert "outside your scope" in records[0]["detail"]["docs"][0]["reason"]
