"""Conflicting edits from two tablets are queued for a person and resolved on the record."""

from __future__ import annotations

import itertools

import factories as f

from schemas import validate_document
from sync import conflicts

_names = itertools.count()


def tablet(pouch, live, username):
    return pouch.tablet(f"ctab{next(_names)}", f"{live.url}/sync/{username}", username, f.PASSWORD)


def test_two_offline_edits_become_an_open_conflict_then_a_recorded_resolution(pouch, live, township_db):
    alice, mia = tablet(pouch, live, "alice"), tablet(pouch, live, "mia")
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.push()
    mia.pull()

    # Both edit the base record while offline, then sync.
    a_doc = alice.get(case["_id"])
    a_doc["description"] = "网格员补充：双方已同意调解"
    alice.put(a_doc)
    m_doc = mia.get(case["_id"])
    m_doc["description"] = "乡镇补充：涉及土地确权，需转交"
    mia.put(m_doc)
    alice.push()
    result = mia.push()
    assert result["doc_write_failures"] == 0  # both revisions are kept, none refused

    assert conflicts.scan(township_db) == [f"conflict:{case['_id']}"]
    assert conflicts.scan(township_db) == []  # incremental: nothing new the second time
    [record] = conflicts.open_records(township_db)
    assert record["doc_id"] == case["_id"] and record["area_code"] == f.GRID_A
    descriptions = {v["description"] for v in record["versions"]}
    assert descriptions == {a_doc["description"], m_doc["description"]}
    stored = township_db.get(record["_id"])
    assert validate_document(stored) == []

    keep = next(v for v in record["versions"] if v["description"] == m_doc["description"])
    resolved = conflicts.resolve(township_db, case["_id"], keep["_rev"], "mia", note="以乡镇意见为准")
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "mia"
    assert [d["description"] for d in resolved["discarded"]] == [a_doc["description"]]
    after = township_db.get(case["_id"], conflicts=True)
    assert after["description"] == m_doc["description"] and "_conflicts" not in after
    assert validate_document(township_db.get(record["_id"])) == []
    assert conflicts.open_records(township_db) == []
