"""The period of a report: a month (``2026-11``, 月报) or a quarter (``2026Q4``, 季报)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from server.errors import ServerError

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4})[Qq]([1-4])$")


class PeriodError(ServerError):
    """A period text that is not ``YYYY-MM`` or ``YYYYQn``; message in both languages."""

    kind = "invalid"


@dataclass(frozen=True)
class Period:
    kind: str  # monthly | quarterly
    start: date
    end: date
    code: str  # 2026-11 | 2026Q4

    @property
    def label_zh(self) -> str:
        if self.kind == "monthly":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"

    @property
    def label_en(self) -> str:
        return self.code

    def trend_start(self) -> date:
        """First day of the trend table: twelve months ending with the period."""
        year, month = self.end.year, self.end.month - 11
        while month < 1:
            year, month = year - 1, month + 12
        return date(year, month, 1)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _check_year(year: int, text: str) -> None:
    """A year a calendar holds, with a next one (``0000-01`` or ``9999-12`` is no period)."""
    if not 1 <= year <= 9998:
        raise PeriodError(f"年份超出范围：{text!r}", f"year out of range: {text!r}")


def month(text: str) -> Period:
    """``2026-11`` → November 2026; PeriodError otherwise."""
    m = MONTH_RE.match(text or "")
    if not m:
        raise PeriodError(f"月份应为 YYYY-MM，如 2026-11，实际为 {text!r}", f"month must be YYYY-MM, e.g. 2026-11, got {text!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    _check_year(year, text)
    return Period("monthly", date(year, mon, 1), _month_end(year, mon), text)


def quarter(text: str) -> Period:
    """``2026Q4`` → October–December 2026; PeriodError otherwise."""
    m = QUARTER_RE.match(text or "")
    if not m:
        raise PeriodError(f"季度应为 YYYYQn，如 2026Q4，实际为 {text!r}", f"quarter must be YYYYQn, e.g. 2026Q4, got {text!r}")
    year, q = int(m.group(1)), int(m.group(2))
    _check_year(year, text)
    return Period("quarterly", date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"{year}Q{q}")
