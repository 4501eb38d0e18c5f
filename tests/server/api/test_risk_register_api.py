"""/api/risks: the risk register — roles × scope, bad input, events, lists, 重大清单."""

from __future__ import annotations

from typing import Any

from factories import COUNTY, GRID_A, GRID_C, TOWNSHIP_1
from testenv import poll


def risk_body(area: str, **extra: Any) -> dict[str, Any]:
    body = {"area_code": area, "title": "宅基地边界争议可能激化", "description": "两户因边界多次争吵",
            "category": "land_forest", "level": "ordinary", "screening_round": "village",
            "owner": "王主任", "due": "2026-12-31"}
    body.update(extra)
    return body


def risk_ids(db) -> set[str]:  # type: ignore[no-untyped-def]
    return {r["id"] for r in db.all_docs(startkey="risk:", endkey="risk:\ufff0")["rows"]}


def test_create_risk_by_role_and_scope(as_user, dbs):  # type: ignore[no-untyped-def]
    cases = [
        ("alice", risk_body(GRID_A), 201),
        ("alice", risk_body(GRID_A, screening_round="county"), 403),   # above her level
        ("alice", risk_body(GRID_C), 403),                             # another township
        ("mia", risk_body(TOWNSHIP_1, screening_round="township"), 201),
        ("noah", risk_body(TOWNSHIP_1, screening_round="township"), 403),
        ("rex", risk_body(GRID_C, screening_round="county", level="major"), 201),
        ("root", risk_body(GRID_A), 403),                              # admins manage accounts
        (None, risk_body(GRID_A), 401),
    ]
    for user, body, status in cases:
        before = risk_ids(dbs[body["area_code"][:9]])
        r = as_user(user).post("/api/risks", json=body)
        assert r.status_code == status, (user, r.get_json())
        after = risk_ids(dbs[body["area_code"][:9]])
        if status == 201:
            out = r.get_json()
            assert after - before == {out["risk"]["_id"]}
            assert out["risk"]["reported_by"] == user
            assert out["projection"]["status"] == "open"
            assert r.headers["ETag"].strip('"') == out["etag"]
        else:
            assert after == before, user


def test_bad_risk_is_422_with_field_errors_and_nothing_stored(as_user, dbs):  # type: ignore[no-untyped-def]
    before = risk_ids(dbs[TOWNSHIP_1])
    r = as_user("mia").post("/api/risks", json=risk_body(GRID_A, level="huge", due="31/12/2026", owner="",
                                                        extra_field=1))
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_error"
    assert {"level", "due", "owner", "extra_field"} <= set(body["errors"])
    r = as_user("mia").post("/api/risks", json={k: v for k, v in risk_body(GRID_A).items() if k != "title"})
    assert r.status_code == 422 and "title" in r.get_json()["errors"]
    r = as_user("mia").post("/api/risks", json=risk_body(GRID_A, case_id="case:00000000-0000-4000-8000-000000000000"))
    assert r.status_code == 422 and "case_id" in r.get_json()["errors"]
    assert risk_ids(dbs[TOWNSHIP_1]) == before


def test_detail_and_events_follow_scope_and_state(as_user):  # type: ignore[no-untyped-def]
    risk = as_user("alice").post("/api/risks", json=risk_body(GRID_A)).get_json()
    rid = risk["risk"]["_id"]
    for user, status in (("alice", 200), ("bob", 404), ("mia", 200), ("noah", 404), ("carol", 404),
                         ("rex", 200), ("root", 200), (None, 401)):
        assert as_user(user).get(f"/api/risks/{rid}").status_code == status, user
    detail = as_user("mia").get(f"/api/risks/{rid}")
    etag = detail.headers["ETag"]

    # 研判 only for mediators and reviewers; a stale If-Match is 412
    review = {"kind": "reviewed", "decision": "升级为重大，镇长包案", "level": "major", "due": "2026-12-10",
              "lead_official": "李镇长"}
    assert as_user("alice").post(f"/api/risks/{rid}/events", json=review).status_code == 403
    assert as_user("noah").post(f"/api/risks/{rid}/events", json=review).status_code == 404
    assert as_user("mia").post(f"/api/risks/{rid}/events", json={"kind": "reviewed"}).status_code == 422
    r = as_user("mia").post(f"/api/risks/{rid}/events", json=review, headers={"If-Match": etag})
    assert r.status_code == 201, r.get_json()
    p = r.get_json()["projection"]
    assert (p["level"], p["due"], p["lead_official"], p["reviews"]) == ("major", "2026-12-10", "李镇长", 1)
    assert as_user("mia").post(f"/api/risks/{rid}/events", json=review,
                               headers={"If-Match": etag}).status_code == 412
    assert as_user("mia").post(f"/api/risks/{rid}/events",
                               json={"kind": "commented", "text": "x", "actor": "rex"}).status_code == 422

    # resolved: afterwards only comments
    r = as_user("alice").post(f"/api/risks/{rid}/events", json={"kind": "resolved", "summary": "双方签订协议"})
    assert r.status_code == 201 and r.get_json()["projection"]["status"] == "resolved"
    r = as_user("alice").post(f"/api/risks/{rid}/events",
                              json={"kind": "screened", "screening_round": "village", "level": "ordinary"})
    assert r.status_code == 409
    assert as_user("alice").post(f"/api/risks/{rid}/events",
                                 json={"kind": "commented", "text": "回访无异常"}).status_code == 201
    body = as_user("rex").get(f"/api/risks/{rid}").get_json()
    assert [e["kind"] for e in body["events"]] == ["reviewed", "resolved", "commented"]


def test_list_filters_scope_and_cursor(as_user):  # type: ignore[no-untyped-def]
    made = [as_user("mia").post("/api/risks", json=risk_body(TOWNSHIP_1 + "301", screening_round="township",
                                                             title=f"列表测试{i}", due=due)).get_json()["risk"]["_id"]
            for i, due in enumerate(("2020-01-01", "2030-01-01", "2030-02-01"))]
    area = TOWNSHIP_1 + "301"

    def listed(user: str, **q: Any) -> list[str]:
        r = as_user(user).get("/api/risks", query_string={"area": area, **q})
        assert r.status_code == 200, r.get_json()
        return [i["risk_id"] for i in r.get_json()["items"]]

    poll(lambda: set(made) <= set(listed("rex")))
    assert set(made) <= set(listed("mia"))
    assert listed("mia", overdue="true") == [made[0]]
    assert made[0] not in listed("mia", overdue="false")
    assert set(made) <= set(listed("mia", round="township", status="open"))
    assert listed("mia", level="major") == []
    assert as_user("noah").get("/api/risks", query_string={"area": area}).status_code == 403
    assert made[0] not in [i["risk_id"] for i in as_user("noah").get("/api/risks").get_json()["items"]]
    assert as_user("mia").get("/api/risks", query_string={"level": "huge", "limit": "0"}).status_code == 422
    assert as_user(None).get("/api/risks").status_code == 401
    # cursor: one at a time, newest first, each once
    seen, cursor = [], None
    while True:
        q = {"area": area, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = as_user("mia").get("/api/risks", query_string=q).get_json()
        seen += [i["risk_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(made) <= set(seen)
    row = as_user("mia").get("/api/risks", query_string={"area": area, "overdue": "true"}).get_json()["items"][0]
    assert row["escalate_to"] == TOWNSHIP_1 and row["days_left"] < 0


def test_major_register_overdue_first_then_by_due(as_user):  # type: ignore[no-untyped-def]
    area = COUNTY + "002" + "260001"
    dues = ("2031-05-01", "2020-03-01", "2031-01-01", "2020-01-01")
    made = {due: as_user("rex").post("/api/risks", json=risk_body(area, level="major", screening_round="county",
                                                                  due=due)).get_json()["risk"]["_id"]
            for due in dues}
    as_user("rex").post("/api/risks", json=risk_body(area, level="serious", screening_round="county"))

    def major(user: str) -> list[dict[str, Any]]:
        return as_user(user).get("/api/risks/major", query_string={"area": area}).get_json()["items"]

    items = poll(lambda: (lambda x: x if len(x) == 4 else None)(major("rex")))
    assert [i["risk_id"] for i in items] == [made[d] for d in ("2020-01-01", "2020-03-01", "2031-01-01", "2031-05-01")]
    assert [i["overdue"] for i in items] == [True, True, False, False]
    assert items[0]["grid_code"] == area
    assert as_user("noah").get("/api/risks/major").status_code == 200
    assert as_user("mia").get("/api/risks/major", query_string={"area": area}).status_code == 403
    assert as_user(None).get("/api/risks/major").status_code == 401
