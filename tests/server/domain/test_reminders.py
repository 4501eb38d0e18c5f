"""三单三函: due soon / due / overdue per responsible unit, escalated one level up."""

from __future__ import annotations

from datetime import date, datetime

from domain_helpers import ev, make_case

from server.domain.projection import project_case
from server.domain.reminders import (
    case_reminders,
    escalations,
    parent_code,
    reminders_by_unit,
    responsible_unit,
)

GRID = "330681001201003"


def accepted_case(area_code: str = GRID, *extra_kinds: tuple[str, str, dict]):  # type: ignore[no-untyped-def]
    case = make_case("2026-11-01T09:00:00+08:00", area_code=area_code)
    events = [ev(case, "accepted", "2026-11-02T10:00:00+08:00")]  # close due 2027-01-01
    events += [ev(case, kind, at, **kw) for kind, at, kw in extra_kinds]
    return project_case(case, events)


def test_parent_codes_walk_up_to_the_county() -> None:
    assert parent_code("330681001201003") == "330681001201"
    assert parent_code("330681001201") == "330681001"
    assert parent_code("330681001") == "330681"
    assert parent_code("330681") is None and parent_code("33068") is None


def test_stages_around_the_due_date() -> None:
    p = accepted_case()
    assert responsible_unit(p) == "330681001201"

    def stages(day: date) -> list[tuple[str, str, int]]:
        return [(r.stage, r.rule, r.days_left) for r in case_reminders(p, day, lead_days=3)]

    assert stages(date(2026, 12, 28)) == []
    assert stages(date(2026, 12, 29)) == [("due_soon", "close", 3)]
    assert stages(date(2027, 1, 1)) == [("due", "close", 0)]
    [overdue] = case_reminders(p, datetime.fromisoformat("2027-01-01T16:30:00+00:00"))
    assert overdue.stage == "overdue" and overdue.days_left == -1  # 2 Jan in China already
    assert overdue.unit == "330681001201" and overdue.escalate_to == "330681001"


def test_unaccepted_case_reminds_about_acceptance() -> None:
    case = make_case("2026-11-01T09:00:00+08:00")
    [r] = case_reminders(project_case(case, []), date(2026, 11, 16))
    assert (r.stage, r.rule, r.due_date) == ("due", "accept", date(2026, 11, 16))


def test_met_paused_closed_and_declined_cases_produce_nothing() -> None:
    day = date(2027, 3, 1)
    paused = accepted_case(GRID, ("paused", "2026-11-10T10:00:00+08:00", {}))
    closed = accepted_case(GRID, ("closed", "2026-11-10T10:00:00+08:00", {}))
    assert case_reminders(paused, day) == [] and case_reminders(closed, day) == []
    case = make_case("2026-11-01T09:00:00+08:00")
    declined = project_case(case, [ev(case, "declined", "2026-11-02T10:00:00+08:00")])
    assert case_reminders(declined, day) == []


def test_grouped_by_unit_with_escalation_targets() -> None:
    village = accepted_case()
    county = accepted_case(GRID, ("escalated", "2026-11-05T10:00:00+08:00",
                                  {"to_level": "county"}))
    township = accepted_case("330681002")
    day = date(2027, 1, 5)
    grouped = reminders_by_unit([village, county, township], day)
    assert sorted(grouped) == ["330681", "330681001201", "330681002"]
    assert grouped["330681"][0].escalate_to is None
    assert grouped["330681002"][0].escalate_to == "330681"
    up = escalations([village, county, township], day)
    assert sorted(up) == ["330681", "330681001"]
    assert [r.case_id for r in up["330681"]] == [township.case_id]


def test_dual_assignment_reminders_name_pending_units() -> None:
    p = accepted_case(GRID, ("assigned", "2026-11-03T10:00:00+08:00", {}),
                      ("feedback", "2026-11-04T10:00:00+08:00", {}))
    [r] = case_reminders(p, date(2027, 1, 2))
    assert r.pending_units == ("枫桥镇",)
