"""Event times: the API uses the server's clock; tablet times are kept but judged
(MLPS 2.0 / 等保 finding: a backdated ``accepted`` turned an overdue acceptance on-time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_helpers import basic
from factories import GRID_A, case, event
from test_api_cases import act, events_in_db, intake

from server.cases import china_iso


def test_a_client_sent_event_time_is_refused_and_nothing_is_stored(
        as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake(parties=[{"role": "applicant", "name": "钱七"}])
                       ).get_json()["case"]["_id"]
    r = act(mia, case_id, kind="accepted", at="2026-01-02T09:00:00+08:00")
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["errors"]["at"][0]
    assert "服务器" in message["message_zh"] and "server" in message["message_en"]
    assert events_in_db(couch, shared_site.topology, case_id) == []
    # without it, the event is dated when the server received it
    r = act(mia, case_id, kind="accepted")
    assert r.status_code == 201
    ev = r.get_json()["event"]
    assert ev["at"] == ev["received_at"]
    assert abs(datetime.fromisoformat(ev["at"]) - datetime.now(UTC)) < timedelta(hours=1)


def test_a_client_sent_risk_event_time_is_refused(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    body = {"area_code": GRID_A, "title": "宅基地边界争议", "description": "多次争吵",
            "category": "land_forest", "level": "ordinary", "screening_round": "village",
            "owner": "王主任", "due": "2026-12-31"}
    risk = mia.post("/api/risks", json=body).get_json()["risk"]
    r = mia.post(f"/api/risks/{risk['_id']}/events",
                 json={"kind": "commented", "text": "x", "at": "2099-01-01T00:00:00+08:00"})
    assert r.status_code == 422 and "at" in r.get_json()["errors"]


def _push(api_app, user: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = api_app.test_client().post(f"/sync/{user}/_bulk_docs", json={"docs": docs}, headers=basic(user))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def test_tablet_times_are_kept_and_flagged_and_absurd_ones_refused(
        api_app, as_user):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    kase = case(GRID_A, "alice", created_at=china_iso(now - timedelta(days=2)))
    early = event(kase, "alice", at=china_iso(now - timedelta(days=3)), text="登记前")
    ahead = event(kase, "alice", at=china_iso(now + timedelta(hours=3)), text="设备时钟偏快")
    absurd = event(kase, "alice", at="2099-01-01T09:00:00+08:00", text="2099")
    fine = event(kase, "alice", at=china_iso(now - timedelta(hours=1)), text="正常")
    results = _push(api_app, "alice", [kase, early, ahead, absurd, fine])
    by_id = {r["id"]: r for r in results}
    assert by_id[absurd["_id"]]["error"] == "forbidden"
    assert "设备时钟" in by_id[absurd["_id"]]["reason"] and "clock" in by_id[absurd["_id"]]["reason"]
    assert all(by_id[d["_id"]].get("ok") for d in (kase, early, ahead, fine))
    detail = as_user("mia").get(f"/api/cases/{kase['_id']}").get_json()
    flagged = {(a["code"], a["event_id"]) for a in detail["projection"]["anomalies"]}
    assert flagged == {("before_report", early["_id"]), ("future_time", ahead["_id"])}
    assert sorted(e["_id"] for e in detail["events"]) == sorted(d["_id"] for d in (early, ahead, fine))


def test_a_case_cannot_be_registered_in_the_future(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    later = china_iso(datetime.now(UTC) + timedelta(days=3))
    r = mia.post("/api/cases", json=intake(created_at=later, parties=[{"role": "applicant", "name": "钱七"}]))
    assert r.status_code == 422 and "created_at" in r.get_json()["errors"]
    earlier = china_iso(datetime.now(UTC) - timedelta(days=3))  # a letter received before it is entered
    r = mia.post("/api/cases", json=intake(created_at=earlier, parties=[{"role": "applicant", "name": "钱七"}]))
    assert r.status_code == 201 and r.get_json()["case"]["created_at"] == earlier
