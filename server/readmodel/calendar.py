"""A memoising working-day calendar for bulk projection (same answers, ~20× faster).

``project_case``/``case_row`` ask the calendar day by day; the default calendar answers
through ``chinesecalendar``, which validates every date against its whole table. The read
model projects thousands of cases per batch, so it wraps the default calendar: each day is
decided once, and ``working_days_between`` uses a prefix count. The answers are those of
the wrapped calendar (tests compare against ``compute_metrics`` on the default calendar).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from server.domain.workdays import WorkCalendar, default_calendar

_EPOCH = date(2000, 1, 1)
_SPAN = 366 * 60  # 2000 … 2059


class CachedCalendar(WorkCalendar):
    """A WorkCalendar whose per-day answers are cached; built from another calendar."""

    def __init__(self, base: WorkCalendar) -> None:
        super().__init__(schedules=base.schedules, fixed_holidays=base.fixed_holidays,
                         use_chinesecalendar=base.use_chinesecalendar)
        self._day = lru_cache(maxsize=None)(super().is_working_day)
        self._prefix: list[int] | None = None

    def is_working_day(self, day: date) -> bool:
        return self._day(day)

    def _prefixes(self) -> list[int]:
        if self._prefix is None:
            counts, total = [0], 0
            for i in range(_SPAN):
                total += 1 if self._day(_EPOCH + timedelta(days=i)) else 0
                counts.append(total)
            self._prefix = counts  # counts[i + 1] = working days in [EPOCH, EPOCH + i]
        return self._prefix

    def working_days_between(self, start: date, end: date) -> int:
        if end <= start:
            return 0
        a, b = (start - _EPOCH).days, (end - _EPOCH).days
        if a < 0 or b >= _SPAN:
            return super().working_days_between(start, end)
        p = self._prefixes()
        return p[b + 1] - p[a + 1]


_cached: CachedCalendar | None = None


def fast_calendar() -> CachedCalendar:
    """The process-wide cached wrapper of ``default_calendar()``."""
    global _cached
    if _cached is None:
        _cached = CachedCalendar(default_calendar())
    return _cached
