"""Conflict records (``conflict:<anything>``): the review queue for CouchDB conflicts.

When a case base record or a risk entry was edited on two devices, CouchDB keeps both
revisions; the sync side writes one conflict record per conflicted document so a person
chooses — nothing is silently dropped.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.fields import (
    MAX_NOTE,
    AreaCode,
    Choice,
    DocumentSchema,
    JsonObject,
    List,
    Rev,
    Text,
    Timestamp,
    Username,
)


class ConflictSchema(DocumentSchema):
    doc_type = "conflict"

    doc_id = Text(required=True, max_length=300)  # the conflicted document
    revs = List(Rev(), required=True, min_items=2, max_items=100, unique=True)
    status = Choice(vocab.CONFLICT_STATUSES, required=True)
    detected_at = Timestamp(required=True)
    chosen_rev = Rev()
    resolved_by = Username()
    resolved_at = Timestamp()
    note = Text(max_length=MAX_NOTE)
    area_code = AreaCode()  # of the conflicted document, so reviewers in scope see it
    # Full content of every revision the resolution discarded: kept, never dropped.
    discarded = List(JsonObject(max_bytes=2_000_000), max_items=100)
    # Earlier rounds when a resolved document conflicted again (summaries of those records).
    history = List(JsonObject(), max_items=100)

    @validates_schema(skip_on_field_errors=True)
    def _check_resolution(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data["status"] == "resolved":
            for key in ("chosen_rev", "resolved_by", "resolved_at"):
                if key not in data:
                    errors[key] = [bi("已处理的冲突须填写此项", "Required once the conflict is resolved.")]
        if "chosen_rev" in data and data["chosen_rev"] not in data["revs"]:
            errors["chosen_rev"] = [bi("所选修订号须是冲突修订之一",
                                       "chosen_rev must be one of the conflicting revs.")]
        if errors:
            raise ValidationError(errors)
