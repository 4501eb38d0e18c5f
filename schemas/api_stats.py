"""Payload schemas of the read-model endpoints: ``/api/stats``, ``GET /api/cases``, exports.

Query arguments are strict (unknown parameters are refused with a field error) and
bilingual like every schema; responses document JSON the server builds.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.fields import AreaCode, Choice, Day, List, Strict, Text

MAX_PERIOD_DAYS = 366 * 5


class QueryInt(fields.Integer):
    """An integer given as query-string text, within bounds."""

    default_error_messages = {
        "invalid": bi("应为整数", "Not a valid integer."),
        "required": bi("必填", "Missing data for required field."),
        "null": bi("不能为空", "Field may not be null."),
        "range": bi("应在 {min}–{max} 之间", "Must be between {min} and {max}."),
    }

    def __init__(self, *, min: int, max: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min, self.max = min, max

    def openapi(self) -> dict[str, Any]:
        return {"minimum": self.min, "maximum": self.max}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.strip().lstrip("-").isdigit():
            raise self.make_error("invalid")
        number = int(value)
        if not self.min <= number <= self.max:
            raise self.make_error("range", min=self.min, max=self.max)
        return number


class QueryBool(fields.Boolean):
    """true/false given as query-string text (also 1/0)."""

    default_error_messages = {
        "invalid": bi("应为 true 或 false", "Must be true or false."),
        "null": bi("不能为空", "Field may not be null."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self.make_error("invalid")
STATUSES = tuple(vocab.CASE_STATUSES)
LIST_DEFAULT, LIST_MAX = 50, 200


class _Period(Strict):
    from_ = Day(data_key="from", load_default=None,
                metadata={"description": "首日 first day (registration date, China time)"})
    to = Day(load_default=None, metadata={"description": "末日 last day (inclusive)"})

    @validates_schema(skip_on_field_errors=True)
    def _check_period(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end:
            if start > end:
                raise ValidationError({"to": [bi("结束日期早于开始日期", "'to' is before 'from'.")]})
            if (end - start).days > MAX_PERIOD_DAYS:
                raise ValidationError({"to": [bi("统计区间最长 5 年", "The period may span at most 5 years.")]})


class StatsArgsSchema(_Period):
    """``GET /api/stats``: area prefix (default: yours) and period (default: this year)."""

    area = AreaCode(load_default=None, metadata={"description": "区划编码前缀 area code (6/9/12/15 digits)"})
    as_of = Day(load_default=None, metadata={
        "description": "以此日判断超期 day deciding what is overdue (default: day after 'to', at most today)"})
    breakdown = QueryBool(load_default=True, metadata={"description": "按下级区划 by child area"})
    trend = QueryBool(load_default=True, metadata={"description": "按月趋势 monthly trend"})


class CaseListArgsSchema(_Period):
    """``GET /api/cases``: filters, newest first, keyset cursor."""

    area = AreaCode(load_default=None)
    status = List(Choice(STATUSES), load_default=list, max_items=6)
    level = List(Choice(vocab.CASE_LEVELS), load_default=list, max_items=4)
    channel = List(Choice(vocab.CHANNELS), load_default=list, max_items=5)
    category = List(Choice(vocab.CATEGORIES), load_default=list, max_items=11)
    overdue = QueryBool(load_default=None, metadata={"description": "超期 overdue (accept or close deadline)"})
    due_soon = QueryBool(load_default=None, metadata={"description": "3 日内到期 due within 3 days"})
    q = Text(load_default=None, max_length=100, metadata={"description": "标题/简要情况/编号 全文"})
    limit = QueryInt(load_default=LIST_DEFAULT, min=1, max=LIST_MAX)
    cursor = Text(load_default=None, max_length=500)


class ExportArgsSchema(CaseListArgsSchema):
    """Export filters: those of the list, without pagination."""

    class Meta:
        exclude = ("limit", "cursor")


class AreaArgsSchema(Strict):
    area = AreaCode(load_default=None)


# -- responses ---------------------------------------------------------------------------

class MetricValueSchema(Schema):
    key = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    kind = fields.String(metadata={"description": "rate | mean | count"})
    value = fields.Float(allow_none=True, metadata={"description": "null when nothing to divide by"})
    numerator = fields.Float()
    denominator = fields.Integer()


class AreaStatsSchema(Schema):
    area_code = fields.String()
    name = fields.String(allow_none=True)
    cases = fields.Integer()
    metrics = fields.List(fields.Nested(MetricValueSchema))


class MonthStatsSchema(Schema):
    month = fields.String(metadata={"description": "YYYY-MM (registration month)"})
    cases = fields.Integer()
    metrics = fields.List(fields.Nested(MetricValueSchema))


class StatsSchema(Schema):
    area_code = fields.String()
    name = fields.String(allow_none=True)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    as_of = fields.Date()
    cases = fields.Integer()
    metrics = fields.List(fields.Nested(MetricValueSchema))
    by_area = fields.List(fields.Nested(AreaStatsSchema))
    trend = fields.List(fields.Nested(MonthStatsSchema))
    read_model = fields.Dict(metadata={"description": "checkpoint (seq) the figures reflect"})


class ListPartySchema(Schema):
    role = fields.String()
    name = fields.String()
    id_number = fields.String(metadata={"description": "masked 脱敏"})
    phone = fields.String(metadata={"description": "masked 脱敏"})


class CaseListRowSchema(Schema):
    case_id = fields.String()
    tracking_code = fields.String()
    area_code = fields.String()
    title = fields.String(allow_none=True)
    description = fields.String()
    channel = fields.String()
    category = fields.String()
    status = fields.String()
    level = fields.String()
    resolution_level = fields.String(allow_none=True)
    evaluation = fields.String(allow_none=True)
    created_at = fields.String()
    created_date = fields.Date()
    accepted_date = fields.Date(allow_none=True)
    closed_date = fields.Date(allow_none=True)
    accept_due_date = fields.Date(allow_none=True)
    close_due_date = fields.Date(allow_none=True)
    overdue = fields.Boolean()
    is_paused = fields.Boolean()
    escalations = fields.Integer()
    anomalies = fields.Integer()
    parties = fields.List(fields.Nested(ListPartySchema))


class CaseListPageSchema(Schema):
    items = fields.List(fields.Nested(CaseListRowSchema))
    next_cursor = fields.String(allow_none=True)


class TodoGroupSchema(Schema):
    key = fields.String(metadata={"description": "schemas.vocab.TODO_GROUPS"})
    kind = fields.String(metadata={"description": "case | risk | repeat"})
    label_zh = fields.String()
    label_en = fields.String()
    count = fields.Integer()
    items = fields.List(fields.Dict())


class TodoSchema(Schema):
    as_of = fields.String()
    role = fields.String()
    unit = fields.Dict()
    groups = fields.List(fields.Nested(TodoGroupSchema))
