"""/api/stats, GET /api/cases and /api/exports over the read model: scope, errors, files.

The app is the ``synchronous`` variant (``FENGQIAO_STATS_FOLLOW=off``, no thread: each
request first applies pending changes), so what a test writes into the county database is visible at once.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from apps import Site
from factories import ACCOUNTS as ALL_ACCOUNTS
from factories import COUNTY, GRID_A, GRID_B, GRID_C, PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from openpyxl import load_workbook
from testenv import signed_in_clients

from schemas import vocab
from server.readmodel.generate import case_with_events
from sync.scope import scope_key, sees

ACCOUNTS = {name: a for name, a in ALL_ACCOUNTS.items() if name != "root"}
ID_NUMBER = "330681199003071236"


@pytest.fixture(scope="module")
def world(couch, couch_url, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with Site.open(couch, couch_url, tmp_path_factory.mktemp("rm-home"), tag="rm") as site:
        app = site.app("synchronous")
        users = site.provision(ACCOUNTS)
        yield {"app": app, "users": users, **_load(site.county_db())}


def _load(county_db: Any) -> dict[str, Any]:
    """20 cases with their events, areas and two risks, written into the county database."""
    import random
    from datetime import datetime, timedelta, timezone

    rng = random.Random(5)
    cst = timezone(timedelta(hours=8))
    docs: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    areas = [GRID_A] * 6 + [GRID_B] * 5 + [GRID_C] * 4 + [TOWNSHIP_1] * 2 + ["339901003201001"] * 3
    for i, area in enumerate(areas):
        case, events = case_with_events(rng, area, datetime(2026, 3, 1, 9, tzinfo=cst) + timedelta(days=i * 3))
        case["parties"][0]["id_number"] = ID_NUMBER
        case["title"] = f"测试纠纷{i:02d}" + ("山林" if i % 4 == 0 else "")
        cases.append(case)
        docs.extend([case, *events])
    for code, level, parent in ((GRID_A, "grid", GRID_A[:12]), (GRID_C, "grid", GRID_C[:12]),
                                (TOWNSHIP_1, "township", COUNTY)):
        docs.append({"_id": f"area:{code}", "type": "area", "schema_version": 1, "level": level,
                     "code": code, "name": f"区域{code[-3:]}", "parent": parent, "version": 1,
                     "geometry": {"type": "Polygon", "coordinates": [[[120.0, 29.0], [120.1, 29.0],
                                                                      [120.1, 29.1], [120.0, 29.0]]]},
                     "bbox": [120.0, 29.0, 120.1, 29.1]})
    for area in (GRID_A, GRID_C):
        docs.append({"_id": f"risk:{uuid.uuid4()}", "type": "risk", "schema_version": 1,
                     "area_code": area, "title": f"隐患{area[-3:]}", "description": "山林边界",
                     "category": "land_forest", "level": "ordinary", "screening_round": "village",
                     "owner": "王某", "due": "2026-12-31", "reported_by": "alice",
                     "created_at": "2026-03-02T09:00:00+08:00"})
    county_db.bulk_docs(docs)
    return {"cases": cases, "docs": docs, "db": county_db}


@pytest.fixture(scope="module")
def as_user(world):  # type: ignore[no-untyped-def]
    return signed_in_clients(world["app"], PASSWORD)


def visible(world: dict[str, Any], name: str) -> set[str]:
    user = world["users"][name]
    return {c["_id"] for c in world["cases"] if sees(user, scope_key(c))}


def all_pages(client: Any, query: str = "", limit: int = 4) -> list[dict[str, Any]]:
    rows, cursor = [], None
    for _ in range(50):
        url = f"/api/cases?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        rows.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return rows
    raise AssertionError("pagination does not end")


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_each_role_lists_exactly_its_area(world, as_user, name: str) -> None:  # type: ignore[no-untyped-def]
    rows = all_pages(as_user(name))
    ids = [r["case_id"] for r in rows]
    assert len(ids) == len(set(ids)), "a page repeated a row"
    assert set(ids) == visible(world, name)
    assert ids == [r["case_id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["case_id"]), reverse=True)]
    for row in rows:
        for party in row["parties"]:
            assert party.get("id_number") in (None, "330***********1236")
            assert "address" not in party


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_each_role_counts_exactly_its_area(world, as_user, name: str) -> None:  # type: ignore[no-untyped-def]
    r = as_user(name).get("/api/stats?from=2026-01-01&to=2026-12-31")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["cases"] == len(visible(world, name))
    assert {m["key"] for m in body["metrics"]} >= {"stays_in_village", "backlog", "satisfaction"}
    assert sum(a["cases"] for a in body["by_area"]) in (body["cases"], 0)
    assert sum(m["cases"] for m in body["trend"]) == body["cases"]


@pytest.mark.parametrize("name", list(ACCOUNTS))
@pytest.mark.parametrize("fmt", ["cases.xlsx", "cases.csv", "cases.geojson"])
def test_each_role_exports_exactly_its_area(world, as_user, name: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    r = as_user(name).get(f"/api/exports/{fmt}")
    assert r.status_code == 200, r.data[:300]
    by_code = {c["tracking_code"]: c["_id"] for c in world["cases"]}
    if fmt == "cases.xlsx":
        ws = load_workbook(io.BytesIO(r.data), read_only=True).active
        rows = list(ws.iter_rows(values_only=True))
        header, data = rows[0], rows[1:]
        assert header[0] == vocab.TERMS["tracking_code"][0] and "身份证号（脱敏）" in header
        id_col = header.index("身份证号（脱敏）")
        assert all(row[id_col] == "330***********1236" for row in data)
        got = {by_code[row[0]] for row in data}
    elif fmt == "cases.csv":
        text = r.data.decode("utf-8")
        assert text.startswith("\ufeff" + vocab.TERMS["tracking_code"][0])
        data = list(csv.reader(io.StringIO(text[1:])))[1:]
        got = {by_code[row[0]] for row in data}
        assert ID_NUMBER not in text
    else:
        got = {f["properties"]["case_id"] for f in json.loads(r.data)["features"]}
        assert ID_NUMBER not in r.data.decode()
    assert got == visible(world, name)


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_each_role_exports_only_its_risks_and_grids(world, as_user, name: str) -> None:  # type: ignore[no-untyped-def]
    user = world["users"][name]
    r = as_user(name).get("/api/exports/risks.xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data), read_only=True).active.iter_rows(values_only=True))[1:]
    risks = [d for d in world["docs"] if d.get("type") == "risk"]
    assert sorted(row[1] for row in rows) == sorted(d["area_code"] for d in risks if sees(user, scope_key(d)))
    r = as_user(name).get("/api/exports/grids.geojson")
    assert r.status_code == 200
    codes = {f["properties"]["code"] for f in json.loads(r.data)["features"]}
    grids = {d["code"] for d in world["docs"] if d.get("type") == "area" and d["level"] == "grid"}
    assert codes == {c for c in grids if sees(user, f"g:{c}")}


def test_exports_are_audited(world, as_user) -> None:  # type: ignore[no-untyped-def]
    from server import audit

    as_user("mia").get(f"/api/exports/cases.xlsx?area={TOWNSHIP_1}")
    with world["app"].app_context():
        records, _ = audit.query(user="mia", action="export")
    assert any((r.get("detail") or {}).get("export") == "cases.xlsx" for r in records)


@pytest.mark.parametrize(("name", "area"), [("alice", GRID_B), ("alice", TOWNSHIP_1), ("mia", TOWNSHIP_2),
                                            ("mia", COUNTY), ("carol", GRID_A), ("noah", "339901001201")])
def test_areas_outside_the_callers_scope_are_refused(as_user, name: str, area: str) -> None:  # type: ignore[no-untyped-def]
    client = as_user(name)
    for url in (f"/api/stats?area={area}", f"/api/cases?area={area}",
                f"/api/exports/cases.xlsx?area={area}", f"/api/exports/risks.xlsx?area={area}",
                f"/api/exports/grids.geojson?area={area}"):
        r = client.get(url)
        assert r.status_code == 403, (url, r.status_code)
        assert r.get_json()["code"]


def test_a_narrower_area_inside_scope_is_allowed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    r = as_user("mia").get(f"/api/stats?area={GRID_A}&from=2026-01-01&to=2026-12-31")
    assert r.status_code == 200
    assert r.get_json()["cases"] == len(visible(world, "alice"))
    assert r.get_json()["by_area"] == []


@pytest.mark.parametrize("url", [
    "/api/stats?from=2026-13-01", "/api/stats?from=2026-05-01&to=2026-04-01",
    "/api/stats?area=33990", "/api/stats?area=abc", "/api/stats?from=2010-01-01&to=2026-01-01",
    "/api/stats?bogus=1", "/api/cases?limit=0", "/api/cases?limit=100000", "/api/cases?status=open",
    "/api/cases?overdue=maybe", "/api/cases?cursor=%%%", "/api/cases?cursor=WzFd",
    "/api/cases?cursor=WyJub3QgYSBkYXRlIiwgIngiXQ", "/api/cases?q=" + "x" * 200,
    "/api/exports/cases.xlsx?category=nope", "/api/exports/grids.geojson?area=1",
])
def test_bad_parameters_are_422_with_field_errors(as_user, url: str) -> None:  # type: ignore[no-untyped-def]
    r = as_user("rex").get(url)
    assert r.status_code == 422, (url, r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["code"] == "validation_error" and body["errors"], body


def test_anonymous_is_401(as_user) -> None:  # type: ignore[no-untyped-def]
    for url in ("/api/stats", "/api/cases", "/api/exports/cases.xlsx", "/api/exports/grids.geojson"):
        assert as_user(None).get(url).status_code == 401


def test_list_filters(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("rex")
    rows = all_pages(client, "&q=山林", limit=50)
    assert rows and all("山林" in (r["title"] or "") + r["description"] for r in rows)
    closed = all_pages(client, "&status=closed&status=declined", limit=50)
    assert closed and {r["status"] for r in closed} <= {"closed", "declined"}
    mine = all_pages(client, f"&area={TOWNSHIP_2}", limit=50)
    assert {r["case_id"] for r in mine} == visible(world, "noah")
    period = all_pages(client, "&from=2026-03-01&to=2026-03-10", limit=50)
    assert period and all("2026-03-01" <= r["created_date"] <= "2026-03-10" for r in period)
    overdue = all_pages(client, "&overdue=true", limit=50)
    assert all(r["overdue"] for r in overdue)
    not_overdue = all_pages(client, "&overdue=false", limit=50)
    assert len(overdue) + len(not_overdue) == len(world["cases"])


def test_new_documents_show_up(world, as_user) -> None:  # type: ignore[no-untyped-def]
    import random
    from datetime import datetime, timedelta, timezone

    case, events = case_with_events(random.Random(77), GRID_A,
                                    datetime(2026, 4, 20, 9, tzinfo=timezone(timedelta(hours=8))))
    world["db"].bulk_docs([case, *events])
    world["cases"].append(case)
    ids = {r["case_id"] for r in all_pages(as_user("alice"), limit=50)}
    assert case["_id"] in ids
