"""Working days across real holiday periods (State Council notices for 2025 and 2026).

2025 春节: 1月28日–2月4日放假, 1月26日(周日)、2月8日(周六)上班.
2025 国庆+中秋: 10月1日–8日放假, 9月28日(周日)、10月11日(周六)上班.
2026 元旦: 1月1日–3日放假, 1月4日(周日)上班.
2026 春节: 2月15日–23日放假, 2月14日(周六)、2月28日(周六)上班.
2026 中秋 9月25日–27日; 国庆 10月1日–7日放假, 9月20日(周日)、10月10日(周六)上班.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from server.domain.workdays import (
    DayResult,
    WorkCalendar,
    YearSchedule,
    add_working_days,
    china_date,
    default_calendar,
    is_working_day,
)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 2025 Spring Festival
        (date(2025, 1, 24), 1, date(2025, 1, 26)),   # Sunday 26 Jan is a 调休 working day
        (date(2025, 1, 26), 1, date(2025, 1, 27)),
        (date(2025, 1, 27), 1, date(2025, 2, 5)),    # 28 Jan – 4 Feb off
        (date(2025, 2, 7), 1, date(2025, 2, 8)),     # Saturday 8 Feb works
        (date(2025, 1, 24), 5, date(2025, 2, 7)),    # 26, 27, 5, 6, 7
        # 2025 National Day + Mid-Autumn
        (date(2025, 9, 26), 1, date(2025, 9, 28)),   # Sunday 28 Sep works
        (date(2025, 9, 30), 1, date(2025, 10, 9)),   # 1–8 Oct off
        (date(2025, 9, 30), 3, date(2025, 10, 11)),  # 9, 10, Saturday 11 Oct works
        (date(2025, 9, 30), 4, date(2025, 10, 13)),
        # 2026 New Year
        (date(2025, 12, 31), 1, date(2026, 1, 4)),   # 1–3 Jan off, Sunday 4 Jan works
        # 2026 Spring Festival
        (date(2026, 2, 13), 1, date(2026, 2, 14)),   # Saturday 14 Feb works
        (date(2026, 2, 14), 1, date(2026, 2, 24)),   # 15–23 Feb off
        (date(2026, 2, 13), 3, date(2026, 2, 25)),
        (date(2026, 2, 27), 1, date(2026, 2, 28)),   # Saturday 28 Feb works
        # 2026 Mid-Autumn and National Day
        (date(2026, 9, 18), 1, date(2026, 9, 20)),   # Sunday 20 Sep works
        (date(2026, 9, 24), 1, date(2026, 9, 28)),   # Friday 25 Sep is 中秋
        (date(2026, 9, 30), 1, date(2026, 10, 8)),   # 1–7 Oct off
        (date(2026, 9, 30), 3, date(2026, 10, 10)),  # 8, 9, Saturday 10 Oct works
        (date(2026, 11, 20), 0, date(2026, 11, 20)),
    ],
)
def test_add_working_days_over_real_holidays(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == DayResult(expected, provisional=False)


def test_holiday_and_swapped_days_agree_with_chinesecalendar() -> None:
    assert not is_working_day(date(2026, 2, 16)) and not is_working_day(date(2025, 10, 8))
    assert is_working_day(date(2026, 2, 28)) and is_working_day(date(2025, 1, 26))
    assert default_calendar().holiday_name(date(2026, 10, 1)) == "National Day"


def test_year_without_schedule_is_provisional_with_fixed_holidays_only() -> None:
    cal = default_calendar()
    assert cal.is_provisional_year(2027) and not cal.is_provisional_year(2026)
    # 30 Dec 2026 (Wed): 31 Dec, [1 Jan 2027 off, 2–3 weekend], 4 Jan, 5 Jan.
    assert cal.add_working_days(date(2026, 12, 30), 3) == DayResult(date(2027, 1, 5), True)
    assert not cal.is_working_day(date(2027, 5, 2))   # fixed: Labour Day 1–2 May
    assert not cal.is_working_day(date(2027, 10, 1))
    assert cal.is_working_day(date(2027, 2, 8))       # Spring Festival 2027 cannot be known


def test_adding_a_schedule_makes_the_year_official_and_changes_the_result() -> None:
    # A made-up schedule (not the real 2027 notice): 1–4 Jan off, Saturday 9 Jan works.
    schedule = YearSchedule(2027, frozenset({date(2027, 1, 1), date(2027, 1, 4)}),
                            frozenset({date(2027, 1, 9)}), "test")
    cal = WorkCalendar(schedules={2027: schedule})
    assert cal.add_working_days(date(2026, 12, 30), 3) == DayResult(date(2027, 1, 6), False)
    assert cal.is_working_day(date(2027, 1, 9))


def test_holidays_file_loads_and_fixed_holidays_match_the_defaults(tmp_path: Path) -> None:
    shipped = WorkCalendar.from_file()
    assert shipped.fixed_holidays == WorkCalendar().fixed_holidays
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps({"fixed_holidays": ["01-01"], "schedules": {
        "2027": {"holidays": ["2027-01-04"], "workdays": [], "source": "test"}}}))
    cal = WorkCalendar.from_file(path)
    assert not cal.is_provisional_year(2027) and not cal.is_working_day(date(2027, 1, 4))


def test_working_days_between_and_china_dates() -> None:
    cal = default_calendar()
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 10, 11)) == 3
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 4, 10)) == 28
    assert cal.working_days_between(date(2026, 4, 10), date(2026, 3, 2)) == 0
    from datetime import datetime

    assert china_date(datetime.fromisoformat("2026-11-23T17:30:00+00:00")) == date(2026, 11, 24)
    with pytest.raises(ValueError):
        china_date(datetime(2026, 11, 23))


def test_pause_skip_and_frozen_clock() -> None:
    cal = default_calendar()
    skip = {date(2026, 11, 24), date(2026, 11, 25)}.__contains__
    assert cal.add_days(date(2026, 11, 23), 2, working=False, skip=skip) == DayResult(
        date(2026, 11, 27))
    assert cal.add_days(date(2026, 11, 23), 5, working=False,
                        frozen_from=date(2026, 11, 25)) is None
    with pytest.raises(ValueError):
        cal.add_days(date(2026, 11, 23), -1, working=True)
