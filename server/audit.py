"""The audit trail: every read of personal data, every change, every login attempt.

Records go to an append-only database ``audit_<county>`` (behind ``FENGQIAO_DB_PREFIX``),
one ``audit:<time-sortable id>`` document each (``schemas.audit``): who, when, what
action on which document, from which address and user agent. Nothing updates or deletes
them; the database is admin-only (``_security``) like every other.

Other modules call :func:`record` — e.g. an export::

    from server import audit
    audit.record("export", detail={"what": "cases", "rows": 120})

Auditing must never be skipped silently: if the audit database cannot be written, the
error propagates and the request fails (a read of personal data without a trace is
worse than no read).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_request_context, request

from schemas.audit import AUDIT_ACTIONS, AuditSchema
from schemas.errors import flatten_errors
from schemas.ids import time_sortable_id
from sync.couch import Database
from sync.topology import ADMIN_ONLY_SECURITY

_SCHEMA = AuditSchema()


def audit_db_name(prefix: str, county_code: str) -> str:
    return f"{prefix}audit_{county_code}"


def audit_db() -> Database:
    """The audit database (created with admin-only security on first use in a process)."""
    app = current_app
    name = audit_db_name(app.config["FENGQIAO_DB_PREFIX"], app.config["FENGQIAO_COUNTY"])
    client = app.extensions["couch"]
    ready: set[str] = app.extensions.setdefault("fq_audit_ready", set())
    db = client.db(name)
    if name not in ready:
        client.create_db(name, exist_ok=True)
        if db.security() != ADMIN_ONLY_SECURITY:
            db.set_security(ADMIN_ONLY_SECURITY)
        ready.add(name)
    return db


def record(action: str, doc_id: str | None = None, detail: Mapping[str, Any] | None = None, *,
           user: str | None = None) -> dict[str, Any]:
    """Append one audit record and return it.

    ``action``: one of ``schemas.audit.AUDIT_ACTIONS`` (e.g. ``"export"``); ``doc_id``:
    the document concerned; ``detail``: small JSON object (≤ 4 KB). ``user`` defaults to
    the signed-in user of the request ("-" if anonymous). Raises ValueError for an
    unknown action or an invalid record; CouchDB errors propagate.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to schemas.audit.AUDIT_ACTIONS")
    at = _now()
    doc: dict[str, Any] = {
        "_id": f"audit:{time_sortable_id(at)}", "type": "audit", "schema_version": 1,
        "at": at.isoformat(timespec="milliseconds"), "action": action,
    }
    api_user = g.get("api_user") if has_request_context() else None
    doc["user"] = user or (api_user.username if api_user else "-")
    if api_user is not None and (user is None or user == api_user.username):
        doc["role"] = api_user.role
    if doc_id:
        doc["doc_id"] = doc_id
    if detail:
        doc["detail"] = dict(detail)
    if has_request_context():
        doc["remote_addr"] = (request.remote_addr or "-")[:64]
        doc["user_agent"] = (request.user_agent.string or "-")[:300]
        doc["method"] = request.method
        doc["path"] = request.path[:500]
    problems = flatten_errors(_SCHEMA.validate(doc))
    if problems:
        raise ValueError(f"invalid audit record: {'; '.join(map(str, problems))}")
    audit_db().put(doc)
    return doc


def _now() -> datetime:
    clock = current_app.config.get("FENGQIAO_CLOCK")
    return (clock() if clock else datetime.now(UTC)).astimezone(UTC)


def query(*, user: str | None = None, doc_id: str | None = None, action: str | None = None,
          since: datetime | None = None, until: datetime | None = None,
          before_id: str | None = None, limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Audit records, newest first, with filters; returns (records, id to continue before).

    Keyset pagination on the time-sortable ``_id`` (``before_id``), never skip: a page
    costs the same however deep it is. The query runs on the primary index (an ``_id``
    range, sorted by ``_id``), which every CouchDB and pouchdb-server can serve; filters
    narrow it within the period.
    """
    id_range: dict[str, str] = {"$gt": "audit:", "$lt": "audit:\ufff0"}
    if since is not None:
        id_range["$gte"] = f"audit:{time_sortable_id(since)[:19]}"
        id_range.pop("$gt")
    if until is not None:
        id_range["$lt"] = f"audit:{time_sortable_id(until)[:19]}"
    if before_id is not None and before_id < id_range["$lt"]:
        id_range["$lt"] = before_id
    selector: dict[str, Any] = {"_id": id_range}
    if user:
        selector["user"] = user
    if doc_id:
        selector["doc_id"] = doc_id
    if action:
        selector["action"] = action
    found = audit_db().find(selector, sort=[{"_id": "desc"}], limit=limit + 1)
    docs = found["docs"]
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1]["_id"] if more and docs else None)
