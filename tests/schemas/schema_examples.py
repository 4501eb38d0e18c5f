"""Minimal valid documents of every type (also the shapes quoted in the docs)."""

from __future__ import annotations

from typing import Any

CASE_UUID = "3f2b8c1e-9a4d-4e2b-8f6a-1c2d3e4f5a6b"
RISK_UUID = "7a1b2c3d-4e5f-4a6b-9c8d-0e1f2a3b4c5d"
TSID = "20261123T013000.000Z-a1b2c3d4"
GRID = "330681001201003"

EXAMPLES: dict[str, dict[str, Any]] = {
    "case": {
        "_id": f"case:{CASE_UUID}", "type": "case", "schema_version": 1,
        "area_code": GRID, "tracking_code": "23456789AS", "channel": "visit",
        "category": "neighbourhood", "description": "宅基地边界争议，双方各执一词。",
        "parties": [{"role": "applicant", "name": "张三", "id_number": "11010519491231002X",
                     "phone": "13812345678"}],
        "reported_by": "wang.wei", "created_at": "2026-11-23T09:30:00+08:00",
        "policy": "regulation",
    },
    "event": {
        "_id": f"event:{CASE_UUID}:{TSID}", "type": "event", "schema_version": 1,
        "case_id": f"case:{CASE_UUID}", "kind": "accepted",
        "at": "2026-11-23T09:30:00+08:00", "actor": "wang.wei", "area_code": GRID,
    },
    "risk": {
        "_id": f"risk:{RISK_UUID}", "type": "risk", "schema_version": 1, "area_code": GRID,
        "title": "山林界址争议可能激化", "description": "两村交界处山林权属不清。",
        "category": "land_forest", "level": "serious", "screening_round": "village",
        "owner": "李四", "due": "2026-12-31", "reported_by": "wang.wei",
        "created_at": "2026-11-23T09:30:00+08:00",
    },
    "riskevent": {
        "_id": f"riskevent:{RISK_UUID}:{TSID}", "type": "riskevent", "schema_version": 1,
        "risk_id": f"risk:{RISK_UUID}", "kind": "reviewed", "decision": "列入重大不稳定问题清单",
        "at": "2026-11-23T09:30:00+08:00", "actor": "zhao.liu", "area_code": GRID,
    },
    "area": {
        "_id": "area:330681001201", "type": "area", "schema_version": 1, "level": "village",
        "code": "330681001201", "name": "枫源村", "parent": "330681001", "version": 1,
        "geometry": {"type": "Polygon",
                     "coordinates": [[[120.1, 29.7], [120.2, 29.7], [120.2, 29.8],
                                      [120.1, 29.7]]]},
        "bbox": [120.1, 29.7, 120.2, 29.8],
    },
    "user": {
        "_id": "user:wang.wei", "type": "user", "schema_version": 1, "username": "wang.wei",
        "display_name": "王伟", "role": "grid_worker", "area_codes": [GRID],
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
        "active": True, "created_at": "2026-11-23T09:30:00+08:00",
    },
    "notification": {
        "_id": f"notification:{CASE_UUID}:close:overdue:2026-11-23", "type": "notification",
        "schema_version": 1, "area_code": GRID, "channel": "in_app", "recipient": "wang.wei",
        "template": "reminder.overdue", "payload": {"case_id": f"case:{CASE_UUID}"},
        "status": "queued", "created_at": "2026-11-23T09:30:00+08:00",
    },
    "conflict": {
        "_id": f"conflict:case:{CASE_UUID}:3", "type": "conflict", "schema_version": 1,
        "doc_id": f"case:{CASE_UUID}", "revs": ["3-aaa", "3-bbb"], "status": "open",
        "detected_at": "2026-11-23T09:30:00+08:00",
    },
    "policy": {
        "_id": "policy:520", "type": "policy", "schema_version": 1, "name": "520",
        "label_zh": "“520”工作法", "label_en": "520", "version": 1,
        "rules": [{"name": "accept", "label_zh": "受理", "label_en": "accept",
                   "start": {"kind": "reported"}, "end": [{"kind": "accepted"}], "days": 5,
                   "count": "calendar", "max_extension_days": 0}],
    },
    "unit": {
        "_id": "unit:5f0c2a8e-3b1d-4c7e-9a55-0d6f7e8a9b10", "type": "unit", "schema_version": 1,
        "name": "县自然资源局", "unit_type": "functional", "area_code": "339901", "active": True,
        "created_by": "admin", "created_at": "2026-11-23T09:30:00+08:00",
    },
}

