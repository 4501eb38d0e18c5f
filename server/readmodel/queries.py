"""Reads from the read model: metrics, breakdowns, trend, the case list, export rows.

Every function takes the caller's *scope* (their area codes, ``sync.scope``'s rule for
``a:<code>`` keys: a case is visible when its area code starts with one of them) and
applies it in SQL; nothing here trusts a prefix the caller asked for on its own.

Metrics are the definitions of ``server.domain.metrics`` rendered by their own
``Pred.sql()``: :func:`metric_exprs` assembles exactly what ``metric_sql`` assembles, as
select-list expressions, so that all twelve metrics (and a GROUP BY) come from one scan.
Tests check it against ``metric_sql`` and ``compute_metrics``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from server.domain.metrics import METRICS, Metric, MetricValue, Pred, cohort
from server.domain.workdays import china_date

from . import cells
from .plan import plan_for
from .store import cases_at

LEVEL_LENGTHS = (6, 9, 12, 15)
DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class InScope(Pred):
    """The area code starts with one of ``codes`` (the caller's areas)."""

    codes: tuple[str, ...]

    def __call__(self, row: Any) -> bool:
        return any(str(row["area_code"]).startswith(c) for c in self.codes)

    def sql(self) -> str:
        if not self.codes:
            return "FALSE"
        for code in self.codes:
            if not code.isdigit():
                raise ValueError("area codes must be digits / 区划编码须为数字")
        return "(" + " OR ".join(f"starts_with(area_code, '{c}')" for c in self.codes) + ")"


def within_scope(prefix: str, codes: Sequence[str]) -> bool:
    """May a user holding ``codes`` ask about the subtree ``prefix``? (inside one of them)"""
    return any(prefix.startswith(c) for c in codes)


def default_prefix(codes: Sequence[str]) -> str:
    """The caller's own area: their code, or the nearest area containing all their codes."""
    if not codes:
        return ""
    if len(codes) == 1:
        return codes[0]
    common = os.path.commonprefix(list(codes))
    return common[:max((n for n in LEVEL_LENGTHS if n <= len(common)), default=0)]


def metric_exprs(metric: Metric) -> tuple[str, str, str]:
    """(value, numerator, denominator) select expressions, as ``metric_sql`` renders them."""
    den = metric.denominator.sql()
    if metric.kind == "count":
        c = f"COUNT(*) FILTER (WHERE {den})"
        return c, c, c
    if metric.kind == "mean":
        col = metric.column
        return (f"AVG({col}) FILTER (WHERE {den})",
                f"COALESCE(SUM({col}) FILTER (WHERE {den}), 0)",
                f"COUNT({col}) FILTER (WHERE {den})")
    assert metric.numerator is not None
    num = f"({den} AND {metric.numerator.sql()})"
    return (f"COUNT(*) FILTER (WHERE {num}) / NULLIF(COUNT(*) FILTER (WHERE {den}), 0)",
            f"COUNT(*) FILTER (WHERE {num})", f"COUNT(*) FILTER (WHERE {den})")


@dataclass(frozen=True)
class StatsQuery:
    prefix: str
    start: date
    end: date
    as_of: date
    scope: tuple[str, ...]
    metrics: tuple[Metric, ...] = METRICS

    def where(self) -> str:
        return f"{cohort(self.prefix, self.start, self.end).sql()} AND {InScope(self.scope).sql()}"


def _grouped(cur: duckdb.DuckDBPyConnection, q: StatsQuery, key_sql: str | None,
             store: Any = None, key_cells: str | None = None, child: int | None = None,
             column: str | None = None) -> list[tuple[Any, int, dict[str, MetricValue]]]:
    """(key, cases, metrics) per group of ``key_sql`` (None: one group), from the
    pre-aggregated cells when they can answer (``key_cells``: the same key over cells;
    ``child`` / ``column``: the child level or column grouped by), else from a scan of
    the case rows."""
    plan = plan_for(q.metrics)
    layout = cells.layout_for((q.prefix, *q.scope), q.metrics, child, column)
    spec: cells.Aggregate
    if layout is not None and (key_cells or not key_sql):
        spec = ("cells", layout.table, q.where(), key_cells or "", key_sql or "", cases_at(q.as_of, "live_cases"))
    else:
        key = f"{key_sql} AS k, " if key_sql else ""
        group = " GROUP BY k ORDER BY k" if key_sql else ""
        spec = ("sql", f"SELECT {'k, ' if key_sql else ''}{plan.outer} FROM (SELECT {key}{plan.inner()} "
                       f"FROM {cases_at(q.as_of)} WHERE {q.where()}){group}")
    rows = store.aggregate(spec, cur) if store is not None else cells.aggregate(cur, spec)
    out = []
    for row in rows:
        if key_sql:
            count, values = plan.decode(row[1:])
            out.append((row[0], count, values))
        else:
            count, values = plan.decode(row)
            out.append((None, count, values))
    return out


def totals(cur: duckdb.DuckDBPyConnection, q: StatsQuery, store: Any = None
           ) -> tuple[int, dict[str, MetricValue]]:
    """Every metric of ``q.metrics`` for the cohort (one scan; cached per data version
    when ``store`` is given)."""
    _, count, values = _grouped(cur, q, None, store)[0]
    return count, values


def child_length(prefix: str) -> int | None:
    longer = [n for n in LEVEL_LENGTHS if n > len(prefix)]
    return longer[0] if longer else None


CHILD_KEY = {9: "COALESCE(township_code, area_code)", 12: "COALESCE(village_code, area_code)",
             15: "COALESCE(grid_code, area_code)"}


def by_child_area(cur: duckdb.DuckDBPyConnection, q: StatsQuery, store: Any = None
                  ) -> list[tuple[str, str | None, int, dict[str, MetricValue]]]:
    """(child code, name, cases, metrics) per child area of ``q.prefix``.

    Cases registered at a shorter code than the child level (e.g. at the township office
    when grouping by village) form a row whose code is their own area code.
    """
    n = child_length(q.prefix)
    if n is None:
        return []
    rows = _grouped(cur, q, CHILD_KEY[n], store, f"left(area_code, {n})", child=n)
    codes = [r[0] for r in rows]
    names = dict(cur.execute("SELECT code, any_value(name) FROM areas WHERE code IN "
                             "(SELECT unnest(?::VARCHAR[])) GROUP BY code", [codes]).fetchall()) if codes else {}
    return [(code, names.get(code), count, values) for code, count, values in rows]


def metric_list(values: dict[str, MetricValue]) -> list[dict[str, Any]]:
    """Every metric's value, numerator and denominator with its labels, in ``METRICS``
    order: the shape ``/api/stats`` and the reports share."""
    return [{"key": m.key, "label_zh": m.label_zh, "label_en": m.label_en, "kind": m.kind,
             "value": values[m.key].value, "numerator": values[m.key].numerator,
             "denominator": values[m.key].denominator} for m in METRICS]


GROUP_COLUMNS = ("category", "channel")


def by_column(cur: duckdb.DuckDBPyConnection, q: StatsQuery, column: str, store: Any = None
              ) -> list[tuple[Any, int, dict[str, MetricValue]]]:
    """(value, cases, metrics) per value of ``column`` (one of ``GROUP_COLUMNS``) among
    the cohort: the 月报's breakdowns by category and by channel."""
    if column not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {column!r}")
    return _grouped(cur, q, column, store, column, column=column)


MONTH_KEY = "date_trunc('month', created_date)"


def monthly(cur: duckdb.DuckDBPyConnection, q: StatsQuery, store: Any = None
            ) -> list[tuple[str, int, dict[str, MetricValue]]]:
    """(YYYY-MM, cases, metrics) for each month of the period that has cases."""
    return [(month.strftime("%Y-%m"), count, values)
            for month, count, values in _grouped(cur, q, MONTH_KEY, store, MONTH_KEY)]


# ---- the case list ---------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFilter:
    scope: tuple[str, ...]
    area: str | None = None
    status: tuple[str, ...] = ()
    level: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    overdue: bool | None = None
    due_soon: bool | None = None
    start: date | None = None
    end: date | None = None
    q: str | None = None
    today: date = field(default_factory=lambda: china_date(datetime.now().astimezone()))

    def source(self) -> str:
        """``cases_at(today)`` over the rows that can match: only a live case
        (``cells.LIVE_SQL``) can be overdue or due soon, so those filters read
        ``live_cases``, a fraction of ``cases``."""
        live = self.overdue is True or self.due_soon is True
        return cases_at(self.today, "live_cases" if live else "cases")

    def sql(self) -> tuple[str, list[Any]]:
        """WHERE clause over :meth:`source` and its parameters."""
        parts = [InScope(self.scope).sql()]
        params: list[Any] = []
        if self.area:
            parts.append("starts_with(area_code, ?)")
            params.append(self.area)
        for col, values in (("status", self.status), ("level", self.level),
                            ("channel", self.channel), ("category", self.category)):
            if values:
                parts.append(f"{col} IN (SELECT unnest(?::VARCHAR[]))")
                params.append(list(values))
        overdue = "(accept_overdue OR close_overdue)"
        if self.overdue is True:
            parts.append(overdue)
        elif self.overdue is False:
            parts.append(f"NOT {overdue}")
        soon = ("((accept_open AND accept_due_date BETWEEN ? AND ?) OR "
                "(close_open AND is_open AND close_due_date BETWEEN ? AND ?))")
        if self.due_soon is not None:
            parts.append(soon if self.due_soon else f"NOT COALESCE({soon}, FALSE)")
            horizon = self.today + timedelta(days=DUE_SOON_DAYS)
            params.extend([self.today, horizon, self.today, horizon])
        if self.start:
            parts.append("created_date >= ?")
            params.append(self.start)
        if self.end:
            parts.append("created_date <= ?")
            params.append(self.end)
        if self.q:
            like = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            parts.append("(title ILIKE ? ESCAPE '\\' OR description ILIKE ? ESCAPE '\\' "
                         "OR tracking_code ILIKE ? ESCAPE '\\')")
            params.extend([like, like, like])
        return " AND ".join(parts), params


LIST_COLUMNS = ("case_id", "tracking_code", "area_code", "title", "description", "channel",
                "category", "status", "level", "resolution_level", "evaluation", "created_at",
                "created_date", "accepted_date", "closed_date", "accept_due_date",
                "close_due_date", "accept_overdue", "close_overdue", "is_paused", "parties",
                "escalations", "anomalies")


def parse_position(position: Any) -> tuple[datetime, str]:
    """A list position ``[created_at ISO, case_id]`` (from a cursor); ValueError if not one."""
    if (not isinstance(position, list) or len(position) != 2
            or not all(isinstance(x, str) for x in position)):
        raise ValueError("bad cursor position")
    return datetime.fromisoformat(position[0]), position[1]


def list_cases(cur: duckdb.DuckDBPyConnection, f: CaseFilter, *, limit: int = 50,
               after: tuple[datetime, str] | None = None
               ) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Newest first (registration time, then id), keyset-paginated after ``after``;
    returns (rows, next position ``[created_at ISO, case_id]`` or None on the last page)."""
    where, params = f.sql()
    if after:
        at, case_id = after
        where += " AND (created_at < ? OR (created_at = ? AND case_id < ?))"
        params.extend([at, at, case_id])
    sql = (f"SELECT {', '.join(LIST_COLUMNS)} FROM {f.source()} WHERE {where} "
           f"ORDER BY created_at DESC, case_id DESC LIMIT {int(limit) + 1}")
    rows = [_list_row(r) for r in cur.execute(sql, params).fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = [rows[-1]["created_at"].isoformat(), rows[-1]["case_id"]] if more and rows else None
    return rows, nxt


# ---- export rows ----------------------------------------------------------------------

def iter_cases(cur: duckdb.DuckDBPyConnection, f: CaseFilter, *, batch: int = 5000
               ) -> Iterator[dict[str, Any]]:
    """Every case matching ``f`` (newest first), with area names, in batches."""
    where, params = f.sql()
    cols = LIST_COLUMNS + ("lon", "lat", "reported_by", "first_handler", "lead_official",
                           "duration_days", "duration_working_days", "is_repeat")
    sql = (f"SELECT {', '.join('c.' + x for x in cols)}, a.name FROM {f.source()} "
           f"LEFT JOIN (SELECT code, any_value(name) AS name FROM areas GROUP BY code) a "
           f"ON a.code = c.area_code WHERE {where} ORDER BY c.created_at DESC, c.case_id DESC")
    result = cur.execute(sql, params)
    while chunk := result.fetchmany(batch):
        for r in chunk:
            row = dict(zip(cols + ("area_name",), r, strict=True))
            row["parties"] = json.loads(row["parties"] or "[]")
            yield row


def iter_risks(cur: duckdb.DuckDBPyConnection, scope: Sequence[str], area: str | None = None
               ) -> Iterator[dict[str, Any]]:
    where = InScope(tuple(scope)).sql()
    params: list[Any] = []
    if area:
        where += " AND starts_with(area_code, ?)"
        params.append(area)
    cols = ("risk_id", "area_code", "title", "description", "category", "level",
            "screening_round", "owner", "due", "lead_official", "status", "reviews",
            "reported_by", "created_at", "case_id", "lon", "lat")
    result = cur.execute(f"SELECT {', '.join(cols)} FROM risks WHERE {where} "
                         "ORDER BY created_at DESC, risk_id DESC", params)
    while chunk := result.fetchmany(5000):
        for r in chunk:
            yield dict(zip(cols, r, strict=True))


def iter_areas(cur: duckdb.DuckDBPyConnection, scope: Sequence[str], area: str | None = None,
               level: str | None = "grid") -> Iterator[dict[str, Any]]:
    """Area documents visible under ``sync.scope`` for ``g:`` keys above grid level:
    an area inside one of the caller's areas, or an ancestor of one of them."""
    conds = []
    params: list[Any] = []
    for code in scope:
        conds.append("(starts_with(code, ?) OR starts_with(?, code))")
        params.extend([code, code])
    where = "(" + (" OR ".join(conds) or "FALSE") + ")"
    if area:
        where += " AND starts_with(code, ?)"
        params.append(area)
    if level:
        where += " AND level = ?"
        params.append(level)
    cols = ("code", "level", "name", "parent", "version", "geometry", "bbox")
    for r in cur.execute(f"SELECT {', '.join(cols)} FROM areas WHERE {where} ORDER BY code",
                         params).fetchall():
        row = dict(zip(cols, r, strict=True))
        row["geometry"] = json.loads(row["geometry"]) if row["geometry"] else None
        yield row


# ---- 我的待办: what needs the caller now ------------------------------------------------

# Groups of the work list (``/api/todo``): key → SQL condition over ``cases_at(today)``
# (``{level}``: the levels the caller's role handles). Labels live in ``schemas.vocab``.
TODO_CASE_GROUPS: dict[str, str] = {
    "to_accept": "status = 'reported' AND level IN (SELECT unnest({level}))",
    "sent_up": "is_open AND status <> 'reported' AND escalations > 0 AND level IN (SELECT unnest({level}))",
    "awaiting_feedback": "is_open AND pending_units > 0",
    "overdue": "(accept_overdue OR close_overdue)",
    "due_soon": ("NOT (accept_overdue OR close_overdue) AND "
                 "((accept_open AND accept_due_date BETWEEN ? AND ?) OR "
                 "(close_open AND is_open AND close_due_date BETWEEN ? AND ?))"),
    "anomalies": "anomalies > 0 AND is_open",
}
REPEAT_WINDOW_DAYS = 180


def todo_cases(cur: duckdb.DuckDBPyConnection, scope: Sequence[str], levels: Sequence[str],
               group: str, today: date, *, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """(count, first ``limit`` rows, most urgent first) of one work-list group."""
    cond = TODO_CASE_GROUPS[group].replace("{level}", "?::VARCHAR[]")
    params: list[Any] = []
    if "{level}" in TODO_CASE_GROUPS[group]:
        params.append(list(levels))
    if group == "due_soon":
        horizon = today + timedelta(days=DUE_SOON_DAYS)
        params.extend([today, horizon, today, horizon])
    where = f"{InScope(tuple(scope)).sql()} AND {cond}"
    # only a live case can be overdue or due soon (cells.LIVE_SQL)
    table = cases_at(today, "live_cases" if group in ("overdue", "due_soon") else "cases")
    count = cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0]
    due = "COALESCE(CASE WHEN status = 'reported' THEN accept_due_date ELSE close_due_date END, DATE '9999-12-31')"
    rows = cur.execute(f"SELECT {', '.join(LIST_COLUMNS)} FROM {table} WHERE {where} "
                       f"ORDER BY {due}, created_at LIMIT {int(limit)}", params).fetchall()
    return int(count), [_list_row(r) for r in rows]


def _list_row(r: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(LIST_COLUMNS, r, strict=True))
    row["parties"] = json.loads(row["parties"] or "[]")
    accept_late, close_late = row.pop("accept_overdue"), row.pop("close_overdue")
    row["overdue"] = bool(accept_late or close_late)
    return row


def repeat_candidates(cur: duckdb.DuckDBPyConnection, scope: Sequence[str], today: date, *,
                      limit: int = 20) -> list[dict[str, Any]]:
    """Open cases not marked as repeats that share a party (keyed hash of ID number, or
    name and phone: ``schemas.privacy``) and the category with an earlier case of the
    scope within 180 days: 重复访 suggestions, for cases however they arrived (API or sync)."""
    inscope = InScope(tuple(scope)).sql()
    # One row per (case, party key), joined on the key: a hash join, so the cost follows
    # the number of shared keys, not the square of the cases.
    sql = f"""
        WITH k AS (SELECT case_id, tracking_code, title, area_code, category, created_date,
                          created_at, status, is_open, is_repeat,
                          unnest(from_json(COALESCE(party_keys, '[]'), '["VARCHAR"]')) AS key
                   FROM cases WHERE {inscope})
        SELECT n.case_id, n.tracking_code, n.title, n.area_code, n.status, n.created_date,
               list(DISTINCT {{'case_id': o.case_id, 'tracking_code': o.tracking_code}}) AS earlier
        FROM k AS n JOIN k AS o
          ON o.key = n.key AND o.category = n.category AND o.case_id <> n.case_id
         AND o.created_at <= n.created_at  -- registered the same second: both are suggested
         AND o.created_date >= n.created_date - INTERVAL {REPEAT_WINDOW_DAYS} DAY
        WHERE n.is_open AND NOT n.is_repeat
        GROUP BY ALL ORDER BY n.created_date DESC, n.case_id LIMIT {int(limit)}"""
    cols = ("case_id", "tracking_code", "title", "area_code", "status", "created_date", "earlier")
    return [dict(zip(cols, r, strict=True)) for r in cur.execute(sql).fetchall()]
