"""The one table of state rules, the village closure and the resolution-level rule."""

from __future__ import annotations

from datetime import date

import pytest
from domain_helpers import EXTRAS, ev, make_case

from server.domain.metrics import case_row, compute_metrics
from server.domain.policies import ACCEPTED_ON_REPORT, POLICIES
from server.domain.projection import ANOMALY_TEXT, project_case
from server.domain.refusals import event_refusal
from server.domain.reminders import case_reminders
from server.domain.states import (
    ALLOWED_KINDS,
    STATE_CODES,
    counted_resolution_level,
    resolution_levels,
    tablet_rules,
)

GRID = "330681001201003"
# A history that puts a regulation case (not accepted on report) in each status.
HISTORIES: dict[str, list[tuple[str, dict]]] = {
    "reported": [],
    "accepted": [("accepted", {})],
    "in_progress": [("accepted", {}), ("mediated", {})],
    "resolved": [("accepted", {}), ("resolved", {})],
    "closed": [("accepted", {}), ("closed", {})],
    "declined": [("declined", {})],
}
# Kinds whose own fields or one fact of the history decide besides the status.
GUARDED = {"feedback", "resumed", "review_decided", "returned"}


def in_status(status: str):  # type: ignore[no-untyped-def]
    case = make_case("2026-03-02T09:00:00+08:00")
    events = [ev(case, kind, f"2026-03-0{3 + i}T10:00:00+08:00", **kw)
              for i, (kind, kw) in enumerate(HISTORIES[status])]
    assert project_case(case, events).status == status
    return case, events


@pytest.mark.parametrize("status", sorted(HISTORIES))
def test_the_table_decides_what_each_status_allows(status: str) -> None:
    case, events = in_status(status)
    for kind in sorted(EXTRAS):
        new = ev(case, kind, "2026-03-20T10:00:00+08:00")
        refusal = event_refusal(case, events, new)
        if kind not in ALLOWED_KINDS[status]:
            assert refusal is not None, (status, kind)
            assert refusal[0].startswith("案件当前状态下不能记录") and refusal[1]
        elif kind not in GUARDED and kind != "evaluated":
            assert refusal is None, (status, kind, refusal)


def test_every_state_code_has_words_in_both_languages() -> None:
    assert STATE_CODES <= set(ANOMALY_TEXT)
    assert set(ALLOWED_KINDS) == {"reported", "accepted", "in_progress", "resolved", "closed",
                                  "declined"}


def village_settled(policy: str = "520", area_code: str = GRID):  # type: ignore[no-untyped-def]
    """Registered on the tablet and settled there: no 受理, no 办结 by anyone else."""
    case = make_case("2026-03-02T09:00:00+08:00", policy=policy, area_code=area_code,
                     channel="grid_worker")
    events = [ev(case, "mediated", "2026-03-02T15:00:00+08:00"),
              ev(case, "resolved", "2026-03-03T10:00:00+08:00", resolution_level="grid"),
              ev(case, "closed", "2026-03-03T11:00:00+08:00", reply="双方达成协议，已当面答复"),
              ev(case, "followed_up", "2026-03-10T10:00:00+08:00"),
              ev(case, "evaluated_by_phone", "2026-03-10T10:05:00+08:00")]
    return case, events


def test_a_dispute_settled_in_the_village_closes_and_counts() -> None:
    case, events = village_settled()
    p = project_case(case, events)
    assert "520" in ACCEPTED_ON_REPORT and p.accepted_on_report
    assert (p.status, p.anomalies, p.resolution_level) == ("closed", (), "grid")
    assert p.accepted_at == p.created_at
    accept, close = p.deadline("accept"), p.deadline("close")
    assert accept is not None and accept.on_time and accept.met_at == p.created_at
    assert close is not None and close.on_time and close.due_date == date(2026, 3, 22)
    assert case_reminders(p, date(2026, 12, 1)) == []
    metrics = compute_metrics([p], "330681", date(2026, 3, 1), date(2026, 3, 31))
    for key in ("stays_in_village", "timely_acceptance", "on_time_closure", "resolution_rate"):
        assert (metrics[key].numerator, metrics[key].denominator) == (1, 1), key


def test_a_fresh_report_under_520_runs_only_its_closure_clock() -> None:
    case = make_case("2026-11-02T09:00:00+08:00", policy="520")
    p = project_case(case, [])
    assert p.status == "accepted" and p.anomalies == ()
    [r] = case_reminders(p, date(2026, 11, 21))
    assert (r.rule, r.stage, r.due_date) == ("close", "due_soon", date(2026, 11, 22))
    again = ev(case, "accepted", "2026-11-02T10:00:00+08:00")
    assert event_refusal(case, [], again) is not None  # already accepted by the report


@pytest.mark.parametrize(("policy", "area_code"), [
    ("regulation", GRID), ("green_channel", GRID), ("double_sign", GRID),
    ("520", "330681001"),  # registered at the township office: the township accepts
])
def test_where_the_report_is_not_an_acceptance_the_township_must_accept(policy, area_code) -> None:  # type: ignore[no-untyped-def]
    assert policy in POLICIES
    case, events = village_settled(policy, area_code)
    p = project_case(case, events)
    assert not p.accepted_on_report and "before_accept" in {a.code for a in p.anomalies}
    assert event_refusal(case, [], events[0]) is not None
    overdue = case_reminders(project_case(case, []), date(2026, 6, 1))
    assert [(r.stage, r.rule) for r in overdue] == [("overdue", "accept")]


def test_escalated_to_the_county_cannot_be_resolved_at_village() -> None:
    case = make_case("2026-03-02T09:00:00+08:00", policy="520")
    events = [ev(case, "escalated", "2026-03-03T10:00:00+08:00", to_level="county"),
              ev(case, "returned", "2026-03-05T10:00:00+08:00", to_level="township")]
    p = project_case(case, events)
    assert (p.level, p.highest_level) == ("township", "county")
    assert resolution_levels(p.highest_level) == ("county", "above")
    village = ev(case, "resolved", "2026-03-06T10:00:00+08:00", resolution_level="village")
    refusal = event_refusal(case, events, village)
    assert refusal is not None and "最高层级" in refusal[0] and "highest level" in refusal[1]
    assert event_refusal(case, events, ev(case, "resolved", "2026-03-06T10:00:00+08:00",
                                          resolution_level="county")) is None
    # Written anyway (an old record): flagged, and counted at the level the case reached.
    flagged = project_case(case, [*events, village,
                                  ev(case, "closed", "2026-03-07T10:00:00+08:00")])
    assert [a.code for a in flagged.anomalies] == ["resolved_below_level"]
    assert case_row(flagged, date(2026, 4, 1))["resolution_level"] == "county"
    metrics = compute_metrics([flagged], "330681", date(2026, 3, 1), date(2026, 3, 31))
    assert (metrics["stays_in_village"].numerator, metrics["stays_in_village"].denominator) == (0, 1)
    assert metrics["stays_in_county"].numerator == 1


def test_no_escalation_after_resolution_and_counted_levels() -> None:
    case = make_case("2026-03-02T09:00:00+08:00", policy="520")
    resolved = [ev(case, "resolved", "2026-03-03T10:00:00+08:00", resolution_level="village")]
    up = ev(case, "escalated", "2026-03-04T10:00:00+08:00", to_level="township")
    assert event_refusal(case, resolved, up) is not None
    p = project_case(case, [*resolved, up])
    assert [a.code for a in p.anomalies] == ["after_resolution"]
    assert case_row(p, date(2026, 4, 1))["resolution_level"] == "township"
    assert counted_resolution_level("grid", "village") == "grid"
    assert counted_resolution_level(None, "county") is None


def test_the_tablet_gets_the_same_table() -> None:
    rules = tablet_rules()
    assert rules["allowed_kinds"]["closed"] == sorted(ALLOWED_KINDS["closed"])
    assert rules["accepted_on_report"] == sorted(ACCEPTED_ON_REPORT)
    assert rules["level_rank"]["county"] == 2 and rules["resolution_rank"]["grid"] == 0
