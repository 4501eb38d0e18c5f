"""Risk register projection: reviews change level/owner/due; reminders on 化解时限."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from schemas import validate_document
from server.domain.risks import project_risk

RISK = {
    "_id": "risk:7a1b2c3d-4e5f-4a6b-9c8d-0e1f2a3b4c5d", "type": "risk", "schema_version": 1,
    "area_code": "330681001201", "title": "山林界址争议", "description": "两村交界山林权属不清",
    "category": "land_forest", "level": "ordinary", "screening_round": "village",
    "owner": "李四", "due": "2026-12-31", "reported_by": "wang.wei",
    "created_at": "2026-11-01T09:00:00+08:00",
}


def rev(n: int, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    doc = {"_id": f"riskevent:7a1b2c3d-4e5f-4a6b-9c8d-0e1f2a3b4c5d:2026110{n}T010000.000Z-0000000{n}",
           "type": "riskevent", "schema_version": 1, "risk_id": RISK["_id"], "kind": kind,
           "at": at, "actor": "zhao.liu", "area_code": RISK["area_code"], **fields}
    assert validate_document(doc) == [], validate_document(doc)
    return doc


EVENTS = [
    rev(1, "screened", "2026-11-05T10:00:00+08:00", screening_round="township", level="serious"),
    rev(2, "reviewed", "2026-11-06T10:00:00+08:00", decision="列入重大清单", level="major",
        owner="王镇长", due="2026-11-30", lead_official="赵书记"),
    rev(3, "screened", "2026-11-07T10:00:00+08:00", screening_round="county", level="major"),
]


def test_reviews_and_rounds_fold_in_time_order_whatever_the_arrival_order() -> None:
    assert validate_document(RISK) == []
    expected = project_risk(RISK, EVENTS)
    assert (expected.level, expected.owner, expected.due, expected.lead_official) == (
        "major", "王镇长", date(2026, 11, 30), "赵书记")
    assert expected.rounds == ("village", "township", "county") and expected.reviews == 1
    shuffled = EVENTS * 2
    random.Random(3).shuffle(shuffled)
    assert project_risk(RISK, shuffled) == expected


def test_risk_reminder_stages_and_resolution() -> None:
    p = project_risk(RISK, EVENTS)
    assert p.stage(date(2026, 11, 26)) is None
    assert p.stage(date(2026, 11, 27)) == "due_soon"
    assert p.stage(date(2026, 11, 30)) == "due"
    assert p.stage(date(2026, 12, 1)) == "overdue" and p.escalate_to == "330681001"
    done = project_risk(RISK, [*EVENTS, rev(4, "resolved", "2026-11-08T10:00:00+08:00",
                                            summary="签订界址协议")])
    assert done.status == "resolved" and done.stage(date(2026, 12, 1)) is None


def test_risk_anomalies() -> None:
    late = rev(5, "screened", "2026-11-09T10:00:00+08:00", screening_round="county",
               level="major")
    resolved = rev(4, "resolved", "2026-11-08T10:00:00+08:00", summary="已化解")
    foreign = dict(rev(6, "commented", "2026-11-09T10:00:00+08:00", text="x"),
                   risk_id="risk:00000000-0000-4000-8000-000000000000")
    p = project_risk(RISK, [resolved, late, foreign])
    assert [a.code for a in p.anomalies] == ["foreign_event", "after_resolved"]
