"""Rows of the read model as the registers' endpoints answer them: the scope condition
in SQL, a risk row with its overdue state, area names — shared by the risk register, the
reminders and the work list (``server.api.risks``, ``reminders``, ``todo``, ``units``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.domain.projection import jsonable
from server.domain.reminders import parent_code
from sync.users import User

RISK_LIST_COLUMNS = ("risk_id", "area_code", "title", "category", "level", "screening_round",
                     "owner", "due", "lead_official", "status", "reviews", "reported_by",
                     "created_at", "case_id")


def cursor() -> Any:
    """A cursor on the statistics read model, caught up as its follow mode says."""
    from server import readmodel

    return readmodel.service().ready().cursor()


def scope_sql(user: User, area: str | None) -> tuple[str, list[Any]]:
    codes = [c for c in user.area_codes if c.isdigit()]
    if not codes:
        return "FALSE", []
    parts = ["(" + " OR ".join("starts_with(area_code, ?)" for _ in codes) + ")"]
    params: list[Any] = list(codes)
    if area:
        parts.append("starts_with(area_code, ?)")
        params.append(area)
    return " AND ".join(parts), params


def risk_row(row: dict[str, Any], as_of: date) -> dict[str, Any]:
    due = row["due"]
    open_ = row["status"] == "open"
    days_left = (due - as_of).days if open_ and due else None
    overdue = days_left is not None and days_left < 0
    area = row["area_code"]
    out = jsonable(row)
    out.update(overdue=overdue, days_left=days_left,
               grid_code=area if len(area) == 15 else None,
               escalate_to=parent_code(area) if overdue else None)
    return out


def area_names(cur: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = cur.execute("SELECT code, any_value(name) FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[])) "
                       "GROUP BY code", [sorted(codes)]).fetchall()
    return {code: name for code, name in rows}


def with_area_names(cur: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = area_names(cur, {i["area_code"] for i in items} | {i["grid_code"] for i in items if i["grid_code"]})
    for i in items:
        i["area_name"] = names.get(i["area_code"])
        i["grid_name"] = names.get(i["grid_code"]) if i["grid_code"] else None
    return items
