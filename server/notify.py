"""Notification outbox: ``notification:*`` documents written when something happens to a
case, sent later by a :class:`Sender` (SMS gateways plug in here).

What is queued (``notify_case_event``):

    assigned   in-app to the case's first handler, one per unit (交办: name the unit)
    accepted   SMS to each party with a phone: 受理, with the tracking code
    closed     SMS to each party with a phone: 办结/答复, with the tracking code
    overdue    in-app to the first handler per overdue deadline (``queue_overdue``, from
               the reminders of ``server.domain.reminders``)

Payloads carry the tracking code, status and dates — never the description or other
parties' data; an SMS recipient is the party's own phone. Ids are deterministic
(``notification:<case uuid>:<event suffix or rule>:<what>:<n>``), so queueing the same
event twice writes nothing new (CouchDB answers 409 for an existing id): idempotent.

Where: the outbox is one database — the county database (``server.cases.county_db()``);
the sender runs beside it. Notifications carry the case's ``area_code`` and so flow down
to the township, where ``sync.scope`` (``u:<recipient>``) shows in-app ones to their
recipient's tablet.

Nothing here needs Flask: pass the database and, if you like, the time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from schemas import validate_document
from sync.couch import Database
from sync.design import OUTBOX_INDEX
from sync.errors import Conflict

log = logging.getLogger("fengqiao.notify")

CHINA = timezone(timedelta(hours=8))
MAX_ATTEMPTS = 5
NOTIFIED_KINDS = ("assigned", "accepted", "closed")


class Sender(Protocol):
    """Delivers one notification; raises any exception when it could not."""

    def send(self, notification: Mapping[str, Any]) -> None: ...


class LogSender:
    """Logs each notification (no gateway): the development and demo sender."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log
        self.sent: list[str] = []

    def send(self, notification: Mapping[str, Any]) -> None:
        # The recipient may be a phone number: only its digest goes to the log.
        self.log.info("notification %s via %s to #%s: %s", notification["_id"], notification["channel"],
                      digest(str(notification["recipient"])), notification["template"])
        self.sent.append(notification["_id"])


def _iso(at: datetime) -> str:
    return at.astimezone(CHINA).isoformat(timespec="seconds")


def _suffix(event_id: str) -> str:
    return event_id.rsplit(":", 1)[-1]


def _notification(case: Mapping[str, Any], key: str, n: int, *, channel: str, recipient: str,
                  template: str, payload: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    uuid_part = str(case["_id"]).split(":", 1)[1]
    doc = {
        "_id": f"notification:{uuid_part}:{key}:{n}", "type": "notification", "schema_version": 1,
        "area_code": case["area_code"], "channel": channel, "recipient": recipient,
        "template": template, "payload": dict(payload), "status": "queued",
        "created_at": _iso(at), "attempts": 0, "case_id": case["_id"],
    }
    return doc


def _public_payload(case: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    return {"tracking_code": case.get("tracking_code"), "kind": event.get("kind"),
            "at": event.get("at")}


def case_event_notifications(case: Mapping[str, Any], event: Mapping[str, Any], *,
                             at: datetime | None = None) -> list[dict[str, Any]]:
    """The notification documents one case event calls for (not stored)."""
    at = at or datetime.now(UTC)
    kind = event.get("kind")
    key = f"{_suffix(str(event['_id']))}:{kind}"
    out: list[dict[str, Any]] = []
    if kind == "assigned":
        handler = case.get("first_handler") or case.get("reported_by")
        for n, unit in enumerate(event.get("units") or []):
            if handler:
                out.append(_notification(
                    case, key, n, channel="in_app", recipient=str(handler), template="case.assigned",
                    payload={**_public_payload(case, event), "unit": unit.get("unit"),
                             "unit_type": unit.get("unit_type")}, at=at))
    elif kind in ("accepted", "closed"):
        phones = [p.get("phone") for p in case.get("parties") or []
                  if p.get("phone") and p.get("role", "applicant") == "applicant"]
        for n, phone in enumerate(dict.fromkeys(phones)):
            out.append(_notification(case, key, n, channel="sms", recipient=str(phone),
                                     template=f"case.{kind}", payload=_public_payload(case, event), at=at))
    return out


def _store(db: Database, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the new ones (existing ids are left alone: idempotent); returns those written."""
    docs = list(docs)
    for doc in docs:
        problems = validate_document(doc)
        if problems:
            raise ValueError(f"invalid notification {doc['_id']}: {problems}")
    if not docs:
        return []
    results = db.bulk_docs(docs)
    written = []
    for doc, result in zip(docs, results, strict=True):
        if result.get("ok"):
            doc["_rev"] = result["rev"]
            written.append(doc)
        elif result.get("error") != "conflict":
            raise RuntimeError(f"could not queue {doc['_id']}: {result}")
    return written


def notify_case_event(db: Database, case: Mapping[str, Any], event: Mapping[str, Any], *,
                      at: datetime | None = None) -> list[dict[str, Any]]:
    """Queue the notifications for ``event`` of ``case`` (assigned, accepted, closed;
    other kinds queue nothing) in the outbox ``db``. Returns the documents written
    (none when called again for the same event). Raises ValueError for a document the
    schema refuses, RuntimeError when CouchDB refuses one for another reason."""
    if event.get("kind") not in NOTIFIED_KINDS:
        return []
    return _store(db, case_event_notifications(case, event, at=at))


def queue_overdue(db: Database, cases: Mapping[str, Mapping[str, Any]], reminders: Iterable[Any], *,
                  at: datetime | None = None) -> list[dict[str, Any]]:
    """Queue 逾期问责 notices for overdue reminders (``server.domain.reminders.Reminder``):
    one per case, rule and due date, to the case's first handler, naming the unit to
    escalate to. ``cases`` maps case id → base record. Idempotent per (case, rule, due)."""
    at = at or datetime.now(UTC)
    docs = []
    for r in reminders:
        if r.stage != "overdue" or r.case_id not in cases:
            continue
        case = cases[r.case_id]
        handler = case.get("first_handler") or case.get("reported_by")
        if not handler:
            continue
        docs.append(_notification(
            case, f"{r.rule}:overdue:{r.due_date.isoformat()}", 0, channel="in_app", recipient=str(handler),
            template="case.overdue",
            payload={"tracking_code": case.get("tracking_code"), "rule": r.rule,
                     "due_date": r.due_date.isoformat(), "unit": r.unit, "escalate_to": r.escalate_to},
            at=at))
    return _store(db, docs)


def _index(db: Database) -> None:
    db.create_index(list(OUTBOX_INDEX.fields), name=OUTBOX_INDEX.name, ddoc=OUTBOX_INDEX.ddoc)


def send_pending(db: Database, sender: Sender, *, limit: int = 200, at: datetime | None = None) -> dict[str, int]:
    """Send queued notifications (oldest first, at most ``limit``) and record the outcome.

    A delivered one becomes ``sent`` with ``sent_at``; a failure counts an attempt and
    keeps ``last_error`` (``failed`` after ``MAX_ATTEMPTS``). Idempotent: a second call
    finds nothing queued; one sent meanwhile by another process (409 on our update) is
    skipped. Returns counts ``{"sent", "failed", "skipped"}``.
    """
    _index(db)
    found = db.find({"type": "notification", "status": "queued", "created_at": {"$gt": None}},
                    sort=[{"type": "asc"}, {"status": "asc"}, {"created_at": "asc"}],
                    limit=limit, use_index=OUTBOX_INDEX.use_index())["docs"]
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for doc in found:
        fresh = db.get_or_none(doc["_id"])
        if fresh is None or fresh.get("status") != "queued":
            counts["skipped"] += 1
            continue
        fresh["attempts"] = int(fresh.get("attempts", 0)) + 1
        try:
            sender.send(fresh)
        except Exception as exc:  # any gateway error: recorded, retried next time
            fresh["last_error"] = str(exc)[:2000] or type(exc).__name__
            if fresh["attempts"] >= MAX_ATTEMPTS:
                fresh["status"] = "failed"
            outcome = "failed"
        else:
            fresh["status"] = "sent"
            fresh["sent_at"] = _iso(at or datetime.now(UTC))
            outcome = "sent"
        try:
            db.put(fresh)
            counts[outcome] += 1
        except Conflict:
            counts["skipped"] += 1
    return counts


def digest(recipient: str) -> str:
    """A short stable digest of a recipient (for logs that must not show a phone number)."""
    return hashlib.sha256(recipient.encode()).hexdigest()[:10]
