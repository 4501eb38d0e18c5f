"""Cases through the API: where a case lives, its timeline, and every action as an event.

Where documents are written: a case and all its events live in the township database of
``township_of(area_code)`` (``tw_<9 digits>``); a county-level case (6-digit ``area_code``) in the
county database. The API always writes there, the "home" database, whoever the caller
is; continuous replication carries it up to the county. Events written by county
reviewers' tablets land in the county database and flow down; so a case's timeline is
read from its home database *and* the county database, merged by ``_id``.

The API writes the same documents the tablets write (``schemas.case``/``schemas.events``,
validated with ``schemas.validate_document``), and decides who may do what with the one
scope rule (``sync.scope`` through ``server.auth.scoped``).

Whether an action is possible in the case's state is decided by the projection itself
(``server.domain.projection``): the case is projected with the new event appended; if
that raises an anomaly the history did not have (closed before accepted, evaluated before
closure, a second acceptance …), the action is refused with 409 naming the state. There
is no second state machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app

from grid.codes import township_of
from schemas import new_case_id, new_event_id, new_tracking_code, validate_document, vocab
from schemas.errors import FieldError
from schemas.events import CLIENT_TIME_REFUSED, CLOCK_SKEW, EVENT_KINDS, REGISTERED_IN_FUTURE
from schemas.privacy import mask_parties
from schemas.registry import CHILD_TYPE, DOC_TYPES
from server.domain.projection import CaseProjection, assigned_name, project_case
from sync.couch import Database
from sync.design import REPEAT_INDEX
from sync.errors import Conflict
from sync.scope import may_write_key, scope_key, sees
from sync.topology import init_databases
from sync.users import User

from . import databases
from .clock import now  # re-exported: the API modules call cases.now()
from .errors import ApiError

CHINA = timedelta(hours=8)
REPEAT_WINDOW_DAYS = 180
# Anomalies a new event may cause without being refused: the projection handles them by
# design (a pause ends at closure).
TOLERATED = frozenset({"closed_while_paused"})
# Who may act on cases through the API (admins manage accounts, not cases).
CASE_ROLES = ("grid_worker", "township_mediator", "county_reviewer")
# Set by the server on every event written through the API (``at`` too: server time;
# ``review_level`` marks a 研判 decision, written by ``/api/reviews`` only): the registry's.
SERVER_FIELDS = DOC_TYPES["event"].set_by_server
DEFAULT_POLICY = "regulation"  # 信访工作条例 for letters, visits, calls and online matters


# -- time ------------------------------------------------------------------------------------

def china_iso(at: datetime) -> str:
    """ISO 8601 with the +08:00 offset, as the tablets store times."""
    return at.astimezone(timezone(CHINA)).isoformat(timespec="seconds")


# -- databases ---------------------------------------------------------------------------------

def home_db(area_code: str, *, create: bool = False) -> Database:
    """The database a case of ``area_code`` lives in (created with its replications when
    ``create`` and the township has none yet)."""
    topology = databases.topology()
    township = township_of(area_code)
    db = databases.couch().db(topology.scope_db(township))
    if township is None:  # a county-level record
        return db
    if create:
        ready: set[str] = current_app.extensions.setdefault("fq_township_ready", set())
        if db.name not in ready:
            if not db.exists():
                init_databases(databases.couch(), topology.with_townships([township]))
            ready.add(db.name)
    return db


def county_db() -> Database:
    return databases.couch().db(databases.topology().county_db())


def township_dbs() -> list[Database]:
    """Every township database of the county that exists now."""
    topology = databases.topology()
    head = topology.township_db(topology.county_code)
    return [databases.couch().db(name) for name in databases.couch().all_dbs() if name.startswith(head)]


def not_found(doc_type: str = "case") -> ApiError:
    """What a caller is told when a record does not exist or is not theirs to see (the same
    answer, so existence is not leaked), named by its type's label."""
    spec = DOC_TYPES[doc_type]
    return ApiError(404, "not_found", f"未找到该{spec.label_zh}（或不在您的负责范围内）",
                    f"{spec.label_en} not found (or outside your area)")


def normalise_id(doc_type: str, doc_id: str) -> str:
    """``<type>:<uuid>`` from a path segment that may omit the prefix."""
    return doc_id if doc_id.startswith(f"{doc_type}:") else f"{doc_type}:{doc_id}"


def normalise_case_id(case_id: str) -> str:
    return normalise_id("case", case_id)


def locate(case_id: str, user: User) -> tuple[dict[str, Any], Database]:
    """The case (authoritative copy from its home database) and that database; 404 when
    it does not exist *or* the user may not see it (existence is not leaked)."""
    return locate_doc(case_id, "case", user)


def locate_doc(doc_id: str, doc_type: str, user: User) -> tuple[dict[str, Any], Database]:
    """A case or risk (``doc_id`` with or without its type prefix) and its home database,
    for ``user``; :func:`not_found` when it does not exist or is not the user's to see.

    Looks where the user's scope is: their township database, or for county-level users
    the county database (everything replicates there), then every township database
    (a document created moments ago may not have replicated yet).
    """
    doc_id = normalise_id(doc_type, doc_id)
    if len(doc_id) > 60:
        raise not_found(doc_type)
    candidates = [databases.user_db(user)]
    if user.township_code is None:
        candidates.extend(township_dbs())
    found, found_in = None, None
    for db in candidates:
        found = db.get_or_none(doc_id)
        if found is not None:
            found_in = db
            break
    if found is None or found.get("type") != doc_type or not sees(user, scope_key(found)):
        raise not_found(doc_type)
    home = home_db(found["area_code"])
    if found_in is None or home.name != found_in.name:
        found = home.get_or_none(doc_id) or found
    return found, home


def child_docs(parent_id: str, home: Database) -> list[dict[str, Any]]:
    """Every child of a parent — ``<child type>:<parent uuid>:…``, a case's events, a risk's
    events (``schemas.registry.CHILD_TYPE``) — from the parent's home database and the
    county database (decisions made above are written there and flow down), merged by
    ``_id``, in time order."""
    parent_type, uuid = parent_id.split(":", 1)
    child_type = CHILD_TYPE[parent_type]
    rng = {"startkey": f"{child_type}:{uuid}:", "endkey": f"{child_type}:{uuid}:\ufff0", "include_docs": True}
    merged: dict[str, dict[str, Any]] = {}
    dbs = [home] if home.name == county_db().name else [county_db(), home]
    for db in dbs:  # home last: its copy wins
        for row in db.all_docs(**rng)["rows"]:
            if row.get("doc") is not None:
                merged[row["id"]] = row["doc"]
    return sorted(merged.values(), key=lambda e: (str(e.get("at")), e["_id"]))


def events_of(case: Mapping[str, Any], home: Database) -> list[dict[str, Any]]:
    """Every event of the case from its home database and the county database, by ``_id``."""
    return child_docs(case["_id"], home)


def etag_of(case: Mapping[str, Any], events: list[Mapping[str, Any]]) -> str:
    """The revision of a case or risk as a resource: the base record's ``_rev`` and its set
    of events (events are append-only, so a new one always changes the tag)."""
    digest = hashlib.sha1("\n".join(sorted(e["_id"] for e in events)).encode()).hexdigest()[:12]
    return f"{case['_rev']}.{len(events)}.{digest}"


def project(case: Mapping[str, Any], events: list[Mapping[str, Any]]) -> CaseProjection:
    """The case's projection now (tablet events dated after now are flagged ``future_time``)."""
    return project_case(case, events, now=now())


# -- creating a case ---------------------------------------------------------------------------

def _check_location(doc: Mapping[str, Any]) -> None:
    check = getattr(current_app.extensions["sync_gateway"], "check_location", None)
    if check is None or "location" not in doc:
        return
    problem = check(doc)
    if problem is not None:
        raise _invalid([FieldError("location", problem[0], problem[1])])


def _invalid(problems: list[FieldError]) -> ApiError:
    from .api import validation_error

    return validation_error(problems)


def new_case(user: User, body: Mapping[str, Any]) -> dict[str, Any]:
    """The case document for an online intake by ``user`` (not stored yet).

    ``reported_by`` and ``first_handler`` (首问负责制) are the caller; the tracking code
    is generated. Raises 422 (field errors), 403 (area outside the user's scope).
    """
    at = now()
    if body.get("created_at") and body["created_at"] > at + CLOCK_SKEW:
        raise _invalid([FieldError("created_at", *REGISTERED_IN_FUTURE)])
    doc: dict[str, Any] = {
        "_id": new_case_id(), "type": "case", "schema_version": 1,
        "area_code": body["area_code"], "tracking_code": new_tracking_code(),
        "channel": body["channel"], "category": body["category"],
        "description": body["description"], "parties": body["parties"],
        "reported_by": user.username, "first_handler": user.username,
        "created_at": body["created_at"].isoformat() if body.get("created_at") else china_iso(at),
        "received_at": china_iso(at), "policy": body.get("policy") or DEFAULT_POLICY,
    }
    for name in ("title", "location", "legal_route", "repeat_of", "lead_official"):
        if body.get(name) is not None:
            doc[name] = body[name]
    problems = validate_document(doc)
    if problems:
        raise _invalid(problems)
    from .domain.policies import POLICIES

    if doc["policy"] not in POLICIES:
        raise _invalid([FieldError("policy", f"时限政策须为以下之一：{', '.join(POLICIES)}",
                                   f"policy must be one of: {', '.join(POLICIES)}")])
    if not may_write_key(user, scope_key(doc)):  # nothing to hide here: 403, naming the area
        raise ApiError(403, "forbidden", f"区域 {doc['area_code']} 不在您的负责范围内",
                       f"area {doc['area_code']} is outside your scope",
                       {"area_code": [{"message_zh": "不在您的负责范围内", "message_en": "outside your scope"}]})
    _check_location(doc)
    return doc


def store_case(doc: dict[str, Any]) -> dict[str, Any]:
    home_db(doc["area_code"], create=True).save(doc)
    return doc


# -- repeat petitions (重复访) ---------------------------------------------------------------

def _index_ready(db: Database) -> None:
    ready: set[str] = current_app.extensions.setdefault("fq_repeat_index", set())
    if db.name not in ready:
        db.create_index(list(REPEAT_INDEX.fields), name=REPEAT_INDEX.name, ddoc=REPEAT_INDEX.ddoc)
        ready.add(db.name)


def _same_party(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    if a.get("id_number") and a.get("id_number") == b.get("id_number"):
        return "id_number"
    if a.get("phone") and a.get("name") == b.get("name") and a.get("phone") == b.get("phone"):
        return "name_phone"
    return None


def find_repeats(user: User, case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Earlier cases in the user's scope with the same party (ID number, or name and
    phone) and the same category within 180 days, newest first.

    One Mango query on the database of the user's scope (their township's, or the
    county's, which holds every township's cases), with a (type, category, created_at)
    index; the party comparison is done here.
    """
    db = databases.user_db(user)
    if not db.exists():
        return []
    _index_ready(db)
    created = datetime.fromisoformat(case["created_at"])
    since = created - timedelta(days=REPEAT_WINDOW_DAYS)
    selector = {"type": "case", "category": case["category"],
                "created_at": {"$gte": (since - timedelta(days=1)).date().isoformat()}}
    found = db.find(selector, limit=1000,
                    fields=["_id", "area_code", "category", "created_at", "parties", "tracking_code",
                            "repeat_of", "type"])["docs"]
    out = []
    for other in found:
        if other["_id"] == case["_id"] or not sees(user, scope_key(other)):
            continue
        try:
            at = datetime.fromisoformat(other["created_at"])
        except (TypeError, ValueError):
            continue
        if not since <= at <= created + timedelta(minutes=5):
            continue
        matched = next((m for p in case["parties"] for q in other.get("parties", [])
                        if (m := _same_party(p, q))), None)
        if matched:
            out.append({"case_id": other["_id"], "tracking_code": other.get("tracking_code"),
                        "created_at": other["created_at"], "category": other["category"],
                        "matched_on": matched})
    out.sort(key=lambda r: r["created_at"], reverse=True)
    return out


# -- correcting the base record ---------------------------------------------------------------

def update_case(user: User, case: dict[str, Any], home: Database, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply corrections to the base record; 422 on an invalid result, 412 on a race."""
    from .auth import scoped

    scoped(case, write=True, user=user)
    doc = dict(case)
    for name, value in changes.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    problems = validate_document(doc)
    if problems:
        raise _invalid(problems)
    _check_location(doc)
    try:
        home.save(doc)
    except Conflict:
        raise ApiError(412, "precondition_failed", "案件已被他人修改，请刷新后重试",
                       "the case changed meanwhile; reload and try again") from None
    return doc


# -- events --------------------------------------------------------------------------------------

def _state_error(p: CaseProjection, kind: str, zh: str, en: str, code: str = "invalid_state") -> ApiError:
    kind_zh, kind_en = EVENT_KINDS.get(kind, (kind, kind))
    return ApiError(409, code,
                    f"案件当前状态为「{vocab.zh(vocab.CASE_STATUSES, p.status)}」，不能{kind_zh}：{zh}",
                    f"the case is '{p.status}': cannot record '{kind_en}': {en}")


def new_event(user: User, case: Mapping[str, Any], events: list[dict[str, Any]],
              body: Mapping[str, Any], *, at: datetime | None = None,
              check_scope: bool = True) -> tuple[dict[str, Any], CaseProjection]:
    """Build and check the event ``body`` describes; returns it with the new projection.

    The event happens at the server's time (``at``: the caller's ``now()``, passed in by a
    review meeting so its decisions share one moment); ``body`` never sets it, because a
    client-chosen time could backdate an acceptance into its deadline
    (``schemas.events.CLIENT_TIME_REFUSED``).
    Raises 422 (fields), 403 (scope), 409 (impossible in the case's state, or 诉访分离).
    ``check_scope=False``: the caller decided access another way (a unit officer's
    feedback on a case assigned to its unit, ``server.units``).
    """
    from .auth import scoped

    at = at or now()
    kind = body.get("kind")
    owned = sorted(k for k in body if k.startswith("_") or k in SERVER_FIELDS)
    if owned:
        raise _invalid([FieldError(k, *(CLIENT_TIME_REFUSED if k == "at" else
                                        ("该字段由服务器填写，请勿提交", "set by the server; do not send it")))
                        for k in owned])
    doc: dict[str, Any] = dict(body)
    doc.update({
        "_id": new_event_id(case["_id"], at), "type": "event", "schema_version": 1,
        "case_id": case["_id"], "at": china_iso(at), "actor": user.username,
        "area_code": case["area_code"], "received_at": china_iso(at),
    })
    problems = validate_document(doc)
    if problems:
        raise _invalid(problems)
    if check_scope:
        scoped(doc, write=True, user=user)

    before = project(case, events)
    route = case.get("legal_route")
    if kind == "accepted" and route and route != "none":
        raise _state_error(
            before, kind,
            f"该事项属于{vocab.zh(vocab.LEGAL_ROUTES, route)}渠道（诉访分离）：请引导当事人依法通过该渠道解决，"
            f"并记录“不予受理”（declined，legal_route={route}）",
            f"the matter has a legal route ({route}); guide the parties to it and record "
            f"'declined' with legal_route={route} instead", code="legal_route")
    if kind == "closed" and before.pending_units:
        units = "、".join(before.pending_units)
        raise _state_error(before, kind, f"交办单位尚未反馈：{units}",
                           f"assigned units have not reported back: {', '.join(before.pending_units)}")
    after = project(case, [*events, doc])
    old = {(a.code, a.event_id) for a in before.anomalies}
    new = [a for a in after.anomalies if (a.code, a.event_id) not in old and a.code not in TOLERATED]
    if new:
        raise _state_error(before, kind, "；".join(a.message_zh for a in new),
                           "; ".join(a.message_en for a in new))
    return doc, after


def actions_for(user: User | None, case: Mapping[str, Any], events: list[Mapping[str, Any]]
                ) -> dict[str, dict[str, list[str]]]:
    """What ``user`` may record on the case now: the kinds its state allows
    (``server.domain.refusals.available_actions``), narrowed to what the user may write
    (nothing outside their area; a unit officer: its own unit's feedback)."""
    from server.domain.refusals import available_actions

    if user is None or user.role not in (*CASE_ROLES, "unit_officer"):
        return {}
    actions = available_actions(case, events, now())
    if user.role == "unit_officer":
        name = assigned_name(events, str(user.unit_id))
        fb = actions.get("feedback")
        return {"feedback": {"unit": [name]}} if fb is not None and name in fb.get("unit", []) else {}
    if not may_write_key(user, scope_key(case)):
        return {}
    return actions


def countdown(p: CaseProjection) -> list[dict[str, Any]]:
    """Each open deadline's time left, in the rule's own days (工作日 for working-day rules,
    自然日 otherwise): what a case page counts down. Negative when overdue."""
    from server.domain.workdays import china_date, default_calendar

    today = china_date(now())
    out = []
    for d in p.deadlines:
        if not d.open or d.due_date is None:
            continue
        if d.count == "working":
            left = (default_calendar().working_days_between(today, d.due_date) if d.due_date >= today
                    else -default_calendar().working_days_between(d.due_date, today))
        else:
            left = (d.due_date - today).days
        out.append({"rule": d.rule, "due_date": d.due_date.isoformat(), "count": d.count,
                    "left": left, "overdue": today > d.due_date})
    return out


def people(case: Mapping[str, Any], events: list[Mapping[str, Any]]) -> dict[str, str]:
    """username → display name of everyone on the case's timeline (the page shows names)."""
    from .auth import user_store

    names = {str(n) for n in [case.get("reported_by"), case.get("first_handler"),
                               *(e.get("actor") for e in events)] if n}
    out = {}
    for name in sorted(names):
        doc = user_store().get(name) if name != "public" else None
        out[name] = (doc or {}).get("display_name") or name
    return out


def notice_directory() -> Any:
    """Who an in-app notice reaches (``server.notify.directory``), re-read at most once a
    minute: an event recorded through the API tells its recipients at once, not when the
    scheduler's feed reaches it."""
    from .auth import user_store
    from .notify.directory import DirectoryCache

    cache = current_app.extensions.get("fq_notice_directory")
    if cache is None:
        cache = current_app.extensions["fq_notice_directory"] = DirectoryCache(user_store())
    return cache.get()


def store_event(doc: dict[str, Any], home: Database) -> dict[str, Any]:
    home.save(doc)
    return doc


def public_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """The case as the API returns it: CouchDB's own fields kept, parties' ID numbers and
    phones masked (PIPL: minimum necessary). The full values are one audited step away,
    for the people who handle the case (``reveal_parties``)."""
    out = dict(case)
    out["parties"] = mask_parties(p for p in case.get("parties") or [] if isinstance(p, dict))
    return out


# Who may 查看 full ID numbers and phones: those who handle cases, in their own area (the
# grid worker of the grid, the township mediator of the township, the county reviewer).
# Not admins: they manage accounts and handle no case, so they have no need to know.
REVEAL_ROLES = CASE_ROLES


def reveal_parties(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parties in full, for a caller already checked to handle the case (role in
    ``REVEAL_ROLES`` and the case in their scope) and whose reason is audited."""
    return [dict(p) for p in case.get("parties") or [] if isinstance(p, dict)]
