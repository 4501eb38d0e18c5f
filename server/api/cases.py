"""``/api/cases``: online intake, case detail (timeline + projection), actions as events.

The case LIST (``GET /api/cases`` with filters) is served from the statistics read model
by ``server.readmodel``, not here.
"""

from __future__ import annotations

from typing import Any

from schemas.api import (
    CaseCreateSchema,
    CaseDetailSchema,
    CaseUpdateSchema,
    EventCreateSchema,
    EventOutSchema,
    PartiesOutSchema,
    PartiesRevealArgsSchema,
    RepeatArgsSchema,
    RepeatsSchema,
)

from .. import audit, cases, notify, units
from ..auth import require_user, scoped
from ..errors import ApiError
from . import ApiBlueprint, check_if_match, created, etag_response

blp = ApiBlueprint("cases", __name__, url_prefix="/api/cases",
                   description="矛盾纠纷案件：登记、详情、处置事件 — cases: intake, detail, actions")

def _detail(case: dict[str, Any], events: list[dict[str, Any]], user: Any = None,
            **extra: Any) -> dict[str, Any]:
    etag = cases.etag_of(case, events)
    projection = cases.project(case, events)
    return {"case": cases.public_case(case), "events": events,
            "projection": projection.to_dict(), "etag": etag,
            "actions": cases.actions_for(user, case, events),
            "countdown": cases.countdown(projection), "people": cases.people(case, events), **extra}

@blp.post("")
@blp.arguments(CaseCreateSchema)
@blp.arguments(RepeatArgsSchema, location="query", as_kwargs=True)
@blp.response(201, CaseDetailSchema)
def create_case(body: dict[str, Any], repeat_of: str | None = None):  # type: ignore[no-untyped-def]
    """Register a case from a letter, visit, call or online submission.

    The caller is ``reported_by`` and ``first_handler`` (首问负责制). The answer carries
    ``repeat_of_suggestions``: earlier cases in the caller's scope with the same party and
    category within 180 days (重复访); pass ``?repeat_of=<case id>`` (or ``repeat_of`` in
    the body) to link the new case to one. 422 field errors · 403 area outside scope.
    """
    user = require_user(*cases.CASE_ROLES)
    if repeat_of:
        body["repeat_of"] = repeat_of
    if body.get("repeat_of"):
        cases.locate(body["repeat_of"], user)  # must exist and be visible (else 404)
    doc = cases.new_case(user, body)
    suggestions = [] if doc.get("repeat_of") else cases.find_repeats(user, doc)
    cases.store_case(doc)
    audit.record("case_created", doc_id=doc["_id"],
                 detail={"area_code": doc["area_code"], "repeat_of": doc.get("repeat_of")})
    body_out = _detail(doc, [], user, repeat_of_suggestions=suggestions)
    return created(body_out, body_out["etag"], f"/api/cases/{doc['_id']}")

@blp.get("/<case_id>")
@blp.response(200, CaseDetailSchema)
def get_case(case_id: str):  # type: ignore[no-untyped-def]
    """The case with its full timeline and projection (state, deadlines, anomalies).

    ``ETag`` is the case's revision (base record + its events); send it back as
    ``If-Match`` on a change. Parties' ID numbers and phones are masked (full values:
    ``GET /api/cases/<id>/parties?reason=…``). The read is audited.
    404 when the case does not exist or is outside the caller's area.
    """
    user = require_user()
    if user.role == "unit_officer":
        case, home, events = units.locate_for_unit(case_id, user)
    else:
        case, home = cases.locate(case_id, user)
        events = cases.events_of(case, home)
    audit.record("case_read", doc_id=case["_id"])
    body = _detail(case, events, user)
    return etag_response(body, body["etag"])

@blp.get("/<case_id>/parties")
@blp.arguments(PartiesRevealArgsSchema, location="query")
@blp.response(200, PartiesOutSchema)
def reveal_parties(args: dict[str, Any], case_id: str):  # type: ignore[no-untyped-def]
    """查看: the parties with full ID numbers and phones, for a stated ``reason``.

    Only for those who handle the case — its grid worker, its township's mediator, a
    county reviewer (admins: 403) — and audited with the reason (``parties_revealed``).
    The case detail shows them masked. 422 no reason · 404 case not visible.
    """
    user = require_user(*cases.REVEAL_ROLES)
    case, _ = cases.locate(case_id, user)
    audit.record("parties_revealed", doc_id=case["_id"], detail={"reason": args["reason"]})
    return ({"case_id": case["_id"], "parties": cases.reveal_parties(case)}, 200,
            {"Cache-Control": "no-store"})

@blp.patch("/<case_id>")
@blp.arguments(CaseUpdateSchema)
@blp.response(200, CaseDetailSchema)
def update_case(changes: dict[str, Any], case_id: str):  # type: ignore[no-untyped-def]
    """Correct the base record (typos, 诉访分离 ``legal_route``, 包案领导, ``repeat_of``).

    ``If-Match`` with the ETag from the detail: 412 when the case changed meanwhile.
    """
    user = require_user(*cases.CASE_ROLES)
    case, home = cases.locate(case_id, user)
    scoped(case, write=True, user=user)
    events = cases.events_of(case, home)
    check_if_match(cases.etag_of(case, events))
    if not changes:
        raise ApiError(422, "validation_error", "没有要修改的字段", "nothing to change")
    if changes.get("repeat_of"):
        if changes["repeat_of"] == case["_id"]:
            raise ApiError(422, "validation_error", "案件不能是自身的重复访", "a case cannot repeat itself",
                           {"repeat_of": [{"message_zh": "不能引用自身", "message_en": "cannot be the case itself"}]})
        cases.locate(changes["repeat_of"], user)
    changes = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}
    doc = cases.update_case(user, case, home, changes)
    audit.record("case_updated", doc_id=doc["_id"], detail={"fields": sorted(changes)})
    body = _detail(doc, events, user)
    return etag_response(body, body["etag"])

@blp.post("/<case_id>/events")
@blp.arguments(EventCreateSchema)
@blp.response(201, EventOutSchema)
def add_event(body: dict[str, Any], case_id: str):  # type: ignore[no-untyped-def]
    """Record an action: ``kind`` is one of ``schemas.events`` (accepted, declined,
    assigned — 双交办 is one event with a functional and a territorial unit — feedback,
    met, mediated, resolved, escalated, returned, paused, resumed, extended, closed,
    followed_up, evaluated_by_phone, review_requested, review_decided, commented) with
    that kind's fields. The event is dated by the server (``at`` is refused: 422);
    ``evaluated`` (the party's own) comes only through the tracking code (422 here).

    422 field errors · 403 outside the area you may change · 404 case not visible ·
    409 impossible in the case's state (the message names the state), or ``accepted``
    for a matter with a ``legal_route`` (诉访分离: decline it with the route) ·
    412 ``If-Match`` is not the case's current ETag.
    """
    user = require_user(*cases.CASE_ROLES, "unit_officer")
    if user.role == "unit_officer":  # its own unit's feedback, on a case assigned to it
        case, home, events = units.locate_for_unit(case_id, user)
        body = units.feedback_body(user, events, body)
    else:
        case, home = cases.locate(case_id, user)
        scoped(case, write=True, user=user)
        events = cases.events_of(case, home)
    check_if_match(cases.etag_of(case, events))
    doc, projection = cases.new_event(user, case, events, body,
                                      check_scope=user.role != "unit_officer")
    cases.store_event(doc, home)
    audit.record("event_created", doc_id=doc["_id"], detail={"case_id": case["_id"], "kind": doc["kind"]})
    notify.notify_case_event(cases.county_db(), case, doc,  # accepted, assigned, escalated, closed …
                             directory=cases.notice_directory())
    etag = cases.etag_of(case, [*events, doc])
    return etag_response({"event": doc, "projection": projection.to_dict(), "etag": etag,
                          "actions": cases.actions_for(user, case, [*events, doc])}, etag,
                         status=201)

@blp.get("/<case_id>/attachments/<name>")
def attachment(case_id: str, name: str):  # type: ignore[no-untyped-def]
    """A photo of the case (a CouchDB attachment of the case document), for the case page.
    Scoped and audited like the case itself; 404 when either is not there."""
    from flask import Response

    user = require_user()
    if user.role == "unit_officer":
        case, home, _ = units.locate_for_unit(case_id, user)
    else:
        case, home = cases.locate(case_id, user)
    if name not in (case.get("_attachments") or {}):
        raise cases.not_found()
    body, content_type = home.get_attachment(case["_id"], name, rev=case["_rev"])
    audit.record("case_read", doc_id=case["_id"], detail={"attachment": name})
    return Response(body, mimetype=content_type or "application/octet-stream",
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@blp.get("/<case_id>/repeats")
@blp.response(200, RepeatsSchema)
def repeats(case_id: str):  # type: ignore[no-untyped-def]
    """Earlier cases in the caller's scope that look like the same matter (重复访)."""
    user = require_user()
    case, _ = cases.locate(case_id, user)
    return {"repeat_of_suggestions": cases.find_repeats(user, case)}

