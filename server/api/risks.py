"""``/api/risks`` (风险隐患登记, 三级隐患排查, 重大不稳定问题清单) and ``/api/reviews``
(县级研判会议).

Where data lives: a risk and its ``riskevent:*`` documents live in the township database
of ``township_of(area_code)`` (the county database for a 6-digit code), written there by the API
whoever the caller is; replication carries them up. A county review meeting writes each
decision as a ``reviewed`` risk event (or a ``commented`` case event) into the COUNTY
database with the item's ``area_code``: the down replication (``sync.design.FILTER_DOWN``)
passes documents whose ``area_code`` lies in a township, so the decision reaches that
township's database and its tablets. A risk's events are therefore read from its home
database *and* the county database, merged by ``_id`` (as ``server.cases.events_of``).

Lists (``GET /api/risks``, ``/api/risks/major``) read the statistics read model
(``server.readmodel``: the ``risks`` table, projected with ``project_risk``), never every
risk document; the read model follows the county ``_changes`` feed, so a risk created a
moment ago shows in the lists after replication (seconds) — its detail is read from
CouchDB at once.

Who may do what (the one scope rule, ``sync.scope``, through ``server.auth.scoped``):
read — anyone signed in, in their area (404 outside); create and events — grid workers,
township mediators and county reviewers in the area they may write (403 outside);
a screening round no higher than the caller's level (grid worker: village; mediator:
village, township; county reviewer: all three); ``reviewed`` (研判) only by mediators and
county reviewers; review meetings only by county reviewers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas import vocab
from schemas.api_risks import (
    MajorArgsSchema,
    MajorListSchema,
    ReviewCreateSchema,
    ReviewDocSchema,
    ReviewListArgsSchema,
    ReviewOutSchema,
    RiskCreateSchema,
    RiskDetailSchema,
    RiskEventCreateSchema,
    RiskEventOutSchema,
    RiskListArgsSchema,
    RiskPageSchema,
)
from schemas.errors import FieldError, flatten_errors
from server.domain.projection import jsonable
from server.readmodel import rows as model_rows
from server.readmodel.rows import RISK_LIST_COLUMNS
from sync.couch import Database
from sync.design import REVIEW_INDEX
from sync.users import User

from .. import audit, cases, notify
from ..auth import require_user, scoped
from ..errors import ApiError
from ..risks import (
    WRITE_ROLES,
    check_area,
    check_case_link,
    locate_risk,
    new_risk,
    new_risk_event,
    projection_dict,
    risk_detail,
    risk_etag,
    risk_events,
    today,
    visible_review,
)
from . import (
    ApiBlueprint,
    check_if_match,
    created,
    decode_cursor,
    etag_response,
    keyset_rows,
    page,
    validation_error,
)

blp = ApiBlueprint("risks", __name__, url_prefix="/api",
                   description="风险隐患登记、重大不稳定问题清单、县级研判 — risk register and county reviews")




# -- /api/risks ------------------------------------------------------------------------------

@blp.post("/risks")
@blp.arguments(RiskCreateSchema)
@blp.response(201, RiskDetailSchema)
def create_risk(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Register a risk found in a screening round (三级隐患排查: village, township or county).

    ``reported_by`` is the caller. The round may not be above the caller's level.
    422 field errors (also: ``case_id`` not visible) · 403 area outside scope or round
    above your level. Nothing is stored on an error.
    """
    user = require_user(*WRITE_ROLES)
    doc = new_risk(user, body)
    check_case_link(doc.get("case_id"), user)
    cases.home_db(doc["area_code"], create=True).save(doc)
    audit.record("risk_created", doc_id=doc["_id"],
                 detail={"area_code": doc["area_code"], "level": doc["level"]})
    out = risk_detail(doc, [])
    return created(out, out["etag"], f"/api/risks/{doc['_id']}")


@blp.get("/risks")
@blp.arguments(RiskListArgsSchema, location="query")
@blp.response(200, RiskPageSchema)
def list_risks(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The risk register in the caller's area, newest first, by cursor.

    Filters: ``area`` (prefix inside your area, else 403), ``level``, ``round``
    (screening round that found it), ``status`` (open/resolved), ``overdue`` (open and
    past 化解时限). Rows carry ``case_id`` (linked case), ``grid_code``, ``days_left``,
    ``overdue`` and ``escalate_to`` (the unit above, for overdue ones).
    """
    user = require_user()
    area = args.get("area")
    check_area(user, area)
    as_of = today()
    where, params = model_rows.scope_sql(user, area)
    for col, key in (("level", "level"), ("screening_round", "round"), ("status", "status")):
        if args.get(key):
            where += f" AND {col} = ?"
            params.append(args[key])
    if args.get("overdue") is True:
        where += " AND status = 'open' AND due < ?"
        params.append(as_of)
    elif args.get("overdue") is False:
        where += " AND NOT (status = 'open' AND due < ?)"
        params.append(as_of)
    position = decode_cursor(args.get("cursor"))
    if position is not None:
        if not (isinstance(position, list) and len(position) == 2 and all(isinstance(x, str) for x in position)):
            raise validation_error([FieldError("cursor", "分页游标无效", "invalid cursor")])
        try:
            at = datetime.fromisoformat(position[0])
        except ValueError:
            raise validation_error([FieldError("cursor", "分页游标无效", "invalid cursor")]) from None
        where += " AND (created_at < ? OR (created_at = ? AND risk_id <= ?))"
        params.extend([at, at, position[1]])
    limit = args["limit"]
    cur = model_rows.cursor()
    sql = (f"SELECT {', '.join(RISK_LIST_COLUMNS)} FROM risks WHERE {where} "
           f"ORDER BY created_at DESC, risk_id DESC LIMIT {int(limit) + 1}")
    rows = [dict(zip(RISK_LIST_COLUMNS, r, strict=True)) for r in cur.execute(sql, params).fetchall()]
    rows, nxt = keyset_rows(rows, limit, lambda r: [r["created_at"].isoformat(), r["risk_id"]])
    return page(model_rows.with_area_names(cur, [model_rows.risk_row(r, as_of) for r in rows]), nxt)


@blp.get("/risks/major")
@blp.arguments(MajorArgsSchema, location="query")
@blp.response(200, MajorListSchema)
def major_risks(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """重大不稳定问题清单: open risks of level ``major`` in the caller's area, overdue
    first, then by 化解时限 (due date), with owner, lead official, linked case and grid."""
    user = require_user()
    check_area(user, args.get("area"))
    as_of = today()
    where, params = model_rows.scope_sql(user, args.get("area"))
    cur = model_rows.cursor()
    sql = (f"SELECT {', '.join(RISK_LIST_COLUMNS)} FROM risks WHERE {where} "
           "AND level = 'major' AND status = 'open' "
           "ORDER BY (due < ?) DESC, due ASC, risk_id ASC LIMIT 2000")
    rows = [dict(zip(RISK_LIST_COLUMNS, r, strict=True))
            for r in cur.execute(sql, [*params, as_of]).fetchall()]
    items = model_rows.with_area_names(cur, [model_rows.risk_row(r, as_of) for r in rows])
    return {"as_of": as_of.isoformat(), "count": len(items), "items": items}


@blp.get("/risks/<risk_id>")
@blp.response(200, RiskDetailSchema)
def get_risk(risk_id: str):  # type: ignore[no-untyped-def]
    """The risk with its events and projection (level, owner, due, status, stage).
    ``ETag`` changes with every event; 404 when missing or outside your area."""
    user = require_user()
    risk, home = locate_risk(risk_id, user)
    out = risk_detail(risk, risk_events(risk, home))
    return etag_response(out, out["etag"])


@blp.post("/risks/<risk_id>/events")
@blp.arguments(RiskEventCreateSchema)
@blp.response(201, RiskEventOutSchema)
def add_risk_event(body: dict[str, Any], risk_id: str):  # type: ignore[no-untyped-def]
    """Record ``screened`` (screening_round, level), ``reviewed`` (研判: decision; may
    change level, owner, due, lead_official), ``resolved`` (summary) or ``commented``
    (text). 422 fields · 403 outside the area you may change, or role · 404 not visible ·
    409 after resolution (only comments) · 412 stale ``If-Match``."""
    user = require_user(*WRITE_ROLES)
    risk, home = locate_risk(risk_id, user)
    scoped(risk, write=True, user=user)
    events = risk_events(risk, home)
    check_if_match(risk_etag(risk, events))
    doc, after = new_risk_event(user, risk, events, body)
    home.save(doc)
    audit.record("risk_event_created", doc_id=doc["_id"], detail={"risk_id": risk["_id"], "kind": doc["kind"]})
    etag = risk_etag(risk, [*events, doc])
    return etag_response({"event": doc, "projection": projection_dict(after, today()), "etag": etag},
                         etag, status=201)


# -- /api/reviews (县级研判) ---------------------------------------------------------------------

def _review_index(db: Database) -> None:
    from flask import current_app

    ready: set[str] = current_app.extensions.setdefault("fq_review_index", set())
    if db.name not in ready:
        db.create_index(list(REVIEW_INDEX.fields), name=REVIEW_INDEX.name, ddoc=REVIEW_INDEX.ddoc)
        ready.add(db.name)


def _item_error(i: int, name: str, zh: str, en: str) -> ApiError:
    return validation_error([FieldError(f"items.{i}.{name}", zh, en)])


def review_level(user: User) -> str:
    """The level of a meeting ``user`` records: the township's or the county's."""
    return "township" if user.role == "township_mediator" else "county"


Planned = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _plan_item(user: User, i: int, item: Mapping[str, Any], at: datetime) -> Planned:
    """(event document to write into the county database, item summary, the risk or case
    it decides on — whose grid workers are told) for one matter."""
    if item.get("risk_id"):
        try:
            risk, home = locate_risk(item["risk_id"], user)
        except ApiError:
            raise _item_error(i, "risk_id", "风险不存在或不在您的负责范围内",
                              "risk not found or outside your area") from None
        body = {k: item[k] for k in ("decision", "level", "owner", "due", "lead_official") if item.get(k)}
        body.update(kind="reviewed")
        try:
            doc, _ = new_risk_event(user, risk, risk_events(risk, home), body, at=at)
        except ApiError as exc:
            raise _prefix(exc, i) from None
        summary = jsonable({"risk_id": risk["_id"], "area_code": risk["area_code"], "title": risk.get("title"),
                            "decision": item["decision"], "event_id": doc["_id"],
                            **{k: body[k] for k in ("level", "owner", "due", "lead_official") if k in body}})
        return doc, summary, risk
    try:
        case, home = cases.locate(item["case_id"], user)
    except ApiError:
        raise _item_error(i, "case_id", "案件不存在或不在您的负责范围内",
                          "case not found or outside your area") from None
    try:
        doc, _ = cases.new_event(user, case, cases.events_of(case, home),
                                 {"kind": "commented",
                                  "text": f"【{vocab.zh(vocab.REVIEW_LEVELS, review_level(user))}】{item['decision']}"[:2000]},
                                 at=at)
    except ApiError as exc:
        raise _prefix(exc, i) from None
    doc["review_level"] = review_level(user)  # marks the comment as a 研判 decision
    summary = {"case_id": case["_id"], "area_code": case["area_code"], "title": case.get("title"),
               "decision": item["decision"], "event_id": doc["_id"]}
    return doc, summary, case


def _prefix(exc: ApiError, i: int) -> ApiError:
    if exc.errors:
        exc.errors = {f"items.{i}.{k}": v for k, v in exc.errors.items()}
    return exc


@blp.post("/reviews")
@blp.arguments(ReviewCreateSchema)
@blp.response(201, ReviewOutSchema)
def create_review(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Record a 研判 meeting — the county's (county reviewers) or a township's (its
    mediators, on matters of their township): ``held_on``, ``attendees``,
    ``items`` [{risk_id | case_id, decision, level?, owner?, due?, lead_official?}].

    Every item is checked before anything is written (422 with ``items.<n>.<field>``
    errors, nothing stored). Then each decision is written into the county database
    with the item's ``area_code`` — a ``reviewed`` risk event, or a ``commented`` case
    event — so replication carries it down to the township; the meeting is stored as
    ``review:<uuid>`` (county database, server-only) listing the event ids.
    """
    user = require_user("county_reviewer", "township_mediator")
    at = cases.now()
    planned = [_plan_item(user, i, item, at) for i, item in enumerate(body["items"])]
    subjects = [s.get("risk_id") or s.get("case_id") for _, s, _ in planned]
    dupes = sorted({s for s in subjects if subjects.count(s) > 1})
    if dupes:
        raise validation_error([FieldError("items", f"同一事项重复列出：{', '.join(dupes)}",
                                           f"a matter is listed twice: {', '.join(dupes)}")])
    review: dict[str, Any] = {
        "_id": f"review:{uuid.uuid4()}", "type": "review", "schema_version": 1,
        "held_on": body["held_on"].isoformat(), "attendees": body["attendees"],
        "items": [s for _, s, _ in planned], "area_codes": sorted({s["area_code"] for _, s, _ in planned}),
        "recorded_by": user.username, "recorded_at": cases.china_iso(at),
        "level": review_level(user),
    }
    for name in ("title", "note"):
        if body.get(name):
            review[name] = body[name]
    problems = ReviewDocSchema().validate(review)
    if problems:
        raise validation_error(flatten_errors(problems))
    county = cases.county_db()
    results = county.bulk_docs([doc for doc, _, _ in planned])
    failed = [r for r in results if not r.get("ok")]
    if failed:  # ids are fresh, so this is a server fault; the meeting is not recorded
        raise ApiError(503, "storage_failed", "研判决定未能全部保存，请重试",
                       f"could not store every decision ({failed[0].get('error')}); try again")
    county.save(review)
    # The grid workers concerned hear of the decisions at once (the feed follower would
    # tell them within a pass; deterministic ids make the two write each notice once).
    notify.notify_review_decisions(county, [(subject, doc) for doc, _, subject in planned],
                                   directory=cases.notice_directory(), at=at)
    audit.record("review_recorded", doc_id=review["_id"],
                 detail={"items": len(planned), "held_on": review["held_on"]})
    return created({"review": review}, review["_rev"], f"/api/reviews/{review['_id']}")


@blp.get("/reviews")
@blp.arguments(ReviewListArgsSchema, location="query")
@blp.response(200, RiskPageSchema)
def list_reviews(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Review meetings, latest first, by cursor. Township mediators see the meetings that
    discussed matters of their township (only those items); grid workers get 403."""
    user = require_user("township_mediator", "county_reviewer", "admin")
    county = cases.county_db()
    _review_index(county)
    position = decode_cursor(args.get("cursor"))
    selector: dict[str, Any] = {"type": "review", "held_on": {"$gt": None}}
    if position is not None:
        if not (isinstance(position, list) and len(position) == 2):
            raise validation_error([FieldError("cursor", "分页游标无效", "invalid cursor")])
        selector["held_on"] = {"$lte": position[0]}
    limit = args["limit"]
    # Meetings are few (a handful a month): read from the cursor's day on, a bounded
    # batch, and cut exactly in Python by (held_on, _id).
    batch = county.find(selector, sort=[{"type": "desc"}, {"held_on": "desc"}],
                        limit=limit + 200, use_index=REVIEW_INDEX.use_index())["docs"]
    rows = []
    for doc in batch:
        if position is not None and [doc["held_on"], doc["_id"]] > position:
            continue
        visible = visible_review(doc, user)
        if visible is not None:
            rows.append(visible)
    rows.sort(key=lambda d: (d["held_on"], d["_id"]), reverse=True)
    rows, nxt = keyset_rows(rows, limit, lambda d: [d["held_on"], d["_id"]])
    return page(rows, nxt)


@blp.get("/reviews/<review_id>")
@blp.response(200, ReviewOutSchema)
def get_review(review_id: str):  # type: ignore[no-untyped-def]
    """One meeting (items outside your area left out); 404 when none is visible."""
    user = require_user("township_mediator", "county_reviewer", "admin")
    review_id = review_id if review_id.startswith("review:") else f"review:{review_id}"
    doc = cases.county_db().get_or_none(review_id) if len(review_id) < 60 else None
    visible = visible_review(doc, user) if doc and doc.get("type") == "review" else None
    if visible is None:
        raise ApiError(404, "not_found", "未找到该研判记录", "review meeting not found")
    return etag_response({"review": visible}, doc["_rev"])


