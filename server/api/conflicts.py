"""``/api/conflicts``: the review queue of CouchDB conflicts (``sync.conflicts``).

A case base record or a risk entry edited on two devices offline has two revisions; the
queue shows both (full content) to a township mediator or county reviewer, who keeps one.
``sync.conflicts`` does the work: ``scan`` (incremental, from a ``_local`` checkpoint)
opens ``conflict:<doc id>`` records, ``resolve`` deletes the other leaves and records who,
when, why and a copy of every discarded revision.

Where: a township document's conflict is found and resolved in its township database
(both revisions meet there; deleting the losers there replicates up). County-level
documents (6-digit ``area_code``) in the county database. Conflict records of townships
also replicate up into the county database; the county database's queue is therefore
read for county-level records only.

Scope: ``c:<area code>`` of ``sync.scope`` — mediators and reviewers (and admins, to
read) whose area holds the document's area. Grid workers get 403.
"""

from __future__ import annotations

from typing import Any

from schemas.api_risks import ConflictListSchema, ConflictOutSchema, ConflictResolveSchema
from schemas.errors import FieldError
from schemas.privacy import mask_parties
from sync import conflicts as sync_conflicts
from sync.couch import Database
from sync.scope import scope_key, sees
from sync.users import User

from .. import audit, cases
from ..auth import require_user
from ..databases import user_db
from ..errors import ApiError
from . import ApiBlueprint, validation_error

blp = ApiBlueprint("conflicts", __name__, url_prefix="/api/conflicts",
                   description="冲突审核队列 — conflict review queue")

READ_ROLES = ("township_mediator", "county_reviewer", "admin")
RESOLVE_ROLES = ("township_mediator", "county_reviewer")


def _dbs_of(user: User) -> list[tuple[Database, bool]]:
    """(database, county_level_only) pairs holding the user's conflicts."""
    if user.township_code:
        return [(user_db(user), False)]
    return [(cases.county_db(), True), *((db, False) for db in cases.township_dbs())]


def _queue(db: Database, county_level_only: bool, user: User) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    sync_conflicts.scan(db, county_level_only=county_level_only)
    out = []
    for record in sync_conflicts.open_records(db):
        area = record.get("area_code")
        if county_level_only and not (isinstance(area, str) and len(area) == 6):
            continue  # a township's record, replicated up: its township database is the queue
        if sees(user, scope_key(record)):
            record["versions"] = [_shown(user, v) for v in record.get("versions", [])]
            out.append({**record, "database": "county" if county_level_only else "township"})
    return out


def _shown(user: User, version: dict[str, Any]) -> dict[str, Any]:
    """One revision as the review queue shows it: parties masked (choosing a version needs
    no full ID number; the case page reveals them with a reason), and a revision of an area
    the user may not see reduced to its revision id."""
    if not version.get("_deleted") and not sees(user, scope_key(version)):
        return {"_id": version.get("_id"), "_rev": version.get("_rev"), "hidden": True}
    if isinstance(version.get("parties"), list):
        return {**version, "parties": mask_parties(version["parties"])}
    return version


@blp.get("")
@blp.response(200, ConflictListSchema)
def list_conflicts():  # type: ignore[no-untyped-def]
    """Open conflicts in your area, each with every revision's content (``versions``);
    the scan for new ones runs first (incremental)."""
    user = require_user(*READ_ROLES)
    items = []
    for db, county_only in _dbs_of(user):
        items.extend(_queue(db, county_only, user))
    items.sort(key=lambda r: (r.get("detected_at", ""), r["_id"]))
    if items:  # the versions carry the full case content, personal data included
        audit.record("conflict_read", detail={"doc_ids": [r["doc_id"] for r in items][:100]})
    return {"items": items}


def _home_of(doc_id: str, user: User) -> tuple[Database, dict[str, Any]]:
    """The database holding the open record for ``doc_id`` and the record; 404 if none
    is visible to the user."""
    rid = sync_conflicts.record_id(doc_id)
    for db, county_only in _dbs_of(user):
        if not db.exists():
            continue
        record = db.get_or_none(rid)
        if record is None or not sees(user, scope_key(record)):
            continue
        area = record.get("area_code")
        if county_only and not (isinstance(area, str) and len(area) == 6):
            continue
        return db, record
    raise ApiError(404, "not_found", "未找到该冲突记录（或不在您的负责范围内）",
                   "no conflict record for this document (or outside your area)")


@blp.post("/<path:doc_id>/resolve")
@blp.arguments(ConflictResolveSchema)
@blp.response(200, ConflictOutSchema)
def resolve_conflict(body: dict[str, Any], doc_id: str):  # type: ignore[no-untyped-def]
    """Keep ``chosen_rev`` of ``doc_id`` (one of the record's revisions) with a ``note``.

    404 not visible · 403 role · 409 already resolved · 422 ``chosen_rev`` not one of
    the conflicting revisions. The decision is kept on the record (with copies of the
    discarded revisions) and audited.
    """
    user = require_user(*RESOLVE_ROLES)
    if len(doc_id) > 300:
        raise ApiError(404, "not_found", "未找到该冲突记录", "no conflict record for this document")
    db, record = _home_of(doc_id, user)
    if record.get("status") != "open":
        raise ApiError(409, "already_resolved", "该冲突已处理", "this conflict has already been resolved")
    current = db.get(doc_id, conflicts=True)
    leaves = [current["_rev"], *current.get("_conflicts", [])]
    if body["chosen_rev"] not in leaves:
        raise validation_error([FieldError("chosen_rev", f"须为以下修订之一：{', '.join(leaves)}",
                                           f"must be one of: {', '.join(leaves)}")])
    # A record changed meanwhile: ConflictError, 409 (server.errors).
    resolved = sync_conflicts.resolve(db, doc_id, body["chosen_rev"], user.username, body.get("note") or "")
    audit.record("conflict_resolved", doc_id=doc_id,
                 detail={"chosen_rev": body["chosen_rev"], "discarded": len(resolved.get("discarded", []))})
    return {"conflict": resolved}
