"""Fixtures for printed documents: the session's county and accounts
(``shared_site``, tests/server/conftest.py) on an app whose clock stands at 2026-11-30 10:00 China time,
and three cases written as tablets write them (device times), with names for their areas.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import factories as f
import pytest
from pdf_checks import tiny_png
from testenv import signed_in_clients

from schemas import validate_document

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in China
AREAS = {f.COUNTY: ("county", "枫桥县"), f.TOWNSHIP_1: ("township", "东江镇"),
         f.GRID_A[:12]: ("village", "东村"), f.GRID_A: ("grid", "东村第一网格")}


def _area(code: str, level: str, name: str) -> dict[str, Any]:
    lon, lat = 120.10, 30.10
    ring = [[lon, lat], [lon + 0.02, lat], [lon + 0.02, lat + 0.02], [lon, lat + 0.02], [lon, lat]]
    return {"_id": f"area:{code}", "type": "area", "schema_version": 1, "level": level, "code": code,
            "name": name, "parent": None if level == "county" else code[:-3], "version": 1,
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [lon, lat, lon + 0.02, lat + 0.02]}


@pytest.fixture(scope="session")
def paper_app(shared_site):  # type: ignore[no-untyped-def]
    return shared_site.app("api", FENGQIAO_CLOCK=lambda: NOW, FENGQIAO_PUBLIC_URL="https://tiaojie.example.gov.cn")


@pytest.fixture(scope="session")
def paper_client(paper_app):  # type: ignore[no-untyped-def]
    """``paper_client(name)``: a test client logged in as ``name`` (one per user)."""
    return signed_in_clients(paper_app, f.PASSWORD)


@pytest.fixture(scope="session")
def township(shared_site):  # type: ignore[no-untyped-def]
    return shared_site.township_db(f.TOWNSHIP_1)


@pytest.fixture(scope="session")
def paper_cases(shared_site, township) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """``closed``: accepted, assigned to two units, mediated to an agreement with terms,
    closed, with a photo. ``declined``: not accepted, belongs to a court (诉访分离).
    ``overdue``: accepted on 11-01 under the 520 policy, not closed by 11-21."""
    county = shared_site.county_db()
    areas = [_area(code, level, name) for code, (level, name) in AREAS.items()]
    assert all(validate_document(a) == [] for a in areas)
    county.bulk_docs(areas)

    parties = [{"role": "applicant", "name": "王喆", "id_number": "330102199001011234",
                "phone": "13800000000", "address": "东村12号"},
               {"role": "respondent", "name": "李堃", "id_number": "330102198505051235"}]
    closed = f.case(f.GRID_A, "alice", title="宅基地边界纠纷", parties=parties, lead_official="陈书记",
                    description="王喆与李堃因宅基地边界围墙发生争执。", created_at="2026-11-20T09:30:00+08:00")
    closed["_attachments"] = {"围墙现场.png": {"content_type": "image/png",
                                           "data": base64.b64encode(tiny_png()).decode()}}
    events = [
        f.event(closed, "mia", kind="accepted", at="2026-11-20T11:00:00+08:00"),
        f.event(closed, "mia", kind="assigned", at="2026-11-21T10:00:00+08:00",
                units=[{"unit": "东江镇司法所", "unit_type": "functional"},
                       {"unit": "东村村民委员会", "unit_type": "territorial"}]),
        f.event(closed, "mia", kind="mediated", at="2026-11-25T10:00:00+08:00", outcome="agreement",
                mediator="赵明理", terms=["李堃于2026年12月10日前拆除越界部分围墙。", "王喆放弃其他赔偿请求。"],
                performance="由东村村民委员会监督履行。"),
        f.event(closed, "mia", kind="closed", at="2026-11-28T10:00:00+08:00", reply="经调解双方已达成协议，围墙已拆除。"),
    ]
    declined = f.case(f.GRID_A, "alice", title="借款纠纷", description="孙淼称邻居借款两万元未还。",
                      parties=[{"role": "applicant", "name": "孙淼"}], created_at="2026-11-22T09:00:00+08:00",
                      policy="regulation")
    events.append(f.event(declined, "mia", kind="declined", at="2026-11-23T09:00:00+08:00",
                          reason="属于民间借贷纠纷，应通过诉讼途径解决。", legal_route="court"))
    overdue = f.case(f.GRID_A, "alice", title="土地承包纠纷", description="周犇反映承包地被占用。",
                     parties=[{"role": "applicant", "name": "周犇"}], created_at="2026-11-01T09:00:00+08:00")
    docs = [closed, declined, overdue, *events]
    problems = {d["_id"]: validate_document(d) for d in docs}
    assert all(p == [] for p in problems.values()), problems
    results = township.bulk_docs(docs)
    assert all(r.get("ok") for r in results), results
    return {"closed": closed, "declined": declined, "overdue": overdue}
