"""Sending the outbox: claim, send, record — safe with several server processes.

**Claim before send.** A worker takes a ``queued`` notification by writing it back as
``sending`` (``claimed_by``, ``claimed_at``, ``attempts + 1``) *with the revision it read*.
CouchDB accepts one write per revision: a 409 means another worker (or process) took it
first, and this one leaves it alone. Only the claimant sends, then writes the outcome on
its own revision (re-reading if something else, e.g. a "read" mark, changed the document
meanwhile).

**Outcomes** (``server.notify.senders``): delivered → ``sent`` with ``sent_at`` and the
provider's id; transient failure → ``queued`` again with ``next_attempt_at`` after an
exponential back-off (``BACKOFF_BASE`` · 2^(attempts−1), at most ``BACKOFF_MAX``) and
``last_error``, ``failed`` after ``MAX_ATTEMPTS``; permanent failure → ``failed`` at once.

**At-most-once.** A process that dies between its claim and its outcome leaves the
notification ``sending``. Whether the provider took the message cannot be known (neither
Aliyun nor Tencent SendSms has an idempotency key to ask with; their ``OutId`` /
``SessionContext`` carry our id into the delivery receipts only), so after ``LEASE`` the
next worker marks it ``failed`` with ``last_error`` saying the outcome is unknown — it is
never sent again automatically. An operator who checks the provider's console (search by
the id) may queue it again (``fengqiao notify requeue``). A message lost is rarer and
cheaper to repair by hand than one sent twice to a citizen; likewise an answer lost after
the request left (``UnknownOutcome``) fails without retry.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from server.clock import now
from sync.couch import Database
from sync.design import OUTBOX_INDEX
from sync.errors import Conflict

from .outbox import iso
from .senders import PermanentSendError, Sender, UnknownOutcome

log = logging.getLogger("fengqiao.notify")

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
LEASE = timedelta(minutes=10)  # a send takes seconds; a claim older than this is a dead worker's


def worker_id() -> str:
    """Names this process in ``claimed_by`` (host, pid and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _index(db: Database) -> None:
    db.create_index(list(OUTBOX_INDEX.fields), name=OUTBOX_INDEX.name, ddoc=OUTBOX_INDEX.ddoc)


def _find(db: Database, status: str, extra: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    selector = {"type": "notification", "status": status, "created_at": {"$gt": None}, **extra}
    return db.find(selector, sort=[{"type": "asc"}, {"status": "asc"}, {"created_at": "asc"}],
                   limit=limit, use_index=OUTBOX_INDEX.use_index())["docs"]


def recover_stale(db: Database, *, at: datetime | None = None, lease: timedelta = LEASE) -> int:
    """Mark claims older than ``lease`` failed with an unknown outcome (see the module
    docstring: never re-sent). Returns how many were marked."""
    cutoff = iso((at or now()) - lease)
    marked = 0
    for doc in _find(db, "sending", {"claimed_at": {"$lt": cutoff}}, 200):
        doc.update(status="failed", last_error=(
            f"发送中断（{doc.get('claimed_by')}），服务商是否已发出未知，未重发 / interrupted while sending "
            f"({doc.get('claimed_by')}); whether the provider sent it is unknown, so it was not sent again"))
        try:
            db.put(doc)
            marked += 1
        except Conflict:
            pass  # another worker recovered it, or its claimant finished after all
    return marked


def claim(db: Database, doc_id: str, worker: str, at: datetime) -> dict[str, Any] | None:
    """Take one due notification for ``worker``; None when it is not (or no longer)
    queued and due, or another worker's claim won (409)."""
    fresh = db.get_or_none(doc_id)
    if fresh is None or fresh.get("status") != "queued" or fresh.get("next_attempt_at", "") > iso(at):
        return None
    fresh.update(status="sending", claimed_by=worker, claimed_at=iso(at),
                 attempts=int(fresh.get("attempts", 0)) + 1)
    try:
        fresh["_rev"] = db.put(fresh)["rev"]
    except Conflict:
        return None
    return fresh


def _record(db: Database, doc: dict[str, Any], outcome: dict[str, Any], worker: str) -> bool:
    """Write the outcome on our claim; re-read on 409 while the claim is still ours."""
    for _ in range(5):
        doc.update(outcome)
        for key in ("claimed_by", "claimed_at"):
            doc.pop(key, None)
        if outcome.get("status") != "queued":
            doc.pop("next_attempt_at", None)
        try:
            db.put(doc)
            return True
        except Conflict:
            doc = db.get(doc["_id"])
            if doc.get("status") != "sending" or doc.get("claimed_by") != worker:
                return False  # recovered as stale by another worker meanwhile
    return False


def send_one(db: Database, doc: dict[str, Any], sender: Sender, worker: str, at: datetime) -> str:
    """Send a claimed notification and record the outcome: ``sent`` or ``failed`` (also
    for a transient failure that will be retried)."""
    attempts = int(doc["attempts"])
    try:
        provider_id = sender.send(doc)
    except PermanentSendError as exc:
        outcome: dict[str, Any] = {"status": "failed", "last_error": str(exc)[:2000]}
    except UnknownOutcome as exc:
        outcome = {"status": "failed", "last_error": f"{exc} (at-most-once: not retried)"[:2000]}
    except Exception as exc:  # any other failure: transient, retried after a back-off
        message = str(exc)[:2000] or type(exc).__name__
        if attempts >= MAX_ATTEMPTS:
            outcome = {"status": "failed", "last_error": message}
        else:
            outcome = {"status": "queued", "last_error": message,
                       "next_attempt_at": iso(at + backoff(attempts))}
    else:
        outcome = {"status": "sent", "sent_at": iso(now() if at is None else at)}
        if provider_id:
            outcome["provider_id"] = str(provider_id)[:100]
    _record(db, doc, outcome, worker)
    if outcome["status"] != "sent":
        log.warning("notification %s attempt %d: %s", doc["_id"], attempts, outcome["last_error"])
    return "sent" if outcome["status"] == "sent" else "failed"


def send_pending(db: Database, sender: Sender, *, limit: int = 200, at: datetime | None = None,
                 worker: str | None = None) -> dict[str, int]:
    """Send due notifications (queued, ``next_attempt_at`` passed; oldest first, at most
    ``limit``) after recovering stale claims. Safe to run in several processes at once.

    Returns counts ``{"sent", "failed", "skipped"}``: ``failed`` counts failed attempts
    (retried later or final), ``skipped`` those another worker took or finished first.
    """
    at = at or now()
    worker = worker or worker_id()
    _index(db)
    recover_stale(db, at=at)
    due = {"$or": [{"next_attempt_at": {"$exists": False}}, {"next_attempt_at": {"$lte": iso(at)}}]}
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for found in _find(db, "queued", due, limit):
        doc = claim(db, found["_id"], worker, at)
        if doc is None:
            counts["skipped"] += 1
            continue
        counts[send_one(db, doc, sender, worker, at)] += 1
    return counts


def requeue(db: Database, doc_id: str, *, at: datetime | None = None) -> bool:
    """Queue a ``failed`` notification again (an operator's decision after checking the
    provider); False if it is not failed."""
    doc = db.get_or_none(doc_id)
    if doc is None or doc.get("status") != "failed" or doc.get("type") != "notification":
        return False
    doc.update(status="queued", attempts=0, next_attempt_at=iso(at or now()))
    try:
        db.put(doc)
    except Conflict:
        return False
    return True
