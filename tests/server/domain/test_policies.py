"""The deadline policy table: every rule's numbers, day counting and policy documents."""

from __future__ import annotations

from datetime import date

import pytest

from schemas import validate_document
from schemas.events import EVENT_KINDS
from server.domain.policies import (
    POLICIES,
    POLICY_LABELS,
    RULE_LABELS,
    get_policy,
    policy_documents,
    rule_deadline,
)
from server.domain.workdays import DayResult


@pytest.mark.parametrize(
    ("policy", "rule", "start", "expected"),
    [
        ("regulation", "accept", date(2026, 11, 23), date(2026, 12, 8)),
        ("regulation", "close", date(2026, 11, 23), date(2027, 1, 22)),  # calendar: not provisional
        ("regulation", "review", date(2026, 9, 30), date(2026, 10, 30)),
        ("regulation", "re_review", date(2026, 12, 15), date(2027, 1, 14)),
        ("520", "accept", date(2025, 9, 28), date(2025, 10, 3)),  # calendar days run through 国庆
        ("520", "close", date(2026, 2, 10), date(2026, 3, 2)),
        ("green_channel", "first_feedback", date(2026, 2, 13), date(2026, 2, 20)),
        ("green_channel", "close", date(2026, 2, 13), date(2026, 3, 5)),
        ("double_sign", "meet", date(2025, 9, 30), date(2025, 10, 11)),
        ("double_sign", "meet", date(2026, 2, 13), date(2026, 2, 25)),
        ("double_sign", "meet", date(2025, 1, 24), date(2025, 2, 5)),  # 26 Jan, 27 Jan, 5 Feb
        ("double_sign", "close", date(2026, 11, 23), date(2027, 1, 22)),
    ],
)
def test_rule_deadlines(policy: str, rule: str, start: date, expected: date) -> None:
    assert rule_deadline(policy, rule, start).date == expected


def test_double_sign_meet_over_year_end_is_provisional() -> None:
    assert rule_deadline("double_sign", "meet", date(2026, 12, 30)) == DayResult(
        date(2027, 1, 5), provisional=True)


def test_extension_is_capped_by_the_rule() -> None:
    assert rule_deadline("regulation", "close", date(2026, 1, 1), extension_days=30).date == \
        date(2026, 4, 1)  # 1 Jan + 90 days
    assert rule_deadline("regulation", "close", date(2026, 1, 1), extension_days=45).date == \
        date(2026, 4, 1)  # 1 Jan + 90 days
    assert rule_deadline("520", "close", date(2026, 1, 1), extension_days=10).date == \
        date(2026, 1, 21)


def test_table_numbers_match_the_sources() -> None:
    def days(policy: str, rule: str) -> tuple[int, str, int]:
        r = get_policy(policy).rule(rule)
        return r.days, r.count, r.max_extension_days

    assert days("regulation", "accept") == (15, "calendar", 0)
    assert days("regulation", "close") == (60, "calendar", 30)
    assert days("regulation", "review") == (30, "calendar", 0)
    assert days("regulation", "re_review") == (30, "calendar", 0)
    assert days("520", "accept")[:2] == (5, "calendar")
    assert days("520", "close")[:2] == (20, "calendar")
    assert days("green_channel", "first_feedback")[:2] == (7, "calendar")
    assert days("green_channel", "close")[:2] == (20, "calendar")
    assert days("double_sign", "meet")[:2] == (3, "working")


def test_every_rule_is_labelled_and_names_real_event_kinds() -> None:
    assert set(POLICIES) == set(POLICY_LABELS)
    for policy in POLICIES.values():
        for rule in policy.rules:
            assert rule.name in RULE_LABELS
            for match in (rule.start, *rule.end):
                assert match.kind == "reported" or match.kind in EVENT_KINDS


def test_unknown_policy_or_rule_raises_key_error_in_both_languages() -> None:
    with pytest.raises(KeyError, match="unknown deadline policy"):
        get_policy("fast")
    with pytest.raises(KeyError, match="没有规则"):
        rule_deadline("520", "meet", date(2026, 1, 1))


def test_policy_documents_are_valid_and_complete() -> None:
    docs = policy_documents()
    assert {d["_id"] for d in docs} == {f"policy:{name}" for name in POLICIES}
    for doc in docs:
        assert validate_document(doc) == []
    regulation = next(d for d in docs if d["name"] == "regulation")
    review = next(r for r in regulation["rules"] if r["name"] == "review")
    assert review["start"] == {"kind": "review_requested", "stage": "review"}
