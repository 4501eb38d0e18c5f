"""``/api/units``: the 承办单位 registry (admins keep it; everyone signed in reads it) and
a unit officer's cases (``/api/units/mine/cases``)."""

from __future__ import annotations

from typing import Any

from schemas.api_units import (
    UnitCaseListSchema,
    UnitCreateSchema,
    UnitListSchema,
    UnitOutSchema,
    UnitUpdateSchema,
)

from .. import audit, cases, units
from ..auth import require_user
from . import ApiBlueprint, check_if_match, etag_response

blp = ApiBlueprint("units", __name__, url_prefix="/api/units",
                   description="承办单位（交办对象）— responsible units for assignments")

STAFF = ("township_mediator", "county_reviewer", "admin", "unit_officer")


@blp.get("")
@blp.response(200, UnitListSchema)
def list_units():  # type: ignore[no-untyped-def]
    """Every unit of the county (active first when choosing: ``active``)."""
    require_user(*STAFF)
    return {"items": units.all_units()}


@blp.post("")
@blp.arguments(UnitCreateSchema)
@blp.response(201, UnitOutSchema)
def create_unit(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Add a unit (admins). 409 when an active unit has the same name."""
    admin = require_user("admin")
    doc = units.create_unit(admin, body)
    audit.record("unit_created", doc_id=doc["_id"], detail={"name": doc["name"]})
    return etag_response(doc, doc["_rev"], status=201)


@blp.patch("/<unit_id>")
@blp.arguments(UnitUpdateSchema)
@blp.response(200, UnitOutSchema)
def update_unit(changes: dict[str, Any], unit_id: str):  # type: ignore[no-untyped-def]
    """Rename, retype, deactivate a unit (admins; ``If-Match`` its ETag: 412 when stale).
    Past assignments keep the name they were made with."""
    admin = require_user("admin")
    doc = units.get_unit(unit_id)
    check_if_match(doc["_rev"])
    doc = units.update_unit(admin, doc, changes)
    audit.record("unit_updated", doc_id=doc["_id"], detail={"fields": sorted(changes)})
    return etag_response(doc, doc["_rev"])


@blp.get("/mine/cases")
@blp.response(200, UnitCaseListSchema)
def unit_cases():  # type: ignore[no-untyped-def]
    """A unit officer's cases: those assigned to its unit, newest assignment first, with
    whether the unit's feedback is still due (``pending``)."""
    user = require_user("unit_officer")
    unit, items = unit_case_items(user)
    return {"unit": unit, "items": items}


MAX_UNIT_CASES = 500


def unit_case_items(user: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The cases assigned to the officer's unit, newest assignment first, each with whether
    the unit's feedback is still due. Read from the statistics read model (the case and
    its events as replicated to the county, seconds behind): one query, then each case
    projected in process — not one CouchDB round trip per case."""
    import json

    from server.readmodel.rows import cursor

    unit = units.get_unit(str(user.unit_id))
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
        if case is None or not units.assigned_to(events, unit["_id"]):
            continue
        p = cases.project(case, events)
        name = units.assigned_name(events, unit["_id"])
        close = p.deadline("close")
        items.append({"case_id": case_id, "tracking_code": case.get("tracking_code"),
                      "title": case.get("title") or str(case.get("description", ""))[:30],
                      "area_code": case["area_code"], "status": p.status,
                      "pending": name in p.pending_units,
                      "close_due_date": close.due_date.isoformat() if close and close.due_date else None})
    return unit, items
