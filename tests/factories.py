"""Valid documents for tests, built with the schemas' own id helpers."""

from __future__ import annotations

from typing import Any

from schemas import new_case_id, new_event_id, new_tracking_code
from schemas.ids import new_risk_event_id, new_risk_id

COUNTY = "339901"
TOWNSHIP_1 = "339901001"
TOWNSHIP_2 = "339901002"
GRID_A = "339901001201001"   # alice's grid
GRID_B = "339901001201002"   # bob's grid, same township
GRID_C = "339901002201001"   # carol's grid, another township
PASSWORD = "Tea-Garden#2026"

# username → (role, area codes): one account per role and scope the tests need.
ACCOUNTS = {
    "alice": ("grid_worker", [GRID_A]),
    "bob": ("grid_worker", [GRID_B]),
    "carol": ("grid_worker", [GRID_C]),
    "mia": ("township_mediator", [TOWNSHIP_1]),
    "noah": ("township_mediator", [TOWNSHIP_2]),
    "rex": ("county_reviewer", [COUNTY]),
    "root": ("admin", [COUNTY]),
}


def case(area_code: str, reported_by: str, *, description: str = "邻里因宅基地边界发生争执",
         lon: float | None = None, lat: float | None = None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": new_case_id(), "type": "case", "schema_version": 1,
        "area_code": area_code, "tracking_code": new_tracking_code(),
        "channel": "grid_worker", "category": "neighbourhood", "description": description,
        "parties": [{"role": "applicant", "name": "张三"}],
        "reported_by": reported_by, "created_at": "2026-11-20T09:30:00+08:00", "policy": "520",
    }
    if lon is not None and lat is not None:
        doc["location"] = {"lon": lon, "lat": lat, "crs": "wgs84"}
    doc.update(extra)
    return doc


def event(case_doc: dict[str, Any], actor: str, *, kind: str = "commented",
          at: str = "2026-11-20T10:00:00+08:00", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": new_event_id(case_doc["_id"]), "type": "event", "schema_version": 1,
        "case_id": case_doc["_id"], "kind": kind, "at": at, "actor": actor,
        "area_code": case_doc["area_code"],
    }
    if kind == "commented":
        doc["text"] = extra.pop("text", "已上门了解情况")
    doc.update(extra)
    return doc


def risk(area_code: str, reported_by: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": new_risk_id(), "type": "risk", "schema_version": 1, "area_code": area_code,
        "title": "山林界址争议可能激化", "description": "两村交界处山林权属不清。",
        "category": "land_forest", "level": "serious", "screening_round": "village",
        "owner": "李四", "due": "2026-12-31", "reported_by": reported_by,
        "created_at": "2026-11-20T09:30:00+08:00",
    }
    doc.update(extra)
    return doc


def risk_event(risk_doc: dict[str, Any], actor: str, *, kind: str = "resolved",
               at: str = "2026-11-21T10:00:00+08:00", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": new_risk_event_id(risk_doc["_id"]), "type": "riskevent", "schema_version": 1,
        "risk_id": risk_doc["_id"], "kind": kind, "at": at, "actor": actor,
        "area_code": risk_doc["area_code"],
    }
    if kind == "resolved":
        doc["summary"] = extra.pop("summary", "双方已签订协议，风险化解")
    doc.update(extra)
    return doc


def provision_accounts(couch: Any, topology: Any,
                       accounts: dict[str, tuple[str, list[str]]] | None = None) -> dict[str, Any]:
    """Every account of ``accounts`` (default ``ACCOUNTS``) in ``topology``'s county, with its
    databases; username → ``sync.users.User``."""
    from sync.users import UserStore, provision

    store = UserStore(couch, topology.prefix, COUNTY)
    return {name: provision(couch, topology, store, name, role, codes, PASSWORD)
            for name, (role, codes) in (ACCOUNTS if accounts is None else accounts).items()}
