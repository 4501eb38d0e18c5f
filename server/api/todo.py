"""``/api/todo``: 我的待办 — what needs the caller now, per role.

Township mediators: cases awaiting 受理 in their township (registered in a village or the
township), cases sent up to the township, 双交办 awaiting a unit's feedback, overdue and
due-soon cases, possible repeat visits (重复访, however the case arrived: API or sync),
records with anomalies, risks due, serious and major risks never reviewed. County
reviewers: the same for the county level. Unit officers: the cases assigned to their
unit, those awaiting its feedback first.

Read from the statistics read model (``server.readmodel``), so a case synced from a
tablet appears here within the follower's lag (seconds); each item opens the case page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas import vocab
from schemas.api_stats import TodoSchema
from server.domain.projection import jsonable
from server.readmodel import rows as model_rows
from server.readmodel.queries import DUE_SOON_DAYS, repeat_candidates, todo_cases

from .. import units
from ..auth import require_user
from ..risks import today
from . import ApiBlueprint

blp = ApiBlueprint("todo", __name__, url_prefix="/api/todo",
                   description="我的待办 — my work list")

# The levels each role handles (a township handles what its villages register).
LEVELS = {"township_mediator": ("village", "township"), "county_reviewer": ("county", "above")}
CASE_GROUPS = ("to_accept", "sent_up", "awaiting_feedback", "overdue", "due_soon", "anomalies")


def _group(key: str, kind: str, count: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    zh, en = vocab.TODO_GROUPS[key]
    return {"key": key, "kind": kind, "label_zh": zh, "label_en": en, "count": count,
            "items": jsonable(items)}


@blp.get("")
@blp.response(200, TodoSchema)
def my_todo():  # type: ignore[no-untyped-def]
    """What needs me now: groups with a count and the most urgent items (20 per group)."""
    user = require_user("township_mediator", "county_reviewer", "unit_officer")
    as_of = today()
    if user.role == "unit_officer":
        return _unit_todo(user, as_of)
    cur = model_rows.cursor()
    scope = list(user.area_codes)
    groups = []
    for key in CASE_GROUPS:
        count, items = todo_cases(cur, scope, LEVELS[user.role], key, as_of)
        groups.append(_group(key, "case", count, items))
    repeats = repeat_candidates(cur, scope, as_of)
    groups.append(_group("repeats", "repeat", len(repeats), repeats))
    where, params = model_rows.scope_sql(user, None)
    cols = ["risk_id", "area_code", "title", "category", "level", "owner", "due",
            "lead_official", "status", "reviews", "created_at"]
    horizon = as_of + timedelta(days=DUE_SOON_DAYS)
    for key, cond, extra in (
            ("risks_due", "status = 'open' AND due IS NOT NULL AND due <= ?", [horizon]),
            ("reviews_due", "status = 'open' AND level IN ('serious', 'major') AND reviews = 0", [])):
        rows = cur.execute(f"SELECT {', '.join(cols)} FROM risks WHERE {where} AND {cond} "
                           "ORDER BY due NULLS LAST, created_at LIMIT 21", [*params, *extra]).fetchall()
        count = cur.execute(f"SELECT count(*) FROM risks WHERE {where} AND {cond}",
                            [*params, *extra]).fetchone()[0]
        items = [model_rows.risk_row(dict(zip(cols, r, strict=True)), as_of) for r in rows[:20]]
        groups.append(_group(key, "risk", int(count), items))
    return {"as_of": as_of.isoformat(), "role": user.role, "groups": groups}


def _unit_todo(user: Any, as_of: Any) -> dict[str, Any]:
    unit, items = units.unit_case_items(user)
    pending = [i for i in items if i["pending"]]
    done = [i for i in items if not i["pending"]]
    return {"as_of": as_of.isoformat(), "role": user.role, "unit": unit,
            "groups": [_group("unit_pending", "case", len(pending), pending[:50]),
                       _group("unit_done", "case", len(done), done[:50])]}
