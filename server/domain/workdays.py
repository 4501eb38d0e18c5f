"""China's working-day calendar: weekends, statutory holidays and 调休 working weekends.

Sources, in order of precedence, per year:

1. ``holidays.json`` ``schedules`` — an official schedule added by hand (overrides 2.);
2. the ``chinesecalendar`` package (1.11 knows 2004–2026);
3. otherwise the year is **provisional**: weekends plus the fixed-date statutory holidays
   (元旦 Jan 1, 劳动节 May 1–2, 国庆 Oct 1–3). 春节/清明/端午/中秋 move with the lunar
   calendar and 调休 is decided each year by the State Council, so they cannot be known in
   advance: a provisional working-day count can be a few days early. It is marked
   ``provisional`` and never raises — a case must always be registrable. As soon as the
   year's notice is added to ``holidays.json`` (or chinesecalendar is upgraded), every
   deadline computed afterwards uses it; projections are recomputed, not stored.

Dates are dates in China Standard Time (UTC+8, no daylight saving): an event at
``2026-11-23T17:30:00+00:00`` happened on 2026-11-24 in China.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path

import chinese_calendar
from chinese_calendar import constants as _cc

CHINA_TZ = timezone(timedelta(hours=8), "CST")
HOLIDAYS_FILE = Path(__file__).with_name("holidays.json")
PROVISIONAL_NOTE_ZH = "该年法定节假日安排尚未发布，按周末和固定日期节日暂算（未含春节、清明、端午、中秋及调休）"
PROVISIONAL_NOTE_EN = ("The official holiday schedule for this year is not published yet; counted "
                       "with weekends and fixed-date holidays only (no Spring Festival, Qingming, "
                       "Dragon Boat, Mid-Autumn or swapped working days).")


def china_date(at: datetime) -> date:
    """The calendar date in China of an aware datetime (naive input is refused)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: give a UTC offset / 时间须带时区")
    return at.astimezone(CHINA_TZ).date()


@dataclass(frozen=True)
class YearSchedule:
    """The official schedule of one year: holidays on weekdays and working weekend days."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""


@dataclass(frozen=True)
class DayResult:
    """A computed date and whether any day counted lies in a provisional year."""

    date: date
    provisional: bool = False


def _load_file(path: Path) -> tuple[dict[int, YearSchedule], tuple[tuple[int, int], ...]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    schedules = {
        int(year): YearSchedule(
            int(year),
            frozenset(date.fromisoformat(d) for d in spec.get("holidays", [])),
            frozenset(date.fromisoformat(d) for d in spec.get("workdays", [])),
            spec.get("source", ""),
        )
        for year, spec in raw.get("schedules", {}).items()
    }
    fixed = tuple((int(md[:2]), int(md[3:])) for md in raw.get("fixed_holidays", []))
    return schedules, fixed


def _chinesecalendar_years() -> frozenset[int]:
    return frozenset(d.year for d in _cc.holidays)


@dataclass
class WorkCalendar:
    """Which days are working days in China; see the module docstring for the sources.

    Build your own (``WorkCalendar(schedules={...})``) in tests to simulate a year whose
    schedule is added later; the default one reads ``holidays.json`` once.
    """

    schedules: Mapping[int, YearSchedule] = field(default_factory=dict)
    fixed_holidays: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2),
                                                    (10, 3))
    use_chinesecalendar: bool = True

    @classmethod
    def from_file(cls, path: Path = HOLIDAYS_FILE) -> WorkCalendar:
        """The calendar from a holidays.json file (default: the one shipped here)."""
        schedules, fixed = _load_file(path)
        return cls(schedules=schedules, fixed_holidays=fixed)

    @cached_property
    def _cc_years(self) -> frozenset[int]:
        return _chinesecalendar_years() if self.use_chinesecalendar else frozenset()

    def is_provisional_year(self, year: int) -> bool:
        """True when no official schedule for ``year`` is known."""
        return year not in self.schedules and year not in self._cc_years

    def is_working_day(self, day: date) -> bool:
        """Working day per the official schedule, or the provisional rule for unknown years."""
        schedule = self.schedules.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            if day in schedule.holidays:
                return False
            return day.weekday() < 5
        if day.year in self._cc_years:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and (day.month, day.day) not in self.fixed_holidays

    def holiday_name(self, day: date) -> str | None:
        """The holiday name chinesecalendar gives (English), else None."""
        if day.year in self._cc_years and day.year not in self.schedules:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            return name if on_holiday else None
        return None

    def add_days(self, start: date, n: int, *, working: bool,
                 skip: Callable[[date], bool] | None = None,
                 frozen_from: date | None = None) -> DayResult | None:
        """The day on which ``n`` counted days after ``start`` are complete.

        ``start`` itself is not counted (the day of receipt does not count, as with legal
        time limits). With ``working``, only working days count. ``skip(day)`` removes more
        days from the count (paused days). If counting reaches ``frozen_from`` (a pause
        still open), the date cannot be known yet: returns None. ``n == 0`` gives
        ``start``. ``provisional`` is set when a *working-day* count passed through a
        provisional year (calendar-day counts never are).
        """
        if n < 0:
            raise ValueError("n must be ≥ 0 / 天数不能为负")
        day, counted, provisional = start, 0, False
        while counted < n:
            day += timedelta(days=1)
            if frozen_from is not None and day >= frozen_from:
                return None
            if skip is not None and skip(day):
                continue
            if working:
                if self.is_provisional_year(day.year):
                    provisional = True
                if not self.is_working_day(day):
                    continue
            counted += 1
        return DayResult(day, provisional)

    def add_working_days(self, start: date, n: int) -> DayResult:
        """The ``n``-th working day after ``start`` (start not counted)."""
        result = self.add_days(start, n, working=True)
        assert result is not None
        return result

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]`` (0 if end ≤ start): e.g. a handling time."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def provisional_years(self, days: Iterable[date]) -> list[int]:
        """The provisional years among ``days`` (for messages)."""
        return sorted({d.year for d in days if self.is_provisional_year(d.year)})


_default: WorkCalendar | None = None


def default_calendar() -> WorkCalendar:
    """The shared calendar built from ``holidays.json`` (read once per process)."""
    global _default
    if _default is None:
        _default = WorkCalendar.from_file()
    return _default


def add_working_days(start: date, n: int, calendar: WorkCalendar | None = None) -> DayResult:
    """Module-level shortcut: ``n`` working days after ``start`` on the default calendar."""
    return (calendar or default_calendar()).add_working_days(start, n)


def is_working_day(day: date, calendar: WorkCalendar | None = None) -> bool:
    """Module-level shortcut for :meth:`WorkCalendar.is_working_day`."""
    return (calendar or default_calendar()).is_working_day(day)
