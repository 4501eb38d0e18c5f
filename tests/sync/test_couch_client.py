"""The CouchDB client against a real server (embedded, or COUCHDB_URL)."""

from __future__ import annotations

import threading

import pytest
from testenv import every_copy, poll

from sync.couch import CouchClient, mask_url, replication_doc, split_credentials
from sync.embedded import free_port
from sync.errors import Conflict, CouchUnreachable, NotFound, PreconditionFailed


def test_server_info_names_vendor_and_version(couch):
    info = couch.info()
    assert "version" in info


def test_create_database_is_idempotent_and_strict_on_request(couch, db_prefix):
    name = f"{db_prefix}idem"
    try:
        couch.create_db(name)
        couch.create_db(name)  # no error the second time
        with pytest.raises(PreconditionFailed) as info:
            couch.create_db(name, exist_ok=False)
        assert info.value.status == 412
        assert info.value.error == "file_exists"
    finally:
        couch.delete_db(name)
    couch.delete_db(name)  # missing is fine
    with pytest.raises(NotFound):
        couch.delete_db(name, missing_ok=False)


def test_put_get_delete_document(db):
    saved = db.save({"_id": "case:1", "type": "case", "text": "邻里纠纷"})
    assert saved["_rev"].startswith("1-")
    got = db.get("case:1")
    assert got["text"] == "邻里纠纷"
    db.delete_doc("case:1", got["_rev"])
    with pytest.raises(NotFound) as info:
        db.get("case:1")
    assert info.value.error == "not_found"
    assert db.get_or_none("case:1") is None


def test_stale_revision_is_a_conflict_keeping_couchdb_reason(db):
    # On every copy first: with a copy that lacks the document, a cluster stores the
    # rev-less write there and answers 202 Accepted instead of 409.
    db.put({"_id": "risk:1", "type": "risk", "v": 1}, w=every_copy(db))
    with pytest.raises(Conflict) as info:
        db.put({"_id": "risk:1", "type": "risk", "v": 2})
    assert info.value.status == 409
    assert info.value.error == "conflict"
    assert info.value.reason
    assert "409" in info.value.message_en and "冲突" not in info.value.message_en


def test_bulk_docs_reports_per_document_and_all_docs_reads_back(db):
    db.put({"_id": "a", "type": "x"}, w=every_copy(db))
    results = db.bulk_docs([{"_id": "a", "type": "x"}, {"_id": "b", "type": "x"}], w=every_copy(db))
    assert [r.get("error") for r in results] == ["conflict", None]
    rows = db.all_docs(include_docs=True)["rows"]
    assert [r["id"] for r in rows] == ["a", "b"]
    keyed = db.all_docs(keys=["b", "zz"])["rows"]
    assert keyed[0]["id"] == "b" and keyed[1]["error"] == "not_found"
    ranged = db.all_docs(startkey="b", endkey="b\ufff0")["rows"]
    assert [r["id"] for r in ranged] == ["b"]


def test_new_edits_false_keeps_given_revision(db):
    db.bulk_docs([{"_id": "e", "_rev": "1-abc", "type": "x"}], new_edits=False, w=every_copy(db))
    assert db.get("e")["_rev"] == "1-abc"
    diff = db.revs_diff({"e": ["1-abc", "2-def"]})
    assert set(diff) == {"e"} and diff["e"]["missing"] == ["2-def"]
    # Apache CouchDB also names the stored leaves that may be ancestors of a missing
    # revision (documented, optional); pouchdb-server 4.2.0 leaves the field out.
    assert diff["e"].get("possible_ancestors", ["1-abc"]) == ["1-abc"]
    assert set(diff["e"]) <= {"missing", "possible_ancestors"}
    got = db.bulk_get([{"id": "e"}], revs=True)
    doc = got["results"][0]["docs"][0]["ok"]
    assert doc["_revisions"]["ids"] == ["abc"]


def test_holding_names_every_id_the_database_has_in_any_state(db):
    db.bulk_docs([{"_id": "live", "type": "x"}, {"_id": "gone", "type": "x"}], w=every_copy(db))
    db.bulk_docs([{"_id": "gone", "_rev": db.get("gone")["_rev"], "_deleted": True}], w=every_copy(db))
    # two leaves, one of them deleted
    db.bulk_docs([{"_id": "forked", "_rev": "1-abc", "type": "x"}, {"_id": "forked", "_rev": "1-def", "_deleted": True}],
                 new_edits=False, w=every_copy(db))
    assert db.holding(["live", "gone", "forked", "never"]) == {"live", "gone", "forked"}
    assert db.holding([]) == set()
    rows = db.held_rows(["live", "gone", "forked", "never", "live"])
    assert set(rows) == {"live", "gone", "forked"}
    assert rows["live"]["doc"]["type"] == "x" and rows["live"]["value"] == {"rev": db.get("live")["_rev"]}
    assert rows["gone"]["value"]["deleted"] is True and rows["gone"]["doc"] is None
    assert rows["forked"]["value"] == {"rev": "1-abc"}  # the winner: the live leaf
    # Apache CouchDB (2+) answers it with _revs_diff's documented possible_ancestors
    kind = db.client.info().get("couchdb")
    assert db.client.is_apache_couchdb() == (kind == "Welcome")


def test_changes_normal_longpoll_and_streamed_agree(db):
    db.bulk_docs([{"_id": f"d{i:03}", "type": "x", "n": i} for i in range(120)], w=every_copy(db))
    whole = db.changes(since=0)
    streamed = list(db.iter_changes(since=0, include_docs=True))
    # The order of a feed is not guaranteed across shards (Apache CouchDB, q > 1): compare
    # the rows as sets, and each exactly once.
    wanted = {f"d{i:03}" for i in range(120)}
    whole_ids = [r["id"] for r in whole["results"]]
    streamed_ids = [r["id"] for r in streamed[:-1]]
    assert sorted(whole_ids) == sorted(streamed_ids) == sorted(wanted)
    # Both end where the feed ends. Compared by what they mean, not as strings: on a cluster a
    # sequence also names the shard copies that answered, so equal positions may differ.
    for last_seq in (whole["last_seq"], streamed[-1]["last_seq"]):
        assert db.changes(since=last_seq)["results"] == []
    assert all(r["doc"]["n"] == int(r["id"][1:]) for r in streamed[:-1])
    limited = db.changes(since=0, limit=5)
    assert len(limited["results"]) == 5

    # A longpoll waits for the next change.
    got = {}

    def poll():
        got.update(db.changes(since=whole["last_seq"], feed="longpoll", timeout=10000))

    thread = threading.Thread(target=poll)
    thread.start()
    db.save({"_id": "late", "type": "x"})
    thread.join(15)
    assert [r["id"] for r in got["results"]] == ["late"]


def test_find_selects_by_field(db):
    db.bulk_docs([{"_id": f"c{i}", "type": "case", "area_code": f"33990100100{i % 2}"} for i in range(6)],
                 w=every_copy(db))
    found = db.find({"area_code": "339901001001"}, fields=["_id"])
    assert sorted(d["_id"] for d in found["docs"]) == ["c1", "c3", "c5"]


def test_security_and_design_documents(db):
    security = {"admins": {"names": [], "roles": ["_admin"]}, "members": {"names": [], "roles": ["_admin"]}}
    db.set_security(security)
    # A cluster answers once most copies hold it; a read may come from the last one.
    assert poll(db.security, 30, until=lambda got: got == security) == security
    body = {"language": "javascript", "views": {"by_type": {"map": "function(d){emit(d.type,null)}"}}}
    assert db.put_design("t", body) is True
    assert db.put_design("t", body) is False  # unchanged: not rewritten
    db.put({"_id": "x1", "type": "case"}, w=every_copy(db))
    rows = db.view("t", "by_type", key="case")["rows"]
    assert [r["id"] for r in rows] == ["x1"]


def test_attachments_round_trip(db):
    saved = db.save({"_id": "case:photo", "type": "case"})
    data = bytes(range(256)) * 10
    result = db.put_attachment("case:photo", "photo.jpg", data, "image/jpeg", rev=saved["_rev"])
    assert result["ok"]
    body, content_type = db.get_attachment("case:photo", "photo.jpg")
    assert body == data
    assert content_type.startswith("image/jpeg")
    with pytest.raises(NotFound):
        db.get_attachment("case:photo", "missing.jpg")


def test_replicator_document_copies_a_database(couch, db, db_prefix):
    target = f"{db_prefix}target"
    couch.create_db(target)
    db.bulk_docs([{"_id": f"r{i}", "type": "x"} for i in range(5)])
    replicator = couch.create_db("_replicator")
    doc_id = f"{db_prefix}rep"
    replicator.save(replication_doc(doc_id, couch.db_url(db.name), couch.db_url(target)))
    try:
        poll(lambda: couch.db(target).info()["doc_count"], 30, until=lambda n: n == 5, what="documents copied")
    finally:
        current = replicator.get(doc_id)
        replicator.delete_doc(doc_id, current["_rev"])
        couch.delete_db(target)


def test_unreachable_server_gives_one_clear_message_with_masked_credentials():
    url = f"http://admin:s3cret@127.0.0.1:{free_port()}/"
    with CouchClient(url, timeout=2) as client, pytest.raises(CouchUnreachable) as info:
        client.info()
    message = str(info.value)
    assert "s3cret" not in message
    assert "admin:***@127.0.0.1" in message
    assert "无法连接" in info.value.message_zh and "cannot reach" in info.value.message_en


def test_url_helpers():
    assert mask_url("http://u:p@h:5984/") == "http://u:***@h:5984/"
    assert mask_url("http://h:5984/") == "http://h:5984/"
    assert split_credentials("http://u:p%40ss@h:5984") == ("http://h:5984/", ("u", "p@ss"))
    with pytest.raises(ValueError, match="COUCHDB_URL"):
        split_credentials("couch.example:5984")
