"""``GET /api/stats``: every metric of ``server.domain.metrics`` from the read model.

For an area prefix (default: the caller's own area; a prefix outside the caller's scope
is refused with 403) and a registration period, the figures with numerator and
denominator, the same per child area and per month. Read from DuckDB only: no request
scans case documents or asks CouchDB for a reduce view.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import RAISE

from schemas.api_stats import StatsArgsSchema, StatsSchema
from server.domain.workdays import china_date
from server.readmodel import service
from server.readmodel.queries import (
    StatsQuery,
    by_child_area,
    default_prefix,
    metric_list,
    monthly,
    totals,
    within_scope,
)

from ..auth import forbidden, require_user
from . import ApiBlueprint

blp = ApiBlueprint("stats", __name__, url_prefix="/api/stats",
                   description="统计指标（读模型）— statistics from the read model")


def today() -> date:
    return china_date(datetime.now().astimezone())


def resolve_area(user: Any, area: str | None) -> str:
    """The asked prefix if inside the caller's scope (else 403); default: their area."""
    if area is None:
        return default_prefix(user.area_codes)
    if not within_scope(area, user.area_codes):
        raise forbidden(f"区划 {area} 不在您的辖区内", f"area {area} is outside your area")
    return area


@blp.get("")
@blp.arguments(StatsArgsSchema, location="query", unknown=RAISE)
@blp.response(200, StatsSchema)
def get_stats(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Metrics for an area and period (cohort: cases registered in the period).

    Defaults: area = your own; period = 1 January of this year to today; ``as_of`` (what
    counts as overdue) = the day after ``to``, at most today. 403 for an area outside
    yours; 422 for bad parameters.
    """
    user = require_user()
    prefix = resolve_area(user, args.get("area"))
    now = today()
    end = args.get("to") or now
    start = args.get("from_") or date(end.year, 1, 1)
    if start > end:
        start = date(end.year, 1, 1) if date(end.year, 1, 1) <= end else end
    as_of = args.get("as_of") or min(end + timedelta(days=1), now)
    svc = service()
    store = svc.ready()
    cur = store.cursor()
    q = StatsQuery(prefix, start, end, as_of, tuple(user.area_codes))
    count, values = totals(cur, q, store)
    name = cur.execute("SELECT any_value(name) FROM areas WHERE code = ?", [prefix]).fetchone()
    body: dict[str, Any] = {
        "area_code": prefix, "name": name[0] if name else None, "from_": start, "to": end,
        "as_of": as_of, "cases": count, "metrics": metric_list(values),
        "by_area": [], "trend": [], "read_model": {"seq": store.seq()},
    }
    if args.get("breakdown", True):
        body["by_area"] = [{"area_code": code, "name": area_name, "cases": n,
                            "metrics": metric_list(v)}
                           for code, area_name, n, v in by_child_area(cur, q, store)]
    if args.get("trend", True):
        body["trend"] = [{"month": month, "cases": n, "metrics": metric_list(v)}
                         for month, n, v in monthly(cur, q, store)]
    return body
