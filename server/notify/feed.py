"""Events that arrive by sync queue their notifications too: a follower of the county feed.

Every case and risk event reaches the county database — written there by the API, or
replicated up from a township that a tablet pushed to — so following the county
``_changes`` sees them all, however they came. For each ``event`` of a notified kind (and each 研判
decision on a case) and each ``reviewed`` ``riskevent`` the follower loads the case or risk and queues what
``triggers`` says, with the directory of accounts. Ids are deterministic, so an event the
API already queued, or that two processes both see, writes nothing twice.

**Checkpoint** in ``_local/fengqiao-notify-feed`` of the county database (``_local``
documents do not replicate): the feed's ``seq`` after the last handled batch, and the
events whose case or risk had not arrived yet (replication gives no order between
documents), tried again on later passes. A crash between queueing and the checkpoint
repeats the batch, which is harmless for the same reason.

**First start** begins at the current end of the feed: a new installation or an upgrade
does not text every party of every past case. And an event recorded more than
``FENGQIAO_NOTIFY_MAX_AGE_DAYS`` before it arrives (a tablet offline for weeks) queues
nothing: news that old is no news to the party.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.clock import now
from sync.couch import Database
from sync.errors import Conflict

from .directory import Directory
from .outbox import store
from .triggers import case_event_notifications, notified, risk_event_notifications

log = logging.getLogger("fengqiao.notify")

CHECKPOINT_ID = "_local/fengqiao-notify-feed"
MAX_WAITING = 500  # events kept for a later pass when their case has not arrived yet


@dataclass
class FeedResult:
    changes: int = 0
    queued: int = 0
    waiting: int = 0
    stale: int = 0
    ids: list[str] = field(default_factory=list)


def _subject_id(doc: dict[str, Any]) -> str | None:
    if doc.get("type") == "event" and notified(doc):
        return "case:" + str(doc["_id"]).split(":")[1]
    if doc.get("type") == "riskevent" and doc.get("kind") == "reviewed" and doc.get("risk_id"):
        return str(doc["risk_id"])
    return None


class EventFeed:
    """One pass at a time over the county feed (``run_once``); the scheduler loops it."""

    def __init__(self, db: Database, directory: Callable[[], Directory], *,
                 max_age: timedelta = timedelta(days=7), clock: Callable[[], datetime] = now) -> None:
        self.db = db
        self.directory = directory
        self.max_age = max_age
        self.clock = clock

    def checkpoint(self) -> dict[str, Any]:
        """The stored checkpoint; created at the feed's current end on first use."""
        cp = self.db.get_or_none(CHECKPOINT_ID)
        if cp is None:
            cp = {"_id": CHECKPOINT_ID, "since": self.db.info().get("update_seq"), "waiting": []}
            try:
                cp["_rev"] = self.db.put(cp)["rev"]
            except Conflict:
                cp = self.db.get(CHECKPOINT_ID)
        return cp

    def _fresh(self, event: dict[str, Any], at: datetime) -> bool:
        try:
            when = datetime.fromisoformat(str(event.get("at")))
        except ValueError:
            return True
        return when.tzinfo is None or at - when <= self.max_age

    def run_once(self, *, limit: int = 500) -> FeedResult:
        """Handle the changes after the checkpoint (at most ``limit``) and the waiting
        events; returns what was done."""
        cp = self.checkpoint()
        answer = self.db.changes(since=cp.get("since") or 0, include_docs=True, limit=limit)
        rows = answer.get("results") or []
        result = FeedResult(changes=len(rows))
        docs = [r["doc"] for r in rows if r.get("doc") and not r.get("deleted") and _subject_id(r["doc"])]
        waiting = list(cp.get("waiting") or [])
        if waiting:
            fetched = self.db.all_docs(keys=waiting, include_docs=True)["rows"]
            docs += [r["doc"] for r in fetched if r.get("doc")]
        still_waiting: list[str] = []
        if docs:
            at = self.clock()
            directory = self.directory()
            wanted = sorted({_subject_id(d) or "" for d in docs} - {""})
            subjects = {r["key"]: r.get("doc")
                        for r in self.db.all_docs(keys=wanted, include_docs=True)["rows"]}
            queued: list[dict[str, Any]] = []
            for doc in docs:
                subject = subjects.get(_subject_id(doc) or "")
                if subject is None:
                    still_waiting.append(doc["_id"])
                    continue
                if not self._fresh(doc, at):
                    result.stale += 1
                    continue
                if doc["type"] == "event":
                    queued += case_event_notifications(subject, doc, directory=directory, at=at)
                else:
                    queued += risk_event_notifications(subject, doc, directory=directory, at=at)
            written = store(self.db, queued)
            result.queued = len(written)
            result.ids = [d["_id"] for d in written]
        result.waiting = len(still_waiting)
        cp.update(since=answer.get("last_seq", cp.get("since")),
                  waiting=list(dict.fromkeys(still_waiting))[:MAX_WAITING])
        try:
            self.db.put(cp)
        except Conflict:
            pass  # another process moved the checkpoint; it handled these changes too
        return result
