"""The case projection: state, deadlines, pauses and anomalies; independent of arrival order."""

from __future__ import annotations

import random
from datetime import date

from domain_helpers import EXTRAS, ev, make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.projection import project_case
from server.domain.workdays import WorkCalendar, YearSchedule


def codes(projection) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.code for a in projection.anomalies]


def test_reported_case_has_only_the_acceptance_clock_running() -> None:
    case = make_case("2026-11-23T09:00:00+08:00")
    p = project_case(case, [])
    assert (p.status, p.level, p.paused, p.anomalies) == ("reported", "village", False, ())
    accept = p.deadline("accept")
    assert accept is not None and accept.due_date == date(2026, 12, 8) and accept.open
    close = p.deadline("close")
    assert close is not None and not close.started and close.due_date is None


def test_full_dual_assignment_story_without_anomalies() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    events = [
        ev(case, "accepted", "2026-03-03T10:00:00+08:00"),
        ev(case, "assigned", "2026-03-03T11:00:00+08:00"),
        ev(case, "feedback", "2026-03-05T11:00:00+08:00", unit="枫桥镇"),
        ev(case, "mediated", "2026-03-06T11:00:00+08:00"),
        ev(case, "resolved", "2026-03-07T11:00:00+08:00", resolution_level="village"),
        ev(case, "feedback", "2026-03-08T11:00:00+08:00"),
        ev(case, "closed", "2026-03-10T11:00:00+08:00"),
        ev(case, "followed_up", "2026-03-20T11:00:00+08:00"),
        ev(case, "evaluated", "2026-03-20T11:05:00+08:00", rating="basically_satisfied"),
    ]
    p = project_case(case, events)
    assert p.anomalies == ()
    assert p.status == "closed" and p.resolution_level == "village"
    assert p.dual_assignment and p.assigned_units == ("县住建局", "枫桥镇")
    assert p.pending_units == ()
    assert p.evaluation == "basically_satisfied" and p.followed_up
    close = p.deadline("close")
    assert close is not None and close.due_date == date(2026, 5, 2) and close.on_time


def test_pending_units_until_both_report_back() -> None:
    case = make_case()
    events = [ev(case, "accepted", "2026-03-02T10:00:00+08:00"),
              ev(case, "assigned", "2026-03-02T11:00:00+08:00"),
              ev(case, "feedback", "2026-03-03T11:00:00+08:00")]
    p = project_case(case, events)
    assert p.pending_units == ("枫桥镇",) and p.status == "in_progress"


def test_impossible_sequences_are_reported_not_dropped() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    events = [
        ev(case, "evaluated", "2026-03-03T09:00:00+08:00"),
        ev(case, "closed", "2026-03-04T09:00:00+08:00"),
        ev(case, "accepted", "2026-03-05T09:00:00+08:00"),
        ev(case, "feedback", "2026-03-06T09:00:00+08:00", unit="无关单位"),
        ev(case, "resumed", "2026-03-07T09:00:00+08:00"),
    ]
    p = project_case(case, events)
    assert codes(p) == ["evaluated_before_close",              # evaluated
                        "before_accept",                       # closed
                        "after_close",                         # accepted
                        "after_close", "feedback_without_assignment",
                        "after_close", "resumed_without_pause"]
    assert p.status == "closed" and p.evaluation == "satisfied" and p.event_count == 5
    assert p.anomalies[0].message_zh == "办结前评价"


def test_foreign_deleted_duplicate_and_misplaced_events_are_flagged() -> None:
    case, other = make_case(), make_case()
    accepted = ev(case, "accepted", "2026-03-02T10:00:00+08:00")
    twin = dict(accepted, note="改过的内容")
    deleted = dict(ev(case, "commented", "2026-03-02T11:00:00+08:00"), _deleted=True)
    wrong_area = ev(case, "commented", "2026-03-02T12:00:00+08:00")
    wrong_area["area_code"] = "330681001201004"
    early = ev(case, "commented", "2026-03-01T12:00:00+08:00")
    p = project_case(case, [accepted, accepted, twin, deleted, wrong_area, early,
                            ev(other, "closed", "2026-03-03T10:00:00+08:00")])
    assert set(codes(p)) == {"duplicate_event_id", "deleted_event", "foreign_event",
                             "area_mismatch", "before_report"}
    assert p.status == "accepted" and p.event_count == 3


def test_order_is_by_instant_not_by_local_clock_text() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    # 10:30 in China happens *before* 03:00 UTC (11:00 China).
    p = project_case(case, [ev(case, "closed", "2026-03-03T03:00:00+00:00"),
                            ev(case, "accepted", "2026-03-03T10:30:00+08:00")])
    assert "before_accept" not in codes(p) and p.status == "closed"


def test_paused_days_do_not_count_and_open_pause_suspends() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    base = [ev(case, "accepted", "2026-03-02T10:00:00+08:00")]
    plain = project_case(case, base).deadline("close")
    assert plain is not None and plain.due_date == date(2026, 5, 1)
    paused = base + [ev(case, "paused", "2026-03-10T10:00:00+08:00"),
                     ev(case, "resumed", "2026-03-20T16:00:00+08:00")]
    p = project_case(case, paused)
    close = p.deadline("close")
    assert close is not None and close.due_date == date(2026, 5, 11)  # 10 days (10th–19th)
    assert p.paused_intervals[0][1] is not None and not p.paused
    still = project_case(case, base + [ev(case, "paused", "2026-03-10T10:00:00+08:00")])
    close = still.deadline("close")
    assert still.paused and close is not None and close.suspended and close.due_date is None
    assert not close.is_overdue(date(2027, 1, 1))


def test_pause_on_working_day_rule_and_closing_while_paused() -> None:
    case = make_case("2026-02-10T09:00:00+08:00", policy="double_sign")
    events = [ev(case, "accepted", "2026-02-12T10:00:00+08:00"),
              # paused Fri 13 Feb and Sat 14 Feb (a 调休 working day), resumed 15 Feb
              ev(case, "paused", "2026-02-13T08:00:00+08:00"),
              ev(case, "resumed", "2026-02-15T08:00:00+08:00")]
    meet = project_case(case, events).deadline("meet")
    assert meet is not None and meet.due_date == date(2026, 2, 26)  # 24, 25, 26 Feb
    closing = events[:2] + [ev(case, "closed", "2026-02-20T08:00:00+08:00")]
    p = project_case(case, closing)
    assert "closed_while_paused" in codes(p) and not p.paused


def test_escalation_return_and_levels() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    events = [ev(case, "accepted", "2026-03-02T10:00:00+08:00"),
              ev(case, "escalated", "2026-03-03T10:00:00+08:00", to_level="county"),
              ev(case, "returned", "2026-03-04T10:00:00+08:00", to_level="township"),
              ev(case, "escalated", "2026-03-05T10:00:00+08:00", to_level="township")]
    p = project_case(case, events)
    assert p.level == "township" and p.escalations == 2
    assert codes(p) == ["escalated_not_upwards"]
    assert project_case(make_case(area_code="330681001"), []).level == "township"
    assert project_case(make_case(area_code="330681"), []).level == "county"


def test_extensions_declines_reviews_and_unknown_policy() -> None:
    case = make_case("2026-01-01T09:00:00+08:00")
    events = [ev(case, "accepted", "2026-01-01T10:00:00+08:00"),
              ev(case, "extended", "2026-02-01T10:00:00+08:00", days=20),
              ev(case, "extended", "2026-02-02T10:00:00+08:00", days=20),
              ev(case, "extended", "2026-02-03T10:00:00+08:00", rule="meet", days=3)]
    p = project_case(case, events)
    close = p.deadline("close")
    assert close is not None and close.extension_days == 30 and close.due_date == date(2026, 4, 1)
    assert codes(p) == ["extension_over_limit", "unknown_rule"]

    declined = project_case(case, [ev(case, "declined", "2026-01-05T10:00:00+08:00")])
    accept = declined.deadline("accept")
    assert declined.status == "declined" and accept is not None and accept.on_time

    reviewed = project_case(case, [
        ev(case, "accepted", "2026-01-01T10:00:00+08:00"),
        ev(case, "closed", "2026-01-20T10:00:00+08:00"),
        ev(case, "review_requested", "2026-02-01T10:00:00+08:00"),
    ])
    review = reviewed.deadline("review")
    assert review is not None and review.due_date == date(2026, 3, 3) and review.open
    assert reviewed.anomalies == () and reviewed.review_stage == "review"

    odd = project_case(make_case(policy="fast_track"), [])
    assert odd.deadlines == () and codes(odd) == ["unknown_policy"]


def test_projection_of_a_provisional_deadline_is_recomputed_with_a_new_schedule() -> None:
    case = make_case("2026-12-28T09:00:00+08:00", policy="double_sign")
    events = [ev(case, "accepted", "2026-12-30T10:00:00+08:00")]
    meet = project_case(case, events).deadline("meet")
    assert meet is not None and meet.provisional and meet.due_date == date(2027, 1, 5)
    official = WorkCalendar(schedules={2027: YearSchedule(
        2027, frozenset({date(2027, 1, 1), date(2027, 1, 4)}), frozenset(), "test")})
    meet = project_case(case, events, calendar=official).deadline("meet")
    assert meet is not None and not meet.provisional and meet.due_date == date(2027, 1, 6)


def test_to_dict_is_json_ready() -> None:
    import json

    case = make_case()
    p = project_case(case, [ev(case, "accepted", "2026-03-02T10:00:00+08:00")])
    data = json.loads(json.dumps(p.to_dict()))
    assert data["deadlines"][0]["due_date"] == "2026-03-17"


# ---- order independence (hypothesis) ----------------------------------------------------

CASE = make_case("2026-03-02T09:00:00+08:00", case_uuid="11111111-2222-4333-8444-555555555555")
KINDS = sorted(EXTRAS)
TIMES = [f"2026-03-{d:02d}T{h:02d}:00:00+08:00" for d in (1, 2, 5, 9) for h in (9, 17)] + [
    "2026-03-05T01:00:00+00:00",  # same instant as 09:00 China: ties broken by _id
]

event_strategy = st.builds(
    lambda kind, at, n: ev(CASE, kind, at, suffix=f"{n:08x}"),
    st.sampled_from(KINDS), st.sampled_from(TIMES), st.integers(0, 2**32 - 1),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(event_strategy, max_size=14), st.randoms(use_true_random=False),
       st.integers(0, 3))
def test_projection_does_not_depend_on_arrival_order(events, rnd, dupes) -> None:  # type: ignore[no-untyped-def]
    expected = project_case(CASE, events).to_dict()
    arrived = list(events) + [rnd.choice(events) for _ in range(dupes) if events]
    rnd.shuffle(arrived)
    assert project_case(CASE, arrived).to_dict() == expected
    assert project_case(CASE, list(reversed(events))).to_dict() == expected


def test_many_random_orders_of_a_long_history_agree() -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    events = [ev(case, kind, TIMES[i % len(TIMES)]) for i, kind in enumerate(KINDS * 2)]
    expected = project_case(case, events)
    rng = random.Random(7)
    for _ in range(50):
        rng.shuffle(events)
        assert project_case(case, events) == expected


def test_until_projects_the_case_as_it_stood_then() -> None:
    from datetime import datetime

    case = make_case("2026-03-02T09:00:00+08:00")
    events = [ev(case, "accepted", "2026-03-03T10:00:00+08:00"),
              ev(case, "closed", "2026-03-10T10:00:00+08:00")]
    then = project_case(case, events, until=datetime.fromisoformat("2026-03-05T00:00:00+08:00"))
    assert then.status == "accepted" and then.closed_at is None and then.event_count == 1
