"""承办单位: the registry of units (kept by admins) and what a unit's officers may reach.

A unit officer (role ``unit_officer``, ``sync.users``) sees no area: ``sync.scope`` gives
the role nothing by area, and ``server.auth`` lets it reach only the endpoints named in
``UNIT_OFFICER_ENDPOINTS``. What it may see is decided here, from the case's own history:
a case is the unit's when an ``assigned`` event names the unit's id. Its one write is the
unit's own ``feedback`` (反馈), with the unit's name and id filled in by the server, so an
officer cannot report for another unit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas import validate_document
from schemas.errors import FieldError
from schemas.ids import ID_PATTERNS, new_unit_id
from server.domain.projection import assigned_name
from sync.couch import Database
from sync.errors import Conflict
from sync.users import User

from . import cases
from .errors import ApiError

UNIT_KINDS = frozenset({"feedback"})  # what a unit officer records


def units_db() -> Database:
    """The registry lives in the county database (it never replicates down: no area)."""
    return cases.county_db()


def _unit_not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到该承办单位", "unit not found")


def all_units(*, include_inactive: bool = True) -> list[dict[str, Any]]:
    rows = units_db().all_docs(startkey="unit:", endkey="unit:\ufff0", include_docs=True)["rows"]
    units = [r["doc"] for r in rows if r.get("doc") and r["doc"].get("type") == "unit"]
    if not include_inactive:
        units = [u for u in units if u.get("active")]
    return sorted(units, key=lambda u: (u.get("unit_type", ""), u.get("area_code", ""), u.get("name", "")))


def get_unit(unit_id: str) -> dict[str, Any]:
    if not isinstance(unit_id, str) or not ID_PATTERNS["unit"].match(unit_id):
        raise _unit_not_found()
    doc = units_db().get_or_none(unit_id)
    if doc is None or doc.get("type") != "unit":
        raise _unit_not_found()
    return doc


def _check(doc: Mapping[str, Any], admin: User) -> None:
    problems = validate_document(doc)
    if not problems and not str(doc["area_code"]).startswith(admin.county_code):
        problems = [FieldError("area_code", f"区域 {doc['area_code']} 不在本县",
                               f"area {doc['area_code']} is not in this county")]
    if problems:
        from .api import validation_error

        raise validation_error(problems)


def create_unit(admin: User, body: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": new_unit_id(), "type": "unit", "schema_version": 1,
        "name": body["name"], "unit_type": body["unit_type"], "area_code": body["area_code"],
        "active": body.get("active", True), "created_by": admin.username,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if body.get("contact"):
        doc["contact"] = body["contact"]
    _check(doc, admin)
    same = [u for u in all_units() if u["name"] == doc["name"] and u["active"]]
    if same:
        raise ApiError(409, "unit_exists", f"已有同名的承办单位：{doc['name']}",
                       f"an active unit named {doc['name']} exists already")
    units_db().save(doc)
    return doc


def update_unit(admin: User, doc: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    new = {**doc, **changes}
    _check(new, admin)
    try:
        units_db().save(new)
    except Conflict:
        raise ApiError(412, "precondition_failed", "该单位已被他人修改，请刷新后重试",
                       "the unit changed meanwhile; reload and try again") from None
    return new


# -- a unit's cases ------------------------------------------------------------------------------

def assigned_to(events: list[Mapping[str, Any]], unit_id: str | None) -> bool:
    return bool(unit_id) and any(
        e.get("kind") == "assigned" and any(isinstance(u, Mapping) and u.get("unit_id") == unit_id
                                            for u in e.get("units") or [])
        for e in events)


def locate_for_unit(case_id: str, user: User) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """The case, its home database and events, for a unit officer whose unit it was
    assigned to; 404 otherwise (as for any case out of scope)."""
    county = User(username=user.username, role="county_reviewer", area_codes=user.area_codes)
    try:
        case, home = cases.locate(case_id, county)
    except ApiError:
        raise cases.not_found() from None
    events = cases.events_of(case, home)
    if not assigned_to(events, user.unit_id):
        raise cases.not_found()
    return case, home, events


def feedback_body(user: User, events: list[Mapping[str, Any]], body: Mapping[str, Any]) -> dict[str, Any]:
    """A unit officer's event body: only ``feedback``, for its own unit (name and id filled
    in from the assignment)."""
    if body.get("kind") not in UNIT_KINDS:
        raise ApiError(403, "forbidden", "承办单位人员只能记录本单位的反馈",
                       "a unit officer records its own unit's feedback only")
    unit_id = str(user.unit_id)
    name = assigned_name(events, unit_id)
    if name is None:
        raise cases.not_found()
    if body.get("unit", name) != name or body.get("unit_id", unit_id) != unit_id:
        raise ApiError(403, "forbidden", "只能以本单位名义反馈", "you report for your own unit only")
    return {**body, "unit": name, "unit_id": unit_id}


MAX_UNIT_CASES = 500


def unit_case_items(user: User) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The cases assigned to the officer's unit, newest assignment first, each with whether
    the unit's feedback is still due. Read from the statistics read model (the case and
    its events as replicated to the county, seconds behind): one query, then each case
    projected in process — not one CouchDB round trip per case."""
    from .readmodel.rows import cursor

    unit = get_unit(str(user.unit_id))
    cur = cursor()
    # Unit ids are uuids: a text match on the stored event finds exactly its assignments.
    rows = cur.execute(
        "SELECT case_id, max(at_text) AS last FROM events WHERE kind = 'assigned' AND contains(doc, ?) "
        f"GROUP BY case_id ORDER BY last DESC LIMIT {MAX_UNIT_CASES}", [unit["_id"]]).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return unit, []
    docs = {cid: json.loads(doc) for cid, doc in cur.execute(
        "SELECT case_id, doc FROM case_docs WHERE case_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()}
    history: dict[str, list[dict[str, Any]]] = {}
    for cid, doc in cur.execute(
            "SELECT case_id, doc FROM events WHERE case_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
        history.setdefault(cid, []).append(json.loads(doc))
    items = []
    for case_id in ids:
        case, events = docs.get(case_id), history.get(case_id, [])
        if case is None or not assigned_to(events, unit["_id"]):
            continue
        p = cases.project(case, events)
        name = assigned_name(events, unit["_id"])
        close = p.deadline("close")
        items.append({"case_id": case_id, "tracking_code": case.get("tracking_code"),
                      "title": case.get("title") or str(case.get("description", ""))[:30],
                      "area_code": case["area_code"], "status": p.status,
                      "pending": name in p.pending_units,
                      "close_due_date": close.due_date.isoformat() if close and close.due_date else None})
    return unit, items
