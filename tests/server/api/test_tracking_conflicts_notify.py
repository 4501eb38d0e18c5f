"""/api/track (public), /api/conflicts (scope), server.notify (outbox, idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from factories import GRID_A, TOWNSHIP_1
from testenv import poll

from server.notify import LogSender, notify_case_event, send_pending


def test_tracking_shows_no_personal_data_and_one_evaluation_after_closing(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    kase = mia.post("/api/cases", json={
        "area_code": GRID_A, "channel": "visit", "category": "neighbourhood", "description": "噪音扰民",
        "parties": [{"role": "applicant", "name": "钱七", "phone": "13900000000"}]}).get_json()["case"]
    code = kase["tracking_code"]
    public = as_user(None)
    body = poll(lambda: (lambda r: r.get_json() if r.status_code == 200 else None)(public.get(f"/api/track/{code}")))
    text = str(body)
    assert "钱七" not in text and "13900000000" not in text and "噪音" not in text and GRID_A not in text
    assert body["status"] == "reported" and body["can_evaluate"] is False
    assert public.post(f"/api/track/{code}/evaluation", json={"rating": "满意"}).status_code == 409
    assert mia.post(f"/api/cases/{kase['_id']}/events", json={"kind": "accepted"}).status_code == 201
    assert mia.post(f"/api/cases/{kase['_id']}/events", json={"kind": "closed", "reply": "已调解"}).status_code == 201
    assert public.post(f"/api/track/{code}/evaluation", json={"rating": "很好"}).status_code == 422
    r = public.post(f"/api/track/{code}/evaluation", json={"rating": "基本满意", "comment": "还行"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["evaluation"]["rating"] == "basically_satisfied"
    assert public.post(f"/api/track/{code}/evaluation", json={"rating": "满意"}).status_code == 409
    events = mia.get(f"/api/cases/{kase['_id']}").get_json()["events"]
    assert [(e["kind"], e["actor"]) for e in events if e["kind"] == "evaluated"] == [("evaluated", "public")]
    assert public.get("/api/track/AAAAAAAAAA").status_code == 404



def test_a_tracking_code_typed_with_spaces_dashes_or_lower_case_finds_the_matter(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    kase = mia.post("/api/cases", json={
        "area_code": GRID_A, "channel": "visit", "category": "neighbourhood", "description": "占道",
        "parties": [{"role": "applicant", "name": "孙八"}]}).get_json()["case"]
    code = kase["tracking_code"]
    public = as_user(None)
    poll(lambda: public.get(f"/api/track/{code}").status_code == 200)
    for typed in (code.lower(), f"{code[:4]} {code[4:8]} {code[8:]}", f"{code[:5]}-{code[5:]}",
                  f"{code[:5]}\uff0d{code[5:].lower()}"):
        r = public.get(f"/api/track/{quote(typed)}")
        assert r.status_code == 200, (typed, r.get_json())
        assert r.get_json()["tracking_code"] == code
    # A typo is still a miss: normalising never guesses a symbol.
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert public.get(f"/api/track/{wrong}").status_code == 404

def test_tracking_lookups_are_rate_limited_per_address(shared_site):  # type: ignore[no-untyped-def]
    client = shared_site.app("api", FENGQIAO_TRACK_RATE_MAX=3).test_client()
    codes = [client.get("/api/track/AAAAAAAAAA", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code
             for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_conflicts_listed_and_resolved_only_in_scope(as_user, dbs):  # type: ignore[no-untyped-def]
    risk = as_user("mia").post("/api/risks", json={
        "area_code": GRID_A, "title": "t", "description": "d", "category": "other", "level": "ordinary",
        "screening_round": "village", "owner": "甲", "due": "2026-12-31"}).get_json()["risk"]
    tw = dbs[TOWNSHIP_1]
    base = tw.get(risk["_id"])
    edits = [{**base, "owner": owner, "_rev": rev, "_revisions": {"start": 2, "ids": [rev[2:], base["_rev"][2:]]}}
             for owner, rev in (("乙", "2-" + "a" * 32), ("丙", "2-" + "b" * 32))]
    tw.bulk_docs(edits, new_edits=False)
    listed = as_user("mia").get("/api/conflicts").get_json()["items"]
    mine = [c for c in listed if c["doc_id"] == risk["_id"]]
    assert len(mine) == 1 and {v["owner"] for v in mine[0]["versions"]} == {"乙", "丙"}
    assert risk["_id"] not in [c["doc_id"] for c in as_user("noah").get("/api/conflicts").get_json()["items"]]
    assert as_user("alice").get("/api/conflicts").status_code == 403
    assert as_user(None).get("/api/conflicts").status_code == 401
    url = f"/api/conflicts/{risk['_id']}/resolve"
    assert as_user("noah").post(url, json={"chosen_rev": "2-" + "a" * 32}).status_code == 404
    assert as_user("root").post(url, json={"chosen_rev": "2-" + "a" * 32}).status_code == 403
    assert as_user("mia").post(url, json={"chosen_rev": "9-" + "c" * 32}).status_code == 422
    assert as_user("mia").post(url, json={"chosen_rev": "nope"}).status_code == 422
    r = as_user("mia").post(url, json={"chosen_rev": "2-" + "a" * 32, "note": "以乙为准"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["conflict"]["status"] == "resolved"
    assert tw.get(risk["_id"], conflicts=True).get("_conflicts") is None
    assert tw.get(risk["_id"])["owner"] == "乙"
    assert as_user("mia").post(url, json={"chosen_rev": "2-" + "a" * 32}).status_code == 409


class FailingSender:
    def send(self, notification):  # type: ignore[no-untyped-def]
        raise RuntimeError("gateway down")


def test_outbox_is_idempotent_and_send_pending_marks_sent(db):  # type: ignore[no-untyped-def]
    kase = {"_id": "case:0b7a2f3e-1111-4222-8333-444455556677", "area_code": GRID_A, "tracking_code": "ABCDEFGHJK",
            "first_handler": "mia", "parties": [{"role": "applicant", "name": "x", "phone": "13700000000"}]}
    accepted = {"_id": "event:0b7a2f3e-1111-4222-8333-444455556677:20261120T010000.000Z-abcd1234",
                "kind": "accepted", "at": "2026-11-20T09:00:00+08:00"}
    assigned = {**accepted, "_id": accepted["_id"][:-4] + "ffff", "kind": "assigned",
                "units": [{"unit": "人社局", "unit_type": "functional"}]}
    written = notify_case_event(db, kase, accepted) + notify_case_event(db, kase, assigned)
    # 受理 and 交办 each tell the party by SMS; 交办 also tells the first handler in the app.
    assert [(n["channel"], n["recipient"], n["template"]) for n in written] == [
        ("sms", "13700000000", "case.accepted"), ("sms", "13700000000", "case.assigned"),
        ("in_app", "mia", "case.assigned")]
    assert notify_case_event(db, kase, accepted) == []
    assert notify_case_event(db, kase, {**accepted, "kind": "commented"}) == []
    t0 = datetime.now(UTC)
    assert send_pending(db, FailingSender(), at=t0) == {"sent": 0, "failed": 3, "skipped": 0}
    assert all(db.get(n["_id"])["last_error"] == "gateway down" for n in written)
    sender = LogSender()
    later = t0 + timedelta(minutes=1)  # after the first back-off
    assert send_pending(db, sender, at=later) == {"sent": 3, "failed": 0, "skipped": 0}
    again = send_pending(db, sender, at=later)
    # Nothing is sent twice. On a CouchDB cluster the index may still list a notification as
    # queued (read from a shard copy not yet updated); send_pending re-reads it and skips it.
    assert again["sent"] == 0 and again["failed"] == 0 and again["skipped"] <= len(written), again
    assert sorted(sender.sent) == sorted(n["_id"] for n in written)
    assert all(db.get(n["_id"])["status"] == "sent" and db.get(n["_id"])["sent_at"] for n in written)


def test_conflict_versions_show_parties_masked_and_other_areas_hidden(as_user, dbs):  # type: ignore[no-untyped-def]
    from factories import GRID_B, GRID_C, case

    tw = dbs[TOWNSHIP_1]
    base = tw.save(case(GRID_A, "alice", parties=[{"role": "applicant", "name": "孙八", "phone": "13912345678",
                                                   "id_number": "11010519491231002X"}]))
    parent = base["_rev"][2:]
    moved = {**base, "area_code": GRID_B, "_rev": "2-" + "c" * 32, "_revisions": {"start": 2, "ids": ["c" * 32, parent]}}
    away = {**base, "area_code": GRID_C, "_rev": "2-" + "0" * 32, "_revisions": {"start": 2, "ids": ["0" * 32, parent]}}
    tw.bulk_docs([moved, away], new_edits=False)
    # (a cluster shows the second leaf on every copy a moment later)
    [record] = poll(lambda: [c for c in as_user("mia").get("/api/conflicts").get_json()["items"]
                             if c["doc_id"] == base["_id"] and len(c["versions"]) == 2])
    text = str(record["versions"])
    assert "13912345678" not in text and "11010519491231002X" not in text
    shown = [v for v in record["versions"] if not v.get("hidden")]
    assert {v["area_code"] for v in shown} == {GRID_B}  # GRID_C is another township's
    assert [v["_rev"] for v in record["versions"] if v.get("hidden")] == ["2-" + "0" * 32]
