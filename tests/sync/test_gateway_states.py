"""The gateway applies the case's state rules per document (real PouchDB pushes)."""

from __future__ import annotations

import factories as f


def tablet(pouch, live, username):
    return pouch.device(live.url, username, f.PASSWORD)


def at(day: int, hour: int) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00+08:00"


def test_a_dispute_settled_offline_is_stored_and_impossible_events_are_refused_each(
        pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    case = f.case(f.GRID_A, "alice")  # policy 520: the report is the acceptance
    settled = [f.event(case, "alice", kind="mediated", at=at(20, 10), outcome="agreement"),
               f.event(case, "alice", kind="resolved", at=at(20, 11), resolution_level="grid"),
               f.event(case, "alice", kind="closed", at=at(20, 12), reply="双方达成协议，已当面答复")]
    again = f.event(case, "alice", kind="accepted", at=at(20, 13))
    late = f.event(case, "alice", kind="mediated", at=at(20, 14), outcome="agreement")
    phone = f.event(case, "alice", kind="evaluated_by_phone", at=at(21, 9), rating="satisfied")
    alice.bulk([case, *settled, again, late, phone])
    result = alice.push()
    reasons = {d["id"]: d["reason"] for d in result["denied"]}
    assert set(reasons) == {again["_id"], late["_id"]}
    assert "办结" in reasons[late["_id"]] and "closed" in reasons[late["_id"]]
    assert "受理" in reasons[again["_id"]] and " / " in reasons[again["_id"]]
    prefix = f"event:{case['_id'][5:]}:"
    rows = township_db.all_docs(startkey=prefix, endkey=prefix + "\ufff0")["rows"]
    assert {r["id"] for r in rows} == {e["_id"] for e in [*settled, phone]}


def test_a_case_escalated_to_the_county_is_not_resolved_at_village(pouch, live, township_db):
    case = f.case(f.GRID_A, "alice")
    township_db.bulk_docs([case, f.event(case, "mia", kind="escalated", at=at(20, 10),
                                         to_level="county", reason="涉及多个乡镇")])
    alice = tablet(pouch, live, "alice")
    alice.pull()
    village = f.event(case, "alice", kind="resolved", at=at(21, 10), resolution_level="village")
    alice.put(village)
    result = alice.push()
    [denied] = result["denied"]
    assert denied["id"] == village["_id"]
    assert "最高层级" in denied["reason"] and "highest level" in denied["reason"]
    assert township_db.get_or_none(village["_id"]) is None


def test_events_of_a_refused_case_are_refused_with_it(pouch, live, township_db):
    alice = tablet(pouch, live, "alice")
    forged = f.case(f.GRID_A, "alice", category="no-such-category")
    note = f.event(forged, "alice")
    alice.bulk([forged, note])
    result = alice.push()
    reasons = {d["id"]: d["reason"] for d in result["denied"]}
    assert set(reasons) == {forged["_id"], note["_id"]}
    assert "所属案件未被接收" in reasons[note["_id"]]
