"""``/api/audit`` (admins): the audit trail with filters, newest first, cursor pagination;
``/api/audit/export``: a period of the hash chain for an assessor (JSONL or CSV)."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context

from schemas.api import AuditArgsSchema, AuditExportArgsSchema, PageSchema

from .. import audit
from ..auth import require_user
from . import ApiBlueprint, decode_cursor, page

blp = ApiBlueprint("audit", __name__, url_prefix="/api/audit",
                   description="审计日志（管理员）— audit log (admins)")


@blp.get("")
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, PageSchema)
def list_audit(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Audit records filtered by ``user``, ``doc_id``, ``action`` and period
    (``since`` ≤ time < ``until``), newest first; ``next_cursor`` continues."""
    require_user("admin")
    before = decode_cursor(args["cursor"])
    if before is not None and not (isinstance(before, str) and before.startswith("audit:")):
        before = decode_cursor("!")  # raises the 422 for a bad cursor
    records, next_before = audit.query(
        user=args["user"], doc_id=args["doc_id"], action=args["action"], since=args["since"],
        until=args["until"], before_id=before, limit=args["limit"])
    audit.record("audit_read", detail={k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                       for k, v in args.items() if v is not None and k != "cursor"})
    return page(records, next_before)


@blp.get("/export")
@blp.arguments(AuditExportArgsSchema, location="query")
@blp.response(200, description="JSONL（可用 `fengqiao audit verify --file` 复核哈希）或 CSV / "
              "JSONL (re-check with `fengqiao audit verify --file`) or CSV")
def export_audit(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The entries of a period in chain order with ``seq``, ``prev_hash`` and ``hash``,
    streamed; the export itself is audited first."""
    require_user("admin")
    audit.record("export", detail={"what": "audit", "format": args["format"],
                                   **{k: args[k].isoformat() for k in ("since", "until") if args[k]}})
    db = audit.audit_db()
    lines = audit.export_lines(audit.export_entries(db, args["since"], args["until"]), args["format"])
    mimetype = "application/x-ndjson" if args["format"] == "jsonl" else "text/csv"
    response = Response(stream_with_context(lines), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="audit.{args["format"]}"'
    return response
