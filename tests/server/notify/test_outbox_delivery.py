"""The outbox survives outages and restarts and never sends twice (real CouchDB, local
provider server counting what it accepted).

Times are injected (``at=``): back-off and the stale-claim lease are checked by passing
a later time, never by waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import GRID_A
from providers import FakeAliyun

from server.notify import notify_case_event
from server.notify.aliyun import AliyunSms
from server.notify.delivery import LEASE, MAX_ATTEMPTS, requeue, send_pending
from server.notify.outbox import iso
from sync.couch import Database

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CASE_UUID = "0b7a2f3e-1111-4222-8333-444455556677"


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


@pytest.fixture
def provider() -> Iterator[FakeAliyun]:
    server = FakeAliyun().start()
    yield server
    server.stop()


def new_sender(provider: FakeAliyun) -> AliyunSms:
    """A fresh adapter, as a restarted process would build."""
    return AliyunSms(access_key_id=provider.key_id, access_key_secret=provider.secret, sign_name="某某县矛调中心",
                     templates={"case.accepted": "SMS_1", "case.closed": "SMS_2"}, endpoint=provider.url)


def queue_sms(db: Database, phones: int) -> list[dict[str, Any]]:
    case = {"_id": f"case:{CASE_UUID}", "area_code": GRID_A, "tracking_code": "ABCDEFGHJK", "first_handler": "mia",
            "parties": [{"role": "applicant", "name": f"当事人{i}", "phone": f"1370000{i:04d}"} for i in range(phones)]}
    event = {"_id": f"event:{CASE_UUID}:20261120T010000.000Z-abcd1234", "kind": "accepted",
             "at": "2026-11-20T09:00:00+08:00"}
    return notify_case_event(db, case, event, at=T0)


class CrashAfterSending:
    """Sends the first notification for real, then the process 'dies' before recording."""

    def __init__(self, sender: AliyunSms) -> None:
        self.sender = sender

    def send(self, notification: Any) -> str | None:
        self.sender.send(notification)
        raise Crash


def test_outage_retries_with_backoff_and_restart_sends_nothing_twice(db: Database, provider: FakeAliyun) -> None:
    queued = queue_sms(db, 3)
    assert len(queued) == 3 and queue_sms(db, 3) == []  # queueing again writes nothing
    port = provider.port
    provider.stop()  # outage: nothing listens

    assert send_pending(db, new_sender(provider), at=T0) == {"sent": 0, "failed": 3, "skipped": 0}
    docs = [db.get(n["_id"]) for n in queued]
    assert {(d["status"], d["attempts"], d["next_attempt_at"]) for d in docs} == {
        ("queued", 1, iso(T0 + timedelta(seconds=30)))}
    assert all("unreachable" in d["last_error"] for d in docs)
    # Not due yet: nothing is tried before the back-off ends.
    assert send_pending(db, new_sender(provider), at=T0 + timedelta(seconds=10)) == {"sent": 0, "failed": 0, "skipped": 0}
    # Still down at the next try: the second back-off doubles.
    assert send_pending(db, new_sender(provider), at=T0 + timedelta(seconds=31))["failed"] == 3
    assert {db.get(n["_id"])["next_attempt_at"] for n in queued} == {iso(T0 + timedelta(seconds=91))}

    provider.port = port
    provider.start()  # back up, on the same address
    t1 = T0 + timedelta(seconds=92)
    with pytest.raises(Crash):  # the provider takes the first message, then the process dies
        send_pending(db, CrashAfterSending(new_sender(provider)), at=t1)
    stuck = [n["_id"] for n in queued if db.get(n["_id"])["status"] == "sending"]
    assert len(stuck) == 1 and sum(provider.accepted.values()) == 1

    # "Restart": a new process with a new adapter and worker id sends the rest; the claim of
    # the dead worker is left alone while its lease runs ...
    assert send_pending(db, new_sender(provider), at=t1 + timedelta(seconds=1)) == {"sent": 2, "failed": 0, "skipped": 0}
    assert db.get(stuck[0])["status"] == "sending"
    # ... and after the lease it is marked failed with an unknown outcome, NOT sent again.
    late = t1 + LEASE + timedelta(seconds=2)
    assert send_pending(db, new_sender(provider), at=late) == {"sent": 0, "failed": 0, "skipped": 0}
    dead = db.get(stuck[0])
    assert dead["status"] == "failed" and "unknown" in dead["last_error"] and "claimed_by" in dead

    assert provider.accepted == {n["_id"]: 1 for n in queued}  # every message exactly once
    sent = [db.get(n["_id"]) for n in queued if n["_id"] != stuck[0]]
    assert all(d["status"] == "sent" and d["provider_id"].startswith("9006197469364984^")
               and d["attempts"] == 3 and "claimed_by" not in d and "next_attempt_at" not in d for d in sent)
    # An operator who checked the console may queue it again; then it goes out once more.
    assert requeue(db, stuck[0], at=late) and not requeue(db, sent[0]["_id"])
    assert send_pending(db, new_sender(provider), at=late)["sent"] == 1
    assert provider.accepted[stuck[0]] == 2


def test_two_workers_at_once_send_each_notification_once(db: Database, provider: FakeAliyun) -> None:
    queued = queue_sms(db, 24)
    results: list[dict[str, int]] = []

    def work() -> None:
        results.append(send_pending(db, new_sender(provider), at=T0))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 24 and sum(r["failed"] for r in results) == 0
    assert provider.accepted == {n["_id"]: 1 for n in queued}
    assert all(db.get(n["_id"])["status"] == "sent" for n in queued)


def test_permanent_errors_fail_at_once_transient_ones_after_max_attempts(db: Database, provider: FakeAliyun) -> None:
    [first] = queue_sms(db, 1)
    provider.answer_code = "isv.BUSINESS_LIMIT_CONTROL"
    at = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert send_pending(db, new_sender(provider), at=at)["failed"] == 1
        doc = db.get(first["_id"])
        assert doc["attempts"] == attempt
        at += timedelta(hours=2)
    assert doc["status"] == "failed" and "BUSINESS_LIMIT_CONTROL" in doc["last_error"]
    assert send_pending(db, new_sender(provider), at=at) == {"sent": 0, "failed": 0, "skipped": 0}

    provider.answer_code = "isv.TEMPLATE_MISSING_PARAMETERS"
    case = {"_id": "case:1b7a2f3e-1111-4222-8333-444455556677", "area_code": GRID_A, "tracking_code": "ABCDEFGHJM",
            "parties": [{"role": "applicant", "name": "王五", "phone": "13900000000"}]}
    [other] = notify_case_event(db, case, {"_id": "event:1b7a2f3e-1111-4222-8333-444455556677:x", "kind": "closed",
                                           "at": "2026-11-20T09:00:00+08:00"}, at=T0)
    assert send_pending(db, new_sender(provider), at=at)["failed"] == 1
    doc = db.get(other["_id"])
    assert doc["status"] == "failed" and doc["attempts"] == 1
