"""Cases through the API: intake, detail, actions as events, state and scope refusals."""

from __future__ import annotations

import random
from typing import Any

from api_helpers import basic
from factories import GRID_A, GRID_C, TOWNSHIP_1

from schemas.privacy import id_number_check_char

ID_NUMBER = "110101199003074514"


def _id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


REPEATER = _id_number(f"33010119800101{random.randrange(1000):03d}")


def intake(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "area_code": GRID_A, "channel": "visit", "category": "neighbourhood",
        "description": "两户因宅基地边界发生争执，要求调解",
        "parties": [{"role": "applicant", "name": "张三", "id_number": ID_NUMBER,
                     "phone": "13812345678"}],
    }
    body.update(extra)
    return body


def events_in_db(couch, topology, case_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    uuid = case_id.split(":", 1)[1]
    db = couch.db(topology.township_db(TOWNSHIP_1))
    rows = db.all_docs(startkey=f"event:{uuid}:", endkey=f"event:{uuid}:\ufff0", include_docs=True)["rows"]
    return [r["doc"] for r in rows]


def case_ids_in_db(couch, topology) -> set[str]:  # type: ignore[no-untyped-def]
    db = couch.db(topology.township_db(TOWNSHIP_1))
    return {r["id"] for r in db.all_docs(startkey="case:", endkey="case:\ufff0")["rows"]}


def act(client, case_id: str, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/events", json=body)


def test_intake_stores_the_case_in_its_township_with_the_caller_as_first_handler(
        as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    r = as_user("mia").post("/api/cases", json=intake())
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    case = body["case"]
    assert case["reported_by"] == case["first_handler"] == "mia"
    assert len(case["tracking_code"]) == 10 and case["policy"] == "regulation"
    assert body["projection"]["status"] == "reported" and body["events"] == []
    assert body["repeat_of_suggestions"] == []
    assert r.headers["ETag"] == f'"{body["etag"]}"'
    stored = couch.db(shared_site.topology.township_db(TOWNSHIP_1)).get(case["_id"])
    assert stored["parties"][0]["id_number"] == ID_NUMBER


def test_full_lifecycle_with_dual_assignment(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake()).get_json()["case"]["_id"]
    steps = [
        {"kind": "accepted"},
        {"kind": "assigned", "units": [{"unit": "县自然资源局", "unit_type": "functional"},
                                       {"unit": "青山村委会", "unit_type": "territorial",
                                        "area_code": GRID_A[:12]}]},
        {"kind": "feedback", "unit": "县自然资源局", "content": "已现场勘界"},
        {"kind": "feedback", "unit": "青山村委会", "content": "双方同意调解"},
        {"kind": "paused", "reason": "等待测绘结果"},
        {"kind": "resumed"},
        {"kind": "mediated", "outcome": "agreement"},
        {"kind": "resolved", "resolution_level": "village"},
        {"kind": "closed", "reply": "经调解双方达成协议，按协议划定边界"},
        {"kind": "followed_up", "result": "协议已履行"},
        {"kind": "evaluated_by_phone", "rating": "satisfied"},
        {"kind": "commented", "text": "归档"},
    ]
    for step in steps:
        r = act(mia, case_id, **step)
        assert r.status_code == 201, (step, r.get_json())
    detail = mia.get(f"/api/cases/{case_id}").get_json()
    p = detail["projection"]
    assert p["status"] == "closed" and p["dual_assignment"] is True and p["pending_units"] == []
    assert p["phone_evaluation"] == "satisfied" and p["evaluation"] is None and p["anomalies"] == []
    assert [e["kind"] for e in detail["events"]] == [s["kind"] for s in steps]
    assert all(e["actor"] == "mia" and e["area_code"] == GRID_A for e in detail["events"])


def test_impossible_actions_answer_409_naming_the_state_and_store_nothing(
        as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake()).get_json()["case"]["_id"]
    r = act(mia, case_id, kind="closed", reply="已答复")
    assert r.status_code == 409
    assert "待受理" in r.get_json()["message_zh"] and "'reported'" in r.get_json()["message_en"]
    assert act(mia, case_id, kind="evaluated_by_phone", rating="satisfied").status_code == 409
    assert act(mia, case_id, kind="accepted").status_code == 201
    assert act(mia, case_id, kind="accepted").status_code == 409
    assert act(mia, case_id, kind="resumed").status_code == 409
    act(mia, case_id, kind="assigned", units=[{"unit": "司法所", "unit_type": "functional"}])
    r = act(mia, case_id, kind="closed", reply="已答复")
    assert r.status_code == 409 and "司法所" in r.get_json()["message_zh"]
    kinds = [e["kind"] for e in events_in_db(couch, shared_site.topology, case_id)]
    assert sorted(kinds) == ["accepted", "assigned"]


def test_legal_route_makes_accept_409_and_allows_declined_with_route(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake(legal_route="court")).get_json()["case"]["_id"]
    r = act(mia, case_id, kind="accepted")
    assert r.status_code == 409 and r.get_json()["code"] == "legal_route"
    assert "诉访分离" in r.get_json()["message_zh"]
    r = act(mia, case_id, kind="declined", reason="属法院受理范围，已告知当事人起诉", legal_route="court")
    assert r.status_code == 201
    assert r.get_json()["projection"]["status"] == "declined"


def test_repeat_detection_suggests_the_earlier_case_in_scope(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    phone = f"139{random.randrange(10**8):08d}"
    person = {"role": "applicant", "name": "王五", "id_number": REPEATER, "phone": phone}
    first = mia.post("/api/cases", json=intake(parties=[person])).get_json()["case"]
    other_party = intake(parties=[{"role": "applicant", "name": "李四", "phone": phone}])
    assert mia.post("/api/cases", json=other_party).get_json()["repeat_of_suggestions"] == []
    by_name_phone = intake(parties=[{"role": "applicant", "name": "王五", "phone": phone}])
    again = mia.post("/api/cases", json=by_name_phone).get_json()
    assert [s["case_id"] for s in again["repeat_of_suggestions"]] == [first["_id"]]
    assert again["repeat_of_suggestions"][0]["matched_on"] == "name_phone"
    by_id = mia.post("/api/cases", json=intake(parties=[{**person, "phone": "13700000000"}])).get_json()
    assert first["_id"] in [s["case_id"] for s in by_id["repeat_of_suggestions"]]
    assert by_id["repeat_of_suggestions"][-1]["matched_on"] == "id_number"
    other_category = mia.post("/api/cases", json=intake(category="labour", parties=[person])).get_json()
    assert other_category["repeat_of_suggestions"] == []
    linked = mia.post(f"/api/cases?repeat_of={first['_id']}", json=intake(parties=[person])).get_json()
    assert linked["case"]["repeat_of"] == first["_id"]
    # noah (another township) gets no suggestion from mia's township
    noah_case = intake(area_code="339901002", parties=[person])
    assert as_user("noah").post("/api/cases", json=noah_case).get_json()["repeat_of_suggestions"] == []


def test_bad_input_answers_422_with_field_errors_and_stores_nothing(
        as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    before = case_ids_in_db(couch, shared_site.topology)
    bad = intake(channel="grid_worker", parties=[{"role": "applicant", "name": "张三",
                                                   "id_number": "110101199003074515"}])
    r = mia.post("/api/cases", json=bad)
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert set(errors) == {"channel", "parties.0.id_number"}
    assert errors["parties.0.id_number"][0]["message_zh"].startswith("身份证号校验位")
    assert mia.post("/api/cases", json={}).status_code == 422
    assert mia.post("/api/cases", json=intake(location={"lon": 200, "lat": 30, "crs": "wgs84"})).status_code == 422
    assert case_ids_in_db(couch, shared_site.topology) == before
    case_id = mia.post("/api/cases", json=intake()).get_json()["case"]["_id"]
    for body in ({"kind": "nonsense"}, {"kind": "closed"}, {"kind": "evaluated", "rating": "great"},
                 {"kind": "assigned", "units": [{"unit": "a", "unit_type": "functional"},
                                                {"unit": "b", "unit_type": "functional"}]},
                 {"kind": "commented", "text": "x", "actor": "rex"},
                 {"kind": "commented", "text": "x", "_deleted": True},
                 {"kind": "commented", "text": "x", "at": "yesterday"}):
        r = act(mia, case_id, **body)
        assert r.status_code == 422, (body, r.get_json())
        assert r.get_json()["errors"], body
    assert events_in_db(couch, shared_site.topology, case_id) == []
    assert mia.patch(f"/api/cases/{case_id}", json={"legal_route": "moon"}).status_code == 422


def test_etag_and_if_match(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake()).get_json()["case"]["_id"]
    etag = mia.get(f"/api/cases/{case_id}").headers["ETag"]
    r = mia.post(f"/api/cases/{case_id}/events", json={"kind": "accepted"}, headers={"If-Match": etag})
    assert r.status_code == 201
    new_etag = r.headers["ETag"]
    assert new_etag != etag and mia.get(f"/api/cases/{case_id}").headers["ETag"] == new_etag
    stale = mia.post(f"/api/cases/{case_id}/events", json={"kind": "commented", "text": "x"},
                     headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["code"] == "precondition_failed"
    assert mia.patch(f"/api/cases/{case_id}", json={"lead_official": "王镇长"},
                     headers={"If-Match": etag}).status_code == 412
    r = mia.patch(f"/api/cases/{case_id}", json={"lead_official": "王镇长"}, headers={"If-Match": new_etag})
    assert r.status_code == 200 and r.get_json()["case"]["lead_official"] == "王镇长"
    assert r.headers["ETag"] != new_etag


def test_basic_auth_for_scripts(api_app):  # type: ignore[no-untyped-def]
    client = api_app.test_client()
    r = client.post("/api/cases", json=intake(area_code=GRID_C), headers=basic("carol"))
    assert r.status_code == 201
    assert client.get("/api/auth/me", headers=basic("carol", "wrong-password1")).status_code == 401
