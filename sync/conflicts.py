"""Conflicts: found, queued for a person, resolved on the record — never dropped.

A case's base record or a risk entry edited on two tablets offline ends up with two
revisions in CouchDB (events cannot conflict: each is its own append-only document).
CouchDB keeps both and picks a winner deterministically; we do not let that pick stand
unseen. ``scan`` finds conflicted documents and writes one ``conflict:<doc id>`` record
per document (status ``open``, all leaf revisions). A person chooses a revision with
``resolve``: the other leaves are deleted, the record becomes ``resolved`` with who, when,
why, and a copy of every discarded revision's content.

Finding them reads the database's ``_changes`` with ``style=all_docs`` from a checkpoint
kept in a ``_local`` document — a row with more than one leaf revision is a candidate —
rather than a ``_conflicts`` view, whose first build on the embedded server reads every
document at ~930 docs/s (docs/architecture.md, "Measured facts").

Where: tablets write into township databases, and both revisions of a township document
reach the township database (the county's own edits flow down), so each township database
is scanned for its documents; the county database is scanned only for county-level ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .couch import Database
from .errors import Conflict, ConflictError, NotFound

CHECKPOINT_ID = "_local/fengqiao_conflict_scan"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_id(doc_id: str) -> str:
    return f"conflict:{doc_id}"


def scan(db: Database, *, county_level_only: bool = False) -> list[str]:
    """Open a record for every newly conflicted document; returns the record ids written."""
    checkpoint = db.get_or_none(CHECKPOINT_ID) or {"_id": CHECKPOINT_ID, "since": 0}
    since = checkpoint.get("since", 0)
    candidates: list[str] = []
    last = since
    for row in db.iter_changes(since=since, style="all_docs"):
        if "id" not in row:
            last = row.get("last_seq") or last
            break
        if len(row.get("changes", [])) > 1 and not row["id"].startswith(("conflict:", "_design/")):
            candidates.append(row["id"])
    written = []
    for doc_id in dict.fromkeys(candidates):
        record = _open_record(db, doc_id, county_level_only)
        if record is not None:
            written.append(record)
    checkpoint["since"] = last
    db.put(checkpoint)
    return written


def _open_record(db: Database, doc_id: str, county_level_only: bool) -> str | None:
    try:
        doc = db.get(doc_id, conflicts=True)
    except NotFound:
        return None  # deleted winner: nothing left to choose between
    conflicts = doc.get("_conflicts") or []
    if not conflicts:
        return None
    area = doc.get("area_code")
    if county_level_only and isinstance(area, str) and len(area) > 6:
        return None
    revs = [doc["_rev"], *conflicts]
    rid = record_id(doc_id)
    existing = db.get_or_none(rid)
    if existing is not None and existing.get("status") == "open" and set(existing["revs"]) == set(revs):
        return None
    record: dict[str, Any] = {
        "_id": rid, "type": "conflict", "schema_version": 1, "doc_id": doc_id,
        "revs": revs, "status": "open", "detected_at": _now(),
    }
    if isinstance(area, str):
        record["area_code"] = area
    if existing is not None:
        record["_rev"] = existing["_rev"]
        if existing.get("history") or existing.get("status") == "resolved":
            record["history"] = [*existing.get("history", []), _summary(existing)]
    db.put(record)
    return rid


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    keep = ("revs", "status", "detected_at", "chosen_rev", "resolved_by", "resolved_at", "note")
    return {k: record[k] for k in keep if k in record}


def open_records(db: Database) -> list[dict[str, Any]]:
    """The review queue of one database: open conflict records with both revisions' content."""
    rows = db.all_docs(startkey="conflict:", endkey="conflict:\ufff0", include_docs=True)["rows"]
    queue = []
    for row in rows:
        record = row.get("doc") or {}
        if record.get("status") != "open":
            continue
        leaves = db.get(record["doc_id"], open_revs=record["revs"])
        record["versions"] = [entry["ok"] for entry in leaves if "ok" in entry]
        queue.append(record)
    return queue


def resolve(db: Database, doc_id: str, chosen_rev: str, resolved_by: str, note: str = "") -> dict[str, Any]:
    """Keep ``chosen_rev`` of ``doc_id``: delete the other leaves, record the decision with
    a copy of every discarded revision. Raises ConflictError when it cannot apply."""
    rid = record_id(doc_id)
    record = db.get_or_none(rid)
    if record is None or record.get("status") != "open":
        raise ConflictError(f"没有待处理的冲突：{doc_id}", f"no open conflict for {doc_id}")
    current = db.get(doc_id, conflicts=True)
    leaves = [current["_rev"], *current.get("_conflicts", [])]
    if chosen_rev not in leaves:
        raise ConflictError(f"修订号 {chosen_rev} 不是该文档的冲突修订之一",
                            f"{chosen_rev} is not one of the document's conflicting revisions", kind="invalid")
    losers = [rev for rev in leaves if rev != chosen_rev]
    discarded = [entry["ok"] for entry in db.get(doc_id, open_revs=losers) if "ok" in entry]
    # The record is written first: if deleting the losers fails half-way, the copies are
    # already safe and the next scan reopens the record for what is left.
    record.update(status="resolved", chosen_rev=chosen_rev, resolved_by=resolved_by,
                  resolved_at=_now(), discarded=discarded, revs=sorted(set(record["revs"]) | set(leaves)))
    if note:
        record["note"] = note
    try:
        db.save(record)
    except Conflict as exc:
        raise ConflictError("冲突记录已被他人修改，请刷新", "the conflict record changed meanwhile") from exc
    db.bulk_docs([{"_id": doc_id, "_rev": rev, "_deleted": True} for rev in losers])
    return record
