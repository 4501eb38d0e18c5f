"""``GET /api/cases``: the case list from the read model (filters, scope, keyset cursor).

Rows carry what a mediator needs to pick a case: no addresses, ID numbers and phones
masked. Newest first by registration time, then id; the cursor is the last row's key.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from schemas.api_stats import CaseListArgsSchema, CaseListPageSchema
from schemas.errors import FieldError
from server.readmodel import service
from server.readmodel.queries import CaseFilter, list_cases, parse_position

from ..auth import require_user
from . import ApiBlueprint, decode_cursor, encode_cursor, validation_error
from .stats import resolve_area, today

blp = ApiBlueprint("case_list", __name__, url_prefix="/api/cases",
                   description="案件列表（读模型）— case list from the read model")


def case_filter(user: Any, args: dict[str, Any]) -> CaseFilter:
    area = args.get("area")
    if area is not None:
        resolve_area(user, area)  # 403 outside the caller's area
    return CaseFilter(
        scope=tuple(user.area_codes), area=area, status=tuple(args.get("status") or ()),
        level=tuple(args.get("level") or ()), channel=tuple(args.get("channel") or ()),
        category=tuple(args.get("category") or ()), overdue=args.get("overdue"),
        due_soon=args.get("due_soon"), start=args.get("from_"), end=args.get("to"),
        q=args.get("q"), today=today(),
    )


@blp.get("")
@blp.arguments(CaseListArgsSchema, location="query", unknown=RAISE)
@blp.response(200, CaseListPageSchema)
def list_view(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Cases in your area, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
    user = require_user()
    flt = case_filter(user, args)
    after = None
    if args.get("cursor"):
        try:
            after = parse_position(decode_cursor(args["cursor"]))
        except ValueError:
            raise validation_error([FieldError("cursor", "分页游标无效，请从第一页重新开始",
                                               "invalid cursor; start again from the first page")]) from None
    store = service().ready()
    rows, nxt = list_cases(store.cursor(), flt, limit=args["limit"], after=after)
    for row in rows:
        row["created_at"] = row["created_at"].isoformat() + "Z"
    return {"items": rows, "next_cursor": None if nxt is None else encode_cursor(nxt)}
