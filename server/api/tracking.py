"""``/api/track/<tracking code>``: public case tracking, no login.

Anyone holding the 10-character code from their receipt sees the status and the dates
(registered, accepted, closed, deadlines) — never personal data, description, area or
names. After closure (办结) they may evaluate once (满意 / 基本满意 / 不满意): an
``evaluated`` case event whose actor is the fixed pseudo-user ``public`` (a valid
``Username``), written into the case's home database. This is the only way an
``evaluated`` event comes to exist (its schema requires that actor); staff record what a
party said on the phone as ``evaluated_by_phone``, which does not stop the party's own. Its id is derived from the case
(``event:<case uuid>:<closure time>-publiceval``), so two simultaneous evaluations
cannot both be stored: CouchDB refuses the second ``PUT`` (409).

The code in the path is what a person typed: it is normalised first
(``schemas.ids.normalise_tracking_code``: spaces, dashes, lower case and full-width
characters accepted), so ``abcd-efgh-jk`` finds ``ABCDEFGHJK``. Lookups are rate-limited
per remote address (in process, sliding window), so codes cannot be enumerated; a
malformed code (wrong check symbol) counts like a miss.

The case is found with a Mango ``_find`` on the county database over a
``(tracking_code)`` index (every township replicates up there); the authoritative copy
and its events are then read from the case's home database.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import current_app, request

from schemas import validate_document, vocab
from schemas.api_risks import EvaluationCreateSchema, TrackingSchema
from schemas.events import PUBLIC_ACTOR
from schemas.ids import is_valid_tracking_code, normalise_tracking_code
from server.domain.projection import CaseProjection
from server.ratelimit import RateWindow
from sync.design import TRACKING_INDEX
from sync.errors import Conflict

from .. import audit, cases
from ..errors import ApiError
from . import ApiBlueprint, validation_error

blp = ApiBlueprint("tracking", __name__, url_prefix="/api/track",
                   description="公开查询：凭查询码查看办理进度并评价 — public tracking (no login)")



def _not_found() -> ApiError:
    return ApiError(404, "not_found", "查询码无效或未找到对应事项，请核对回执上的查询码",
                    "no matter with this tracking code; check the code on your receipt")


def _limit() -> None:
    # Limit and window are read on every lookup (declared in server.config), so a test or an
    # operator's change to the app's config takes effect without a new limiter.
    most = int(current_app.config["FENGQIAO_TRACK_RATE_MAX"])
    window = float(current_app.config["FENGQIAO_TRACK_RATE_WINDOW"])
    limiter: RateWindow = current_app.extensions.setdefault("fq_track_limiter", RateWindow(most, window))
    address = request.remote_addr or "-"
    wait = limiter.retry_after(address, most, window)
    if wait:
        raise ApiError(429, "too_many_requests", "查询过于频繁，请稍后再试",
                       "too many tracking lookups from this address; wait a minute",
                       headers={"Retry-After": str(wait)})
    limiter.hit(address)


def _find_case(code: str) -> tuple[dict[str, Any], Any]:
    _limit()
    # The code is typed by a person (from a paper receipt, or read out on the phone):
    # spaces, dashes, lower case and full-width characters are what people type.
    code = normalise_tracking_code(code)
    if not is_valid_tracking_code(code):
        raise _not_found()
    county = cases.county_db()
    ready: set[str] = current_app.extensions.setdefault("fq_tracking_index", set())
    if county.name not in ready:
        county.create_index(list(TRACKING_INDEX.fields), name=TRACKING_INDEX.name, ddoc=TRACKING_INDEX.ddoc)
        ready.add(county.name)
    docs = county.find({"tracking_code": code}, fields=["_id", "type", "area_code"], limit=2,
                       use_index=TRACKING_INDEX.use_index())["docs"]
    docs = [d for d in docs if d.get("type") == "case"]
    if len(docs) != 1:
        raise _not_found()
    home = cases.home_db(docs[0]["area_code"])
    case = home.get_or_none(docs[0]["_id"]) or county.get(docs[0]["_id"])
    return case, home


def _day(at: Any) -> str | None:
    return at.isoformat() if at is not None else None


def public_view(case: dict[str, Any], p: CaseProjection) -> dict[str, Any]:
    """Status and dates only: nothing that names or describes anyone."""
    return {
        "tracking_code": case["tracking_code"], "status": p.status,
        "status_zh": vocab.zh(vocab.CASE_STATUSES, p.status),
        "registered_at": p.created_at.isoformat(), "accepted_at": _day(p.accepted_at),
        "closed_at": _day(p.closed_at),
        "deadlines": [{"rule": d.rule, "label_zh": d.label_zh, "label_en": d.label_en,
                       "due_date": _day(d.due_date), "met_at": _day(d.met_at), "on_time": d.on_time,
                       "paused": d.suspended}
                      for d in p.deadlines],
        "evaluation": ({"rating": p.evaluation, "at": _day(p.evaluated_at)} if p.evaluation else None),
        "can_evaluate": p.status == "closed" and p.evaluation is None,
    }


@blp.get("/<code>")
@blp.response(200, TrackingSchema)
def track(code: str):  # type: ignore[no-untyped-def]
    """Status and dates of the matter with this tracking code (no login). 404 unknown
    code · 429 too many lookups from your address."""
    case, home = _find_case(code)
    events = cases.events_of(case, home)
    return public_view(case, cases.project(case, events))


@blp.post("/<code>/evaluation")
@blp.arguments(EvaluationCreateSchema)
@blp.response(201, TrackingSchema)
def evaluate(body: dict[str, Any], code: str):  # type: ignore[no-untyped-def]
    """Evaluate a closed matter once: ``rating`` 满意/基本满意/不满意 (or satisfied,
    basically_satisfied, dissatisfied), optional ``comment``. 409 before closure or when
    already evaluated · 404 unknown code · 422 fields · 429 rate limit."""
    case, home = _find_case(code)
    events = cases.events_of(case, home)
    before = cases.project(case, events)
    if before.status != "closed" or before.closed_at is None:
        raise ApiError(409, "not_closed", "事项尚未办结，办结后方可评价", "the matter is not closed yet; evaluate after closure")
    # Only the party's own evaluation counts here: one staff took by phone
    # (``evaluated_by_phone``) is another kind and never blocks the party's.
    if before.evaluation is not None or any(e.get("kind") == "evaluated" and e.get("actor") == PUBLIC_ACTOR
                                            for e in events):
        raise ApiError(409, "already_evaluated", "该事项已评价，每件事项只能评价一次",
                       "this matter has already been evaluated (once per matter)")
    # Times are stored to the second: the evaluation is placed at least one second after
    # closure so it sorts after it, and its id (derived from the closure) is fixed.
    stamp = before.closed_at.astimezone(UTC) + timedelta(seconds=1)
    at = max(cases.now(), stamp)
    uuid_part = case["_id"].split(":", 1)[1]
    doc: dict[str, Any] = {
        "_id": f"event:{uuid_part}:{stamp:%Y%m%dT%H%M%S}.{stamp.microsecond // 1000:03d}Z-publiceval",
        "type": "event", "schema_version": 1, "case_id": case["_id"], "kind": "evaluated",
        "at": cases.china_iso(at), "actor": PUBLIC_ACTOR, "area_code": case["area_code"],
        "received_at": cases.china_iso(at), "rating": body["rating"],
    }
    if body.get("comment"):
        doc["comment"] = body["comment"]
    problems = validate_document(doc)
    if problems:
        raise validation_error(problems)
    after = cases.project(case, [*events, doc])
    old = {(a.code, a.event_id) for a in before.anomalies}
    new = [a for a in after.anomalies if (a.code, a.event_id) not in old]
    if new:
        raise ApiError(409, "invalid_state", "；".join(a.message_zh for a in new),
                       "; ".join(a.message_en for a in new))
    try:
        home.put(doc)
    except Conflict:
        raise ApiError(409, "already_evaluated", "该事项已评价，每件事项只能评价一次",
                       "this matter has already been evaluated (once per matter)") from None
    audit.record("public_evaluation", doc_id=doc["_id"], detail={"case_id": case["_id"], "rating": doc["rating"]},
                 user=PUBLIC_ACTOR)
    return public_view(case, after), 201
