"""``/api/audit`` (admins): the audit trail with filters, newest first, cursor pagination."""

from __future__ import annotations

from typing import Any

from schemas.api import AuditArgsSchema, PageSchema

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
