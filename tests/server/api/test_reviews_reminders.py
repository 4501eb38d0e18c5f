"""/api/reviews (county 研判 decisions flow down) and /api/reminders (known answers)."""

from __future__ import annotations

from factories import COUNTY, GRID_C, TOWNSHIP_1, TOWNSHIP_2, case, event
from test_risk_register_api import risk_body
from testenv import poll


def test_review_meeting_decisions_reach_the_township(as_user, dbs):  # type: ignore[no-untyped-def]
    risk = as_user("mia").post("/api/risks", json=risk_body(TOWNSHIP_1 + "202001")).get_json()["risk"]
    kase = as_user("noah").post("/api/cases", json={
        "area_code": GRID_C, "channel": "visit", "category": "labour", "description": "欠薪",
        "parties": [{"role": "applicant", "name": "赵六", "phone": "13800000000"}]}).get_json()["case"]
    meeting = {"held_on": "2026-11-20", "attendees": ["县长", "信访局长"], "items": [
        {"risk_id": risk["_id"], "decision": "列入重大清单", "level": "major", "owner": "张书记", "due": "2026-12-01"},
        {"case_id": kase["_id"], "decision": "人社局牵头化解"}]}
    before = len(dbs["county"].all_docs(startkey="review:", endkey="review:\ufff0")["rows"])
    for user, status in (("alice", 403), ("root", 403), (None, 401)):
        assert as_user(user).post("/api/reviews", json=meeting).status_code == status
    # a township mediator holds her township's 研判, not another township's matters
    r = as_user("mia").post("/api/reviews", json=meeting)
    assert r.status_code == 422 and "items.1.case_id" in r.get_json()["errors"]
    bad = {**meeting, "items": [meeting["items"][0], {"risk_id": "risk:00000000-0000-4000-8000-000000000000",
                                                      "decision": "x"}]}
    r = as_user("rex").post("/api/reviews", json=bad)
    assert r.status_code == 422 and "items.1.risk_id" in r.get_json()["errors"]
    r = as_user("rex").post("/api/reviews", json={**meeting, "attendees": [], "items": [{"decision": "x"}]})
    assert r.status_code == 422 and {"attendees", "items.0.risk_id"} <= set(r.get_json()["errors"])
    assert len(dbs["county"].all_docs(startkey="review:", endkey="review:\ufff0")["rows"]) == before

    r = as_user("rex").post("/api/reviews", json=meeting)
    assert r.status_code == 201, r.get_json()
    review = r.get_json()["review"]
    risk_event, case_event = (i["event_id"] for i in review["items"])
    assert dbs["county"].get(risk_event)["kind"] == "reviewed"
    assert dbs["county"].get(case_event)["review_level"] == "county"
    # the grid workers concerned are told at once: carol, whose grid holds the case
    uuid_part = kase["_id"].split(":", 1)[1]
    told = [r["doc"] for r in dbs["county"].all_docs(
        startkey=f"notification:{uuid_part}:", endkey=f"notification:{uuid_part}:\ufff0", include_docs=True)["rows"]
        if r["doc"]["template"] == "case.reviewed"]
    assert [(d["recipient"], d["channel"]) for d in told] == [("carol", "in_app")]
    assert told[0]["message_zh"] == f"案件（查询码 {kase['tracking_code']}）县级研判意见：人社局牵头化解"
    assert told[0]["message_en"].startswith(f"Case (tracking code {kase['tracking_code']}) county review")
    # only a meeting marks a comment as a 研判 decision
    r = as_user("noah").post(f"/api/cases/{kase['_id']}/events",
                             json={"kind": "commented", "text": "【县级研判】冒充", "review_level": "county"})
    assert r.status_code == 422 and "review_level" in r.get_json()["errors"]
    # the decisions flow down to each township's database
    poll(lambda: dbs[TOWNSHIP_1].get_or_none(risk_event))
    poll(lambda: dbs[TOWNSHIP_2].get_or_none(case_event))
    p = as_user("mia").get(f"/api/risks/{risk['_id']}").get_json()["projection"]
    assert (p["level"], p["owner"], p["due"]) == ("major", "张书记", "2026-12-01")
    # lists and details by scope
    assert review["_id"] in [x["_id"] for x in as_user("rex").get("/api/reviews").get_json()["items"]]
    mine = as_user("mia").get(f"/api/reviews/{review['_id']}").get_json()["review"]
    assert [i.get("risk_id") for i in mine["items"]] == [risk["_id"]]
    assert as_user("alice").get("/api/reviews").status_code == 403
    assert as_user("rex").get("/api/reviews/review:nope").status_code == 404


def test_township_review_meeting(as_user, dbs):  # type: ignore[no-untyped-def]
    """乡镇研判: a township mediator records her township's meeting; its decision updates
    the risk and reaches the township database (and so the grid worker's tablet)."""
    risk = as_user("mia").post("/api/risks", json=risk_body(TOWNSHIP_1 + "202001")).get_json()["risk"]
    meeting = {"held_on": "2026-11-21", "attendees": ["镇党委书记", "综治中心主任"], "items": [
        {"risk_id": risk["_id"], "decision": "镇司法所牵头，十日内化解", "level": "serious",
         "owner": "司法所王所长", "due": "2026-12-05", "lead_official": "李镇长"}]}
    r = as_user("mia").post("/api/reviews", json=meeting)
    assert r.status_code == 201, r.get_json()
    review = r.get_json()["review"]
    assert review["level"] == "township"
    event_id = review["items"][0]["event_id"]
    poll(lambda: dbs[TOWNSHIP_1].get_or_none(event_id))
    p = as_user("mia").get(f"/api/risks/{risk['_id']}").get_json()["projection"]
    assert (p["owner"], p["due"], p["lead_official"]) == ("司法所王所长", "2026-12-05", "李镇长")
    # the county sees the township's meeting too; another township's mediator does not
    assert as_user("rex").get(f"/api/reviews/{review['_id']}").status_code == 200
    assert as_user("noah").get(f"/api/reviews/{review['_id']}").status_code == 404


def test_reminders_known_answers(as_user, dbs):  # type: ignore[no-untyped-def]
    grid = COUNTY + "002" + "270001"     # a village no other test uses
    village = grid[:12]
    # case registered at a grid 2026-11-05 under "520": the report is its acceptance, so
    # no acceptance reminder; closure due 2026-11-25 (20 days); the closed one: none
    open_case = case(grid, "carol", created_at="2026-11-05T09:00:00+08:00", policy="520")
    done = case(grid, "carol", created_at="2026-11-05T09:00:00+08:00", policy="520")
    docs = [open_case, done, event(done, "carol", kind="closed", reply="已当面答复",
                                   at="2026-11-06T10:00:00+08:00")]
    risk = {"_id": "risk:0b7a2f3e-1111-4222-8333-444455556666", "type": "risk", "schema_version": 1,
            "area_code": grid, "title": "t", "description": "d", "category": "other", "level": "serious",
            "screening_round": "village", "owner": "o", "due": "2026-11-24", "reported_by": "carol",
            "created_at": "2026-11-01T09:00:00+08:00"}
    docs.append(risk)
    for d in docs:
        dbs["county"].put(d)

    def get(user, as_of, lead=3):  # type: ignore[no-untyped-def]
        r = as_user(user).get("/api/reminders", query_string={"area": village, "as_of": as_of, "lead_days": lead})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def items(body):  # type: ignore[no-untyped-def]
        return sorted((i["kind"], i["stage"], i["due_date"], i["days_left"], i["unit"], i["escalate_to"])
                      for u in body["units"] for i in u["items"])

    poll(lambda: len(get("noah", "2026-11-23")["units"]) > 0)
    assert items(get("noah", "2026-11-23")) == [
        ("case", "due_soon", "2026-11-25", 2, village, None),
        ("risk", "due_soon", "2026-11-24", 1, grid, None)]
    assert items(get("noah", "2026-11-23", lead=1)) == [("risk", "due_soon", "2026-11-24", 1, grid, None)]
    assert items(get("rex", "2026-11-25")) == [
        ("case", "due", "2026-11-25", 0, village, None),
        ("risk", "overdue", "2026-11-24", -1, grid, village)]
    body = get("rex", "2026-11-26")
    assert items(body) == [("case", "overdue", "2026-11-25", -1, village, COUNTY + "002"),
                           ("risk", "overdue", "2026-11-24", -2, grid, village)]
    assert body["counts"] == {"due_soon": 0, "due": 0, "overdue": 2}
    assert as_user("mia").get("/api/reminders", query_string={"area": village}).status_code == 403
    assert as_user("mia").get("/api/reminders", query_string={"lead_days": "-1"}).status_code == 422
    assert as_user(None).get("/api/reminders").status_code == 401
