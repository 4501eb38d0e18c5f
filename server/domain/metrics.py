"""Statistics over projected cases, each defined once as predicates over a flat row.

``case_row(projection, as_of)`` flattens a projection into one dict of scalars (the row
the DuckDB read model will store). A metric is a numerator and denominator *predicate*
over such rows (or a mean of a column over a predicate), written in a tiny expression
language that evaluates in Python **and** renders as SQL, so the read model runs the very
same definitions (``metric_sql``) instead of a second, drifting copy.

Cohort: a metric for area prefix P and period [start, end] covers the cases whose
``area_code`` starts with P and that were *registered* (China date of ``created_at``) in
the period, evaluated as of ``as_of`` (default: the end of the period). See METRICS.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from grid.codes import area_at, county_of
from server.domain.projection import CaseProjection
from server.domain.states import counted_resolution_level
from server.domain.workdays import WorkCalendar, china_date, default_calendar

BACKLOG_DAYS = 90  # 积案: still open this many calendar days after registration

Row = Mapping[str, Any]


# ---- the expression language -------------------------------------------------------

class Pred:
    """A boolean condition on a row; ``p(row)`` in Python, ``p.sql()`` in SQL.

    SQL NULL and Python None agree: a comparison with a missing value is false.
    """

    def __call__(self, row: Row) -> bool:
        raise NotImplementedError

    def sql(self) -> str:
        raise NotImplementedError

    def __and__(self, other: Pred) -> Pred:
        return And((self, other))

    def __or__(self, other: Pred) -> Pred:
        return Or((self, other))

    def __invert__(self) -> Pred:
        return Not(self)


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class IsTrue(Pred):
    col: str

    def __call__(self, row: Row) -> bool:
        return row.get(self.col) is True

    def sql(self) -> str:
        return f"({self.col} IS TRUE)"


@dataclass(frozen=True)
class In(Pred):
    col: str
    values: tuple[Any, ...]

    def __call__(self, row: Row) -> bool:
        return row.get(self.col) is not None and row.get(self.col) in self.values

    def sql(self) -> str:
        return f"({self.col} IN ({', '.join(_lit(v) for v in self.values)}))"


@dataclass(frozen=True)
class And(Pred):
    parts: tuple[Pred, ...]

    def __call__(self, row: Row) -> bool:
        return all(p(row) for p in self.parts)

    def sql(self) -> str:
        return "(" + " AND ".join(p.sql() for p in self.parts) + ")"


@dataclass(frozen=True)
class Or(Pred):
    parts: tuple[Pred, ...]

    def __call__(self, row: Row) -> bool:
        return any(p(row) for p in self.parts)

    def sql(self) -> str:
        return "(" + " OR ".join(p.sql() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not(Pred):
    part: Pred

    def __call__(self, row: Row) -> bool:
        return not self.part(row)

    def sql(self) -> str:
        return f"(NOT COALESCE({self.part.sql()}, FALSE))"


@dataclass(frozen=True)
class All(Pred):
    def __call__(self, row: Row) -> bool:
        return True

    def sql(self) -> str:
        return "TRUE"


# ---- the flat row -------------------------------------------------------------------

def case_row(projection: CaseProjection, as_of: datetime | date | None = None, *,
             calendar: WorkCalendar | None = None,
             backlog_days: int = BACKLOG_DAYS) -> dict[str, Any]:
    """One flat row (scalars only: str, int, bool, date, None) describing a case at ``as_of``.

    Time-dependent columns (``*_overdue``, ``is_backlog``) need ``as_of``; default: now.
    Dates are China dates. Column meanings are in METRICS.md.
    """
    calendar = calendar or default_calendar()
    if as_of is None:
        as_of = datetime.now().astimezone()
    today = china_date(as_of) if isinstance(as_of, datetime) else as_of
    p = projection
    code = p.area_code
    created = china_date(p.created_at)
    closed = china_date(p.closed_at) if p.closed_at else None
    accept = p.deadline("accept")
    close = p.deadline("close")
    is_closed = p.status == "closed"
    is_open = p.status not in ("closed", "declined")
    return {
        "case_id": p.case_id,
        "area_code": code,
        "county_code": county_of(code),
        "township_code": area_at(code, "township"),
        "village_code": area_at(code, "village"),
        "grid_code": code if len(code) == 15 else None,
        "channel": p.channel,
        "category": p.category,
        "policy": p.policy,
        "legal_route": p.legal_route,
        "status": p.status,
        "level": p.level,
        "resolution_level": counted_resolution_level(p.resolution_level, p.highest_level),
        "evaluation": p.evaluation,
        "created_date": created,
        "accepted_date": china_date(p.accepted_at) if p.accepted_at else None,
        "closed_date": closed,
        "is_open": is_open,
        "is_accepted": p.accepted_at is not None,
        "is_declined": p.status == "declined",
        "is_closed": is_closed,
        "is_resolved": p.resolution_level is not None,
        "is_evaluated": p.evaluation is not None,
        "is_repeat": p.repeat_of is not None,
        "is_paused": p.paused,
        "accept_due_date": accept.due_date if accept else None,
        "accept_decided": bool(accept and accept.met_at is not None),
        "accept_on_time": accept.on_time if accept else None,
        "accept_overdue": bool(accept and accept.is_overdue(today)),
        "close_due_date": close.due_date if close else None,
        "close_on_time": close.on_time if close and is_closed else None,
        "close_overdue": bool(close and is_open and close.is_overdue(today)),
        "duration_days": (closed - created).days if closed else None,
        "duration_working_days": calendar.working_days_between(created, closed)
        if closed else None,
        "is_backlog": is_open and p.accepted_at is not None
        and (today - created).days > backlog_days,
        "escalations": p.escalations,
        "pending_units": len(p.pending_units),
        "anomalies": len(p.anomalies),
    }


# ---- the metrics -------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """A rate (numerator/denominator), a mean of ``column``, or a count.

    ``numerator`` is evaluated only on rows that satisfy ``denominator``.
    """

    key: str
    label_zh: str
    label_en: str
    kind: str  # "rate" | "mean" | "count"
    denominator: Pred
    numerator: Pred | None = None
    column: str | None = None
    formula: str = ""


@dataclass(frozen=True)
class MetricValue:
    key: str
    value: float | int | None  # None when the denominator is empty
    numerator: float | int
    denominator: int


CLOSED = IsTrue("is_closed")
RESOLVED = IsTrue("is_resolved")

METRICS: tuple[Metric, ...] = (
    Metric("timely_acceptance", "及时受理率", "on-time acceptance rate", "rate",
           denominator=IsTrue("accept_decided") | IsTrue("accept_overdue"),
           numerator=IsTrue("accept_on_time"),
           formula="accept decided on time / (accept decided + undecided past due)"),
    Metric("on_time_closure", "按期办结率", "on-time closure rate", "rate",
           denominator=CLOSED | IsTrue("close_overdue"),
           numerator=IsTrue("close_on_time"),
           formula="closed on time / (closed + open past the closure deadline)"),
    Metric("avg_duration_days", "平均办理时长(自然日)", "mean handling time (calendar days)",
           "mean", denominator=CLOSED, column="duration_days",
           formula="mean(closed date − registration date) over closed cases"),
    Metric("avg_duration_working_days", "平均办理时长(工作日)",
           "mean handling time (working days)", "mean", denominator=CLOSED,
           column="duration_working_days",
           formula="mean(working days in (registration date, closed date]) over closed cases"),
    Metric("satisfaction", "满意率", "satisfaction rate", "rate",
           denominator=IsTrue("is_evaluated"),
           numerator=In("evaluation", ("satisfied", "basically_satisfied")),
           formula="(满意 + 基本满意) / evaluated"),
    Metric("evaluation_rate", "参评率", "evaluation rate", "rate",
           denominator=CLOSED, numerator=IsTrue("is_evaluated"),
           formula="closed and evaluated / closed"),
    Metric("repeat_share", "重复访占比", "share of repeat petitions", "rate",
           denominator=All(), numerator=IsTrue("is_repeat"),
           formula="cases with repeat_of / all cases"),
    Metric("resolution_rate", "化解率", "resolution rate", "rate",
           denominator=IsTrue("is_accepted"), numerator=RESOLVED,
           formula="accepted and resolved / accepted"),
    Metric("backlog", "积案数", "backlog (long-unresolved cases)", "count",
           denominator=IsTrue("is_backlog"),
           formula=f"accepted, not closed, registered > {BACKLOG_DAYS} days before as_of"),
    Metric("stays_in_village", "小事不出村", "resolved within the village", "rate",
           denominator=RESOLVED, numerator=In("resolution_level", ("grid", "village")),
           formula="resolved at grid or village / resolved"),
    Metric("stays_in_township", "大事不出镇", "resolved within the township", "rate",
           denominator=RESOLVED,
           numerator=In("resolution_level", ("grid", "village", "township")),
           formula="resolved at grid, village or township / resolved"),
    Metric("stays_in_county", "矛盾不上交", "resolved within the county", "rate",
           denominator=RESOLVED,
           numerator=In("resolution_level", ("grid", "village", "township", "county")),
           formula="resolved at county level or below / resolved"),
)
METRICS_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}


def compute(metric: Metric, rows: Iterable[Row]) -> MetricValue:
    """Evaluate one metric over rows (already filtered to the cohort)."""
    base = [r for r in rows if metric.denominator(r)]
    if metric.kind == "count":
        return MetricValue(metric.key, len(base), len(base), len(base))
    if metric.kind == "mean":
        values = [r[metric.column] for r in base if r.get(metric.column) is not None]  # type: ignore[index]
        total = sum(values)
        return MetricValue(metric.key, total / len(values) if values else None, total, len(values))
    assert metric.numerator is not None
    hits = sum(1 for r in base if metric.numerator(r))
    return MetricValue(metric.key, hits / len(base) if base else None, hits, len(base))


def cohort(area_prefix: str, start: date, end: date) -> Pred:
    """Cases under ``area_prefix`` registered between ``start`` and ``end`` (inclusive)."""
    return _Cohort(area_prefix, start, end)


@dataclass(frozen=True)
class _Cohort(Pred):
    prefix: str
    start: date
    end: date

    def __call__(self, row: Row) -> bool:
        return (str(row["area_code"]).startswith(self.prefix)
                and self.start <= row["created_date"] <= self.end)

    def sql(self) -> str:
        if not self.prefix.isdigit() and self.prefix:
            raise ValueError("area prefix must be digits / 区划编码前缀须为数字")
        return (f"(starts_with(area_code, '{self.prefix}') AND created_date BETWEEN "
                f"DATE '{self.start.isoformat()}' AND DATE '{self.end.isoformat()}')")


def compute_metrics(projections: Iterable[CaseProjection], area_prefix: str, start: date,
                    end: date, as_of: datetime | date | None = None, *,
                    metrics: Sequence[Metric] = METRICS,
                    calendar: WorkCalendar | None = None) -> dict[str, MetricValue]:
    """Every metric for the cases under ``area_prefix`` registered in ``[start, end]``.

    ``as_of`` (default: the day after ``end``, i.e. "at the end of the period") decides
    what is overdue. The projections are taken as they are: for a historical snapshot,
    project with ``project_case(..., until=as_of)`` first. Returns key → MetricValue
    (value None when nothing to divide by).
    """
    if as_of is None:
        as_of = end + timedelta(days=1)
    where = cohort(area_prefix, start, end)
    rows = [row for p in projections
            if (row := case_row(p, as_of, calendar=calendar)) and where(row)]
    return {m.key: compute(m, rows) for m in metrics}


def metric_sql(metric: Metric, table: str = "cases", where: Pred | None = None) -> str:
    """The SQL (DuckDB) computing ``metric`` over ``table`` of ``case_row`` rows.

    Returns one row ``(value, numerator, denominator)``, as :func:`compute` does.
    """
    den = metric.denominator.sql()
    if where is not None:
        den = f"({den} AND {where.sql()})"
    if metric.kind == "count":
        return (f"SELECT COUNT(*) FILTER (WHERE {den}) AS value, COUNT(*) FILTER (WHERE {den}) "
                f"AS numerator, COUNT(*) FILTER (WHERE {den}) AS denominator FROM {table}")
    if metric.kind == "mean":
        col = metric.column
        return (f"SELECT AVG({col}) FILTER (WHERE {den}) AS value, "
                f"COALESCE(SUM({col}) FILTER (WHERE {den}), 0) AS numerator, "
                f"COUNT({col}) FILTER (WHERE {den}) AS denominator FROM {table}")
    assert metric.numerator is not None
    num = f"({den} AND {metric.numerator.sql()})"
    return (f"SELECT COUNT(*) FILTER (WHERE {num}) / NULLIF(COUNT(*) FILTER (WHERE {den}), 0)"
            f" AS value, COUNT(*) FILTER (WHERE {num}) AS numerator, "
            f"COUNT(*) FILTER (WHERE {den}) AS denominator FROM {table}")
