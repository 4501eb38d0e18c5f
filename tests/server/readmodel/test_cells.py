"""The pre-aggregated cells answer exactly as the case rows do, however the batches came."""

from __future__ import annotations

import random
from datetime import date

import pytest
from domain_helpers import ev, make_case
from rm_helpers import as_changes, snapshot

from server.domain.metrics import compute_metrics
from server.domain.projection import project_case
from server.readmodel.calendar import fast_calendar
from server.readmodel.cells import LAYOUTS
from server.readmodel.generate import generate
from server.readmodel.queries import StatsQuery, by_child_area, by_column, monthly, totals
from server.readmodel.store import ReadModel

COUNTY = "339901"


def _pairs(values: dict) -> dict:  # type: ignore[type-arg]
    return {k: (v.numerator, v.denominator) for k, v in values.items()}


@pytest.fixture(scope="module")
def batched(tmp_path_factory):  # type: ignore[no-untyped-def]
    """400 generated cases sent in shuffled batches of 37, events often before their case,
    then one case deleted and one closed late: the cells are maintained batch by batch."""
    groups = [[c, *e] for c, e in generate(400, seed=21)]
    docs = [d for g in groups for d in g]
    random.Random(4).shuffle(docs)
    store = ReadModel(tmp_path_factory.mktemp("cells") / "stats.duckdb", party_key=b"k")
    for i in range(0, len(docs), 37):
        store.apply_changes(as_changes(docs[i:i + 37], i + 1), f"{i}-x")
    gone = groups.pop(0)
    store.apply_changes(as_changes([{"_id": gone[0]["_id"], "_rev": "9-z", "_deleted": True}]), "z-1")
    late = groups[0]
    closing = ev(late[0], "closed", "2026-10-30T10:00:00+08:00")
    late.append(closing)
    store.apply_changes(as_changes([closing]), "z-2")
    yield store, [project_case(g[0], g[1:], calendar=fast_calendar()) for g in groups]
    store.close()


@pytest.mark.parametrize("as_of", [date(2026, 2, 1), date(2026, 7, 1), date(2027, 3, 1)])
@pytest.mark.parametrize("prefix", [COUNTY, "339901002", "339901003204"])
def test_cells_equal_the_projection_on_any_day(batched, prefix: str, as_of: date) -> None:  # type: ignore[no-untyped-def]
    store, projections = batched
    cal = fast_calendar()
    start, end = date(2025, 11, 1), date(2026, 10, 31)
    q = StatsQuery(prefix, start, end, as_of, (COUNTY,))
    _, got = totals(store.cursor(), q)
    want = compute_metrics(projections, prefix, start, end, as_of, calendar=cal)
    assert _pairs(got) == _pairs(want)
    for code, _name, _n, values in by_child_area(store.cursor(), q):
        own = [p for p in projections if p.area_code == code] if code == prefix else projections
        assert _pairs(values) == _pairs(compute_metrics(own, code, start, end, as_of, calendar=cal))
    for month, _n, values in monthly(store.cursor(), q):
        y, m = map(int, month.split("-"))
        last = date(y + m // 12, m % 12 + 1, 1) - date.resolution
        assert _pairs(values) == _pairs(compute_metrics(projections, prefix, date(y, m, 1), last,
                                                        as_of, calendar=cal))
    for column in ("category", "channel"):
        for value, _n, values in by_column(store.cursor(), q, column):
            same = [p for p in projections if getattr(p, column) == value]
            assert _pairs(values) == _pairs(compute_metrics(same, prefix, start, end, as_of, calendar=cal))


def test_cells_kept_batch_by_batch_equal_cells_built_at_once(batched) -> None:  # type: ignore[no-untyped-def]
    store, _ = batched
    before = snapshot(store)
    store.rebuild_cells()
    after = snapshot(store)
    for table in (*(layout.table for layout in LAYOUTS), "live_cases"):
        assert after[table] == before[table]
        assert len(before[table]) > 0


def test_a_grid_scope_is_answered_from_the_case_rows(batched) -> None:  # type: ignore[no-untyped-def]
    store, projections = batched
    grid = projections[0].area_code
    start, end, as_of = date(2025, 1, 1), date(2026, 12, 31), date(2026, 7, 1)
    _, got = totals(store.cursor(), StatsQuery(grid, start, end, as_of, (grid,)))
    want = compute_metrics(projections, grid, start, end, as_of, calendar=fast_calendar())
    assert _pairs(got) == _pairs(want)


def test_a_file_without_cells_gets_them_when_opened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stats.duckdb"
    store = ReadModel(path, party_key=b"k")
    case = make_case("2026-03-02T09:00:00+08:00", area_code="339901002201001")
    store.apply_changes(as_changes([case, ev(case, "accepted", "2026-03-03T10:00:00+08:00")]), "1-x")
    q = StatsQuery(COUNTY, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31), (COUNTY,))
    want = _pairs(totals(store.cursor(), q)[1])
    # as a file written before the cells existed: no cells, no signature
    store.con.execute("DROP TABLE case_cells")
    store.con.execute("DROP TABLE live_cases")
    store.con.execute("DELETE FROM meta WHERE key = 'cells_signature'")
    store.close()
    again = ReadModel(path, party_key=b"k")
    assert again.counts()["case_cells"] == 1 and again.counts()["live_cases"] == 1
    assert _pairs(totals(again.cursor(), q)[1]) == want
    assert want["backlog"] == (1, 1)  # accepted, open and old on that day: a live case counted
    again.close()
