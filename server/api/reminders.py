"""``/api/reminders``: 三单三函 — 临期提示 (due soon), 到期催办 (due today), 逾期问责 (overdue).

"认真落实'临期提示提醒、到期催办督办、逾期问效问责'等措施" (杞县信访局, 三单三函 工作机制; docs/sources.md).
For cases AND risks in the caller's area, grouped by responsible unit (an area code),
each overdue item naming the unit one level up it is escalated to (``parent_code``:
15→12→9→6 digits; none above the county).

Cases: the unit is the area at the level now handling the case (``responsible_unit``);
their deadlines come from ``server.domain.reminders.case_reminders`` on a projection.
Risks: the unit is the risk's own area; the deadline is its 化解时限 (``due``).

Read from the statistics read model (``server.readmodel``): the open cases in scope are
selected in SQL (``is_open``; a bounded set, never every case document), re-projected
from the stored JSON of their base record and events, and open risks with ``due`` within
the lead time come straight from the ``risks`` table.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from typing import Any

from schemas.api_risks import ReminderArgsSchema, RemindersSchema
from server.domain.projection import jsonable, project_case
from server.domain.reminders import STAGES, case_reminders, parent_code
from server.readmodel import rows as model_rows
from server.readmodel.calendar import fast_calendar
from sync.users import User

from ..auth import require_user
from ..risks import check_area, today
from . import ApiBlueprint

blp = ApiBlueprint("reminders", __name__, url_prefix="/api/reminders",
                   description="三单三函：临期提示、到期催办、逾期问责 — reminders per responsible unit")

MAX_OPEN_CASES = 20000  # a county has a few thousand open cases at most


def _stage(days_left: int, lead_days: int) -> str | None:
    if days_left < 0:
        return "overdue"
    if days_left == 0:
        return "due"
    return "due_soon" if days_left <= lead_days else None


def case_items(cur: Any, user: User, area: str | None, as_of: date, lead_days: int) -> list[dict[str, Any]]:
    where, params = model_rows.scope_sql(user, area)
    rows = cur.execute(f"SELECT case_id, tracking_code, title, category FROM cases WHERE {where} AND is_open "
                       f"LIMIT {MAX_OPEN_CASES}", params).fetchall()
    if not rows:
        return []
    info = {r[0]: {"tracking_code": r[1], "title": r[2], "category": r[3]} for r in rows}
    ids = list(info)
    docs = {cid: json.loads(doc) for cid, doc in cur.execute(
        "SELECT case_id, doc FROM case_docs WHERE case_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()}
    events: dict[str, list[dict[str, Any]]] = {}
    for cid, doc in cur.execute(
            "SELECT case_id, doc FROM events WHERE case_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
        events.setdefault(cid, []).append(json.loads(doc))
    calendar = fast_calendar()
    out = []
    for cid, case in docs.items():
        projection = project_case(case, events.get(cid, []), calendar=calendar)
        for r in case_reminders(projection, as_of, lead_days=lead_days):
            out.append({
                "kind": "case", "id": r.case_id, "stage": r.stage, "label_zh": r.label_zh,
                "rule": r.rule, "due_date": r.due_date.isoformat(), "days_left": r.days_left,
                "unit": r.unit, "escalate_to": r.escalate_to, "pending_units": list(r.pending_units),
                "provisional": r.provisional, "area_code": projection.area_code, **info[cid],
            })
    return out


def risk_items(cur: Any, user: User, area: str | None, as_of: date, lead_days: int) -> list[dict[str, Any]]:
    where, params = model_rows.scope_sql(user, area)
    rows = cur.execute(
        f"SELECT risk_id, area_code, title, level, owner, due, lead_official, case_id FROM risks "
        f"WHERE {where} AND status = 'open' AND due <= ?", [*params, as_of + timedelta(days=lead_days)]
    ).fetchall()
    out = []
    for risk_id, area_code, title, level, owner, due, lead, case_id in rows:
        left = (due - as_of).days
        stage = _stage(left, lead_days)
        if stage is None:
            continue
        out.append({
            "kind": "risk", "id": risk_id, "stage": stage, "label_zh": STAGES[stage][0],
            "rule": "risk_due", "due_date": due.isoformat(), "days_left": left, "unit": area_code,
            "escalate_to": parent_code(area_code) if stage == "overdue" else None,
            "area_code": area_code, "title": title, "level": level, "owner": owner,
            "lead_official": lead, "case_id": case_id,
        })
    return out


@blp.get("")
@blp.arguments(ReminderArgsSchema, location="query")
@blp.response(200, RemindersSchema)
def reminders(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Due-soon, due and overdue cases and risks in your area, per responsible unit.

    ``lead_days`` (default 3): days before the due date that 临期提示 starts; ``stage``
    filters one stage; ``area`` narrows to a subtree of your area (403 outside);
    ``as_of`` (YYYY-MM-DD, default today in China). Units are sorted by code, their
    items most urgent first; ``escalate_to`` is the unit above for overdue items.
    """
    user = require_user()
    area = args.get("area")
    check_area(user, area)
    as_of = args.get("as_of") or today()
    lead_days = args["lead_days"]
    cur = model_rows.cursor()
    items = case_items(cur, user, area, as_of, lead_days) + risk_items(cur, user, area, as_of, lead_days)
    if args.get("stage"):
        items = [i for i in items if i["stage"] == args["stage"]]
    units: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        units.setdefault(item["unit"], []).append(item)
    out = []
    for unit, unit_items in sorted(units.items()):
        unit_items.sort(key=lambda i: (i["days_left"], i["kind"], i["id"], i["rule"]))
        counts = Counter(i["stage"] for i in unit_items)
        out.append({"unit": unit, "escalate_to": parent_code(unit),
                    "counts": {s: counts.get(s, 0) for s in STAGES}, "items": unit_items})
    total = Counter(i["stage"] for i in items)
    return jsonable({"as_of": as_of, "lead_days": lead_days,
                     "counts": {s: total.get(s, 0) for s in STAGES}, "units": out})
