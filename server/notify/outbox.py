"""The outbox: ``notification:*`` documents in the county database, written once each.

Ids are deterministic (``notification:<case or risk uuid>:<what happened>:<audience>``),
so queueing the same event twice writes nothing new (CouchDB answers 409 for an existing
id): the API, the sync feed follower and several server processes may all queue the same
event without a duplicate. Payloads carry the tracking code, status and dates — never the
description or other parties' data; an SMS recipient is the party's own phone.

Where: the county database (``server.cases.county_db()``). Notifications carry the
case's ``area_code`` and so flow down to the township, where ``sync.scope``
(``u:<recipient>``) shows in-app ones to their recipient's tablet.

Nothing here needs Flask: pass the database and, if you like, the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas import validate_document
from sync.couch import Database

from .messages import render

CHINA = timezone(timedelta(hours=8))
MAX_MESSAGE = 1000  # schemas/notification.py


def iso(at: datetime) -> str:
    """China time, seconds, with offset: every outbox timestamp, so that they compare
    as strings in a Mango selector."""
    return at.astimezone(CHINA).isoformat(timespec="seconds")


def notification(subject: Mapping[str, Any], key: str, *, channel: str, recipient: str, template: str,
                 payload: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """A new ``queued`` notification about ``subject`` (a case or risk document);
    ``key`` is what happened and to whom, unique per subject."""
    kind, uuid_part = str(subject["_id"]).split(":", 1)
    doc: dict[str, Any] = {
        "_id": f"notification:{uuid_part}:{key}", "type": "notification", "schema_version": 1,
        "area_code": subject["area_code"], "channel": channel, "recipient": recipient,
        "template": template, "payload": dict(payload), "status": "queued",
        "created_at": iso(at), "attempts": 0,
    }
    doc["case_id" if kind == "case" else "risk_id"] = subject["_id"]
    # The words, stored once: the tablet shows its notices offline from the synced
    # documents and must not carry a second copy of the sentences (messages.py).
    doc["message_zh"], doc["message_en"] = (m[:MAX_MESSAGE] for m in render(doc))
    return doc


def store(db: Database, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the new ones (existing ids are left alone: idempotent); returns those written.
    Raises ValueError for a document the schema refuses, RuntimeError when CouchDB
    refuses one for another reason than an existing id."""
    unique = {d["_id"]: d for d in docs}
    docs = list(unique.values())
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
