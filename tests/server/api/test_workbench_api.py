"""The workbench's API: the 承办单位 registry, unit officers, the actions a case's state
allows, and 我的待办 (/api/todo) per role."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from apps import Site
from factories import COUNTY, GRID_A, PASSWORD, TOWNSHIP_1
from testenv import poll, signed_in_clients

PARTIES = [{"role": "applicant", "name": "钱七", "phone": "13912345678", "id_number": "11010519491231002X"}]


def new_case(as_user: Any, who: str = "mia", area: str = GRID_A, **extra: Any) -> dict[str, Any]:
    r = as_user(who).post("/api/cases", json={"area_code": area, "channel": "visit", "category": "labour",
                                              "description": "拖欠工资三个月", "parties": PARTIES, **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def act(as_user: Any, who: str, case_id: str, **body: Any) -> Any:
    return as_user(who).post(f"/api/cases/{case_id}/events", json=body)


@pytest.fixture(scope="module")
def registry(as_user, couch, shared_site) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two units kept by the admin, and an account of the first (``hrb``)."""
    from sync.users import UserStore, provision

    root = as_user("root")
    made = {}
    for key, body in (("labour", {"name": "县人力社保局", "unit_type": "functional", "area_code": COUNTY}),
                      ("town", {"name": "一镇人民政府", "unit_type": "territorial", "area_code": TOWNSHIP_1}),
                      ("land", {"name": "县自然资源局", "unit_type": "functional", "area_code": COUNTY})):
        r = root.post("/api/units", json=body)
        assert r.status_code == 201, r.get_json()
        made[key] = r.get_json()
    provision(couch, shared_site.topology, UserStore(couch, shared_site.prefix, COUNTY), "hrb.officer", "unit_officer", [COUNTY],
              PASSWORD, unit_id=made["labour"]["_id"], display_name="人社局信访科")
    return made


def unit_ref(unit: dict[str, Any]) -> dict[str, Any]:
    return {"unit": unit["name"], "unit_type": unit["unit_type"], "area_code": unit["area_code"],
            "unit_id": unit["_id"]}


def test_units_are_kept_by_admins_and_read_by_staff(as_user, registry) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "县信访局", "unit_type": "functional", "area_code": COUNTY}
    for who, status in (("mia", 403), ("rex", 403), ("alice", 403), (None, 401)):
        assert as_user(who).post("/api/units", json=body).status_code == status
    r = as_user("root").post("/api/units", json={**body, "unit_type": "ministry", "area_code": "12"})
    assert r.status_code == 422 and {"unit_type", "area_code"} <= set(r.get_json()["errors"])
    assert as_user("root").post("/api/units", json={**body, "name": "县人力社保局"}).status_code == 409
    names = [u["name"] for u in as_user("mia").get("/api/units").get_json()["items"]]
    assert {"县人力社保局", "一镇人民政府"} <= set(names)
    # rename with If-Match; a stale tag is 412
    unit = registry["land"]
    r = as_user("root").patch(f"/api/units/{unit['_id']}", json={"contact": "王科长 0571-1234"},
                              headers={"If-Match": unit["_rev"]})
    assert r.status_code == 200, r.get_json()
    r = as_user("root").patch(f"/api/units/{unit['_id']}", json={"active": False},
                              headers={"If-Match": unit["_rev"]})
    assert r.status_code == 412


def test_actions_follow_the_state(as_user) -> None:  # type: ignore[no-untyped-def]
    detail = new_case(as_user)
    case_id = detail["case"]["_id"]
    assert set(detail["actions"]) == {"accepted", "declined", "commented"}
    # 诉访分离: a matter with a legal route is declined with it, never accepted
    routed = new_case(as_user, legal_route="court")
    assert "accepted" not in routed["actions"] and "declined" in routed["actions"]
    assert act(as_user, "mia", case_id, kind="accepted").status_code == 201
    r = act(as_user, "mia", case_id, kind="escalated", to_level="county", reason="涉及多个部门")
    assert r.status_code == 201
    actions = r.get_json()["actions"]
    # escalated to the county: resolved at county or above only; 退回 goes down
    assert actions["resolved"]["resolution_level"] == ["county", "above"]
    assert actions["returned"]["to_level"] == ["village", "township"]
    assert actions["escalated"]["to_level"] == ["above"]
    assert "evaluated" not in actions  # the party's own, through the tracking code only
    # the county reviewer sees the same; a grid worker of the grid may act, one elsewhere not
    rex = as_user("rex").get(f"/api/cases/{case_id}").get_json()["actions"]
    assert rex == actions
    assert as_user("carol").get(f"/api/cases/{case_id}").status_code == 404


def test_unit_officer_sees_and_reports_only_its_units_cases(as_user, registry, api_app) -> None:  # type: ignore[no-untyped-def]
    labour, town = registry["labour"], registry["town"]
    detail = new_case(as_user)
    case_id = detail["case"]["_id"]
    other = new_case(as_user)["case"]["_id"]
    assert act(as_user, "mia", case_id, kind="accepted").status_code == 201
    r = act(as_user, "mia", case_id, kind="assigned", units=[unit_ref(labour), unit_ref(town)])
    assert r.status_code == 201, r.get_json()
    assert "closed" not in r.get_json()["actions"]  # 办结 waits for both units' feedback
    assert r.get_json()["actions"]["feedback"]["unit"] == ["县人力社保局", "一镇人民政府"]

    hrb = api_app.test_client()
    from testenv import login

    assert login(hrb, "hrb.officer", PASSWORD).status_code == 200
    mine = poll(lambda: [i for i in hrb.get("/api/units/mine/cases").get_json()["items"]
                         if i["case_id"] == case_id])
    assert mine[0]["pending"] is True
    todo = hrb.get("/api/todo").get_json()
    assert case_id in [i["case_id"] for g in todo["groups"] if g["key"] == "unit_pending" for i in g["items"]]
    page = hrb.get(f"/api/cases/{case_id}").get_json()
    assert page["actions"] == {"feedback": {"unit": ["县人力社保局"]}}
    assert "*" in page["case"]["parties"][0]["phone"]  # masked
    # nothing else: another case, lists, statistics, exports, parties, another kind, another unit
    assert hrb.get(f"/api/cases/{other}").status_code == 404
    for url in ("/api/cases", "/api/stats", "/api/risks", "/api/reminders", "/api/exports/cases.csv",
                f"/api/cases/{case_id}/parties?reason=核对"):
        assert hrb.get(url).status_code == 403, url
    assert hrb.post(f"/api/cases/{case_id}/events", json={"kind": "closed", "reply": "x"}).status_code == 403
    r = hrb.post(f"/api/cases/{case_id}/events", json={"kind": "feedback", "unit": "一镇人民政府", "content": "x"})
    assert r.status_code == 403
    assert hrb.post(f"/api/cases/{other}/events", json={"kind": "feedback", "content": "x"}).status_code == 404
    # its own feedback: the unit's name and id filled in from the assignment
    r = hrb.post(f"/api/cases/{case_id}/events", json={"kind": "feedback", "content": "已督促企业支付工资"})
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["event"]["unit"], r.get_json()["event"]["unit_id"]) == ("县人力社保局", labour["_id"])
    assert r.get_json()["projection"]["pending_units"] == ["一镇人民政府"]
    assert r.get_json()["actions"] == {"feedback": {"unit": ["县人力社保局"]}}  # progress reports
    # a unit officer never syncs
    auth = base64.b64encode(f"hrb.officer:{PASSWORD}".encode()).decode()
    r = api_app.test_client().get("/sync/hrb.officer/", headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 403


@pytest.fixture(scope="module")
def own_county(couch, couch_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    """``as_user`` of a county of its own: a to-do group shows its 20 most urgent items, and
    the session county's older cases, written by other tests, would crowd these out."""
    with Site.open(couch, couch_url, tmp_path_factory.mktemp("todo-home"), tag="todo") as site:
        site.provision()
        yield signed_in_clients(site.app("api"), PASSWORD)


def test_todo_per_role(own_county) -> None:  # type: ignore[no-untyped-def]
    as_user = own_county
    fresh = new_case(as_user, "alice")["case"]["_id"]
    escalated = new_case(as_user, "mia")["case"]["_id"]
    assert act(as_user, "mia", escalated, kind="accepted").status_code == 201
    assert act(as_user, "mia", escalated, kind="escalated", to_level="county", reason="跨部门").status_code == 201
    repeat = new_case(as_user, "alice")["case"]["_id"]  # same party and category as ``fresh``

    def group(who: str, key: str) -> list[str]:
        body = as_user(who).get("/api/todo").get_json()
        assert "groups" in body, body
        return [i["case_id"] for g in body["groups"] if g["key"] == key for i in g["items"]]

    poll(lambda: fresh in group("mia", "to_accept"))
    assert fresh not in group("noah", "to_accept")  # another township
    assert fresh not in group("rex", "to_accept")   # a village's case is the township's to accept
    poll(lambda: escalated in group("rex", "sent_up"))
    assert escalated not in group("mia", "sent_up")
    poll(lambda: repeat in group("mia", "repeats"))
    item = next(i for g in as_user("mia").get("/api/todo").get_json()["groups"] if g["key"] == "repeats"
                for i in g["items"] if i["case_id"] == repeat)
    assert fresh in [e["case_id"] for e in item["earlier"]]
    body = as_user("mia").get("/api/todo").get_json()
    labels = {g["key"]: g["label_zh"] for g in body["groups"]}
    assert labels["to_accept"] == "待受理" and labels["repeats"] == "疑似重复访"
    for who, status in (("alice", 403), ("root", 403), (None, 401)):
        assert as_user(who).get("/api/todo").status_code == status



def test_case_photos_are_served_in_scope_only(as_user, dbs) -> None:  # type: ignore[no-untyped-def]
    """The case page's photos: the case document's attachments, scoped like the case."""
    case_id = new_case(as_user, "alice")["case"]["_id"]
    db = dbs[TOWNSHIP_1]
    doc = db.get(case_id)
    jpeg = b"\xff\xd8\xff\xe0" + b"fengqiao-photo" * 50 + b"\xff\xd9"
    db.put_attachment(case_id, "photo.jpg", jpeg, "image/jpeg", rev=doc["_rev"])
    url = f"/api/cases/{case_id}/attachments/photo.jpg"
    for who in ("alice", "mia", "rex"):
        r = as_user(who).get(url)
        assert r.status_code == 200 and r.data == jpeg and r.mimetype == "image/jpeg", who
        assert "no-store" in r.headers["Cache-Control"]
    assert as_user("noah").get(url).status_code == 404   # another township
    assert as_user("carol").get(url).status_code == 404  # a grid worker elsewhere
    assert as_user("mia").get(f"/api/cases/{case_id}/attachments/other.jpg").status_code == 404
    assert as_user(None).get(url).status_code == 401
    # the detail lists it, so the page can show it
    assert "photo.jpg" in as_user("mia").get(f"/api/cases/{case_id}").get_json()["case"]["_attachments"]


def test_another_township_cannot_act_on_or_see_a_case(as_user) -> None:  # type: ignore[no-untyped-def]
    case_id = new_case(as_user)["case"]["_id"]
    noah = as_user("noah")
    assert noah.get(f"/api/cases/{case_id}").status_code == 404
    assert noah.post(f"/api/cases/{case_id}/events", json={"kind": "accepted"}).status_code == 404
    assert noah.get(f"/api/cases/{case_id}/repeats").status_code == 404
    todo = noah.get("/api/todo").get_json()
    assert case_id not in [i.get("case_id") for g in todo["groups"] for i in g["items"]]
