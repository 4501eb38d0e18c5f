"""Builders for schema-valid case and event documents used by the domain tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from schemas import validate_document
from schemas.ids import new_tracking_code

GRID = "330681001201003"
_counter = itertools.count()


def make_case(created_at: str = "2026-03-02T09:00:00+08:00", *, policy: str = "regulation",
              area_code: str = GRID, case_uuid: str | None = None, **extra: Any
              ) -> dict[str, Any]:
    """A valid case base record (validated, so tests never run on a malformed doc)."""
    case_uuid = case_uuid or str(uuid.uuid4())
    doc = {
        "_id": f"case:{case_uuid}", "type": "case", "schema_version": 1,
        "area_code": area_code, "tracking_code": new_tracking_code(), "channel": "visit",
        "category": "neighbourhood", "description": "测试纠纷",
        "parties": [{"role": "applicant", "name": "张三"}], "reported_by": "wang.wei",
        "created_at": created_at, "policy": policy, **extra,
    }
    assert validate_document(doc) == [], validate_document(doc)
    return doc


def make_event(case: dict[str, Any], kind: str, at: str, *, suffix: str | None = None,
               **fields: Any) -> dict[str, Any]:
    """A valid event of ``case``; the id suffix is derived from ``at`` plus a counter."""
    case_uuid = case["_id"].split(":", 1)[1]
    moment = datetime.fromisoformat(at)
    from datetime import UTC

    u = moment.astimezone(UTC)
    tail = suffix or f"{next(_counter):08x}"
    doc = {
        "_id": f"event:{case_uuid}:{u:%Y%m%dT%H%M%S}.{u.microsecond // 1000:03d}Z-{tail}",
        "type": "event", "schema_version": 1, "case_id": case["_id"], "kind": kind, "at": at,
        "actor": "wang.wei", "area_code": case["area_code"], **fields,
    }
    assert validate_document(doc) == [], (kind, validate_document(doc))
    return doc


EXTRAS: dict[str, dict[str, Any]] = {
    "accepted": {},
    "declined": {"reason": "不属于受理范围"},
    "assigned": {"units": [{"unit": "县住建局", "unit_type": "functional"},
                           {"unit": "枫桥镇", "unit_type": "territorial"}]},
    "feedback": {"unit": "县住建局", "content": "已核实"},
    "met": {"commitment_signed": True},
    "mediated": {"outcome": "agreement"},
    "resolved": {"resolution_level": "village"},
    "escalated": {"to_level": "township", "reason": "复杂"},
    "returned": {"to_level": "village", "reason": "村级事项"},
    "paused": {"reason": "鉴定"},
    "resumed": {},
    "extended": {"rule": "close", "days": 30, "reason": "复杂"},
    "closed": {"reply": "答复"},
    "followed_up": {"result": "满意"},
    "evaluated": {"rating": "satisfied", "actor": "public"},
    "evaluated_by_phone": {"rating": "satisfied"},
    "review_requested": {"stage": "review"},
    "review_decided": {"stage": "review", "decision": "维持"},
    "commented": {"text": "备注"},
}


def ev(case: dict[str, Any], kind: str, at: str, **fields: Any) -> dict[str, Any]:
    """``make_event`` with the kind's required fields filled in (overridable)."""
    return make_event(case, kind, at, **{**EXTRAS[kind], **fields})
