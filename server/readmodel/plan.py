"""One scan for many metrics: the aggregates every statistics query is made of.

Each distinct predicate of the metrics is evaluated once per row (as a boolean column of an
inner SELECT, ``f0``, ``f1`` …) and the outer SELECT only counts and sums flags. The
predicates are the metrics' own (``Pred.sql()``); a rate is numerator count / denominator
count, a mean SUM/COUNT of its column over the denominator — exactly
``server.domain.metrics.compute``'s arithmetic.

Every aggregate is additive (a count or a sum), so the same plan answers from case rows
(``render("rows")``) and from pre-aggregated cells that hold each aggregate per area and
day (``render("cells")``, ``server/readmodel/cells.py``), and two partial answers add up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.metrics import Metric, MetricValue

# Columns that ``store.cases_at`` computes for an as-of date (never stored).
AS_OF_COLUMNS = ("accept_overdue", "close_overdue", "is_backlog")
_AS_OF_RE = re.compile(r"\b(" + "|".join(AS_OF_COLUMNS) + r")\b")


@dataclass(frozen=True)
class Aggregate:
    """``op`` over the rows where ``flag`` holds: ``count`` (COUNT(*)), ``count_if``,
    ``sum`` (SUM(column)) or ``count_col`` (COUNT(column), the rows where it is not NULL)."""

    op: str
    flag: str | None = None
    column: str | None = None
    as_of: bool = False  # its predicate reads an as-of column: depends on the day asked about

    def rows_sql(self, extra: str | None = None) -> str:
        """The aggregate over case rows; ``extra``: a further condition (SQL) on the rows."""
        cond = " AND ".join(c for c in (self.flag, extra) if c)
        if self.op == "count":
            return f"COUNT(*) FILTER (WHERE {cond})" if cond else "COUNT(*)"
        if self.op == "count_if":
            return f"count_if({cond})"
        if self.op == "sum":
            return f"COALESCE(SUM({self.column}) FILTER (WHERE {cond}), 0)"
        return f"COUNT({self.column}) FILTER (WHERE {cond})"


class Plan:
    """The inner flags and the outer aggregates of a set of metrics (see the module doc)."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = tuple(metrics)
        self.flags: dict[str, str] = {}  # predicate SQL → flag column
        self.aggregates: list[Aggregate] = [Aggregate("count")]
        for m in self.metrics:
            den = self._flag(m.denominator.sql())
            if m.kind == "count":
                self._add("count_if", den)
            elif m.kind == "mean":
                self._add("sum", den, m.column)
                self._add("count_col", den, m.column)
            else:
                assert m.numerator is not None
                num = self._flag(f"({m.denominator.sql()} AND {m.numerator.sql()})")
                self._add("count_if", num)
                self._add("count_if", den)
        self.outer = ", ".join(a.rows_sql() for a in self.aggregates)
        self.columns = sorted({m.column for m in self.metrics if m.column})

    def _flag(self, sql: str) -> str:
        if sql not in self.flags:
            self.flags[sql] = f"f{len(self.flags)}"
        return self.flags[sql]

    def _add(self, op: str, flag: str, column: str | None = None) -> None:
        predicate = next(sql for sql, name in self.flags.items() if name == flag)
        self.aggregates.append(Aggregate(op, flag, column, bool(_AS_OF_RE.search(predicate))))

    def inner(self) -> str:
        flags = [f"COALESCE({sql}, FALSE) AS {name}" for sql, name in self.flags.items()]
        return ", ".join(flags + self.columns)

    def decode(self, row: Sequence[Any]) -> tuple[int, dict[str, MetricValue]]:
        out: dict[str, MetricValue] = {}
        i = 1
        # SUM over no rows is NULL: an empty area or period counts zero, not an error.
        row = [0 if v is None else v for v in row]
        for m in self.metrics:
            if m.kind == "count":
                n = int(row[i])
                out[m.key] = MetricValue(m.key, n, n, n)
                i += 1
                continue
            num, den = row[i], int(row[i + 1])
            i += 2
            if m.kind == "mean":
                num = int(num) if float(num).is_integer() else float(num)
            else:
                num = int(num)
            out[m.key] = MetricValue(m.key, num / den if den else None, num, den)
        return int(row[0]), out


_PLANS: dict[tuple[Metric, ...], Plan] = {}


def plan_for(metrics: Sequence[Metric]) -> Plan:
    """The (cached) plan of ``metrics``."""
    key = tuple(metrics)
    if key not in _PLANS:
        _PLANS[key] = Plan(key)
    return _PLANS[key]
