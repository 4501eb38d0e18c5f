"""Payload schemas of the registers API: ``/api/risks``, ``/api/reviews``, ``/api/reminders``,
``/api/conflicts``, ``/api/track`` (``server.api.risks`` … ``server.api.tracking``).

Document fields are the risk schema's own (``RiskSchema._declared_fields``); request
schemas are strict (an unknown field is a 422 field error); response schemas document the
JSON the server builds. ``ReviewDocSchema`` validates the stored ``review:<uuid>`` meeting
record, a server-only document of the county database (never synced to tablets).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from schemas import vocab
from schemas.api import DEFAULT_PAGE, MAX_PAGE
from schemas.api_stats import QueryBool, QueryInt
from schemas.errors import bi
from schemas.events import ServerTime
from schemas.fields import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    AreaCode,
    Choice,
    Day,
    DocRef,
    List,
    Nested,
    Rev,
    Strict,
    Text,
    Timestamp,
    Username,
)
from schemas.risk import RISK_EVENT_KINDS, RiskSchema

_RISK = RiskSchema._declared_fields
RISK_STATUSES = ("open", "resolved")
MAX_REVIEW_ITEMS = 200
MAX_ATTENDEES = 100

# 满意 / 基本满意 / 不满意 as the public may type them → the stored codes.
RATING_ZH = {zh: code for code, (zh, _) in vocab.EVALUATIONS.items()}


# -- risks ---------------------------------------------------------------------------------

class RiskCreateSchema(Strict):
    """A risk found in a screening round (三级隐患排查). The server adds id, ``reported_by``
    (the caller) and the times."""

    area_code = AreaCode(required=True)
    title = _RISK["title"]
    description = _RISK["description"]
    category = _RISK["category"]
    level = _RISK["level"]
    screening_round = _RISK["screening_round"]
    owner = _RISK["owner"]
    due = _RISK["due"]
    lead_official = _RISK["lead_official"]
    location = _RISK["location"]
    case_id = DocRef("case")
    created_at = Timestamp()


class RiskEventCreateSchema(Schema):
    """A risk event: ``kind`` (screened, reviewed, resolved, commented) plus that kind's
    fields (``schemas.risk``); validated against the stored document's schema."""

    class Meta:
        unknown = "include"

    kind = Choice(RISK_EVENT_KINDS, required=True)
    at = ServerTime(metadata={"description": "不接受：事件时间由服务器记录 / refused: the server sets the time"})


class RiskListArgsSchema(Strict):
    limit = QueryInt(min=1, max=MAX_PAGE, load_default=DEFAULT_PAGE)
    cursor = Text(max_length=500, load_default=None)
    area = AreaCode(load_default=None, metadata={"description": "区划编码前缀 area prefix"})
    level = Choice(vocab.RISK_LEVELS, load_default=None)
    round = Choice(vocab.SCREENING_ROUNDS, load_default=None)
    status = Choice(RISK_STATUSES, load_default=None)
    overdue = QueryBool(load_default=None)


class MajorArgsSchema(Strict):
    area = AreaCode(load_default=None)


class RiskPageSchema(Schema):
    items = fields.List(fields.Dict())
    next_cursor = fields.String(allow_none=True)


class RiskDetailSchema(Schema):
    risk = fields.Dict()
    events = fields.List(fields.Dict())
    projection = fields.Dict()
    etag = fields.String()


class RiskEventOutSchema(Schema):
    event = fields.Dict()
    projection = fields.Dict()
    etag = fields.String()


class MajorListSchema(Schema):
    as_of = fields.String()
    count = fields.Integer()
    items = fields.List(fields.Dict())


# -- county review meetings (研判) -----------------------------------------------------------

class ReviewItemSchema(Strict):
    """One matter discussed: a risk (decision may change level/owner/due/lead official)
    or a case (the decision is recorded as a comment on it)."""

    risk_id = DocRef("risk")
    case_id = DocRef("case")
    decision = Text(required=True, max_length=MAX_DESCRIPTION)
    level = Choice(vocab.RISK_LEVELS)
    owner = Text(max_length=MAX_NAME)
    due = Day()
    lead_official = Text(max_length=MAX_NAME)

    @validates_schema(skip_on_field_errors=True)
    def _one_subject(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("risk_id")) == bool(data.get("case_id")):
            raise ValidationError({"risk_id": [bi("须且只能填写 risk_id 或 case_id 之一",
                                                  "Give exactly one of risk_id or case_id.")]})
        if data.get("case_id"):
            extra = [k for k in ("level", "owner", "due", "lead_official") if k in data]
            if extra:
                raise ValidationError({k: [bi("仅适用于风险事项", "Only for risk items.")] for k in extra})


class ReviewCreateSchema(Strict):
    """A county 研判 meeting: date, attendees, the matters discussed with a decision each."""

    held_on = Day(required=True)
    title = Text(max_length=MAX_TITLE)
    attendees = List(Text(max_length=MAX_NAME), required=True, min_items=1, max_items=MAX_ATTENDEES)
    items = List(Nested(ReviewItemSchema), required=True, min_items=1, max_items=MAX_REVIEW_ITEMS)
    note = Text(max_length=MAX_NOTE)


class ReviewDocSchema(Strict):
    """``review:<uuid>``: the stored meeting record (county database, server-only)."""

    class Meta:
        unknown = EXCLUDE

    held_on = Day(required=True)
    title = Text(max_length=MAX_TITLE)
    attendees = List(Text(max_length=MAX_NAME), required=True, min_items=1, max_items=MAX_ATTENDEES)
    items = List(fields.Dict(), required=True, min_items=1, max_items=MAX_REVIEW_ITEMS)
    note = Text(max_length=MAX_NOTE)
    area_codes = List(AreaCode(), required=True, min_items=1, max_items=MAX_REVIEW_ITEMS)
    recorded_by = Username(required=True)
    recorded_at = Timestamp(required=True)
    level = Choice(vocab.REVIEW_LEVELS)  # absent on meetings recorded before township reviews: county


class ReviewListArgsSchema(Strict):
    limit = QueryInt(min=1, max=MAX_PAGE, load_default=DEFAULT_PAGE)
    cursor = Text(max_length=500, load_default=None)


class ReviewOutSchema(Schema):
    review = fields.Dict()


# -- reminders (三单三函) --------------------------------------------------------------------

class ReminderArgsSchema(Strict):
    lead_days = QueryInt(min=0, max=60, load_default=3,
                         metadata={"description": "临期提示提前天数 days before the due date"})
    area = AreaCode(load_default=None)
    stage = Choice(("due_soon", "due", "overdue"), load_default=None)
    as_of = Day(load_default=None, metadata={"description": "as-of China date (default today)"})


class RemindersSchema(Schema):
    as_of = fields.String()
    lead_days = fields.Integer()
    counts = fields.Dict()
    units = fields.List(fields.Dict())


# -- conflicts -------------------------------------------------------------------------------

class ConflictResolveSchema(Strict):
    chosen_rev = Rev(required=True)
    note = Text(max_length=MAX_NOTE)


class ConflictListSchema(Schema):
    items = fields.List(fields.Dict())


class ConflictOutSchema(Schema):
    conflict = fields.Dict()


# -- public tracking -------------------------------------------------------------------------

class RatingField(Choice):
    """满意/基本满意/不满意, or the stored code (satisfied …)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and value.strip() in RATING_ZH:
            value = RATING_ZH[value.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class EvaluationCreateSchema(Strict):
    rating = RatingField(vocab.EVALUATIONS, required=True)
    comment = Text(max_length=MAX_NOTE)


class TrackingSchema(Schema):
    tracking_code = fields.String()
    status = fields.String()
    status_zh = fields.String()
    registered_at = fields.String()
    accepted_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    deadlines = fields.List(fields.Dict())
    evaluation = fields.Dict(allow_none=True)
    can_evaluate = fields.Boolean()
