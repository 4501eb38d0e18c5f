"""Village closure and the resolution level through the API (409 naming the state)."""

from __future__ import annotations

from typing import Any

from factories import GRID_A


def intake(**extra: Any) -> dict[str, Any]:
    return {"area_code": GRID_A, "channel": "visit", "category": "neighbourhood",
            "description": "邻里因排水沟堵塞发生争执", "parties": [{"role": "applicant", "name": "张三"}],
            **extra}


def act(client, case_id: str, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cases/{case_id}/events", json=body)


def test_a_520_report_at_grid_level_is_accepted_and_closes_in_the_village(as_user):  # type: ignore[no-untyped-def]
    alice = as_user("alice")
    r = alice.post("/api/cases", json=intake(policy="520"))
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case"]["_id"]
    assert r.get_json()["projection"]["status"] == "accepted"
    assert act(alice, case_id, kind="accepted").status_code == 409  # the report was the acceptance
    for step in ({"kind": "mediated", "outcome": "agreement"},
                 {"kind": "resolved", "resolution_level": "grid"},
                 {"kind": "closed", "reply": "双方达成协议，已当面答复"}):
        assert act(alice, case_id, **step).status_code == 201, step
    r = act(alice, case_id, kind="mediated", outcome="agreement")
    assert r.status_code == 409 and "已办结" in r.get_json()["message_zh"]
    p = alice.get(f"/api/cases/{case_id}").get_json()["projection"]
    assert (p["status"], p["anomalies"], p["accepted_on_report"]) == ("closed", [], True)
    accept = next(d for d in p["deadlines"] if d["rule"] == "accept")
    assert accept["on_time"] is True


def test_escalated_to_the_county_is_not_resolved_at_village(as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json=intake(policy="520")).get_json()["case"]["_id"]
    assert act(mia, case_id, kind="escalated", to_level="county", reason="涉及多个乡镇").status_code == 201
    assert act(mia, case_id, kind="returned", to_level="township", reason="交由乡镇办理").status_code == 201
    r = act(mia, case_id, kind="resolved", resolution_level="village")
    assert r.status_code == 409
    assert "最高层级" in r.get_json()["message_zh"] and "highest level" in r.get_json()["message_en"]
    assert act(mia, case_id, kind="resolved", resolution_level="county").status_code == 201
    r = act(mia, case_id, kind="escalated", to_level="above", reason="化解后再上交")
    assert r.status_code == 409  # settled: not escalated any more


def test_a_regulation_case_waits_for_the_townships_acceptance(as_user):  # type: ignore[no-untyped-def]
    alice, mia = as_user("alice"), as_user("mia")
    case_id = alice.post("/api/cases", json=intake()).get_json()["case"]["_id"]  # regulation
    r = act(alice, case_id, kind="mediated", outcome="agreement")
    assert r.status_code == 409 and "待受理" in r.get_json()["message_zh"]
    assert act(mia, case_id, kind="accepted").status_code == 201
    assert act(alice, case_id, kind="mediated", outcome="agreement").status_code == 201
