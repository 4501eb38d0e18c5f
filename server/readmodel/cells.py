"""Pre-aggregated cells: every statistics aggregate per area (down to the village) and day.

Why: the dashboard's county-wide figures scanned every case row of the period and
evaluated each metric predicate on it, 120–370 ms at a million cases (issue 16); the
cells hold the same sums for ~30 thousand (village, day) pairs, and a query adds up those.

    case_cells(area_code, created_date, a0 … aN)
        ``area_code``: the case's area code cut to the village (12 digits; shorter codes
        as they are), so a prefix of up to 12 digits selects cells exactly as it selects
        cases. ``a<i>``: aggregate ``i`` of the plan of ``METRICS`` (``plan.Plan``) over
        the cases of the cell.
    case_cells_kind(area_code, created_date, channel, category, a0 … aN)
        the same per township (9 digits), channel and category: the 月报's breakdowns.
    live_cases(<the columns of cases>)
        the cases whose as-of columns (overdue, backlog) can be TRUE on some day: open
        ones with a running deadline or accepted and open (``store.LIVE_SQL``).

An aggregate whose predicate reads an as-of column counts only *settled* cases (not
live: their as-of columns are FALSE on every day); for the live ones it is computed when
asked, from ``live_cases`` with the day asked about. Every other aggregate counts every
case. So a statistic = the cells' sums + the live cases' as-of aggregates, equal to the
scan of ``cases_at(as_of)`` (``tests/server/readmodel/test_cells.py``). Queries the cells cannot
answer (a grid-level area or scope, a metric set other than ``METRICS``, a breakdown by
channel or category) scan the case rows as before.

Kept up to date in the same transaction as the case rows: a batch appends the difference
its re-projected cases make (old rows subtracted, new rows added), and the appended rows
are folded in (:func:`compact`) once they reach a few thousand. Built from ``cases`` when
the file has none yet or was built for other metrics (the layout's signature is in
``meta``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from server.domain.metrics import METRICS

from .plan import AS_OF_COLUMNS, Plan, plan_for


@dataclass(frozen=True)
class Layout:
    """A cell table: areas cut to ``length`` digits, per day and per value of ``columns``."""

    table: str
    length: int
    columns: tuple[str, ...] = ()


LAYOUTS = (Layout("case_cells", 12), Layout("case_cells_kind", 9, ("channel", "category")))
CELL_LENGTH = LAYOUTS[0].length  # the finest area the cells answer for

# A case whose as-of columns can be TRUE for some day (see store.cases_at): its overdue
# and backlog flags are computed when asked. Every other case has them FALSE on any day.
LIVE_SQL = ("(COALESCE(accept_open, FALSE) OR COALESCE(close_open AND is_open, FALSE) "
            "OR COALESCE(is_open AND is_accepted, FALSE))")


def plan() -> Plan:
    """The plan the cells are built for."""
    return plan_for(METRICS)


def signature() -> str:
    """Changes when the metrics (or the live rule) change: the cells are then rebuilt."""
    text = "\n".join([LIVE_SQL, *map(repr, LAYOUTS), *plan().flags, *map(repr, plan().aggregates)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ddl() -> tuple[str, ...]:
    columns = ", ".join(f"a{i} BIGINT" for i in range(len(plan().aggregates)))
    return (*(f"CREATE TABLE IF NOT EXISTS {lay.table} (area_code VARCHAR, created_date DATE, "
              + "".join(f"{c} VARCHAR, " for c in lay.columns) + f"{columns})" for lay in LAYOUTS),
            "CREATE TABLE IF NOT EXISTS live_cases AS SELECT * FROM cases LIMIT 0",
            "CREATE INDEX IF NOT EXISTS live_cases_case_id ON live_cases (case_id)")


def _aggregate_sql(layout: Layout, source: str, sign: int = 1) -> str:
    """Cells of ``layout`` for the case rows of ``source`` (a table or subquery)."""
    p = plan()
    settled = "NOT _live"
    aggs = ", ".join(f"CAST({sign} * ({a.rows_sql(settled if a.as_of else None)}) AS BIGINT) AS a{i}"
                     for i, a in enumerate(p.aggregates))
    no_as_of = ", ".join(f"FALSE AS {c}" for c in AS_OF_COLUMNS)
    dims = "".join(f"{c}, " for c in layout.columns)
    return (f"SELECT left(area_code, {layout.length}) AS area_code, created_date, {dims}{aggs} FROM "
            f"(SELECT area_code, created_date, {dims}_live, {p.inner()} FROM "
            f"(SELECT *, {no_as_of}, {LIVE_SQL} AS _live FROM {source})) GROUP BY ALL")


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute the cells and the live cases from ``cases`` (inside the caller's transaction)."""
    for layout in LAYOUTS:
        cur.execute(f"DROP TABLE IF EXISTS {layout.table}")
    cur.execute("DROP TABLE IF EXISTS live_cases")
    for stmt in ddl():
        cur.execute(stmt)
    for layout in LAYOUTS:
        cur.execute(f"INSERT INTO {layout.table} {_aggregate_sql(layout, 'cases')}")
    compact(cur)  # the aggregate may have left empty cells of cases that were deleted
    cur.execute(f"INSERT INTO live_cases SELECT * FROM cases WHERE {LIVE_SQL}")


def apply(cur: duckdb.DuckDBPyConnection, ids: Sequence[str], old: str, new: str) -> int:
    """A batch re-projected the cases ``ids``: their stored rows were ``old`` and are now
    ``new`` (tables shaped like ``cases``). Appends to every layout the difference (the old
    rows subtracted, the new ones added) and updates ``live_cases``; returns the cell rows
    appended.

    Appending, not merging into the existing cells: a query sums the rows of a cell anyway,
    and a merge cost three statements per layout per batch (~60 ms at a million cases).
    :func:`compact` folds the appended rows in now and then. The difference is aggregated
    once, at the finest grain of every layout: that statement is the costly one to plan."""
    finest = Layout("_fine", max(lay.length for lay in LAYOUTS),
                    tuple(dict.fromkeys(c for lay in LAYOUTS for c in lay.columns)))
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _cell_delta AS {_aggregate_sql(finest, old, sign=-1)} "
                f"UNION ALL {_aggregate_sql(finest, new)}")
    cur.execute("DELETE FROM live_cases WHERE case_id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])
    cur.execute(f"INSERT INTO live_cases SELECT * FROM {new} WHERE {LIVE_SQL}")
    n = len(plan().aggregates)
    sums = ", ".join(f"CAST(SUM(a{i}) AS BIGINT) AS a{i}" for i in range(n))
    changed = " OR ".join(f"a{i} <> 0" for i in range(n))  # a replayed change adds nothing
    appended = 0
    for layout in LAYOUTS:
        dims = "".join(f"{c}, " for c in layout.columns)
        found = cur.execute(
            f"INSERT INTO {layout.table} SELECT * FROM (SELECT left(area_code, {layout.length}) AS "
            f"area_code, created_date, {dims}{sums} FROM _cell_delta GROUP BY ALL) WHERE {changed}"
        ).fetchone()
        appended += int(found[0]) if found else 0
    cur.execute("DROP TABLE _cell_delta")
    return appended


def compact(cur: duckdb.DuckDBPyConnection) -> None:
    """Fold every layout's appended rows into one row per cell, dropping empty cells."""
    n = len(plan().aggregates)
    sums = ", ".join(f"CAST(SUM(a{i}) AS BIGINT) AS a{i}" for i in range(n))
    for layout in LAYOUTS:
        keys = ", ".join(("area_code", "created_date", *layout.columns))
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _cell_compact AS SELECT {keys}, {sums} FROM "
                    f"{layout.table} GROUP BY ALL HAVING SUM(a0) <> 0")
        cur.execute(f"DELETE FROM {layout.table}")
        cur.execute(f"INSERT INTO {layout.table} SELECT * FROM _cell_compact")
        cur.execute("DROP TABLE _cell_compact")


def layout_for(codes: Sequence[str], metrics: Sequence[Any], child: int | None = None,
               column: str | None = None) -> Layout | None:
    """The cells that answer for these area codes (prefix and scope), metrics, child level
    and breakdown column; None: none do, scan the case rows."""
    if tuple(metrics) != METRICS:
        return None
    for layout in LAYOUTS:
        if ((column is None or column in layout.columns)
                and all(len(c) <= layout.length for c in codes)
                and (child is None or child <= layout.length)):
            return layout
    return None


# An aggregate as plain data, so that the process owning the read model can compute it for
# a reader in another process and compute it again after each batch (``ReadModel.aggregate``):
# ("sql", select) or ("cells", table, where, key_cells, key_rows, live_source).
Aggregate = tuple[str, ...]


def aggregate(cur: duckdb.DuckDBPyConnection, spec: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of the aggregate ``spec`` describes (see ``Aggregate``)."""
    kind, *args = spec
    if kind == "sql" and len(args) == 1:
        return cur.execute(str(args[0])).fetchall()
    if kind == "cells" and len(args) == 5:
        table, where, key_cells, key_rows, live_source = args
        if table not in {layout.table for layout in LAYOUTS}:
            raise ValueError(f"no cell table {table!r}")
        return grouped(cur, table, where, key_cells, key_rows, live_source)
    raise ValueError(f"not an aggregate: {kind!r}")


def grouped(cur: duckdb.DuckDBPyConnection, table: str, where: str, key_cells: str | None,
            key_rows: str | None, live_source: str) -> list[tuple[Any, ...]]:
    """(key?, a0 … aN) per group, ordered by key: the sums of the cells of ``table`` plus the
    as-of aggregates of the live cases (``live_source``: ``cases_at(as_of, 'live_cases')``).

    ``where`` must select by ``area_code`` prefixes no longer than the layout's and by
    ``created_date`` only; ``key_cells`` / ``key_rows``: the group key over cells / rows.
    """
    p = plan()
    n = len(p.aggregates)
    sums = ", ".join(f"SUM(a{i})" for i in range(n))
    k = f"{key_cells} AS k, " if key_cells else ""
    group = " GROUP BY k ORDER BY k" if key_cells else ""
    rows = cur.execute(f"SELECT {k}{sums} FROM {table} WHERE {where}{group}").fetchall()
    as_of = [i for i, a in enumerate(p.aggregates) if a.as_of]
    if not as_of:
        return rows
    kr = f"{key_rows} AS k, " if key_rows else ""
    live_aggs = ", ".join(p.aggregates[i].rows_sql() for i in as_of)
    live = cur.execute(f"SELECT {'k, ' if key_rows else ''}{live_aggs} FROM (SELECT {kr}{p.inner()} "
                       f"FROM {live_source} WHERE {where}){' GROUP BY k' if key_rows else ''}").fetchall()
    offset = 1 if key_cells else 0
    by_key = {(r[0] if key_rows else None): r[1 if key_rows else 0:] for r in live}
    out = []
    for row in rows:
        values = [0 if v is None else v for v in row]
        extra = by_key.get(row[0] if key_cells else None)
        if extra:
            for j, i in enumerate(as_of):
                values[offset + i] = (values[offset + i] or 0) + (extra[j] or 0)
        out.append(tuple(values))
    return out
