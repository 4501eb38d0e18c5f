"""The read model against the Python definitions: same rows, same metrics, any arrival order."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from domain_helpers import ev, make_case
from rm_helpers import as_changes, snapshot

from server.domain.metrics import METRICS, case_row, cohort, compute_metrics, metric_sql
from server.domain.projection import project_case
from server.readmodel.calendar import fast_calendar
from server.readmodel.generate import generate
from server.readmodel.queries import StatsQuery, by_child_area, monthly, totals
from server.readmodel.store import AS_OF_COLUMNS, ReadModel, cases_at

T = "330681001"
AS_OF = date(2026, 6, 30)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))

# The hand-computed cohort of tests/server/domain/test_metrics.py, as documents.
EXPECTED = {
    "timely_acceptance": (6, 8), "on_time_closure": (4, 6), "avg_duration_days": (230, 5),
    "avg_duration_working_days": (157, 5), "satisfaction": (3, 4), "evaluation_rate": (4, 5),
    "repeat_share": (1, 8), "resolution_rate": (5, 6), "backlog": (1, 1),
    "stays_in_village": (2, 5), "stays_in_township": (3, 5), "stays_in_county": (4, 5),
}


def _story(created: str, *steps: tuple[str, str, dict[str, Any]], area: str = T + "201003",
           **fields: Any) -> list[dict[str, Any]]:
    case = make_case(created if "T" in created else f"2026-{created}T09:00:00+08:00",
                     area_code=area, **fields)
    return [case, *(ev(case, k, f"2026-{d}T10:00:00+08:00", **kw) for k, d, kw in steps)]


def hand_docs() -> list[list[dict[str, Any]]]:
    acc = lambda d: ("accepted", d, {})  # noqa: E731
    close = lambda d: ("closed", d, {})  # noqa: E731
    res = lambda d, lv: ("resolved", d, {"resolution_level": lv})  # noqa: E731
    rate = lambda d, r: ("evaluated", d, {"rating": r, "actor": "public"})  # noqa: E731
    return [
        _story("03-02", acc("03-05"), res("04-09", "village"), close("04-10"), rate("04-12", "satisfied")),
        _story("03-10", acc("03-30"), res("06-19", "township"), close("06-20"), rate("06-21", "dissatisfied")),
        _story("03-15", acc("03-16")),
        _story("03-20", acc("03-21"), res("03-31", "county"), close("04-01"),
               repeat_of="case:00000000-0000-4000-8000-000000000000"),
        _story("03-25"),
        _story("03-28", ("declined", "03-29", {"reason": "属诉讼"})),
        _story("2026-03-31T23:30:00+08:00", acc("04-01"), res("04-19", "grid"), close("04-20"),
               rate("04-22", "basically_satisfied")),
        _story("03-05", acc("03-06"), res("04-30", "above"), close("05-01"), rate("05-02", "satisfied")),
        _story("2026-03-31T16:10:00+00:00"),
        _story("03-05", area="330681002201001"),
    ]


@pytest.fixture
def store(tmp_path) -> ReadModel:  # type: ignore[no-untyped-def]
    s = ReadModel(tmp_path / "stats.duckdb")
    yield s
    s.close()


def _flat(groups: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [d for g in groups for d in g]


def _projections(groups: list[list[dict[str, Any]]], calendar: Any = None) -> list[Any]:
    return [project_case(g[0], g[1:], calendar=calendar) for g in groups]


def test_hand_computed_cohort_from_the_read_model(store: ReadModel) -> None:
    store.apply_changes(as_changes(_flat(hand_docs())), "99-x")
    count, got = totals(store.cursor(), StatsQuery(T, *MARCH, AS_OF, (T,)))
    assert count == 8
    for key, (num, den) in EXPECTED.items():
        assert (got[key].numerator, got[key].denominator) == (num, den), key
    # and metric_sql itself, run over the read model's table with the as-of columns
    cur = store.cursor()
    for metric in METRICS:
        value, num, den = cur.execute(metric_sql(metric, cases_at(AS_OF), cohort(T, *MARCH))).fetchone()
        assert (num, den) == EXPECTED[metric.key]
        assert value == pytest.approx(got[metric.key].value)


def test_rows_equal_case_row_at_any_as_of(store: ReadModel) -> None:
    groups = [[c, *e] for c, e in generate(80, seed=3)] + hand_docs()
    store.apply_changes(as_changes(_flat(groups)), "1-x")
    for as_of in (date(2026, 1, 15), AS_OF, date(2027, 2, 1)):
        result = store.cursor().execute(f"SELECT * FROM {cases_at(as_of)}")
        names = [d[0] for d in result.description]
        stored = {r["case_id"]: r for r in (dict(zip(names, row, strict=True)) for row in result.fetchall())}
        for p in _projections(groups):
            expected = case_row(p, as_of)
            row = stored[p.case_id]
            assert {k: row[k] for k in expected} == expected, p.case_id
            assert set(AS_OF_COLUMNS) <= set(expected)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):  # type: ignore[no-untyped-def]
    groups = [[c, *e] for c, e in generate(600, seed=11)]
    store = ReadModel(tmp_path_factory.mktemp("gen") / "stats.duckdb")
    store.apply_changes(as_changes(_flat(groups)), "1-x")
    # the cached calendar answers as the default one (test_rows_equal_case_row_at_any_as_of
    # checks that on the default calendar); it keeps this oracle fast
    yield store, _projections(groups, fast_calendar())
    store.close()


@pytest.mark.parametrize("prefix", ["339901", "339901002", "339901003204"])
def test_generated_cohorts_equal_compute_metrics(generated, prefix: str) -> None:  # type: ignore[no-untyped-def]
    store, projections = generated
    cal = fast_calendar()
    start, end, as_of = date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 1)
    q = StatsQuery(prefix, start, end, as_of, ("339901",))
    _, got = totals(store.cursor(), q)
    want = compute_metrics(projections, prefix, start, end, as_of, calendar=cal)
    for key, mv in want.items():
        assert (got[key].numerator, got[key].denominator) == (mv.numerator, mv.denominator), key
        assert got[key].value == pytest.approx(mv.value), key
    for code, _name, _count, values in by_child_area(store.cursor(), q):
        # Cases registered at the prefix's own level (e.g. at the township office) form a
        # row whose code is the prefix itself: those cases only, not the whole subtree.
        own = [p for p in projections if p.area_code == code] if code == prefix else projections
        child = compute_metrics(own, code, start, end, as_of, calendar=cal)
        for key, mv in child.items():
            assert (values[key].numerator, values[key].denominator) == (mv.numerator, mv.denominator)
    for month, _count, values in monthly(store.cursor(), q):
        y, m = map(int, month.split("-"))
        last = (date(y + m // 12, m % 12 + 1, 1) - date.resolution)
        per = compute_metrics(projections, prefix, date(y, m, 1), last, as_of, calendar=cal)
        assert {k: (v.numerator, v.denominator) for k, v in values.items()} == \
            {k: (v.numerator, v.denominator) for k, v in per.items()}


def test_replaying_changes_changes_nothing(store: ReadModel) -> None:
    changes = as_changes(_flat([[c, *e] for c, e in generate(80, seed=5)]))
    store.apply_changes(changes, "1-x")
    before = snapshot(store)
    store.apply_changes(changes, "1-x")
    store.apply_changes(changes[10:40], "2-x")
    assert snapshot(store) == before
    assert store.seq() == "2-x"


def test_late_and_out_of_order_events_reproject(tmp_path) -> None:  # type: ignore[no-untyped-def]
    groups = [[c, *e] for c, e in generate(50, seed=9)]
    docs = _flat(groups)
    one = ReadModel(tmp_path / "one.duckdb", party_key=b"k")
    one.apply_changes(as_changes(docs), "1-x")
    # the same documents reversed (events before their case) in small batches
    shuffled = list(reversed(docs))
    random.Random(1).shuffle(shuffled[: len(shuffled) // 2])
    many = ReadModel(tmp_path / "many.duckdb", party_key=b"k")
    for i in range(0, len(shuffled), 23):
        many.apply_changes(as_changes(shuffled[i:i + 23], i), f"{i}-x")
    assert snapshot(many)["cases"] == snapshot(one)["cases"]
    assert snapshot(many) == snapshot(one)


def test_a_late_event_changes_the_case(store: ReadModel) -> None:
    case = make_case("2026-03-02T09:00:00+08:00")
    store.apply_changes(as_changes([case]), "1-x")
    status = lambda: store.cursor().execute("SELECT status FROM cases").fetchone()[0]  # noqa: E731
    assert status() == "reported"
    closed = ev(case, "closed", "2026-03-20T10:00:00+08:00")
    accepted = ev(case, "accepted", "2026-03-03T10:00:00+08:00")
    store.apply_changes(as_changes([closed]), "2-x")   # arrives before the acceptance
    store.apply_changes(as_changes([accepted]), "3-x")
    assert status() == "closed"
    assert store.cursor().execute("SELECT anomalies, accept_on_time FROM cases").fetchone() == (0, True)
    # a deleted event stops counting
    store.apply_changes(as_changes([{"_id": closed["_id"], "_rev": "2-b", "_deleted": True}]), "4-x")
    assert status() == "accepted"
    # a deleted case disappears
    store.apply_changes(as_changes([{"_id": case["_id"], "_rev": "2-b", "_deleted": True}]), "5-x")
    assert store.cursor().execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_unprojectable_case_is_skipped_not_fatal(store: ReadModel) -> None:
    bad = {"_id": "case:00000000-0000-4000-8000-000000000001", "type": "case", "area_code": T}
    result = store.apply_changes(as_changes([bad, make_case()]), "1-x")
    assert result.skipped == 1 and result.cases == 1


def test_an_empty_read_model_counts_zero_not_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a fresh install's dashboard asked for totals before any case arrived."""
    empty = ReadModel(tmp_path / "empty.duckdb")
    q = StatsQuery(prefix="339901", start=date(2026, 1, 1), end=date(2026, 12, 31),
                   as_of=date(2026, 12, 31), scope=("339901",))
    count, values = totals(empty.cursor(), q)
    assert count == 0
    assert all(v.denominator == 0 for v in values.values())


def test_the_dashboards_aggregates_are_recomputed_with_each_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ReadModel(tmp_path / "rm.duckdb")
    [first, second] = generate(2, seed=5)
    store.apply_changes(as_changes([first[0], *first[1]]), "1-x")
    q = StatsQuery("339901", date(2020, 1, 1), date(2030, 12, 31), date(2026, 7, 1), ("339901",))
    cur = store.cursor()
    count, _ = totals(cur, q, store)
    bad = ("sql", "SELECT * FROM no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        store.aggregate(bad, cur)
    store.apply_changes(as_changes([second[0], *second[1]], 100), "2-x")
    # ready before anyone asks, and right: the batch's case is counted; an aggregate that
    # fails is left to fail when asked, never failing the batch
    asked = [spec for spec in store._hot if spec != bad]
    assert asked and all(store.prepared(spec) for spec in asked) and not store.prepared(bad)
    assert totals(cur, q, store)[0] == totals(cur, q)[0] == count + 1
    store.close()
