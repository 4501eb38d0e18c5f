"""三单三函 notices, once a day: every open case's deadlines → ``queue_reminders``.

Read straight from the county database, so that ``fengqiao worker`` (another process
than the server's, which holds the DuckDB read model) can do it too: the case base records
(``case:<uuid>``) and their events (``event:<uuid>:…``) are two ranges of ``_all_docs``
sorted by the same uuid, merged in one streaming pass (pages of ``PAGE``), projected
(``server.domain.projection``) and handed to ``server.domain.reminders.case_reminders``.

Once a day per county database, whichever process gets there first: the China date of
the last run is kept in ``_local/fengqiao-notify-reminders`` and taken by revision (a
409 means another process took today's run). Re-running a day anyway writes nothing new
(deterministic ids).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from schemas import vocab
from server.clock import now
from server.domain.projection import CaseProjection, project_case
from server.domain.reminders import case_reminders
from server.domain.workdays import china_date
from server.readmodel.calendar import fast_calendar
from sync.couch import Database
from sync.errors import Conflict

from . import queue_reminders
from .directory import Directory

MARK_ID = "_local/fengqiao-notify-reminders"
PAGE = 1000


def _range(db: Database, prefix: str) -> Iterator[dict[str, Any]]:
    start: str = prefix
    skip = 0
    while True:
        rows = db.all_docs(startkey=start, endkey=prefix + "\ufff0", include_docs=True,
                           limit=PAGE, skip=skip)["rows"]
        for row in rows:
            if row.get("doc"):
                yield row["doc"]
        if len(rows) < PAGE:
            return
        start, skip = rows[-1]["id"], 1


def open_cases(db: Database, *, at: datetime | None = None
               ) -> Iterator[tuple[dict[str, Any], CaseProjection]]:
    """(base record, projection) of every open case, streaming."""
    calendar = fast_calendar()
    events = _range(db, "event:")
    pending = next(events, None)
    for case in _range(db, "case:"):
        uuid_part = case["_id"].split(":", 1)[1]
        mine = []
        while pending is not None and pending["_id"].split(":")[1] <= uuid_part:
            if pending["_id"].split(":")[1] == uuid_part:
                mine.append(pending)
            pending = next(events, None)
        try:
            projection = project_case(case, mine, calendar=calendar, now=at)
        except ValueError:
            continue  # a base record without a usable created_at: nothing to remind of
        if projection.status in vocab.OPEN_CASE_STATUSES:
            yield case, projection


def run_reminders(db: Database, directory: Directory, *, at: datetime | None = None,
                  force: bool = False) -> int | None:
    """Queue today's reminders unless another run took today (None then); returns the
    notices written."""
    at = at or now()
    today = china_date(at).isoformat()
    mark = db.get_or_none(MARK_ID) or {"_id": MARK_ID}
    if mark.get("date") == today and not force:
        return None
    mark["date"] = today
    try:
        db.put(mark)
    except Conflict:
        return None
    cases: dict[str, dict[str, Any]] = {}
    reminders = []
    for case, projection in open_cases(db, at=at):
        found = case_reminders(projection, at)
        if found:
            cases[case["_id"]] = case
            reminders += found
    return len(queue_reminders(db, cases, reminders, directory=directory, at=at))
