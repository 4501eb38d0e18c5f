"""What a 月报 or 季报 says, as plain data (xlsx here, PDF later from the same dict).

Every figure comes from the statistics read model through the same queries as
``/api/stats`` (``server.readmodel.queries``: the metrics of ``server.domain.metrics``
rendered as SQL), for the cohort registered in the period, as of the day after it (at
most today) — so a report and ``/api/stats`` for the same area and dates agree to the
last digit, which the tests check.

Two lists are not cohort figures: 积案 are the cases in the area that are backlog *as of*
the report day, whenever registered (a month's own registrations cannot be 90 days old),
and 重大不稳定问题 are the open risks of level ``major`` in the area.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from schemas import vocab
from server.domain.metrics import MetricValue
from server.readmodel.queries import (
    InScope,
    StatsQuery,
    by_child_area,
    by_column,
    metric_list,
    monthly,
    totals,
)
from server.readmodel.store import cases_at

from .periods import Period
from .targets import DEFAULT_TARGETS, Target

TITLES = {"monthly": ("矛盾纠纷调处化解工作月报", "monthly report on dispute mediation"),
          "quarterly": ("矛盾纠纷调处化解工作季报", "quarterly report on dispute mediation")}
LIST_MAX = 2000


def report_as_of(period: Period, today: date) -> date:
    """The day that decides what is overdue: the day after the period, at most today
    (as ``/api/stats`` defaults)."""
    return min(period.end + timedelta(days=1), today)


def _label(table: dict[str, tuple[str, str]], code: Any) -> tuple[str, str]:
    return table.get(code, (str(code), str(code)))


def _target_rows(targets: Sequence[Target], values: dict[str, MetricValue],
                 channels: dict[str, dict[str, MetricValue]]) -> list[dict[str, Any]]:
    rows = []
    for t in targets:
        source = channels.get(t.channel, {}) if t.channel else values
        v = source.get(t.metric)
        zh, en = t.labels()
        rows.append({"key": t.key, "label_zh": zh, "label_en": en, "metric": t.metric, "channel": t.channel,
                     "op": t.op, "target": t.value, "target_text": t.text(),
                     "value": v.value if v else None, "numerator": v.numerator if v else 0,
                     "denominator": v.denominator if v else 0, "met": t.met(v.value if v else None)})
    return rows


def _backlog(cur: Any, prefix: str, scope: Sequence[str], as_of: date) -> list[dict[str, Any]]:
    cols = ("tracking_code", "area_code", "title", "category", "channel", "status", "level",
            "created_date", "accepted_date", "first_handler", "lead_official")
    sql = (f"SELECT {', '.join('c.' + c for c in cols)}, a.name FROM {cases_at(as_of)} "
           "LEFT JOIN (SELECT code, any_value(name) AS name FROM areas GROUP BY code) a ON a.code = c.area_code "
           f"WHERE {InScope(tuple(scope)).sql()} AND starts_with(c.area_code, ?) AND c.is_backlog "
           f"ORDER BY c.created_date, c.case_id LIMIT {LIST_MAX}")
    out = []
    for row in cur.execute(sql, [prefix]).fetchall():
        item = dict(zip((*cols, "area_name"), row, strict=True))
        item["days_open"] = (as_of - item["created_date"]).days
        out.append(item)
    return out


def _major_risks(cur: Any, prefix: str, scope: Sequence[str], as_of: date) -> list[dict[str, Any]]:
    cols = ("title", "area_code", "category", "level", "owner", "due", "lead_official", "status", "case_id")
    sql = (f"SELECT {', '.join(cols)} FROM risks WHERE {InScope(tuple(scope)).sql()} "
           "AND starts_with(area_code, ?) AND level = 'major' AND status = 'open' "
           f"ORDER BY (due < ?) DESC, due, risk_id LIMIT {LIST_MAX}")
    out = []
    for row in cur.execute(sql, [prefix, as_of]).fetchall():
        item = dict(zip(cols, row, strict=True))
        item["overdue"] = bool(item["due"] and item["due"] < as_of)
        out.append(item)
    return out


def report_data(cur: Any, store: Any, *, prefix: str, period: Period, scope: Sequence[str],
                today: date, targets: Sequence[Target] = DEFAULT_TARGETS) -> dict[str, Any]:
    """The report of ``period`` for the area ``prefix`` (which the caller has checked is
    inside ``scope``): figures, targets, breakdowns, trend and the two lists."""
    as_of = report_as_of(period, today)
    q = StatsQuery(prefix, period.start, period.end, as_of, tuple(scope))
    count, values = totals(cur, q, store)
    channels = {code: v for code, _, v in by_column(cur, q, "channel", store)}
    name = cur.execute("SELECT any_value(name) FROM areas WHERE code = ?", [prefix]).fetchone()
    trend_q = StatsQuery(prefix, period.trend_start(), period.end, as_of, tuple(scope))
    title_zh, title_en = TITLES[period.kind]
    return {
        "kind": period.kind, "period": period.code, "period_zh": period.label_zh,
        "title_zh": title_zh, "title_en": title_en,
        "area_code": prefix, "area_name": name[0] if name else None,
        "from": period.start, "to": period.end, "as_of": as_of,
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cases": count, "metrics": metric_list(values),
        "targets": _target_rows(targets, values, channels),
        "by_category": [{"code": code, "label_zh": _label(vocab.CATEGORIES, code)[0],
                         "label_en": _label(vocab.CATEGORIES, code)[1], "cases": n, "metrics": metric_list(v)}
                        for code, n, v in by_column(cur, q, "category", store)],
        "by_channel": [{"code": code, "label_zh": _label(vocab.CHANNELS, code)[0],
                        "label_en": _label(vocab.CHANNELS, code)[1], "cases": n, "metrics": metric_list(v)}
                       for code, n, v in by_column(cur, q, "channel", store)],
        "by_area": [{"area_code": code, "name": area_name, "cases": n, "metrics": metric_list(v)}
                    for code, area_name, n, v in by_child_area(cur, q, store)],
        "trend": [{"month": m, "cases": n, "metrics": metric_list(v)} for m, n, v in monthly(cur, trend_q, store)],
        "backlog": _backlog(cur, prefix, scope, as_of),
        "major_risks": _major_risks(cur, prefix, scope, as_of),
    }
