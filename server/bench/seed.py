"""The documents a benchmark writes: valid cases and events of ~0.5 KB, as tablets
create them, and a bulk writer that fails loudly."""

from __future__ import annotations

import random
from typing import Any

from schemas import new_case_id, new_event_id, new_tracking_code
from sync.couch import Database

from .errors import BenchError

_CATEGORIES = ("neighbourhood", "marriage_family", "land_forest", "labour")
_TEXT = "双方因宅基地边界和排水沟走向发生争执，网格员已上门了解情况，约定周五在村委会调解。"


def case_doc(area_code: str, reported_by: str, rnd: random.Random) -> dict[str, Any]:
    """A valid case of ~0.5 KB, as a tablet creates it."""
    return {
        "_id": new_case_id(), "type": "case", "schema_version": 1, "area_code": area_code,
        "tracking_code": new_tracking_code(), "channel": "grid_worker",
        "category": rnd.choice(_CATEGORIES), "description": _TEXT,
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        "reported_by": reported_by, "created_at": "2026-11-20T09:30:00+08:00", "policy": "520",
    }


def event_doc(case: dict[str, Any], actor: str, n: int) -> dict[str, Any]:
    """A valid ``commented`` event on ``case``."""
    return {
        "_id": new_event_id(case["_id"]), "type": "event", "schema_version": 1,
        "case_id": case["_id"], "kind": "commented", "at": f"2026-11-20T10:{n % 60:02d}:00+08:00",
        "actor": actor, "area_code": case["area_code"], "text": f"第{n}次回访：{_TEXT[:30]}",
    }


def scope_docs(area_code: str, author: str, count: int, rnd: random.Random) -> list[dict[str, Any]]:
    """``count`` documents of one grid: cases, each followed by four events."""
    docs: list[dict[str, Any]] = []
    while len(docs) < count:
        case = case_doc(area_code, author, rnd)
        docs.append(case)
        docs.extend(event_doc(case, author, i) for i in range(min(4, count - len(docs))))
    return docs


def bulk_insert(db: Database, docs: list[dict[str, Any]], chunk: int = 500) -> None:
    """Write ``docs`` in chunks; any document refused ends the benchmark."""
    for i in range(0, len(docs), chunk):
        for result in db.bulk_docs(docs[i:i + chunk]):
            if result.get("error"):
                raise BenchError("种子数据写入失败", f"seeding failed: {result}")

