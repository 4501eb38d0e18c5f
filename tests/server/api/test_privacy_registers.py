"""PIPL minimisation through the API: masked case detail, audited 查看 for those who handle
the case, review meetings per township, the party's own evaluation vs. one taken by phone."""

from __future__ import annotations

import random
from typing import Any

from factories import GRID_A, GRID_C
from testenv import poll

from schemas.privacy import id_number_check_char


def _person() -> dict[str, Any]:
    first17 = f"33010119850101{random.randrange(1000):03d}"
    return {"role": "applicant", "name": "孙八", "id_number": first17 + id_number_check_char(first17),
            "phone": f"139{random.randrange(10**8):08d}"}


def _new_case(client, area: str, person: dict[str, Any], **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post("/api/cases", json={"area_code": area, "channel": "visit", "category": "labour",
                                        "description": "欠薪", "parties": [person], **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["case"]


def test_case_detail_is_masked_and_full_values_need_a_reason_and_a_handling_role(
        as_user, dbs):  # type: ignore[no-untyped-def]
    person = _person()
    kase = _new_case(as_user("mia"), GRID_A, person)
    assert kase["parties"][0]["id_number"] == person["id_number"][:3] + "*" * 11 + person["id_number"][-4:]
    for name in ("alice", "mia", "rex", "root"):  # admin reads the case, masked
        body = as_user(name).get(f"/api/cases/{kase['_id']}").get_json()
        text = str(body)
        assert person["id_number"] not in text and person["phone"] not in text, name
        assert body["case"]["parties"][0]["phone"] == person["phone"][:3] + "****" + person["phone"][-4:]
    url = f"/api/cases/{kase['_id']}/parties"
    assert as_user("mia").get(url).status_code == 422                      # no reason
    assert as_user("root").get(url, query_string={"reason": "核对身份"}).status_code == 403  # admin
    assert as_user("carol").get(url, query_string={"reason": "核对身份"}).status_code == 404  # other township
    assert as_user("noah").get(url, query_string={"reason": "核对身份"}).status_code == 404
    for name in ("alice", "mia", "rex"):
        r = as_user(name).get(url, query_string={"reason": "电话联系当事人"})
        assert r.status_code == 200, (name, r.get_json())
        assert r.get_json()["parties"][0]["id_number"] == person["id_number"]
        assert r.headers["Cache-Control"] == "no-store"
    records = as_user("root").get("/api/audit", query_string={"doc_id": kase["_id"], "action": "parties_revealed"})
    assert records.status_code == 200, records.get_json()
    got = sorted((a["user"], a["detail"]["reason"]) for a in records.get_json()["items"])
    assert got == [("alice", "电话联系当事人"), ("mia", "电话联系当事人"), ("rex", "电话联系当事人")]


def test_a_township_sees_only_its_own_items_of_a_county_review_meeting(as_user):  # type: ignore[no-untyped-def]
    mine = _new_case(as_user("mia"), GRID_A, _person(), title="本乡欠薪")
    theirs = _new_case(as_user("noah"), GRID_C, _person(), title="邻乡征地纠纷")
    meeting = {"held_on": "2026-11-27", "title": "邻乡征地与本乡欠薪研判", "note": "邻乡书记表态",
               "attendees": ["县委政法委", "邻乡党委书记"],
               "items": [{"case_id": mine["_id"], "decision": "劳动监察牵头"},
                         {"case_id": theirs["_id"], "decision": "暂缓征地，县里督办"}]}
    r = as_user("rex").post("/api/reviews", json=meeting)
    assert r.status_code == 201, r.get_json()
    review_id = r.get_json()["review"]["_id"]
    full = as_user("rex").get(f"/api/reviews/{review_id}").get_json()["review"]
    assert full["attendees"] == meeting["attendees"] and len(full["items"]) == 2
    seen = as_user("mia").get(f"/api/reviews/{review_id}").get_json()["review"]
    listed = next(x for x in as_user("mia").get("/api/reviews").get_json()["items"] if x["_id"] == review_id)
    for view in (seen, listed):
        text = str(view)
        assert [i["case_id"] for i in view["items"]] == [mine["_id"]] and view["partial"] is True
        for secret in ("邻乡", "暂缓征地", "县委政法委", theirs["_id"], GRID_C[:9]):
            assert secret not in text, secret
        assert view["held_on"] == "2026-11-27"


def test_staff_record_phone_evaluations_which_never_block_the_partys_own(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    kase = _new_case(mia, GRID_A, _person())
    events = f"/api/cases/{kase['_id']}/events"
    for step in ({"kind": "accepted"}, {"kind": "closed", "reply": "已协调支付"}):
        assert mia.post(events, json=step).status_code == 201
    r = mia.post(events, json={"kind": "evaluated", "rating": "satisfied"})
    assert r.status_code == 422 and "evaluated_by_phone" in r.get_json()["errors"]["kind"][0]["message_zh"]
    r = mia.post(events, json={"kind": "evaluated_by_phone", "rating": "dissatisfied", "comment": "电话回访"})
    assert r.status_code == 201, r.get_json()
    p = r.get_json()["projection"]
    assert (p["evaluation"], p["phone_evaluation"]) == (None, "dissatisfied")
    public = as_user(None)
    # the tracking lookup reads the county database: wait for the replication
    track = poll(lambda: (r := public.get(f"/api/track/{kase['tracking_code']}")).status_code == 200
                 and r.get_json())
    assert track["can_evaluate"] is True and track["evaluation"] is None
    r = public.post(f"/api/track/{kase['tracking_code']}/evaluation", json={"rating": "满意"})
    assert r.status_code == 201, r.get_json()
    p = mia.get(f"/api/cases/{kase['_id']}").get_json()["projection"]
    assert (p["evaluation"], p["phone_evaluation"]) == ("satisfied", "dissatisfied")

    # the read model (满意率/参评率) counts the party's own evaluation only
    def row(case: dict[str, Any]) -> Any:
        items = mia.get("/api/cases", query_string={"q": case["tracking_code"]}).get_json()["items"]
        return items[0] if items and items[0]["status"] == "closed" else None

    assert poll(lambda: (r := row(kase)) and r["evaluation"] == "satisfied")
    only_phone = _new_case(mia, GRID_A, _person())
    for step in ({"kind": "accepted"}, {"kind": "closed", "reply": "已答复"},
                 {"kind": "evaluated_by_phone", "rating": "satisfied"}):
        assert mia.post(f"/api/cases/{only_phone['_id']}/events", json=step).status_code == 201
    assert poll(lambda: row(only_phone))["evaluation"] is None
