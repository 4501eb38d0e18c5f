"""Risk register (隐患/风险): ``risk:<uuid>`` entries and ``riskevent:<risk uuid>:<tsid>``.

三级隐患排查: risks are screened in village, township and county rounds; each entry names
its 责任人 (``owner``), 化解时限 (``due``) and 包案领导 (``lead_official``). Reviews (研判)
and resolution are events, like case events, so offline edits do not conflict.
"""

from __future__ import annotations

from schemas import vocab
from schemas.fields import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    AreaCode,
    ChildEventSchema,
    Choice,
    Day,
    DocRef,
    DocumentSchema,
    LocationSchema,
    Nested,
    Text,
    Timestamp,
    Username,
)

RISK_EVENT_KINDS: dict[str, tuple[str, str]] = vocab.RISK_EVENT_KINDS


class RiskSchema(DocumentSchema):
    """``risk:<uuid>``: one entry of the risk register."""

    doc_type = "risk"

    area_code = AreaCode(required=True)
    title = Text(required=True, max_length=MAX_TITLE)
    description = Text(required=True, max_length=MAX_DESCRIPTION)
    category = Choice(vocab.CATEGORIES, required=True)
    level = Choice(vocab.RISK_LEVELS, required=True)
    screening_round = Choice(vocab.SCREENING_ROUNDS, required=True)  # round that found it
    owner = Text(required=True, max_length=MAX_NAME)                  # 责任人
    due = Day(required=True)                                          # 化解时限
    lead_official = Text(max_length=MAX_NAME)                         # 包案领导
    reported_by = Username(required=True)
    created_at = Timestamp(required=True)
    received_at = Timestamp()
    location = Nested(LocationSchema)
    case_id = DocRef("case")  # a dispute case this risk comes from or led to


class RiskEventSchema(ChildEventSchema):
    """Fields common to every risk event."""

    doc_type = "riskevent"
    parent_field = "risk_id"
    parent_what = ("风险", "risk")

    risk_id = DocRef("risk", required=True)


class ScreenedSchema(RiskEventSchema):
    """Seen again (or first) in a screening round, with the level assessed then."""

    kind_name = "screened"
    screening_round = Choice(vocab.SCREENING_ROUNDS, required=True)
    level = Choice(vocab.RISK_LEVELS, required=True)


class ReviewedSchema(RiskEventSchema):
    """研判: decision of a review meeting; may change level, owner, due date."""

    kind_name = "reviewed"
    decision = Text(required=True, max_length=MAX_DESCRIPTION)
    level = Choice(vocab.RISK_LEVELS)
    owner = Text(max_length=MAX_NAME)
    due = Day()
    lead_official = Text(max_length=MAX_NAME)


class RiskResolvedSchema(RiskEventSchema):
    kind_name = "resolved"
    summary = Text(required=True, max_length=MAX_DESCRIPTION)


class RiskCommentedSchema(RiskEventSchema):
    kind_name = "commented"
    text = Text(required=True, max_length=MAX_NOTE)


RISK_EVENT_SCHEMAS: dict[str, type[RiskEventSchema]] = {
    cls.kind_name: cls
    for cls in (ScreenedSchema, ReviewedSchema, RiskResolvedSchema, RiskCommentedSchema)
}
assert set(RISK_EVENT_SCHEMAS) == set(RISK_EVENT_KINDS)
