"""The dispute case base record (``case:<uuid>``): what was reported, nothing more.

Everything that happens afterwards (acceptance, assignment, closure, evaluation) is an
``event:*`` document; the case's state is a projection of those (``server.domain``). The
base record may still be corrected (typo in a name), so it can conflict; such conflicts go
to the review queue (``schemas.conflict``).
"""

from __future__ import annotations

from schemas import vocab
from schemas.fields import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_PARTIES,
    MAX_TITLE,
    AreaCode,
    Choice,
    DocRef,
    DocumentSchema,
    IdNumber,
    List,
    LocationSchema,
    Nested,
    Phone,
    Strict,
    Text,
    Timestamp,
    TrackingCode,
    Username,
)
from schemas.ids import POLICY_NAME_RE


class PartySchema(Strict):
    """A party (当事人). ``id_number``/``phone`` are stored in full in CouchDB; the case
    detail, lists and exports mask them, the read model keeps only masked values and keyed
    hashes (``schemas.privacy``); the full values are an audited 查看 away."""

    role = Choice(vocab.PARTY_ROLES, required=True)
    name = Text(required=True, max_length=MAX_NAME)
    id_number = IdNumber()
    phone = Phone()
    address = Text(max_length=MAX_ADDRESS)


class CaseSchema(DocumentSchema):
    """``case:<uuid>``: a dispute / petition matter as reported."""

    doc_type = "case"

    area_code = AreaCode(required=True)
    tracking_code = TrackingCode(required=True)
    channel = Choice(vocab.CHANNELS, required=True)
    category = Choice(vocab.CATEGORIES, required=True)
    title = Text(max_length=MAX_TITLE)
    description = Text(required=True, max_length=MAX_DESCRIPTION)
    parties = List(Nested(PartySchema), required=True, min_items=1, max_items=MAX_PARTIES)
    location = Nested(LocationSchema)
    reported_by = Username(required=True)
    first_handler = Username()            # 首问负责制; defaults to reported_by when absent
    created_at = Timestamp(required=True)  # device time of registration
    received_at = Timestamp()              # set by the server, never by tablets
    legal_route = Choice(vocab.LEGAL_ROUTES)  # 诉访分离; absent means "none"
    repeat_of = DocRef("case")             # 重复访: the earlier case of the same matter
    lead_official = Text(max_length=MAX_NAME)  # 包案领导 (a name: leaders need no account)
    policy = Text(required=True, max_length=32, pattern=POLICY_NAME_RE)
