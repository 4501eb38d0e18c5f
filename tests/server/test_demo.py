"""The demo loader: boundaries, accounts, reference data and valid sample data, idempotent."""

from __future__ import annotations

import httpx
from apps import LiveServer
from rich.console import Console

from schemas import validate_document
from server.demo import DEMO_PASSWORD, prepare_demo

SMALL = {"townships": 2, "villages": 4, "grids": 12}


def test_demo_loads_a_consistent_county_once(make_app, couch):
    app = make_app()
    settings = dict(app.config)
    console = Console(quiet=True)
    first = prepare_demo(settings, console, sizes=SMALL, cases=120)
    # 120 random cases, and the few every role's 待办 needs on the first morning
    assert first["counts"]["cases"] > 120 and first["counts"]["risks"] == 60
    roles = {role for _, role, _, _ in first["accounts"]}
    assert roles == {"admin", "county_reviewer", "township_mediator", "grid_worker", "unit_officer"}

    topology = first["topology"]
    stored = 0
    for code in topology.township_codes:
        rows = couch.db(topology.township_db(code)).all_docs(include_docs=True)["rows"]
        for row in rows:
            if row["id"].startswith("_design/"):
                continue
            assert validate_document(row["doc"]) == [], row["id"]
            stored += row["id"].startswith("case:")
    county = couch.db(topology.county_db())
    at_county = [r["doc"] for r in county.all_docs(include_docs=True, startkey="case:", endkey="case:\ufff0")["rows"]
                 if len(r["doc"]["area_code"]) == 6]  # registered at the county: stored there
    assert stored + len(at_county) == first["counts"]["cases"]
    # the 承办单位 registry, and the unit officer's account names one of its units
    units = county.all_docs(include_docs=True, startkey="unit:", endkey="unit:\ufff0")["rows"]
    assert units and all(validate_document(r["doc"]) == [] for r in units)
    from sync.users import UserStore

    officer = UserStore(couch, topology.prefix, topology.county_code).get("unit01")
    assert officer["unit_id"] in {r["id"] for r in units}

    again = prepare_demo(settings, console, sizes=SMALL, cases=120)  # idempotent
    assert again["counts"] == first["counts"]
    total = sum(couch.db(topology.township_db(c)).info()["doc_count"] for c in topology.township_codes)
    assert total == sum(couch.db(topology.township_db(c)).info()["doc_count"] for c in topology.township_codes)

    worker = next(name for name, role, _, _ in first["accounts"] if role == "grid_worker")
    with LiveServer(app) as live:
        answer = httpx.get(f"{live.url}/sync/{worker}/_all_docs", auth=(worker, DEMO_PASSWORD), timeout=60)
    ids = [r["id"] for r in answer.json()["rows"]]
    assert any(i.startswith("area:") for i in ids) and any(i.startswith("policy:") for i in ids)
    assert f"user:{worker}" in ids
