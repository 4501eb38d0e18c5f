"""The longpoll follower against a real CouchDB feed; catch-up and rebuild."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone

from rm_helpers import snapshot

from server.readmodel.follower import Follower, catch_up, rebuild
from server.readmodel.generate import case_with_events, generate
from server.readmodel.store import ReadModel

CST = timezone(timedelta(hours=8))


def _count(store: ReadModel) -> int:
    return store.cursor().execute("SELECT COUNT(*) FROM cases").fetchone()[0]  # type: ignore[index]


def test_follower_keeps_up_and_stops_cleanly(db, couch_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ReadModel(tmp_path / "stats.duckdb")
    groups = generate(30, seed=2)
    db.bulk_docs([d for c, e in groups for d in (c, *e)])
    others = {t for t in threading.enumerate() if t.name == "fengqiao-readmodel-follower"}
    follower = Follower(store, couch_url, db.name, batch=100, poll_timeout_ms=2000).start()
    try:
        assert follower.wait_for(lambda: _count(store) == 30, timeout=60)
        case, events = case_with_events(random.Random(3), "339901001201001", datetime(2026, 5, 1, tzinfo=CST))
        db.bulk_docs([case])
        assert follower.wait_for(lambda: _count(store) == 31, timeout=60)
        db.bulk_docs(events)  # events after their case: the case is re-projected
        want = len(events)
        assert follower.wait_for(lambda: store.cursor().execute(
            "SELECT event_count FROM cases WHERE case_id = ?", [case["_id"]]).fetchone()[0] == want, timeout=60)
    finally:
        follower.stop(timeout=5)
    assert not follower.alive
    # Only this follower's thread must be gone: apps of earlier tests may keep theirs.
    assert not [t for t in threading.enumerate()
                if t.name == "fengqiao-readmodel-follower" and t not in others]
    assert follower.status.errors == 0
    store.close()


def test_checkpoint_resumes_and_rebuild_equals_incremental(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    groups = generate(40, seed=4)
    docs = [d for c, e in groups for d in (c, *e)]
    random.Random(2).shuffle(docs)  # events reach the county before their case
    inc = ReadModel(tmp_path / "inc.duckdb", party_key=b"k")
    for i in range(0, len(docs), 50):
        db.bulk_docs(docs[i:i + 50])
        catch_up(inc, db, batch=40)
    seq = inc.seq()
    assert catch_up(inc, db) == 0 and inc.seq() == seq  # nothing new: nothing applied
    full = ReadModel(tmp_path / "full.duckdb", party_key=b"k")
    t0 = time.perf_counter()
    rebuild(full, db, batch=1000)
    assert time.perf_counter() - t0 < 60
    assert snapshot(full) == snapshot(inc)
    rebuild(inc, db, batch=70)  # rebuilding again (different batching) changes nothing
    assert snapshot(inc) == snapshot(full)
    inc.close()
    full.close()
