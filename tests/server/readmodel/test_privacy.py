"""The read model holds no full ID number or phone (PIPL minimisation), only masked values
and keyed hashes that still recognise the same party; older files are rebuilt."""

from __future__ import annotations

import json

import duckdb
from domain_helpers import make_case
from rm_helpers import as_changes

from server.readmodel.store import ReadModel

ID_NUMBER = "110101199003074514"
PHONE = "13812345678"
PARTY = {"role": "applicant", "name": "张三", "id_number": ID_NUMBER, "phone": PHONE}


def _file_bytes(store: ReadModel) -> bytes:
    store.con.execute("CHECKPOINT")
    store.close()
    return store.path.read_bytes()


def test_no_full_identifier_anywhere_in_the_file_but_repeats_are_recognised(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ReadModel(tmp_path / "stats.duckdb")  # a random key of its own
    first = make_case(parties=[PARTY])
    again = make_case("2026-03-09T09:00:00+08:00", parties=[{**PARTY, "phone": "13700000000"}])
    by_phone = make_case("2026-03-10T09:00:00+08:00", parties=[{"role": "applicant", "name": "张三", "phone": PHONE}])
    other = make_case("2026-03-11T09:00:00+08:00", parties=[{"role": "applicant", "name": "李四", "phone": PHONE}])
    store.apply_changes(as_changes([first, again, by_phone, other]), "4-x")
    cur = store.cursor()
    for table in ("case_docs", "cases"):
        text = str(cur.execute(f"SELECT * FROM {table}").fetchall())
        assert ID_NUMBER not in text and PHONE not in text, table
    rows = dict(cur.execute("SELECT case_id, party_keys FROM cases").fetchall())
    keys = {case_id: set(json.loads(value)) for case_id, value in rows.items()}
    assert keys[first["_id"]] & keys[again["_id"]]          # same ID number
    assert keys[first["_id"]] & keys[by_phone["_id"]]       # same name and phone
    assert not keys[first["_id"]] & keys[other["_id"]]      # same phone, another name
    parties = json.loads(cur.execute("SELECT parties FROM cases WHERE case_id = ?", [first["_id"]]).fetchone()[0])
    assert parties == [{"role": "applicant", "name": "张三", "id_number": "110***********4514",
                        "phone": "138****5678"}]
    data = _file_bytes(store)
    assert ID_NUMBER.encode() not in data and PHONE.encode() not in data
    # another server key gives other hashes: without the key they cannot be recomputed
    other_store = ReadModel(tmp_path / "other.duckdb")
    other_store.apply_changes(as_changes([first]), "1-x")
    other_keys = set(json.loads(other_store.cursor().execute("SELECT party_keys FROM cases").fetchone()[0]))
    assert not other_keys & keys[first["_id"]]
    other_store.close()


def test_a_file_of_the_old_layout_or_another_key_is_deleted_and_rebuilt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stats.duckdb"
    old = duckdb.connect(str(path))  # schema version 1 kept whole case documents
    old.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    old.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('seq', '\"9-x\"')")
    old.execute("CREATE TABLE case_docs (case_id VARCHAR, doc VARCHAR)")
    old.execute("INSERT INTO case_docs VALUES ('case:x', ?)", [json.dumps(make_case(parties=[PARTY]))])
    old.close()
    store = ReadModel(path, party_key=b"k")
    assert store.seq() is None and store.counts()["case_docs"] == 0  # the follower starts afresh
    store.apply_changes(as_changes([make_case(parties=[PARTY])]), "1-x")
    store.close()
    same = ReadModel(path, party_key=b"k")
    assert same.counts()["cases"] == 1  # same key: kept
    same.close()
    rekeyed = ReadModel(path, party_key=b"new key")                 # new key: rebuilt
    assert rekeyed.seq() is None and rekeyed.counts()["cases"] == 0
    data = _file_bytes(rekeyed)
    assert ID_NUMBER.encode() not in data
