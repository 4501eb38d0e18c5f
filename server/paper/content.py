"""What each printed document says: plain data for the templates, built from a case.

Pure functions — no Flask, no CouchDB — so every document's content is testable from
documents alone. The templates (``templates/*.typ``) only lay the data out: every label
comes from here (``schemas.vocab``, ``server.domain``), every date is already written the
Chinese way (``2026年11月20日``), so a county editing a template never needs to know a
code list or a date format.

Which documents a case can have *now* is decided here too (:func:`availability`): an
agreement needs a mediation that reached one, a reply needs the closure, and so on. The
API answers 409 naming the missing step for a document that does not exist yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from grid.codes import county_of, township_of
from schemas import vocab
from schemas.privacy import mask_parties
from server.domain.policies import POLICY_LABELS
from server.domain.projection import CaseProjection
from server.domain.reminders import STAGES, Reminder, case_reminders

from .errors import NotAvailable

CHINA = timezone(timedelta(hours=8))

# kind → (Chinese title, English title). The URL names the kind (``agreement.pdf``).
CASE_DOCUMENTS: dict[str, tuple[str, str]] = {
    "receipt": ("回执", "receipt"),
    "acceptance": ("受理告知书", "notice of acceptance"),
    "non_acceptance": ("不予受理告知书", "notice of non-acceptance"),
    "assignment": ("交办单", "assignment slip"),
    "agreement": ("人民调解协议书", "people's mediation agreement"),
    "reply": ("答复意见书", "formal reply"),
    "supervision": ("督办函", "supervision letter"),
}
MINUTES = ("研判会议纪要", "review meeting minutes")
DOSSIER = ("卷宗", "case file")
# Documents that print parties' full ID numbers: only for those who may reveal them
# (``server.cases.REVEAL_ROLES``), and audited like a reveal.
WITH_ID_NUMBERS = frozenset({"agreement"})
AGREEMENT_OUTCOMES = ("agreement", "partial")


# -- dates -------------------------------------------------------------------------------------

def _parse(value: Any) -> datetime | date | None:
    if value is None or isinstance(value, datetime | date):
        return value
    try:
        text = str(value)
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        return None


def cn_date(value: Any) -> str:
    """``2026年11月20日`` (the China date of a time); empty for nothing."""
    at = _parse(value)
    if at is None:
        return ""
    if isinstance(at, datetime):
        at = at.astimezone(CHINA).date() if at.tzinfo else at.date()
    return f"{at.year}年{at.month}月{at.day}日"


def cn_datetime(value: Any) -> str:
    """``2026年11月20日 09:30`` in China time; a bare date stays a date."""
    at = _parse(value)
    if not isinstance(at, datetime):
        return cn_date(at)
    at = at.astimezone(CHINA) if at.tzinfo else at
    return f"{cn_date(at)} {at:%H:%M}"


# -- what a template gets ----------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFacts:
    """Everything read from storage for one case (see ``server.paper.sources``)."""

    case: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]]
    projection: CaseProjection
    area_names: Mapping[str, str]      # area code → name (county, township, village, grid)
    people: Mapping[str, str]          # username → display name
    track_url: str
    today: date


def _label(table: Mapping[str, tuple[str, str]], code: Any) -> str:
    return vocab.zh(dict(table), str(code)) if code is not None else ""


def area_path(code: str, names: Mapping[str, str]) -> str:
    """``某某县某某镇某某村`` from the names of the code's prefixes (codes where unknown)."""
    parts = [names.get(code[:n], "") for n in (6, 9, 12, 15) if len(code) >= n]
    return "".join(p for p in parts if p) or code


def issuer(code: str, names: Mapping[str, str]) -> str:
    """The issuing body's area: the township (乡镇/街道) of the case, or the county."""
    township = names.get(township_of(code) or "", "")
    return names.get(county_of(code), "") + township


def parties(case: Mapping[str, Any], *, full: bool) -> list[dict[str, str]]:
    """The parties, roles labelled; ID numbers and phones in full only when ``full``."""
    listed = [dict(p) for p in case.get("parties") or [] if isinstance(p, dict)]
    if not full:
        listed = mask_parties(listed)
    return [{"role": _label(vocab.PARTY_ROLES, p.get("role")), "name": str(p.get("name", "")),
             "id_number": str(p.get("id_number") or ""), "phone": str(p.get("phone") or ""),
             "address": str(p.get("address") or "")} for p in listed]


def _person(facts: CaseFacts, username: Any) -> str:
    return facts.people.get(str(username), str(username or ""))


def _deadlines(p: CaseProjection) -> list[dict[str, str]]:
    out = []
    for d in p.deadlines:
        state = ("按期完成" if d.on_time else "逾期完成") if d.met_at else ("暂停计时" if d.suspended else "")
        out.append({"label": d.label_zh, "due": cn_date(d.due_date), "met": cn_date(d.met_at),
                    "state": state})
    return out


def _event_summary(event: Mapping[str, Any], facts: CaseFacts) -> str:
    """One line for the timeline: the kind's own fields, labelled."""
    kind = event.get("kind")
    bits: list[str] = []
    if kind == "assigned":
        bits = [f"{u.get('unit')}（{_label(vocab.UNIT_TYPES, u.get('unit_type'))}）" for u in event.get("units", [])]
    elif kind == "mediated":
        bits = [_label(vocab.MEDIATION_OUTCOMES, event.get("outcome"))]
    elif kind == "resolved":
        bits = [_label(vocab.RESOLUTION_LEVELS, event.get("resolution_level")), str(event.get("summary") or "")]
    elif kind in ("escalated", "returned"):
        bits = [_label(vocab.CASE_LEVELS, event.get("to_level")), str(event.get("reason") or "")]
    elif kind in ("evaluated", "evaluated_by_phone"):
        bits = [_label(vocab.EVALUATIONS, event.get("rating"))]
    elif kind == "extended":
        bits = [f"{event.get('days')} 天", str(event.get("reason") or "")]
    elif kind == "review_requested":
        bits = [_label(vocab.REVIEW_STAGES, event.get("stage"))]
    for name in ("reason", "content", "reply", "result", "decision", "text", "note"):
        if event.get(name) and str(event[name]) not in bits:
            bits.append(str(event[name]))
    if kind == "feedback":
        bits.insert(0, str(event.get("unit", "")))
    return "；".join(b for b in bits if b)


def case_common(facts: CaseFacts, *, full_ids: bool = False) -> dict[str, Any]:
    """What every case document shows: header, tracking code and QR target, the case."""
    case, p = facts.case, facts.projection
    code = str(case["area_code"])
    return {
        "tracking_code": case["tracking_code"], "tracking_term": vocab.TERMS["tracking_code"][0],
        "track_url": facts.track_url, "issuer": issuer(code, facts.area_names),
        "printed_on": cn_date(facts.today),
        "case": {
            "id": case["_id"], "title": str(case.get("title") or ""),
            "description": str(case.get("description") or ""),
            "category": _label(vocab.CATEGORIES, case.get("category")),
            "channel": _label(vocab.CHANNELS, case.get("channel")),
            "registered_on": cn_date(case.get("created_at")), "area": area_path(code, facts.area_names),
            "area_code": code, "policy": _label(POLICY_LABELS, case.get("policy")),
            "status": _label(vocab.CASE_STATUSES, p.status),
            "legal_route": _label(vocab.LEGAL_ROUTES, p.legal_route) if p.legal_route != "none" else "",
            "lead_official": str(case.get("lead_official") or ""),
            "first_handler": _person(facts, case.get("first_handler") or case.get("reported_by")),
            "accepted_on": cn_date(p.accepted_at), "closed_on": cn_date(p.closed_at),
        },
        "parties": parties(case, full=full_ids),
        "deadlines": _deadlines(p),
    }


def _last(events: Sequence[Mapping[str, Any]], kind: str, event_id: str | None = None,
          where: Any = None) -> Mapping[str, Any] | None:
    found = [e for e in events if e.get("kind") == kind and (where is None or where(e))]
    if event_id is not None:
        found = [e for e in found if e.get("_id") == event_id]
    return found[-1] if found else None


def _stage_reminder(facts: CaseFacts, stage: str | None) -> Reminder:
    reminders = case_reminders(facts.projection, facts.today)
    if stage is not None:
        reminders = [r for r in reminders if r.stage == stage]
    if not reminders:
        wanted = f"“{STAGES[stage][0]}”" if stage in STAGES else "临期、到期或逾期"
        raise NotAvailable(f"该案件今天没有{wanted}的办理时限，无需督办",
                           f"the case has no deadline that is {stage or 'due soon, due or overdue'} today")
    return min(reminders, key=lambda r: (r.days_left, r.rule))


def document(kind: str, facts: CaseFacts, *, event_id: str | None = None,
             stage: str | None = None) -> dict[str, Any]:
    """The data of one case document (``CASE_DOCUMENTS``); raises :class:`NotAvailable`
    when the case has not reached the step the document records, ``KeyError`` for an
    unknown kind. ``event_id`` picks one assignment (交办单; default the latest),
    ``stage`` one reminder stage (督办函; default the most urgent)."""
    title_zh, title_en = CASE_DOCUMENTS[kind]
    events, p = facts.events, facts.projection
    data = case_common(facts, full_ids=kind in WITH_ID_NUMBERS)
    data.update(kind=kind, title=title_zh, title_en=title_en)
    if kind == "receipt":
        data["received_on"] = cn_datetime(facts.case.get("received_at") or facts.case.get("created_at"))
        data["handler"] = data["case"]["first_handler"]
    elif kind == "acceptance":
        if p.accepted_at is None:
            raise NotAvailable("该事项尚未受理，不能出具受理告知书", "the matter is not accepted yet")
        accepted = _last(events, "accepted")
        data["accepted_on"] = cn_date(p.accepted_at)
        data["handler"] = _person(facts, (accepted or {}).get("actor") or facts.case.get("first_handler"))
        data["note"] = str((accepted or {}).get("note") or "")
    elif kind == "non_acceptance":
        declined = _last(events, "declined")
        if declined is None:
            raise NotAvailable("该事项未作不予受理决定，不能出具不予受理告知书",
                               "the matter was not declined")
        route = declined.get("legal_route") or p.legal_route
        data.update(declined_on=cn_date(declined.get("at")), reason=str(declined.get("reason", "")),
                    legal_route_code=route if route and route != "none" else "",
                    legal_route=_label(vocab.LEGAL_ROUTES, route) if route and route != "none" else "",
                    handler=_person(facts, declined.get("actor")))
    elif kind == "assignment":
        assigned = _last(events, "assigned", event_id)
        if assigned is None:
            raise NotAvailable("该案件没有交办记录" if event_id is None else "未找到该交办记录",
                               "the case has no assignment" if event_id is None else "no such assignment")
        data.update(assigned_on=cn_date(assigned.get("at")), handler=_person(facts, assigned.get("actor")),
                    units=[{"name": u.get("unit", ""), "type": _label(vocab.UNIT_TYPES, u.get("unit_type"))}
                           for u in assigned.get("units", [])],
                    dual=len(assigned.get("units", [])) == 2, note=str(assigned.get("note") or ""),
                    event_id=assigned["_id"])
    elif kind == "agreement":
        mediated = _last(events, "mediated", event_id, lambda e: e.get("outcome") in AGREEMENT_OUTCOMES)
        if mediated is None:
            raise NotAvailable("该案件尚无达成协议的调解记录，不能出具人民调解协议书",
                               "no mediation of this case reached an agreement yet")
        data.update(mediated_on=cn_date(mediated.get("at")),
                    outcome=_label(vocab.MEDIATION_OUTCOMES, mediated.get("outcome")),
                    mediator=str(mediated.get("mediator") or _person(facts, mediated.get("actor"))),
                    terms=[str(t) for t in mediated.get("terms") or []],
                    performance=str(mediated.get("performance") or ""), note=str(mediated.get("note") or ""),
                    copies=max(len(data["parties"]) + 1, 3))
    elif kind == "reply":
        closed = _last(events, "closed")
        if closed is None:
            raise NotAvailable("该事项尚未办结，不能出具答复意见书", "the matter is not closed yet")
        data.update(closed_on=cn_date(closed.get("at")), reply=str(closed.get("reply", "")),
                    handler=_person(facts, closed.get("actor")),
                    review_days=30)  # 信访工作条例 第三十五条: 复查 within 30 days of the reply
    elif kind == "supervision":
        r = _stage_reminder(facts, stage)
        deadline = next((d for d in p.deadlines if d.rule == r.rule), None)
        data.update(stage=r.stage, stage_label=STAGES[r.stage][0], due=cn_date(r.due_date),
                    rule=deadline.label_zh if deadline else r.rule, days_left=r.days_left,
                    days_over=-r.days_left if r.days_left < 0 else 0,
                    unit=area_path(r.unit, facts.area_names), unit_code=r.unit,
                    escalate_to=area_path(r.escalate_to, facts.area_names) if r.escalate_to else "",
                    pending_units=list(r.pending_units), provisional=r.provisional)
    return data


def timeline(facts: CaseFacts) -> list[dict[str, str]]:
    """The case's history, one row an event, with the registration first."""
    rows = [{"at": cn_datetime(facts.case.get("created_at")), "what": vocab.TERMS["registered"][0],
             "who": _person(facts, facts.case.get("reported_by")),
             "detail": _label(vocab.CHANNELS, facts.case.get("channel"))}]
    for e in facts.events:
        rows.append({"at": cn_datetime(e.get("at")), "what": _label(vocab.EVENT_KINDS, e.get("kind")),
                     "who": "" if e.get("actor") == "public" else _person(facts, e.get("actor")),
                     "detail": _event_summary(e, facts)})
    return rows


def availability(facts: CaseFacts) -> dict[str, tuple[bool, str, str]]:
    """kind → (available now, why not in Chinese, in English)."""
    out: dict[str, tuple[bool, str, str]] = {}
    for kind in CASE_DOCUMENTS:
        try:
            document(kind, facts)
        except NotAvailable as exc:
            out[kind] = (False, exc.message_zh, exc.message_en)
        else:
            out[kind] = (True, "", "")
    return out


def dossier(facts: CaseFacts, photos: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The 卷宗: cover, every document the case has, the timeline and the photos.

    ``photos``: ``{"file": name in the render folder, "caption": …}``. The assignment
    documents are one per 交办; the 督办函 is not filed (it is a reminder, not a record).
    """
    data = case_common(facts, full_ids=True)
    data.update(kind="dossier", title=DOSSIER[0], title_en=DOSSIER[1])
    documents: list[dict[str, Any]] = []
    for kind in CASE_DOCUMENTS:
        if kind == "supervision":
            continue
        if kind == "assignment":
            for e in facts.events:
                if e.get("kind") == "assigned":
                    documents.append(document(kind, facts, event_id=e["_id"]))
            continue
        try:
            documents.append(document(kind, facts))
        except NotAvailable:
            continue
    for doc in documents:  # the file keeps full ID numbers wherever it shows parties
        doc["parties"] = data["parties"]
    data.update(documents=documents, timeline=timeline(facts), photos=list(photos),
                opened_on=data["case"]["registered_on"], closed_on=data["case"]["closed_on"])
    return data


def minutes(review: Mapping[str, Any], *, area_names: Mapping[str, str], people: Mapping[str, str],
            tracking_codes: Mapping[str, str], issuer: str, today: date) -> dict[str, Any]:
    """研判会议纪要 of a review meeting as the reader may see it (``partial``: only the
    items of their area). Case items carry their tracking code."""
    items = []
    for n, item in enumerate(review.get("items", []), 1):
        subject = item.get("risk_id") or item.get("case_id") or ""
        changes = []
        if item.get("level"):
            changes.append(f"风险等级：{_label(vocab.RISK_LEVELS, item['level'])}")
        for name, label in (("owner", "责任人"), ("lead_official", "包案领导")):
            if item.get(name):
                changes.append(f"{label}：{item[name]}")
        if item.get("due"):
            changes.append(f"化解时限：{cn_date(item['due'])}")
        items.append({"n": n, "kind": "风险" if item.get("risk_id") else "案件", "subject": subject,
                      "title": str(item.get("title") or ""), "decision": str(item.get("decision", "")),
                      "area": area_path(str(item.get("area_code", "")), area_names),
                      "tracking_code": tracking_codes.get(str(item.get("case_id")), ""),
                      "changes": changes})
    return {"kind": "minutes", "title": MINUTES[0], "title_en": MINUTES[1], "id": review["_id"],
            "meeting_title": str(review.get("title") or ""), "held_on": cn_date(review.get("held_on")),
            "attendees": list(review.get("attendees") or []), "note": str(review.get("note") or ""),
            "recorded_by": people.get(str(review.get("recorded_by")), str(review.get("recorded_by", ""))),
            "recorded_at": cn_datetime(review.get("recorded_at")), "items": items,
            "partial": bool(review.get("partial")), "issuer": issuer,
            "printed_on": cn_date(today), "tracking_term": vocab.TERMS["tracking_code"][0]}
