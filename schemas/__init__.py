"""Marshmallow schemas for every fengqiao document: the one place a field is defined.

Public entry points::

    validate_document(doc) -> list[FieldError]     one document, dispatched on ``type``
    validate_documents(docs) -> list[list[FieldError]]   many, in input order
    check_document(doc)                             raises DocumentInvalid
    DOC_TYPES, DocType, doc_type                    the registry: every type and its facts
    mask_id_number, mask_phone, mask_parties        for exports
    new_case_id, new_event_id, new_tracking_code …  id helpers (schemas.ids)

This package imports nothing from grid/, sync/ or server/.
"""

from schemas.errors import DocumentInvalid, FieldError
from schemas.ids import (
    new_case_id,
    new_event_id,
    new_risk_event_id,
    new_risk_id,
    new_tracking_code,
    time_sortable_id,
)
from schemas.privacy import is_valid_id_number, mask_id_number, mask_parties, mask_phone
from schemas.registry import (
    DOC_TYPES,
    DocType,
    check_document,
    doc_type,
    validate_document,
    validate_documents,
)
from schemas.user import public_profile

__all__ = [
    "DOC_TYPES", "DocType", "DocumentInvalid", "FieldError",
    "check_document", "doc_type", "is_valid_id_number", "mask_id_number", "mask_parties", "mask_phone",
    "new_case_id", "new_event_id", "new_risk_event_id", "new_risk_id", "new_tracking_code",
    "public_profile", "time_sortable_id", "validate_document", "validate_documents",
]
