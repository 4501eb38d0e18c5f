"""The read model read over its owner's socket (``server/readmodel/remote.py``) answers
exactly what the in-process cursor answers — values, types, order — streams big results in
chunks, survives a bad query, serves each aggregate from the owner, computed again with
each batch the owner commits, and says clearly (503, both languages) when the owner is gone.

And ``fengqiao serve --workers 2`` really runs: two server processes answer the same
statistics, read from one owning ``fengqiao stats serve`` process, which ends with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from factories import COUNTY, PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from rm_helpers import as_changes
from testenv import ROOT, poll

from server.readmodel.generate import generate
from server.readmodel.queries import (
    CaseFilter,
    StatsQuery,
    by_child_area,
    iter_cases,
    list_cases,
    monthly,
    totals,
)
from server.readmodel.remote import CHUNK, QueryServer, RemoteStore
from server.readmodel.store import ReadModel, ReadModelError
from sync.embedded import free_port


@pytest.fixture(scope="module")
def owner(tmp_path_factory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("remote")
    store = ReadModel(home / "stats.duckdb", party_key=b"k")
    docs = [d for c, e in generate(300, seed=3) for d in (c, *e)]
    store.apply_changes(as_changes(docs), "1-x")
    server = QueryServer(store, Path(f"/tmp/fq-{os.getpid()}-{time.monotonic_ns()}") / "s.sock").start()
    yield store, server, RemoteStore(server.path)
    server.close()
    store.close()


def test_every_query_reads_the_same_through_the_socket(owner) -> None:  # type: ignore[no-untyped-def]
    store, _, remote = owner
    q = StatsQuery(COUNTY, date(2025, 11, 1), date(2026, 10, 31), date(2026, 7, 1), (COUNTY,))
    for query in (totals, by_child_area, monthly):
        local = query(store.cursor(), q)
        over = query(remote.cursor(), q, remote)
        assert over == local and local
    flt = CaseFilter(scope=(COUNTY,), area=COUNTY)
    assert list_cases(remote.cursor(), flt, limit=30) == list_cases(store.cursor(), flt, limit=30)
    assert list(iter_cases(remote.cursor(), flt, batch=70)) == list(iter_cases(store.cursor(), flt, batch=70))


def test_values_keep_their_types(owner) -> None:  # type: ignore[no-untyped-def]
    _, _, remote = owner
    sql = ("SELECT DATE '2026-03-01', TIMESTAMP '2026-03-01 08:30:00', 1.25::DECIMAL(5,2), "
           "TRUE, NULL, 'a\"b{}', [1, 2], 2::HUGEINT ** 70, '\\xAA'::BLOB, {'$d': 'x'}")
    row = remote.cursor().execute(sql).fetchone()
    assert row == (date(2026, 3, 1), datetime(2026, 3, 1, 8, 30), Decimal("1.25"), True, None,
                   'a"b{}', [1, 2], 2.0 ** 70, b"\xaa", {"$d": "x"})
    got = remote.cursor().execute("SELECT ?::DATE, ? || 'x', ?::VARCHAR[]", [date(2026, 1, 2), "中", ["a"]])
    assert got.fetchall() == [(date(2026, 1, 2), "中x", ["a"])]


def test_big_results_stream_in_chunks(owner) -> None:  # type: ignore[no-untyped-def]
    _, _, remote = owner
    n = CHUNK * 2 + 17
    cur = remote.cursor().execute(f"SELECT range AS i FROM range({n})")
    assert cur.description is not None and cur.description[0][0] == "i"
    first = cur.fetchmany(CHUNK + 5)
    assert [r[0] for r in first] == list(range(CHUNK + 5))
    assert cur.fetchone() == (CHUNK + 5,)
    assert [r[0] for r in cur.fetchall()] == list(range(CHUNK + 6, n))
    assert cur.fetchall() == [] and cur.fetchone() is None


def test_a_bad_query_is_an_error_and_the_connection_lives_on(owner) -> None:  # type: ignore[no-untyped-def]
    _, _, remote = owner
    cur = remote.cursor()
    with pytest.raises(ReadModelError) as caught:
        cur.execute("SELECT * FROM no_such_table")
    assert "no_such_table" in caught.value.message_en and "统计查询失败" in caught.value.message_zh
    assert cur.execute("SELECT 41 + 1").fetchone() == (42,)


def test_an_aggregate_asked_over_the_socket_is_ready_after_the_owners_next_batch(owner) -> None:  # type: ignore[no-untyped-def]
    store, _, remote = owner
    q = StatsQuery(COUNTY, date(2025, 11, 1), date(2027, 10, 31), date(2026, 7, 1), (COUNTY,))
    cur = remote.cursor()
    before, _ = totals(cur, q, remote)
    spec = ("sql", "SELECT count(*) FROM cases")
    assert remote.aggregate(spec, cur) == [(store.cursor().execute("SELECT count(*) FROM cases").fetchone()[0],)]  # type: ignore[index]
    [(case, events)] = generate(1, seed=98)
    store.apply_changes(as_changes([case, *events], 20_000), "3-x")
    # asked lately, whichever process asked: computed again by the owner with the batch
    assert store.prepared(spec)
    count = store.cursor().execute("SELECT count(*) FROM cases").fetchone()[0]  # type: ignore[index]
    assert remote.aggregate(spec, cur) == [(count,)] and remote.aggregate(spec) == [(count,)]
    after, _ = totals(cur, q, remote)
    assert after == before + 1


def test_an_owner_that_is_gone_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote = RemoteStore(tmp_path / "nobody.sock")
    with pytest.raises(ReadModelError) as caught:
        remote.cursor().execute("SELECT 1")
    assert "不可用" in caught.value.message_zh and "not available" in caught.value.message_en


@pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="uses the suite's embedded server only")
def test_serve_with_two_workers_reads_one_owner(couch, couch_url, cleanup_prefix, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sync.topology import Topology, init_databases
    from sync.users import UserStore, provision

    prefix = cleanup_prefix
    topology = Topology(COUNTY, (TOWNSHIP_1, TOWNSHIP_2), prefix)
    init_databases(couch, topology)
    provision(couch, topology, UserStore(couch, prefix, COUNTY), "rex", "county_reviewer", [COUNTY], PASSWORD)
    docs = [d for c, e in generate(40, seed=8) for d in (c, *e)]
    couch.db(topology.county_db()).bulk_docs(docs)
    port = free_port()
    env = {**os.environ, "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix, "FENGQIAO_COUNTY": COUNTY,
           "FENGQIAO_HOME": str(tmp_path), "FENGQIAO_PORT": str(port), "FENGQIAO_NOTIFY_WORKER": "off",
           "FENGQIAO_SECRET_KEY": "x" * 40}
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve", "--workers", "2", "--threads", "2"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        answers = []

        def twelve_answers() -> int:
            assert proc.poll() is None, "serve --workers 2 exited"
            with httpx.Client(base_url=base, timeout=10) as web:
                assert web.post("/api/auth/login", json={"username": "rex", "password": PASSWORD}).status_code == 200
                got = web.get("/api/stats", params={"breakdown": "false", "trend": "false",
                                                          "from": "2025-01-01", "to": "2026-12-31"})
                if got.status_code == 200 and got.json()["cases"] == 40:
                    answers.append(got.json()["metrics"])
            return len(answers) >= 12

        poll(twelve_answers, 120, every=0.05, ignore=(httpx.HTTPError,),
             what="serve --workers 2 answering the statistics twelve times")
        assert all(a == answers[0] for a in answers)
        children = _children(proc.pid)
        owners = [p for p in children if "stats serve" in _cmdline(p)]
        assert len(owners) == 1, "exactly one process owns the read model"
        assert len(children) == 3, "two server workers beside it"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        print(output)  # shown when the test fails
    time.sleep(0.5)
    assert not [p for p in owners if Path(f"/proc/{p}").exists()
                and "Z" not in Path(f"/proc/{p}/stat").read_text().split(")")[1].split()[0]], output


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.split(")")[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
