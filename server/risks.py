"""Risks and review meetings as a service: where a risk lives, its events, its ETag, and
building (checking) a new risk or risk event. ``server.api.risks`` is its HTTP face; the
work list, reminders and documents use it too.

Where data lives: a risk and its ``riskevent:*`` documents live in the township database
of ``township_of(area_code)`` (the county database for a 6-digit code), written there
whoever the caller is; replication carries them up. A review meeting's decisions are
written into the COUNTY database with each item's ``area_code`` and flow down, so a risk's
events are read from its home database *and* the county database (``cases.child_docs``).

Who may do what (the one scope rule, ``sync.scope``): create and events — grid workers,
township mediators and county reviewers in the area they may write; a screening round no
higher than the caller's level; ``reviewed`` (研判) only by mediators and county reviewers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from schemas import new_risk_event_id, new_risk_id, validate_document, vocab
from schemas.errors import FieldError
from schemas.events import CLIENT_TIME_REFUSED
from schemas.registry import DOC_TYPES
from server.domain.projection import jsonable
from server.domain.reminders import DEFAULT_LEAD_DAYS
from server.domain.risks import RiskProjection, project_risk
from server.domain.workdays import china_date
from sync.couch import Database
from sync.scope import may_write_key, scope_key, sees
from sync.users import User

from . import cases
from .auth import scoped
from .errors import ApiError


def _invalid(problems: list[FieldError]) -> ApiError:
    from .api import validation_error

    return validation_error(problems)


WRITE_ROLES = ("grid_worker", "township_mediator", "county_reviewer")
REVIEW_ROLES = ("township_mediator", "county_reviewer")
ROUNDS_BY_ROLE = {"grid_worker": ("village",), "township_mediator": ("village", "township"),
                  "county_reviewer": ("village", "township", "county")}
# Set by the server on every risk event written through the API: the registry's.
SERVER_FIELDS = DOC_TYPES["riskevent"].set_by_server


# -- where risks are -------------------------------------------------------------------------

def locate_risk(risk_id: str, user: User) -> tuple[dict[str, Any], Database]:
    """The risk (authoritative copy from its home database) and that database; 404 when it
    does not exist or the user may not see it (existence is not leaked)."""
    return cases.locate_doc(risk_id, "risk", user)


def risk_events(risk: Mapping[str, Any], home: Database) -> list[dict[str, Any]]:
    """Every event of the risk from its home and the county database, by ``_id``."""
    return cases.child_docs(risk["_id"], home)


def risk_etag(risk: Mapping[str, Any], events: list[Mapping[str, Any]]) -> str:
    """The risk resource's revision (as a case's: ``cases.etag_of``)."""
    return cases.etag_of(risk, events)


def today() -> date:
    return china_date(cases.now())


def projection_dict(p: RiskProjection, as_of: date) -> dict[str, Any]:
    out = jsonable({
        "risk_id": p.risk_id, "area_code": p.area_code, "level": p.level, "owner": p.owner,
        "due": p.due, "lead_official": p.lead_official, "status": p.status,
        "rounds": list(p.rounds), "reviews": p.reviews, "resolved_at": p.resolved_at,
        "anomalies": [{"code": a.code, "event_id": a.event_id, "message_zh": a.message_zh,
                       "message_en": a.message_en} for a in p.anomalies],
    })
    stage = p.stage(as_of, DEFAULT_LEAD_DAYS)
    out.update(stage=stage, overdue=stage == "overdue",
               days_left=(p.due - as_of).days if p.status == "open" else None,
               escalate_to=p.escalate_to if stage == "overdue" else None)
    return out


def risk_detail(risk: Mapping[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    p = project_risk(risk, events)
    return {"risk": dict(risk), "events": events, "projection": projection_dict(p, today()),
            "etag": risk_etag(risk, events)}


# -- risk documents ----------------------------------------------------------------------------

def _forbidden_area(code: str) -> ApiError:
    return ApiError(403, "forbidden", f"区域 {code} 不在您的负责范围内", f"area {code} is outside your scope",
                    {"area_code": [{"message_zh": "不在您的负责范围内", "message_en": "outside your scope"}]})


def check_case_link(case_id: str | None, user: User) -> None:
    if not case_id:
        return
    try:
        cases.locate(case_id, user)
    except ApiError as exc:
        if exc.status != 404:
            raise
        raise _invalid([FieldError("case_id", "关联案件不存在或不在您的负责范围内",
                                           "the linked case does not exist or is outside your area")]) from None


def new_risk(user: User, body: Mapping[str, Any]) -> dict[str, Any]:
    """The risk document for ``body`` (not stored). 422 fields · 403 area or round."""
    at = cases.now()
    doc: dict[str, Any] = {
        "_id": new_risk_id(), "type": "risk", "schema_version": 1,
        "reported_by": user.username, "received_at": cases.china_iso(at),
        "created_at": body["created_at"].isoformat() if body.get("created_at") else cases.china_iso(at),
    }
    for name, value in body.items():
        if name != "created_at" and value is not None:
            doc[name] = value.isoformat() if isinstance(value, date) else value
    problems = validate_document(doc)
    if problems:
        raise _invalid(problems)
    if not may_write_key(user, scope_key(doc)):
        raise _forbidden_area(doc["area_code"])
    allowed = ROUNDS_BY_ROLE.get(user.role, ())
    if doc["screening_round"] not in allowed:
        raise ApiError(403, "forbidden", f"您的角色只能登记以下排查轮次：{'、'.join(allowed)}",
                       f"your role may record these screening rounds only: {', '.join(allowed)}",
                       {"screening_round": [{"message_zh": "超出您的排查层级",
                                             "message_en": "above your screening level"}]})
    return doc


def new_risk_event(user: User, risk: Mapping[str, Any], events: list[dict[str, Any]],
                   body: Mapping[str, Any], *, at: datetime | None = None) -> tuple[dict[str, Any], RiskProjection]:
    """Build and check a risk event at the server's time ``at`` (default now; never from
    ``body``, as for case events); 422 fields · 403 scope/role · 409 after resolution."""
    at = at or cases.now()
    owned = sorted(k for k in body if k.startswith("_") or k in SERVER_FIELDS)
    if owned:
        raise _invalid([FieldError(k, *(CLIENT_TIME_REFUSED if k == "at" else
                                                ("该字段由服务器填写，请勿提交", "set by the server; do not send it")))
                                for k in owned])
    kind = body.get("kind")
    if kind == "reviewed" and user.role not in REVIEW_ROLES:
        raise ApiError(403, "forbidden", "研判仅限" + "和".join(vocab.ROLES[r][0] for r in REVIEW_ROLES),
                       "only township mediators and county reviewers record reviews")
    if kind == "screened" and body.get("screening_round") not in ROUNDS_BY_ROLE.get(user.role, ()) \
            and body.get("screening_round") in ("village", "township", "county"):
        raise ApiError(403, "forbidden", "超出您的排查层级", "above your screening level",
                       {"screening_round": [{"message_zh": "超出您的排查层级",
                                             "message_en": "above your screening level"}]})
    doc: dict[str, Any] = {k: (v.isoformat() if isinstance(v, date) else v)
                           for k, v in body.items() if v is not None}
    doc.update({
        "_id": new_risk_event_id(risk["_id"], at), "type": "riskevent", "schema_version": 1,
        "risk_id": risk["_id"], "at": cases.china_iso(at),
        "actor": user.username, "area_code": risk["area_code"], "received_at": cases.china_iso(at),
    })
    problems = validate_document(doc)
    if problems:
        raise _invalid(problems)
    scoped(doc, write=True, user=user)
    before = project_risk(risk, events)
    after = project_risk(risk, [*events, doc])
    old = {(a.code, a.event_id) for a in before.anomalies}
    new = [a for a in after.anomalies if (a.code, a.event_id) not in old]
    if new:
        raise ApiError(409, "invalid_state",
                       f"风险当前状态为「{vocab.zh(vocab.RISK_STATUSES, before.status)}」："
                       + "；".join(a.message_zh for a in new),
                       f"the risk is '{before.status}': " + "; ".join(a.message_en for a in new))
    return doc, after



def check_area(user: User, area: str | None) -> None:
    """403 when ``area`` is outside the user's areas (a filter a client chose)."""
    if area and not any(area.startswith(c) for c in user.area_codes):
        raise ApiError(403, "forbidden", f"区域 {area} 不在您的负责范围内", f"area {area} is outside your scope",
                       {"area": [{"message_zh": "不在您的负责范围内", "message_en": "outside your scope"}]})



# What a user who does not see the whole meeting gets of it: its date and record, and the
# items of their own area. The meeting's title and note may speak of any township's
# matters, ``area_codes`` lists which townships were discussed, and the attendees (county
# leaders, departments, other townships' secretaries) tell whose business it was — so all
# of these are left out, rather than guessing which of them is harmless.
PARTIAL_REVIEW_FIELDS = ("_id", "_rev", "type", "schema_version", "held_on", "recorded_by", "recorded_at")


def visible_review(review: dict[str, Any], user: User) -> dict[str, Any] | None:
    """The meeting as ``user`` may see it: whole when every item is in their area (county
    reviewers), else only their items and ``PARTIAL_REVIEW_FIELDS``, marked ``partial``;
    None when no item is theirs."""
    all_items = review.get("items", [])
    items = [i for i in all_items if sees(user, f"a:{i.get('area_code')}")]
    if not items:
        return None
    if len(items) == len(all_items):
        return {**review, "items": items}
    return {**{k: review[k] for k in PARTIAL_REVIEW_FIELDS if k in review}, "items": items, "partial": True}
