"""``/api/notices``: the caller's in-app notices, newest first, and marking one read.

In-app notices are ``notification`` documents with channel ``in_app`` and the user as
``recipient`` (``server.notify.triggers``), in the county database. The same documents
sync to the recipient's tablet (scope ``u:<username>``), so the tablet and the workbench
show one list; a read mark written here (``read_at``) replicates down like any change.
Another user's notice answers 404, as a missing one does.
"""

from __future__ import annotations

from typing import Any

from schemas.api_notices import NoticeArgsSchema, NoticeOutSchema, NoticePageSchema
from schemas.errors import FieldError
from server.clock import now
from server.notify.messages import render
from server.notify.outbox import iso
from sync.couch import Database
from sync.design import NOTICE_INDEX
from sync.errors import BadRequest, Conflict

from .. import cases
from ..auth import require_user
from ..errors import ApiError
from . import ApiBlueprint, decode_cursor, encode_cursor, validation_error

blp = ApiBlueprint("notices", __name__, url_prefix="/api/notices",
                   description="站内通知 — in-app notices")

UNREAD_COUNT_MAX = 1000


def _db() -> Database:
    from flask import current_app

    db = cases.county_db()
    ready: set[str] = current_app.extensions.setdefault("fq_notice_index", set())
    if db.name not in ready and db.exists():
        db.create_index(list(NOTICE_INDEX.fields), name=NOTICE_INDEX.name, ddoc=NOTICE_INDEX.ddoc)
        ready.add(db.name)
    return db


def _out(doc: dict[str, Any]) -> dict[str, Any]:
    zh, en = render(doc)
    return {"id": doc["_id"], "template": doc["template"], "message_zh": zh, "message_en": en,
            "payload": doc.get("payload") or {}, "case_id": doc.get("case_id"), "risk_id": doc.get("risk_id"),
            "area_code": doc.get("area_code"), "created_at": doc.get("created_at"), "read_at": doc.get("read_at")}


def _selector(username: str, unread: bool) -> dict[str, Any]:
    selector: dict[str, Any] = {"type": "notification", "recipient": username, "created_at": {"$gt": None},
                                "channel": "in_app"}
    if unread:
        selector["read_at"] = {"$exists": False}
    return selector


NEWEST_FIRST = [{"type": "desc"}, {"recipient": "desc"}, {"created_at": "desc"}]


@blp.get("")
@blp.arguments(NoticeArgsSchema, location="query")
@blp.response(200, NoticePageSchema)
def list_notices(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Your in-app notices, newest first (``limit``, ``cursor``; ``unread=true`` for the
    unread ones only), and ``unread``: how many are unread (counted up to 1000)."""
    user = require_user()
    db = _db()
    if not db.exists():
        return {"items": [], "next_cursor": None, "unread": 0}
    options: dict[str, Any] = {"sort": NEWEST_FIRST, "limit": args["limit"], "use_index": NOTICE_INDEX.use_index()}
    bookmark = decode_cursor(args.get("cursor"))
    if bookmark is not None and not (isinstance(bookmark, str) and bookmark):
        raise validation_error([FieldError("cursor", "翻页标记无效", "invalid cursor")])
    if bookmark:
        options["bookmark"] = bookmark
    try:
        found = db.find(_selector(user.username, args["unread"]), **options)
    except BadRequest:  # a bookmark CouchDB cannot read
        raise validation_error([FieldError("cursor", "翻页标记无效", "invalid cursor")]) from None
    docs = found["docs"]
    more = len(docs) == args["limit"] and found.get("bookmark")
    unread = db.find(_selector(user.username, True), fields=["_id"], limit=UNREAD_COUNT_MAX,
                     sort=NEWEST_FIRST, use_index=NOTICE_INDEX.use_index())["docs"]
    return {"items": [_out(d) for d in docs], "next_cursor": encode_cursor(found["bookmark"]) if more else None,
            "unread": len(unread)}


@blp.post("/<path:notice_id>/read")
@blp.response(200, NoticeOutSchema)
def mark_read(notice_id: str):  # type: ignore[no-untyped-def]
    """Mark one of your notices read (again: no change). 404 for a notice that is not
    yours or does not exist."""
    user = require_user()
    db = _db()
    for _ in range(5):
        doc = db.get_or_none(notice_id) if notice_id.startswith("notification:") else None
        if doc is None or doc.get("recipient") != user.username or doc.get("channel") != "in_app":
            raise ApiError(404, "not_found", "通知不存在", "no such notice")
        if doc.get("read_at"):
            return {"notice": _out(doc)}
        doc["read_at"] = iso(now())
        try:
            db.put(doc)
            return {"notice": _out(doc)}
        except Conflict:
            continue  # the sender recorded an outcome meanwhile: read again
    raise ApiError(409, "conflict", "通知正被更新，请重试", "the notice is being updated; try again")
