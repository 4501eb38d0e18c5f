"""Case events (``event:<case uuid>:<time-sortable id>``): the append-only facts of a case.

One schema per ``kind``; every event has ``case_id``, ``kind``, ``at`` (device time),
``actor`` (username) and ``area_code`` (repeated from the case, so the sync gateway can
scope it without reading the case).

双交办双反馈 (assign to a functional department *and* the territorial unit, both report
back) is **one** ``assigned`` event listing two ``units`` (one ``functional``, one
``territorial``): the assignment is a single decision, made at one moment, and one
document cannot be half-replicated. Each unit then reports back with its own ``feedback``
event naming the unit; the case has pending units until every assigned unit has.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.fields import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    AreaCode,
    Bool,
    ChildEventSchema,
    Choice,
    DocRef,
    Int,
    List,
    Nested,
    Strict,
    Text,
)

# -- event times -------------------------------------------------------------------------------
# Events written through the API happen when the server receives them: the server sets
# ``at`` (a client's ``at`` is refused, 422), so nobody can backdate an acceptance into time.
# Events written on a tablet keep the device's time, because offline work is real and a
# refused event stays on the device (the work would have to be entered again). So a device
# time is judged, not trusted:
#   * later than receipt + CLOCK_SKEW: kept and flagged ``future_time`` in the projection
#     (a fast device clock must not cost the worker a day's records);
#   * later than receipt + MAX_DEVICE_AHEAD: refused at push (``sync.push``): no clock
#     error explains it, and such a time would move deadlines and order arbitrarily;
#   * earlier than the case's registration: kept and flagged ``before_report``.
CLOCK_SKEW = timedelta(minutes=10)
MAX_DEVICE_AHEAD = timedelta(days=1)
CLIENT_TIME_REFUSED = ("事件时间由服务器按收到请求的时间记录，请勿提交 at",
                       "the event time is set by the server when it receives the request; do not send 'at'")
DEVICE_TIME_TOO_LATE = ("事件时间比服务器时间晚一天以上，请校准设备时钟后重新记录",
                        "the event time is more than a day after the server's time; set the device "
                        "clock right and record it again")
# A case registered through the API may be dated earlier (a letter received before it is
# entered) but not later than the server's time: a registration in the future would
# start its deadlines late and make a late acceptance look on time.
REGISTERED_IN_FUTURE = ("登记时间不能晚于当前时间", "created_at cannot be later than the server's time")

# The pseudo-user of the party's own evaluation (public tracking code, no login).
PUBLIC_ACTOR = "public"


class ServerTime(fields.Field):
    """An API body's ``at``: always refused (see CLIENT_TIME_REFUSED); declared so the
    refusal is documented in the OpenAPI description and said in both languages."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raise ValidationError(bi(*CLIENT_TIME_REFUSED))


# The kinds and their labels are part of the one vocabulary (``schemas.vocab``).
EVENT_KINDS: dict[str, tuple[str, str]] = vocab.EVENT_KINDS


class UnitSchema(Strict):
    """A responsible unit an assignment goes to (a department or a territorial unit)."""

    unit = Text(required=True, max_length=MAX_NAME)
    unit_type = Choice(vocab.UNIT_TYPES, required=True)
    area_code = AreaCode()  # for territorial units: their area
    unit_id = DocRef("unit")  # the registry entry (``schemas.unit``), when chosen from it


class EventSchema(ChildEventSchema):
    """Fields common to every case event; subclasses add the kind's own fields."""

    doc_type = "event"
    parent_field = "case_id"
    parent_what = ("案件", "case")

    case_id = DocRef("case", required=True)


class AcceptedSchema(EventSchema):
    kind_name = "accepted"


class DeclinedSchema(EventSchema):
    """不予受理: needs a reason; ``legal_route`` when the matter belongs to a court etc."""

    kind_name = "declined"
    reason = Text(required=True, max_length=MAX_NOTE)
    legal_route = Choice(vocab.LEGAL_ROUTES)


# 会办: more than two units handle one matter together (e.g. 信访 + 国土 + the township).
MAX_UNITS = 8


class AssignedSchema(EventSchema):
    """交办: one unit; two (one functional + one territorial) for 双交办; more for 会办."""

    kind_name = "assigned"
    units = List(Nested(UnitSchema), required=True, min_items=1, max_items=MAX_UNITS)

    @validates_schema(skip_on_field_errors=True)
    def _check_dual(self, data: dict[str, Any], **kwargs: Any) -> None:
        units = data.get("units") or []
        if len(units) == 2:
            types = sorted(u["unit_type"] for u in units)
            if types != ["functional", "territorial"]:
                raise ValidationError(bi("双交办须为一个职能部门和一个属地单位",
                                         "Dual assignment needs one functional and one "
                                         "territorial unit."), "units")
        names = [u["unit"] for u in units]
        if len(set(names)) != len(names):
            raise ValidationError(bi("同一单位不能重复交办", "A unit is listed twice."), "units")


class FeedbackSchema(EventSchema):
    """反馈: an assigned unit reports back (first feedback, progress or result)."""

    kind_name = "feedback"
    unit = Text(required=True, max_length=MAX_NAME)
    unit_id = DocRef("unit")
    content = Text(required=True, max_length=MAX_DESCRIPTION)


class MetSchema(EventSchema):
    """双签: met the petitioner; both sides signed the two-way commitment (双向承诺书)."""

    kind_name = "met"
    commitment_signed = Bool(required=True)


# At most this many numbered terms in one 人民调解协议书 (a longer agreement is an annex).
MAX_AGREEMENT_TERMS = 30


class MediatedSchema(EventSchema):
    """调解: the outcome; with an agreement (达成协议/部分达成), its agreed ``terms`` (one
    numbered clause each) and how and when they are to be performed (``performance``,
    履行方式、时限) — printed on the 人民调解协议书 (``server.paper``). Both optional:
    without them the agreement is printed with ruled lines to write the terms by hand."""

    kind_name = "mediated"
    mediation_type = Choice(vocab.MEDIATION_TYPES)
    outcome = Choice(vocab.MEDIATION_OUTCOMES, required=True)
    mediator = Text(max_length=MAX_NAME)
    terms = List(Text(max_length=MAX_NOTE), max_items=MAX_AGREEMENT_TERMS)
    performance = Text(max_length=MAX_NOTE)


class ResolvedSchema(EventSchema):
    """化解: the dispute is settled; ``resolution_level`` feeds 小事不出村 etc."""

    kind_name = "resolved"
    resolution_level = Choice(vocab.RESOLUTION_LEVELS, required=True)
    summary = Text(max_length=MAX_DESCRIPTION)


class EscalatedSchema(EventSchema):
    kind_name = "escalated"
    to_level = Choice({k: vocab.CASE_LEVELS[k] for k in ("township", "county", "above")}, required=True)
    reason = Text(required=True, max_length=MAX_NOTE)


class ReturnedSchema(EventSchema):
    """退回: sent back down (e.g. county → township) to be handled there."""

    kind_name = "returned"
    to_level = Choice({k: vocab.CASE_LEVELS[k] for k in ("village", "township", "county")}, required=True)
    reason = Text(required=True, max_length=MAX_NOTE)


class PausedSchema(EventSchema):
    """挂起: the deadline clock stops (e.g. waiting for a forensic appraisal)."""

    kind_name = "paused"
    reason = Text(required=True, max_length=MAX_NOTE)


class ResumedSchema(EventSchema):
    kind_name = "resumed"
    reason = Text(max_length=MAX_NOTE)


class ExtendedSchema(EventSchema):
    """延期: a rule's deadline is extended (信访工作条例: handling by at most 30 days)."""

    kind_name = "extended"
    rule = Text(required=True, max_length=32, pattern=r"[a-z_]{1,32}")
    days = Int(required=True, min=1, max=90)
    reason = Text(required=True, max_length=MAX_NOTE)


class ClosedSchema(EventSchema):
    """办结: with the formal reply (答复意见) given to the petitioner."""

    kind_name = "closed"
    reply = Text(required=True, max_length=MAX_DESCRIPTION)


class FollowedUpSchema(EventSchema):
    kind_name = "followed_up"
    result = Text(required=True, max_length=MAX_NOTE)


class EvaluatedSchema(EventSchema):
    """The party's own evaluation (群众评价): only through the public tracking code, so
    its actor is always ``public``. Staff who ask the party by phone record
    ``evaluated_by_phone`` instead; it never takes the party's own place."""

    kind_name = "evaluated"
    rating = Choice(vocab.EVALUATIONS, required=True)
    comment = Text(max_length=MAX_NOTE)

    @validates_schema(skip_on_field_errors=True)
    def _check_public(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("actor") != PUBLIC_ACTOR:
            raise ValidationError(bi(
                "当事人评价只能由当事人凭查询码提交；工作人员电话回访所得评价请记为“电话回访评价”（evaluated_by_phone）",
                "the party's evaluation comes only from the party (tracking code); record an "
                "evaluation taken by phone as 'evaluated_by_phone'"), "kind")


class EvaluatedByPhoneSchema(EventSchema):
    """电话回访评价: a member of staff asked the party by phone and records the answer.

    A separate kind, labelled as such: it does not count as the party's own evaluation
    in 满意率/参评率 and does not stop the party from evaluating (METRICS.md)."""

    kind_name = "evaluated_by_phone"
    rating = Choice(vocab.EVALUATIONS, required=True)
    comment = Text(max_length=MAX_NOTE)


class ReviewRequestedSchema(EventSchema):
    kind_name = "review_requested"
    stage = Choice(vocab.REVIEW_STAGES, required=True)


class ReviewDecidedSchema(EventSchema):
    kind_name = "review_decided"
    stage = Choice(vocab.REVIEW_STAGES, required=True)
    decision = Text(required=True, max_length=MAX_DESCRIPTION)


class CommentedSchema(EventSchema):
    """备注; with ``review_level`` it is the decision of a 研判 meeting on the case
    (written only by ``/api/reviews``: the API refuses the field from a client), which tells
    the grid workers concerned (``server.notify.triggers``)."""

    kind_name = "commented"
    text = Text(required=True, max_length=MAX_NOTE)
    review_level = Choice(vocab.REVIEW_LEVELS)


EVENT_SCHEMAS: dict[str, type[EventSchema]] = {
    cls.kind_name: cls
    for cls in (
        AcceptedSchema, DeclinedSchema, AssignedSchema, FeedbackSchema, MetSchema,
        MediatedSchema, ResolvedSchema, EscalatedSchema, ReturnedSchema, PausedSchema,
        ResumedSchema, ExtendedSchema, ClosedSchema, FollowedUpSchema, EvaluatedSchema,
        EvaluatedByPhoneSchema,
        ReviewRequestedSchema, ReviewDecidedSchema, CommentedSchema,
    )
}
assert set(EVENT_SCHEMAS) == set(EVENT_KINDS)
