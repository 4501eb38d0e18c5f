"""Notifications that reach people: an outbox in the county database, senders, triggers.

Layout::

    outbox.py     the notification document and its idempotent write (deterministic ids)
    triggers.py   which event, risk review or reminder tells whom, on which channel
    directory.py  the accounts that answer for a unit (area code)
    senders.py    the Sender interface, its three errors, log and in-app senders, routing
    aliyun.py     Aliyun SMS SendSms (RPC, HMAC-SHA1 signature v1)
    tencent.py    Tencent Cloud SMS SendSms (API 3.0, TC3-HMAC-SHA256)
    delivery.py   send_pending: claim by revision, back-off, stale-claim recovery
    feed.py       follows the county ``_changes`` for events that arrive by sync
    reminders.py  三单三函 notices from the open cases' deadlines
    scheduler.py  the loop that runs all of it in ``serve`` (thread) or ``worker``
    cli.py        ``fengqiao notify …`` and ``fengqiao worker``

The functions below are the ones the rest of the server calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sync.couch import Database

from .delivery import MAX_ATTEMPTS, send_pending
from .directory import Directory
from .outbox import store
from .senders import LogSender, Sender, digest
from .triggers import (
    NOTIFIED_KINDS,
    case_event_notifications,
    reminder_notifications,
    risk_event_notifications,
)

__all__ = ["MAX_ATTEMPTS", "NOTIFIED_KINDS", "Directory", "LogSender", "Sender", "case_event_notifications",
           "digest", "notify_case_event", "notify_review_decisions", "queue_overdue", "queue_reminders", "send_pending"]


def notify_case_event(db: Database, case: Mapping[str, Any], event: Mapping[str, Any], *,
                      directory: Directory | None = None, at: datetime | None = None) -> list[dict[str, Any]]:
    """Queue the notifications for ``event`` of ``case`` in the outbox ``db`` (see
    ``triggers``; other kinds queue nothing). Returns the documents written (none when
    called again for the same event). Raises ValueError for a document the schema
    refuses, RuntimeError when CouchDB refuses one for another reason."""
    return store(db, case_event_notifications(case, event, directory=directory, at=at))


def notify_review_decisions(db: Database, decisions: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], *,
                            directory: Directory, at: datetime | None = None) -> list[dict[str, Any]]:
    """Queue the notices of a 研判 meeting's decisions: ``(risk or case, its event)`` pairs
    (a ``reviewed`` risk event or a case's ``commented`` event with ``review_level``), to
    the grid workers concerned. Idempotent like every trigger."""
    docs: list[dict[str, Any]] = []
    for subject, event in decisions:
        if event.get("type") == "riskevent":
            docs += risk_event_notifications(subject, event, directory=directory, at=at)
        else:
            docs += case_event_notifications(subject, event, directory=directory, at=at)
    return store(db, docs)


def queue_reminders(db: Database, cases: Mapping[str, Mapping[str, Any]], reminders: Iterable[Any], *,
                    directory: Directory | None = None, at: datetime | None = None) -> list[dict[str, Any]]:
    """Queue 临期提示 / 到期催办 / 逾期问责 notices (``server.domain.reminders.Reminder``
    items). ``cases`` maps case id → base record. Idempotent per case, rule, stage, due
    date and recipient."""
    return store(db, reminder_notifications(cases, reminders, directory=directory, at=at))


def queue_overdue(db: Database, cases: Mapping[str, Mapping[str, Any]], reminders: Iterable[Any], *,
                  directory: Directory | None = None, at: datetime | None = None) -> list[dict[str, Any]]:
    """Only the 逾期问责 part of :func:`queue_reminders`."""
    return queue_reminders(db, cases, [r for r in reminders if r.stage == "overdue"],
                           directory=directory, at=at)
