"""承办单位 (``unit:<uuid>``): the registry of units a case is assigned to (交办).

Functional departments (职能部门: 信访局, 自然资源局 …) carry the county code; territorial
units (属地: a township's government, a village committee) carry their area's code. The
registry lives in the county database, kept by admins (``/api/units``); it does not sync
to tablets (nothing on a tablet assigns). An assignment copies the unit's name and type
into the event (``schemas.events.UnitSchema``) with its ``unit_id``, so a later rename
does not rewrite history. A unit may have accounts (role ``unit_officer``, with the
unit's id) that see only the cases assigned to it.
"""

from __future__ import annotations

from schemas import vocab
from schemas.fields import (
    MAX_NAME,
    AreaCode,
    Bool,
    Choice,
    DocumentSchema,
    Text,
    Timestamp,
    Username,
)


class UnitDocSchema(DocumentSchema):
    doc_type = "unit"

    name = Text(required=True, max_length=MAX_NAME)
    unit_type = Choice(vocab.UNIT_TYPES, required=True)
    area_code = AreaCode(required=True)
    contact = Text(max_length=MAX_NAME)
    active = Bool(required=True)
    created_by = Username(required=True)
    created_at = Timestamp(required=True)
