"""Risk register state (三级隐患排查) as a projection of ``riskevent:*`` documents.

Like cases, a risk's current level, owner, 化解时限 and status are folded from its events
in ``at`` order (then ``_id``), so offline reviews from several devices never conflict and
the result never depends on arrival order. A ``reviewed`` event (研判) may change level,
owner, due date and lead official; ``resolved`` closes the risk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server.domain.projection import Anomaly
from server.domain.reminders import DEFAULT_LEAD_DAYS, parent_code
from server.domain.workdays import china_date

_TEXT = {
    "foreign_event": ("事件不属于本风险，未计入", "Event belongs to another risk; not applied."),
    "after_resolved": ("化解后仍有事件", "Event after the risk was resolved."),
    "area_mismatch": ("事件区划编码与风险不一致", "Event area_code differs from the risk's."),
}


@dataclass(frozen=True)
class RiskProjection:
    """The current state of one risk entry."""

    risk_id: str
    area_code: str
    level: str
    owner: str
    due: date
    lead_official: str | None
    status: str  # open | resolved
    rounds: tuple[str, ...]  # screening rounds that saw it (village/township/county), in order
    reviews: int
    resolved_at: datetime | None
    anomalies: tuple[Anomaly, ...]

    def stage(self, as_of: datetime | date, lead_days: int = DEFAULT_LEAD_DAYS) -> str | None:
        """due_soon / due / overdue for an open risk at ``as_of``; None otherwise."""
        if self.status != "open":
            return None
        today = china_date(as_of) if isinstance(as_of, datetime) else as_of
        left = (self.due - today).days
        if left < 0:
            return "overdue"
        if left == 0:
            return "due"
        return "due_soon" if left <= lead_days else None

    @property
    def escalate_to(self) -> str | None:
        """Where an overdue risk is reported: the area above the risk's own."""
        return parent_code(self.area_code)


def project_risk(risk: Mapping[str, Any], events: Iterable[Mapping[str, Any]]
                 ) -> RiskProjection:
    """Fold a risk entry and its (schema-valid) events, any order, duplicates allowed.

    Raises ValueError when the entry's ``due`` is not a YYYY-MM-DD date.
    """
    risk_id = str(risk.get("_id"))
    area = str(risk.get("area_code", ""))
    level, owner = str(risk.get("level")), str(risk.get("owner"))
    due = date.fromisoformat(str(risk.get("due")))
    lead = risk.get("lead_official")
    rounds = [str(risk.get("screening_round"))]
    anomalies: list[Anomaly] = []
    reviews, resolved_at = 0, None

    def flag(code: str, ev_id: str) -> None:
        anomalies.append(Anomaly(code, ev_id, *_TEXT[code]))

    unique = {str(e.get("_id")): e for e in sorted(events, key=lambda e: str(e))}
    ordered = []
    for ev_id, ev in sorted(unique.items()):
        if ev.get("risk_id") != risk_id:
            flag("foreign_event", ev_id)
            continue
        ordered.append((datetime.fromisoformat(str(ev["at"])), ev_id, ev))
    ordered.sort(key=lambda t: (t[0], t[1]))
    for at, ev_id, ev in ordered:
        if ev.get("area_code") != area:
            flag("area_mismatch", ev_id)
        if resolved_at is not None and ev.get("kind") != "commented":
            flag("after_resolved", ev_id)
        kind = ev.get("kind")
        if kind == "screened":
            level = str(ev.get("level", level))
            if ev.get("screening_round") not in rounds:
                rounds.append(str(ev.get("screening_round")))
        elif kind == "reviewed":
            reviews += 1
            level = str(ev.get("level", level))
            owner = str(ev.get("owner", owner))
            due = date.fromisoformat(str(ev["due"])) if ev.get("due") else due
            lead = ev.get("lead_official", lead)
        elif kind == "resolved":
            resolved_at = resolved_at or at
    return RiskProjection(risk_id, area, level, owner, due, lead,
                          "resolved" if resolved_at else "open", tuple(rounds), reviews,
                          resolved_at, tuple(anomalies))
