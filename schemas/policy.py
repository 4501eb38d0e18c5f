"""Deadline policy documents (``policy:<name>``), synced down so tablets show deadlines.

The table itself lives in ``server.domain.policies``; this is its document shape. A rule
runs from the first event matching ``start`` (or the case's registration, kind
``reported``) to the first event matching one of ``end``, counting ``days`` calendar or
working days, the start day not counted.
"""

from __future__ import annotations

from schemas import vocab
from schemas.events import EVENT_KINDS
from schemas.fields import (
    MAX_NOTE,
    Choice,
    DocumentSchema,
    Int,
    List,
    Nested,
    Strict,
    Text,
)
from schemas.ids import POLICY_NAME_RE

# "reported": the registration starts a rule (受理期限) as an event would.
MATCH_KINDS = {"reported": vocab.TERMS["registered"], **EVENT_KINDS}


class MatchSchema(Strict):
    """Which event starts or ends a rule: a kind, optionally with one field's value."""

    kind = Choice(MATCH_KINDS, required=True)
    stage = Choice(vocab.REVIEW_STAGES)  # only for review_requested / review_decided


class RuleSchema(Strict):
    name = Text(required=True, max_length=32, pattern=r"[a-z_]{1,32}")
    label_zh = Text(required=True, max_length=100)
    label_en = Text(required=True, max_length=100)
    start = Nested(MatchSchema, required=True)
    end = List(Nested(MatchSchema), required=True, min_items=1, max_items=10)
    days = Int(required=True, min=1, max=365)
    count = Choice(vocab.DAY_COUNTS, required=True)
    max_extension_days = Int(required=True, min=0, max=90)
    basis = Text(max_length=MAX_NOTE)  # where the rule comes from


class PolicySchema(DocumentSchema):
    doc_type = "policy"
    id_field = "name"

    name = Text(required=True, max_length=32, pattern=POLICY_NAME_RE)
    label_zh = Text(required=True, max_length=100)
    label_en = Text(required=True, max_length=100)
    version = Int(required=True, min=1)
    rules = List(Nested(RuleSchema), required=True, min_items=1, max_items=20)
