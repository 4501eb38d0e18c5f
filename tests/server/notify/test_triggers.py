"""Who is told what (pure: no database): the unit directory and the triggers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.domain.reminders import Reminder
from server.notify.directory import Directory
from server.notify.messages import render
from server.notify.triggers import case_event_notifications, notified, reminder_notifications
from sync.users import User

AT = datetime(2026, 11, 20, 2, tzinfo=UTC)
GRID = "339901001201001"
DIRECTORY = Directory.of([
    User("alice", "grid_worker", (GRID,)), User("bob", "grid_worker", ("339901001201002",)),
    User("mia", "township_mediator", ("339901001",)), User("noah", "township_mediator", ("339901002",)),
    User("rex", "county_reviewer", ("339901",)), User("root", "admin", ("339901",)),
    User("hr1", "unit_officer", ("339901",), unit_id="unit:renshe"),
    User("gone", "grid_worker", (GRID,), active=False),
])
CASE = {"_id": "case:0b7a2f3e-1111-4222-8333-444455556677", "area_code": GRID, "tracking_code": "ABCDEFGHJK",
        "reported_by": "alice", "parties": [{"role": "applicant", "name": "甲", "phone": "13700000000"},
                                            {"role": "respondent", "name": "乙", "phone": "13900000000"}]}


def audience(docs: list[dict]) -> set[tuple[str, str, str]]:  # type: ignore[type-arg]
    return {(d["channel"], d["recipient"], d["template"]) for d in docs}


def test_unit_users_by_level() -> None:
    assert DIRECTORY.unit_users("339901") == ["rex"]
    assert DIRECTORY.unit_users("339901001") == ["mia"]
    assert DIRECTORY.unit_users("339901001201") == ["alice", "bob"]
    assert DIRECTORY.unit_users(GRID) == ["alice"]  # not the inactive account
    assert DIRECTORY.unit_users("339901002201") == ["noah"]  # a village without grid workers
    assert DIRECTORY.unit_users(None) == [] and DIRECTORY.unit_officers("unit:renshe") == ["hr1"]


def test_assignment_tells_the_party_the_handler_the_registered_unit_and_the_territorial_one() -> None:
    event = {"_id": "event:x:1", "kind": "assigned", "at": "2026-11-20T10:00:00+08:00",
             "units": [{"unit": "人社局", "unit_type": "functional", "unit_id": "unit:renshe"},
                       {"unit": "某某镇", "unit_type": "territorial", "area_code": "339901002"}]}
    assert audience(case_event_notifications(CASE, event, directory=DIRECTORY, at=AT)) == {
        ("sms", "13700000000", "case.assigned"), ("in_app", "alice", "case.assigned"),
        ("in_app", "hr1", "case.assigned"), ("in_app", "noah", "case.assigned")}
    # a functional department registered at the county: its officers, not the county's reviewers
    county_dept = {**event, "units": [{"unit": "人社局", "unit_type": "functional", "unit_id": "unit:renshe",
                                       "area_code": "339901"}]}
    assert "rex" not in {r for _, r, _ in audience(case_event_notifications(CASE, county_dept,
                                                                              directory=DIRECTORY, at=AT))}
    # without a directory (the API's immediate call): party and first handler only
    assert audience(case_event_notifications(CASE, event, at=AT)) == {
        ("sms", "13700000000", "case.assigned"), ("in_app", "alice", "case.assigned")}


def test_escalation_goes_to_the_level_and_payloads_hold_no_matter() -> None:
    event = {"_id": "event:x:2", "kind": "escalated", "to_level": "township", "at": "2026-11-20T10:00:00+08:00"}
    [doc] = case_event_notifications(CASE, event, directory=DIRECTORY, at=AT)
    assert (doc["recipient"], doc["template"]) == ("mia", "case.escalated")
    assert set(doc["payload"]) == {"tracking_code", "kind", "at", "to_level"}
    assert case_event_notifications(CASE, {**event, "kind": "commented"}, directory=DIRECTORY, at=AT) == []


def test_reminders_go_to_the_unit_and_overdue_also_above() -> None:
    soon = Reminder("due_soon", CASE["_id"], "close", date(2026, 11, 22), 2, "339901001201", None, (), False)
    late = Reminder("overdue", CASE["_id"], "close", date(2026, 11, 18), -2, "339901001", "339901", (), False)
    docs = reminder_notifications({CASE["_id"]: CASE}, [soon, late], directory=DIRECTORY, at=AT)
    assert audience(docs) == {("in_app", "alice", "case.due_soon"), ("in_app", "bob", "case.due_soon"),
                              ("in_app", "mia", "case.overdue"), ("in_app", "rex", "case.overdue"),
                              ("in_app", "alice", "case.overdue")}
    assert len({d["_id"] for d in docs}) == len(docs)


def test_a_review_decision_on_a_case_tells_the_grid_workers_concerned() -> None:
    """研判 on a case (a ``commented`` event with ``review_level``, from /api/reviews): the
    grid workers of the case's grid and its reporter, as for a risk; a comment, or a
    grid worker's device claiming the mark, tells nobody."""
    decision = {"_id": "event:x:3", "kind": "commented", "text": "【县级研判】人社局牵头，十日内化解",
                "review_level": "county", "actor": "rex", "at": "2026-11-20T10:00:00+08:00"}
    docs = case_event_notifications({**CASE, "reported_by": "mia"}, decision, directory=DIRECTORY, at=AT)
    assert audience(docs) == {("in_app", "alice", "case.reviewed")}
    assert docs[0]["payload"]["decision"] == "人社局牵头，十日内化解" and notified(decision)
    assert (docs[0]["message_zh"], docs[0]["message_en"]) == render(docs[0])
    assert docs[0]["message_zh"] == "案件（查询码 ABCDEFGHJK）县级研判意见：人社局牵头，十日内化解"
    assert case_event_notifications(CASE, {**decision, "actor": "alice"}, directory=DIRECTORY, at=AT) == []
    assert case_event_notifications(CASE, decision, at=AT) == []  # no directory: nobody to find
    plain = {k: v for k, v in decision.items() if k != "review_level"}
    assert not notified(plain) and case_event_notifications(CASE, plain, directory=DIRECTORY, at=AT) == []
