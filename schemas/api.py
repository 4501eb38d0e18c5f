"""Payload schemas of the REST API (``server.api``): requests, responses, pagination, errors.

Document fields are defined once, in the document schemas; API payloads reuse those
fields (``CaseSchema._declared_fields``) rather than redefining them. Response schemas
describe JSON that the server builds itself, so they are permissive (documentation
only: ``fields.Raw``/``Dict`` where a document is returned whole).
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from schemas import vocab
from schemas.case import CaseSchema, PartySchema
from schemas.events import ServerTime
from schemas.fields import (
    MAX_NAME,
    AreaCode,
    Bool,
    Choice,
    DocRef,
    List,
    LocationSchema,
    Nested,
    Phone,
    Strict,
    Text,
    Timestamp,
    Username,
)

DEFAULT_PAGE, MAX_PAGE = 50, 500


# -- errors and pagination ------------------------------------------------------------------

class MessageSchema(Schema):
    message_zh = fields.String()
    message_en = fields.String()


class ErrorSchema(Schema):
    """Every error answer: ``code``, ``message_zh``, ``message_en``, ``errors``
    (field path → list of ``{message_zh, message_en}``)."""

    code = fields.String(required=True)
    message_zh = fields.String(required=True)
    message_en = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(MessageSchema)))


class PageArgsSchema(Strict):
    """Query arguments of every paginated list: ``limit`` and an opaque ``cursor``."""

    class Meta:
        unknown = EXCLUDE  # lists add their own filters in subclasses

    limit = fields.Integer(load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE),
                           metadata={"description": f"1–{MAX_PAGE}"})
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


class PageSchema(Schema):
    """A page: ``items`` and ``next_cursor`` (null on the last page)."""

    items = fields.List(fields.Dict())
    next_cursor = fields.String(allow_none=True)


# -- auth and users --------------------------------------------------------------------------

class LoginSchema(Strict):
    username = Text(required=True, max_length=64)
    password = Text(required=True, max_length=256)


class PasswordChangeSchema(Strict):
    current_password = Text(required=True, max_length=256)
    new_password = Text(required=True, max_length=256)


class MeSchema(Schema):
    must_change_password = fields.Boolean(metadata={"description": "an administrator's password, "
                                                                   "to be changed before anything else"})
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    area_codes = fields.List(fields.String())
    session_timeout = fields.Integer(metadata={"description": "seconds of inactivity"})


class UserCreateSchema(Strict):
    username = Text(required=True, max_length=32)
    password = Text(required=True, max_length=256)
    role = Choice(vocab.ROLES, required=True)
    area_codes = List(AreaCode(), required=True, min_items=1, max_items=100, unique=True)
    display_name = Text(max_length=MAX_NAME)
    phone = Phone()
    unit_id = DocRef("unit", metadata={"description": "承办单位人员所属单位 / a unit officer's unit"})


class UserUpdateSchema(Strict):
    role = Choice(vocab.ROLES)
    area_codes = List(AreaCode(), min_items=1, max_items=100, unique=True)
    display_name = Text(max_length=MAX_NAME)
    active = Bool()


class PasswordResetSchema(Strict):
    password = Text(required=True, max_length=256)


class UserOutSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    area_codes = fields.List(fields.String())
    active = fields.Boolean()
    login_delays = fields.List(fields.Dict(), metadata={
        "description": "addresses that must wait before trying this account again: address, failures, until"})
    must_change_password = fields.Boolean()
    phone = fields.String()
    unit_id = fields.String()


class UserListArgsSchema(PageArgsSchema):
    role = fields.String(load_default=None)


# -- cases ---------------------------------------------------------------------------------

_CASE = CaseSchema._declared_fields

ONLINE_CHANNELS = ("letter", "visit", "phone", "online")


class CaseCreateSchema(Strict):
    """Online intake (来信/来访/电话/网上). The server adds id, tracking code,
    ``reported_by``/``first_handler`` (the caller) and the times."""

    area_code = AreaCode(required=True)
    channel = Choice(ONLINE_CHANNELS, required=True)
    category = _CASE["category"]
    title = _CASE["title"]
    description = _CASE["description"]
    parties = List(Nested(PartySchema), required=True, min_items=1, max_items=20)
    location = Nested(LocationSchema)
    legal_route = _CASE["legal_route"]
    repeat_of = DocRef("case")
    lead_official = _CASE["lead_official"]
    policy = Choice(vocab.POLICIES, load_default=None)
    created_at = Timestamp()  # when the matter was registered (default: now)


class CaseUpdateSchema(Strict):
    """Corrections to the base record (typos, 诉访分离 route, 包案领导, repeat link)."""

    title = _CASE["title"]
    description = Text(max_length=5000)
    parties = List(Nested(PartySchema), min_items=1, max_items=20)
    location = Nested(LocationSchema)
    legal_route = _CASE["legal_route"]
    repeat_of = DocRef("case")
    lead_official = _CASE["lead_official"]
    category = Choice(vocab.CATEGORIES)


class EventCreateSchema(Schema):
    """An action on a case: ``kind`` plus the kind's own fields (``schemas.events``).

    Validated against the event document schema of that kind; the server adds ``_id``,
    ``case_id``, ``actor``, ``area_code``, ``received_at`` and ``at`` (the time it receives
    the request: a client's ``at`` is refused, see ``schemas.events.CLIENT_TIME_REFUSED``).
    """

    class Meta:
        unknown = "include"

    kind = Text(required=True, max_length=32)
    at = ServerTime(metadata={"description": "不接受：事件时间由服务器记录 / refused: the server sets the time"})


class PartiesRevealArgsSchema(Strict):
    """查看 full ID numbers and phones: why (recorded in the audit log with the read)."""

    reason = Text(required=True, min_length=2, max_length=200,
                  metadata={"description": "查看原因（写入审计日志）/ why you need the full values (audited)"})


class PartiesOutSchema(Schema):
    case_id = fields.String()
    parties = fields.List(fields.Dict())


class RepeatArgsSchema(Schema):
    repeat_of = DocRef("case", load_default=None)


class CaseDetailSchema(Schema):
    case = fields.Dict()
    events = fields.List(fields.Dict())
    projection = fields.Dict()
    repeat_of_suggestions = fields.List(fields.Dict())
    etag = fields.String()
    countdown = fields.List(fields.Dict(), metadata={"description": "未到期时限的剩余天数（按规则的工作日/自然日）"})
    people = fields.Dict(metadata={"description": "用户名 → 姓名 / username → display name"})
    actions = fields.Dict(metadata={"description": "事件类型 → 受限字段的可选值：当前可记录的操作 / "
                                                   "kinds the caller may record now, with the values of their restricted fields"})


class RepeatsSchema(Schema):
    repeat_of_suggestions = fields.List(fields.Dict())


class EventOutSchema(Schema):
    event = fields.Dict()
    projection = fields.Dict()
    etag = fields.String()
    actions = fields.Dict()


# -- audit ---------------------------------------------------------------------------------

class AuditArgsSchema(PageArgsSchema):
    user = Username(load_default=None)
    doc_id = Text(max_length=300, load_default=None)
    action = Text(max_length=64, load_default=None)
    since = Timestamp(load_default=None)
    until = Timestamp(load_default=None)


class AuditExportArgsSchema(Strict):
    """``/api/audit/export``: a period (``since`` ≤ time < ``until``) and a format."""

    since = Timestamp(load_default=None)
    until = Timestamp(load_default=None)
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["jsonl", "csv"]))

