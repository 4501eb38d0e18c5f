"""Every metric on a hand-computed cohort, and the same numbers from the SQL definitions.

Cohort: township 330681001, cases registered in March 2026 (China dates), as of
2026-06-30, policy regulation (accept 15 days, close 60 days after acceptance).

| case | registered | accepted      | closed | resolved at | evaluation          | notes |
|------|-----------|---------------|--------|-------------|---------------------|-------|
| A    | 03-02     | 03-05 on time | 04-10 on time (due 05-04) | village | satisfied | 39 d / 28 wd |
| B    | 03-10     | 03-30 late (due 03-25) | 06-20 late (due 05-29) | township | dissatisfied | 102 d / 69 wd |
| C    | 03-15     | 03-16         | open, overdue (due 05-15) | – | – | 积案 (107 d open) |
| D    | 03-20     | 03-21         | 04-01 on time | county | – | repeat_of; 12 d / 8 wd |
| E    | 03-25     | never (due 04-09: overdue) | – | – | – | |
| F    | 03-28     | declined 03-29 (on time) | – | – | – | |
| G    | 03-31 23:30 CST | 04-01 | 04-20 on time | grid | basically_satisfied | 20 d / 13 wd |
| J    | 03-05     | 03-06         | 05-01 on time (due 05-05) | above | satisfied | 57 d / 39 wd |
| H    | 03-31 16:10Z = 04-01 CST | – | – | – | – | outside the period |
| I    | 03-05 in township 330681002 | – | – | – | – | outside the area |

Working days (2026 schedule): Qingming 4–6 Apr, Labour Day 1–5 May with Saturday 9 May
working, Dragon Boat 19 Jun off.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest
from domain_helpers import ev, make_case

from server.domain.metrics import (
    METRICS,
    METRICS_BY_KEY,
    case_row,
    cohort,
    compute,
    compute_metrics,
    metric_sql,
)
from server.domain.projection import CaseProjection, project_case

T = "330681001"


def story(created: str, *steps: tuple[str, str, dict[str, Any]], area: str = T + "201003",
          **case_fields: Any) -> CaseProjection:
    case = make_case(created if "T" in created else f"2026-{created}T09:00:00+08:00",
                     area_code=area, **case_fields)
    events = [ev(case, kind, f"2026-{day}T10:00:00+08:00", **kw) for kind, day, kw in steps]
    return project_case(case, events)


def acc(day: str) -> tuple[str, str, dict[str, Any]]:
    return ("accepted", day, {})


def close(day: str) -> tuple[str, str, dict[str, Any]]:
    return ("closed", day, {})


def res(day: str, level: str) -> tuple[str, str, dict[str, Any]]:
    return ("resolved", day, {"resolution_level": level})


def rate(day: str, rating: str) -> tuple[str, str, dict[str, Any]]:
    return ("evaluated", day, {"rating": rating})


@pytest.fixture(scope="module")
def cases() -> list[CaseProjection]:
    return [
        story("03-02", acc("03-05"), res("04-09", "village"), close("04-10"),
              rate("04-12", "satisfied")),                                              # A
        story("03-10", acc("03-30"), res("06-19", "township"), close("06-20"),
              rate("06-21", "dissatisfied")),                                           # B
        story("03-15", acc("03-16")),                                                   # C
        story("03-20", acc("03-21"), res("03-31", "county"), close("04-01"),
              repeat_of="case:00000000-0000-4000-8000-000000000000"),                   # D
        story("03-25"),                                                                 # E
        story("03-28", ("declined", "03-29", {"reason": "属诉讼"})),                      # F
        story("2026-03-31T23:30:00+08:00", acc("04-01"), res("04-19", "grid"),
              close("04-20"), rate("04-22", "basically_satisfied")),                    # G
        story("03-05", acc("03-06"), res("04-30", "above"), close("05-01"),
              rate("05-02", "satisfied")),                                              # J
        story("2026-03-31T16:10:00+00:00"),                                             # H
        story("03-05", area="330681002201001"),                                         # I
    ]


EXPECTED = {
    "timely_acceptance": (6 / 8, 6, 8),
    "on_time_closure": (4 / 6, 4, 6),
    "avg_duration_days": (230 / 5, 230, 5),
    "avg_duration_working_days": (157 / 5, 157, 5),
    "satisfaction": (3 / 4, 3, 4),
    "evaluation_rate": (4 / 5, 4, 5),
    "repeat_share": (1 / 8, 1, 8),
    "resolution_rate": (5 / 6, 5, 6),
    "backlog": (1, 1, 1),
    "stays_in_village": (2 / 5, 2, 5),
    "stays_in_township": (3 / 5, 3, 5),
    "stays_in_county": (4 / 5, 4, 5),
}
AS_OF = date(2026, 6, 30)


def test_every_metric_has_a_hand_computed_expectation() -> None:
    assert set(EXPECTED) == {m.key for m in METRICS}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_metric_on_the_hand_computed_cohort(cases: list[CaseProjection], key: str) -> None:
    result = compute_metrics(cases, T, date(2026, 3, 1), date(2026, 3, 31), AS_OF)[key]
    value, numerator, denominator = EXPECTED[key]
    assert (result.numerator, result.denominator) == (numerator, denominator)
    assert result.value == pytest.approx(value)


def test_rows_carry_the_hand_computed_durations(cases: list[CaseProjection]) -> None:
    rows = {c.case_id: case_row(c, AS_OF) for c in cases}
    a, b, _, d, _, _, g, j, h, _ = (rows[c.case_id] for c in cases)
    assert [(r["duration_days"], r["duration_working_days"]) for r in (a, b, d, g, j)] == [
        (39, 28), (102, 69), (12, 8), (20, 13), (57, 39)]
    assert h["created_date"] == date(2026, 4, 1)
    assert b["accept_on_time"] is False and b["close_on_time"] is False


def test_empty_cohort_gives_none_not_zero_division(cases: list[CaseProjection]) -> None:
    result = compute_metrics(cases, "110101", date(2026, 3, 1), date(2026, 3, 31), AS_OF)
    assert result["satisfaction"].value is None and result["backlog"].value == 0
    assert result["avg_duration_days"].value is None


def test_open_overdue_cases_count_against_on_time_closure(cases: list[CaseProjection]) -> None:
    # Before C's closure deadline (15 May) C is not yet counted against the rate; after, it is.
    early = compute_metrics(cases, T, date(2026, 3, 1), date(2026, 3, 31), date(2026, 5, 10))
    assert (early["on_time_closure"].numerator, early["on_time_closure"].denominator) == (4, 5)
    # A snapshot of 10 May (B not yet closed then) counts B as open and not yet overdue.
    case_b = cases[1]
    assert case_b.status == "closed"
    late = compute_metrics(cases, T, date(2026, 3, 1), date(2026, 3, 31), date(2026, 5, 16))
    assert (late["on_time_closure"].numerator, late["on_time_closure"].denominator) == (4, 6)


def _load_duckdb(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    def sql_type(column: str) -> str:
        sample = next((r[column] for r in rows if r[column] is not None), "")
        if isinstance(sample, bool):
            return "BOOLEAN"
        if isinstance(sample, int):
            return "BIGINT"
        if isinstance(sample, date):
            return "DATE"
        return "VARCHAR"

    columns = list(rows[0])
    con = duckdb.connect()
    con.execute("CREATE TABLE cases (" + ", ".join(f"{c} {sql_type(c)}" for c in columns) + ")")
    con.executemany(f"INSERT INTO cases VALUES ({', '.join('?' for _ in columns)})",
                    [[r[c] for c in columns] for r in rows])
    return con


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_sql_definition_gives_the_same_numbers(cases: list[CaseProjection], key: str) -> None:
    con = _load_duckdb([case_row(c, AS_OF) for c in cases])
    where = cohort(T, date(2026, 3, 1), date(2026, 3, 31))
    value, numerator, denominator = con.execute(
        metric_sql(METRICS_BY_KEY[key], "cases", where)).fetchone()  # type: ignore[misc]
    expected_value, expected_num, expected_den = EXPECTED[key]
    assert (numerator, denominator) == (expected_num, expected_den)
    assert value == pytest.approx(expected_value)


def test_compute_matches_python_predicates_on_rows(cases: list[CaseProjection]) -> None:
    where = cohort(T, date(2026, 3, 1), date(2026, 3, 31))
    rows = [r for c in cases if where(r := case_row(c, AS_OF))]
    assert len(rows) == 8
    assert compute(METRICS_BY_KEY["backlog"], rows).value == 1
