"""Payloads of ``/api/notices``: a user's in-app notices (``notification`` documents)."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.api import PageArgsSchema, PageSchema


class NoticeArgsSchema(PageArgsSchema):
    """``limit``, ``cursor`` and ``unread`` (only the unread ones)."""

    unread = fields.Boolean(load_default=False, metadata={"description": "only unread notices"})


class NoticeSchema(Schema):
    id = fields.String()
    template = fields.String()
    message_zh = fields.String()
    message_en = fields.String()
    payload = fields.Dict()
    case_id = fields.String(allow_none=True)
    risk_id = fields.String(allow_none=True)
    area_code = fields.String()
    created_at = fields.String()
    read_at = fields.String(allow_none=True)


class NoticePageSchema(PageSchema):
    items = fields.List(fields.Nested(NoticeSchema))
    unread = fields.Integer(metadata={"description": "unread notices (counted up to 1000)"})


class NoticeOutSchema(Schema):
    notice = fields.Nested(NoticeSchema)
