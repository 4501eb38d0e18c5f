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

from .. import audit, units
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
    unit, items = units.unit_case_items(user)
    return {"unit": unit, "items": items}
