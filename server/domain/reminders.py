"""三单三函: 临期提示 (due soon), 到期催办 (due today), 逾期问责 (overdue).

For a moment ``as_of``, every open, running deadline of every case falls into at most one
stage. Each reminder names the responsible unit — the area at the level currently
handling the case — and, for overdue items, the unit one level up that the matter is
escalated to for accountability (county ← township ← village ← grid, by code length
6/9/12/15).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from server.domain.projection import CaseProjection
from server.domain.workdays import china_date

DEFAULT_LEAD_DAYS = 3
STAGES: dict[str, tuple[str, str]] = {
    "due_soon": ("临期提示", "due soon"),
    "due": ("到期催办", "due today"),
    "overdue": ("逾期问责", "overdue"),
}
LEVEL_CODE_LENGTH = {"village": 12, "township": 9, "county": 6, "above": 6}


def parent_code(code: str) -> str | None:
    """The area one level up: 15→12→9→6 digits; None for a county (6) or a bad code."""
    if len(code) in (9, 12, 15) and code.isdigit():
        return code[:-3]
    return None


def responsible_unit(projection: CaseProjection) -> str:
    """Area code of the unit handling the case now: the case's area cut to its level.

    A grid case at village level belongs to its village (12 digits); a case escalated to
    the county belongs to the county (6). "above" stays with the county, which follows it
    up. A case registered at township level and returned to "village" has no village in
    its code, so it stays with the township.
    """
    return projection.area_code[: LEVEL_CODE_LENGTH[projection.level]]


@dataclass(frozen=True)
class Reminder:
    """One open deadline that needs attention at ``as_of``."""

    stage: str  # due_soon | due | overdue
    case_id: str
    rule: str
    due_date: date
    days_left: int  # negative when overdue
    unit: str  # area code of the responsible unit
    escalate_to: str | None  # for overdue items: the unit above (None above county)
    pending_units: tuple[str, ...]
    provisional: bool

    @property
    def label_zh(self) -> str:
        return STAGES[self.stage][0]


def case_reminders(projection: CaseProjection, as_of: datetime | date, *,
                   lead_days: int = DEFAULT_LEAD_DAYS) -> list[Reminder]:
    """The reminders one case produces at ``as_of`` (China date if a datetime).

    ``lead_days``: how many calendar days before the due date 临期提示 starts (the due
    date itself is 到期催办). Met, not-started and suspended (paused) deadlines produce
    nothing; declined cases produce nothing.
    """
    if lead_days < 0:
        raise ValueError("lead_days must be ≥ 0 / 提前天数不能为负")
    today = china_date(as_of) if isinstance(as_of, datetime) else as_of
    if projection.status == "declined":
        return []
    unit = responsible_unit(projection)
    out = []
    for d in projection.deadlines:
        if not d.open or d.due_date is None:
            continue
        left = (d.due_date - today).days
        if left < 0:
            stage = "overdue"
        elif left == 0:
            stage = "due"
        elif left <= lead_days:
            stage = "due_soon"
        else:
            continue
        out.append(Reminder(stage, projection.case_id, d.rule, d.due_date, left, unit,
                            parent_code(unit) if stage == "overdue" else None,
                            projection.pending_units, d.provisional))
    return out


def reminders_by_unit(projections: Iterable[CaseProjection], as_of: datetime | date, *,
                      lead_days: int = DEFAULT_LEAD_DAYS) -> dict[str, list[Reminder]]:
    """All reminders at ``as_of``, grouped by responsible unit (area code), each list
    sorted most urgent first (days_left, then case id and rule)."""
    grouped: dict[str, list[Reminder]] = {}
    for projection in projections:
        for reminder in case_reminders(projection, as_of, lead_days=lead_days):
            grouped.setdefault(reminder.unit, []).append(reminder)
    for items in grouped.values():
        items.sort(key=lambda r: (r.days_left, r.case_id, r.rule))
    return dict(sorted(grouped.items()))


def escalations(projections: Iterable[CaseProjection], as_of: datetime | date
                ) -> dict[str, list[Reminder]]:
    """Overdue items grouped by the unit *above* the responsible one (逾期问责 goes up)."""
    grouped: dict[str, list[Reminder]] = {}
    for items in reminders_by_unit(projections, as_of, lead_days=0).values():
        for r in items:
            if r.stage == "overdue" and r.escalate_to:
                grouped.setdefault(r.escalate_to, []).append(r)
    return dict(sorted(grouped.items()))
