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

import hashlib
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from schemas import new_risk_event_id, new_risk_id, validate_document, vocab
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
from schemas.events import CLIENT_TIME_REFUSED
from server.domain.reminders import DEFAULT_LEAD_DAYS, parent_code
from server.domain.risks import RiskProjection, project_risk
from server.domain.workdays import china_date
from sync.couch import Database
from sync.design import REVIEW_INDEX
from sync.scope import may_write_key, scope_key, sees
from sync.users import User

from .. import audit, cases, notify
from ..auth import require_user, scoped
from ..errors import ApiError
from . import (
    ApiBlueprint,
    check_if_match,
    decode_cursor,
    etag_response,
    keyset_rows,
    page,
    validation_error,
)

blp = ApiBlueprint("risks", __name__, url_prefix="/api",
                   description="风险隐患登记、重大不稳定问题清单、县级研判 — risk register and county reviews")

WRITE_ROLES = ("grid_worker", "township_mediator", "county_reviewer")
REVIEW_ROLES = ("township_mediator", "county_reviewer")
ROUNDS_BY_ROLE = {"grid_worker": ("village",), "township_mediator": ("village", "township"),
                  "county_reviewer": ("village", "township", "county")}
SERVER_FIELDS = frozenset({"type", "schema_version", "risk_id", "actor", "area_code", "received_at", "at"})


# -- where risks are -------------------------------------------------------------------------

def _risk_not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到该风险隐患（或不在您的负责范围内）",
                    "risk not found (or outside your area)")


def normalise_risk_id(risk_id: str) -> str:
    return risk_id if risk_id.startswith("risk:") else f"risk:{risk_id}"


def locate_risk(risk_id: str, user: User) -> tuple[dict[str, Any], Database]:
    """The risk (authoritative copy from its home database) and that database.

    404 when it does not exist or the user may not see it (existence is not leaked).
    """
    risk_id = normalise_risk_id(risk_id)
    if len(risk_id) > 60:
        raise _risk_not_found()
    return cases.locate_doc(risk_id, "risk", user, _risk_not_found)


def risk_events(risk: Mapping[str, Any], home: Database) -> list[dict[str, Any]]:
    """Every event of the risk from its home and the county database, by ``_id``."""
    uuid_part = risk["_id"].split(":", 1)[1]
    rng = {"startkey": f"riskevent:{uuid_part}:", "endkey": f"riskevent:{uuid_part}:\ufff0",
           "include_docs": True}
    county = cases.county_db()
    merged: dict[str, dict[str, Any]] = {}
    for db in ([home] if home.name == county.name else [county, home]):
        for row in db.all_docs(**rng)["rows"]:
            if row.get("doc") is not None:
                merged[row["id"]] = row["doc"]
    return sorted(merged.values(), key=lambda e: (str(e.get("at")), e["_id"]))


def risk_etag(risk: Mapping[str, Any], events: list[Mapping[str, Any]]) -> str:
    digest = hashlib.sha1("\n".join(sorted(e["_id"] for e in events)).encode()).hexdigest()[:12]
    return f"{risk['_rev']}.{len(events)}.{digest}"


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


def _detail(risk: Mapping[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    p = project_risk(risk, events)
    return {"risk": dict(risk), "events": events, "projection": projection_dict(p, today()),
            "etag": risk_etag(risk, events)}


# -- risk documents ----------------------------------------------------------------------------

def _forbidden_area(code: str) -> ApiError:
    return ApiError(403, "forbidden", f"区域 {code} 不在您的负责范围内", f"area {code} is outside your scope",
                    {"area_code": [{"message_zh": "不在您的负责范围内", "message_en": "outside your scope"}]})


def _check_case_link(case_id: str | None, user: User) -> None:
    if not case_id:
        return
    try:
        cases.locate(case_id, user)
    except ApiError as exc:
        if exc.status != 404:
            raise
        raise validation_error([FieldError("case_id", "关联案件不存在或不在您的负责范围内",
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
        raise validation_error(problems)
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
        raise validation_error([FieldError(k, *(CLIENT_TIME_REFUSED if k == "at" else
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
        raise validation_error(problems)
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


# -- read model rows ---------------------------------------------------------------------------

RISK_LIST_COLUMNS = ("risk_id", "area_code", "title", "category", "level", "screening_round",
                     "owner", "due", "lead_official", "status", "reviews", "reported_by",
                     "created_at", "case_id")


def _readmodel_cursor() -> Any:
    from server import readmodel

    return readmodel.service().ready().cursor()


def _scope_sql(user: User, area: str | None) -> tuple[str, list[Any]]:
    codes = [c for c in user.area_codes if c.isdigit()]
    if not codes:
        return "FALSE", []
    parts = ["(" + " OR ".join("starts_with(area_code, ?)" for _ in codes) + ")"]
    params: list[Any] = list(codes)
    if area:
        parts.append("starts_with(area_code, ?)")
        params.append(area)
    return " AND ".join(parts), params


def _row_out(row: dict[str, Any], as_of: date) -> dict[str, Any]:
    due = row["due"]
    open_ = row["status"] == "open"
    days_left = (due - as_of).days if open_ and due else None
    overdue = days_left is not None and days_left < 0
    area = row["area_code"]
    out = jsonable(row)
    out.update(overdue=overdue, days_left=days_left,
               grid_code=area if len(area) == 15 else None,
               escalate_to=parent_code(area) if overdue else None)
    return out


def _area_names(cur: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = cur.execute("SELECT code, any_value(name) FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[])) "
                       "GROUP BY code", [sorted(codes)]).fetchall()
    return {code: name for code, name in rows}


def _with_names(cur: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = _area_names(cur, {i["area_code"] for i in items} | {i["grid_code"] for i in items if i["grid_code"]})
    for i in items:
        i["area_name"] = names.get(i["area_code"])
        i["grid_name"] = names.get(i["grid_code"]) if i["grid_code"] else None
    return items


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
    _check_case_link(doc.get("case_id"), user)
    cases.home_db(doc["area_code"], create=True).save(doc)
    audit.record("risk_created", doc_id=doc["_id"],
                 detail={"area_code": doc["area_code"], "level": doc["level"]})
    out = _detail(doc, [])
    response = etag_response(out, out["etag"], status=201)
    response.headers["Location"] = f"/api/risks/{doc['_id']}"
    return response


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
    _check_area(user, area)
    as_of = today()
    where, params = _scope_sql(user, area)
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
    cur = _readmodel_cursor()
    sql = (f"SELECT {', '.join(RISK_LIST_COLUMNS)} FROM risks WHERE {where} "
           f"ORDER BY created_at DESC, risk_id DESC LIMIT {int(limit) + 1}")
    rows = [dict(zip(RISK_LIST_COLUMNS, r, strict=True)) for r in cur.execute(sql, params).fetchall()]
    rows, nxt = keyset_rows(rows, limit, lambda r: [r["created_at"].isoformat(), r["risk_id"]])
    return page(_with_names(cur, [_row_out(r, as_of) for r in rows]), nxt)


@blp.get("/risks/major")
@blp.arguments(MajorArgsSchema, location="query")
@blp.response(200, MajorListSchema)
def major_risks(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """重大不稳定问题清单: open risks of level ``major`` in the caller's area, overdue
    first, then by 化解时限 (due date), with owner, lead official, linked case and grid."""
    user = require_user()
    _check_area(user, args.get("area"))
    as_of = today()
    where, params = _scope_sql(user, args.get("area"))
    cur = _readmodel_cursor()
    sql = (f"SELECT {', '.join(RISK_LIST_COLUMNS)} FROM risks WHERE {where} "
           "AND level = 'major' AND status = 'open' "
           "ORDER BY (due < ?) DESC, due ASC, risk_id ASC LIMIT 2000")
    rows = [dict(zip(RISK_LIST_COLUMNS, r, strict=True))
            for r in cur.execute(sql, [*params, as_of]).fetchall()]
    items = _with_names(cur, [_row_out(r, as_of) for r in rows])
    return {"as_of": as_of.isoformat(), "count": len(items), "items": items}


@blp.get("/risks/<risk_id>")
@blp.response(200, RiskDetailSchema)
def get_risk(risk_id: str):  # type: ignore[no-untyped-def]
    """The risk with its events and projection (level, owner, due, status, stage).
    ``ETag`` changes with every event; 404 when missing or outside your area."""
    user = require_user()
    risk, home = locate_risk(risk_id, user)
    out = _detail(risk, risk_events(risk, home))
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


def _check_area(user: User, area: str | None) -> None:
    if area and not any(area.startswith(c) for c in user.area_codes):
        raise ApiError(403, "forbidden", f"区域 {area} 不在您的负责范围内", f"area {area} is outside your scope",
                       {"area": [{"message_zh": "不在您的负责范围内", "message_en": "outside your scope"}]})


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
    response = etag_response({"review": review}, review["_rev"], status=201)
    response.headers["Location"] = f"/api/reviews/{review['_id']}"
    return response


# What a user who does not see the whole meeting gets of it: its date and record, and the
# items of their own area. The meeting's title and note may speak of any township's
# matters, ``area_codes`` lists which townships were discussed, and the attendees (county
# leaders, departments, other townships' secretaries) tell whose business it was — so all
# of these are left out, rather than guessing which of them is harmless.
PARTIAL_REVIEW_FIELDS = ("_id", "_rev", "type", "schema_version", "held_on", "recorded_by", "recorded_at")


def _visible_review(review: dict[str, Any], user: User) -> dict[str, Any] | None:
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


# -- helpers shared by the registers modules -------------------------------------------------

def jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO strings, recursively."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


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
        visible = _visible_review(doc, user)
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
    visible = _visible_review(doc, user) if doc and doc.get("type") == "review" else None
    if visible is None:
        raise ApiError(404, "not_found", "未找到该研判记录", "review meeting not found")
    return etag_response({"review": visible}, doc["_rev"])


