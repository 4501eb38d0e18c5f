"""What happens → who is told, how (the notification documents, not stored).

    case event   accepted     受理   SMS to each applicant with a phone (tracking code)
                 assigned     交办   SMS to the applicants; in-app to the case's first
                                     handler, to the officers of each registered unit
                                     assigned (``unit_id``) and to the people of each
                                     territorial unit's area (``Directory.unit_users``)
                 escalated    上交   in-app to the people of the level it goes up to
                 closed       办结   SMS to the applicants
                 followed_up  回访   SMS to the applicants
    risk event   reviewed     研判   in-app to the grid workers concerned: the risk's
                                     reporter (a grid worker) and those whose grids hold it
    case event   commented    研判   a decision of a 研判 meeting on a case (``review_level``
                 + review_level      set, recorded by a mediator or reviewer): in-app to the
                                     grid workers concerned — the case's reporter and first
                                     handler (grid workers) and those whose grids hold it
    reminder     due_soon     临期提示  in-app to the responsible unit
                 due          到期催办  in-app to the responsible unit
                 overdue      逾期问责  in-app to the responsible unit, the unit above and
                                       the case's first handler

Without a ``Directory`` (the API's immediate call) only parties and the first handler are
told; the sync feed follower, which has one, adds the units. The ids are per audience,
so the two together never write one notice twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from server.clock import now

from .directory import Directory
from .outbox import notification
from .senders import digest

PARTY_SMS_KINDS = ("accepted", "assigned", "closed", "followed_up")
NOTIFIED_KINDS = ("accepted", "assigned", "escalated", "closed", "followed_up")
# Who may record a 研判 decision (``/api/reviews``): a ``review_level`` on an event by anyone
# else (a device cannot be stopped from writing the field) tells nobody.
REVIEWER_ROLES = ("township_mediator", "county_reviewer")
ESCALATION_UNIT_LENGTH = {"township": 9, "county": 6, "above": 6}


def _suffix(event_id: str) -> str:
    return event_id.rsplit(":", 1)[-1]


def _payload(case: Mapping[str, Any], event: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    out = {"tracking_code": case.get("tracking_code"), "kind": event.get("kind"), "at": event.get("at")}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _handler(case: Mapping[str, Any]) -> str | None:
    handler = case.get("first_handler") or case.get("reported_by")
    return str(handler) if handler else None


def _party_phones(case: Mapping[str, Any]) -> list[str]:
    phones = [str(p["phone"]) for p in case.get("parties") or []
              if p.get("phone") and p.get("role", "applicant") == "applicant"]
    return list(dict.fromkeys(phones))


def is_review_decision(event: Mapping[str, Any]) -> bool:
    """A case event that records a 研判 meeting's decision (``/api/reviews``)."""
    return event.get("kind") == "commented" and bool(event.get("review_level"))


def notified(event: Mapping[str, Any]) -> bool:
    """Whether a case event may tell anybody (the feed loads the case only for these)."""
    return event.get("kind") in NOTIFIED_KINDS or is_review_decision(event)


def _workers_concerned(directory: Directory, area_code: str, people: Iterable[Any]) -> list[str]:
    """Grid workers whose grids hold ``area_code`` (or lie inside it), and those of
    ``people`` (reporter, handler) who are grid workers."""
    workers = set(directory.grid_workers_over(area_code))
    workers.update(str(p) for p in people if p and directory.role_of(str(p)) == "grid_worker")
    return sorted(workers)


def case_event_notifications(case: Mapping[str, Any], event: Mapping[str, Any], *,
                             directory: Directory | None = None,
                             at: datetime | None = None) -> list[dict[str, Any]]:
    """The notification documents one case event calls for (not stored)."""
    at = at or now()
    kind = str(event.get("kind"))
    if is_review_decision(event):
        return case_review_notifications(case, event, directory=directory, at=at) if directory else []
    if kind not in NOTIFIED_KINDS:
        return []
    key = f"{_suffix(str(event['_id']))}:{kind}"
    out: list[dict[str, Any]] = []

    def in_app(who: str, **extra: Any) -> None:
        out.append(notification(case, f"{key}:u.{who}", channel="in_app", recipient=who,
                                template=f"case.{kind}", payload=_payload(case, event, **extra), at=at))

    if kind in PARTY_SMS_KINDS:
        for phone in _party_phones(case):
            out.append(notification(case, f"{key}:sms.{digest(phone)}", channel="sms", recipient=phone,
                                    template=f"case.{kind}", payload=_payload(case, event), at=at))
    if kind == "assigned":
        units = event.get("units") or []
        handler = _handler(case)
        names = "、".join(str(u.get("unit")) for u in units)
        if handler:
            in_app(handler, unit=names)
        for unit in units:
            if directory is None:
                continue
            people = directory.unit_officers(unit.get("unit_id"))
            # A territorial unit (属地) answers through its area's accounts; a functional
            # department's area code is only where it sits (the county), and its people are
            # its officers, not that area's reviewers.
            if unit.get("area_code") and unit.get("unit_type") == "territorial":
                people += directory.unit_users(str(unit["area_code"]))
            for who in people:
                in_app(who, unit=unit.get("unit"))
    elif kind == "escalated" and directory is not None:
        length = ESCALATION_UNIT_LENGTH.get(str(event.get("to_level")))
        if length:
            for who in directory.unit_users(str(case["area_code"])[:length]):
                in_app(who, to_level=event.get("to_level"))
    return out


def risk_event_notifications(risk: Mapping[str, Any], event: Mapping[str, Any], *,
                             directory: Directory, at: datetime | None = None) -> list[dict[str, Any]]:
    """研判 decisions (``reviewed`` risk events) to the grid workers concerned."""
    if event.get("kind") != "reviewed":
        return []
    at = at or now()
    workers = _workers_concerned(directory, str(risk["area_code"]), [risk.get("reported_by")])
    key = f"{_suffix(str(event['_id']))}:reviewed"
    payload = {"kind": "reviewed", "at": event.get("at"), "title": risk.get("title"),
               "decision": str(event.get("decision") or "")[:500], "level": event.get("level"),
               "due": event.get("due")}
    return [notification(risk, f"{key}:u.{who}", channel="in_app", recipient=who, template="risk.reviewed",
                         payload={k: v for k, v in payload.items() if v is not None}, at=at)
            for who in workers]


def _decision_text(text: str) -> str:
    """The decision without the 【县级研判】 prefix the timeline shows (the level is its own field)."""
    return text.split("】", 1)[1] if text.startswith("【") and "】" in text else text


def case_review_notifications(case: Mapping[str, Any], event: Mapping[str, Any], *,
                              directory: Directory, at: datetime | None = None) -> list[dict[str, Any]]:
    """A 研判 decision on a case (``is_review_decision``) to the grid workers concerned, as a
    risk's: they carry the decision out in the village."""
    if not is_review_decision(event) or directory.role_of(str(event.get("actor"))) not in REVIEWER_ROLES:
        return []
    at = at or now()
    workers = _workers_concerned(directory, str(case["area_code"]),
                                 [case.get("reported_by"), case.get("first_handler")])
    key = f"{_suffix(str(event['_id']))}:reviewed"
    payload = _payload(case, event, level=event.get("review_level"),
                       decision=_decision_text(str(event.get("text") or ""))[:500])
    payload["kind"] = "reviewed"
    return [notification(case, f"{key}:u.{who}", channel="in_app", recipient=who, template="case.reviewed",
                         payload=payload, at=at) for who in workers]


def reminder_notifications(cases: Mapping[str, Mapping[str, Any]], reminders: Iterable[Any], *,
                           directory: Directory | None = None,
                           at: datetime | None = None) -> list[dict[str, Any]]:
    """三单三函 notices for ``server.domain.reminders.Reminder`` items: one per case, rule,
    stage, due date and recipient (so a reminder re-computed tomorrow writes nothing new,
    and each stage is told once). ``cases`` maps case id → base record."""
    at = at or now()
    out = []
    for r in reminders:
        case = cases.get(r.case_id)
        if case is None:
            continue
        recipients = set(directory.unit_users(r.unit) if directory else [])
        if r.stage == "overdue":
            recipients.update(directory.unit_users(r.escalate_to) if directory else [])
            handler = _handler(case)
            if handler:
                recipients.add(handler)
        payload = {"tracking_code": case.get("tracking_code"), "rule": r.rule, "stage": r.stage,
                   "due_date": r.due_date.isoformat(), "unit": r.unit, "escalate_to": r.escalate_to}
        for who in sorted(recipients):
            out.append(notification(case, f"{r.rule}:{r.stage}:{r.due_date.isoformat()}:u.{who}",
                                    channel="in_app", recipient=who, template=f"case.{r.stage}",
                                    payload={k: v for k, v in payload.items() if v is not None}, at=at))
    return out
