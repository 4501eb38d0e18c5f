"""``fengqiao bench stats``: dashboard latency, feed lag and the scan-and-project baseline.

What goes where (printed with the results):

* ``couch_cases`` generated cases **and their events** are written into a fresh county
  database through ``_bulk_docs`` and ingested into the read model through the real
  ``_changes`` feed (catch-up). The baseline — scan every document, project each case,
  ``compute_metrics`` — runs over exactly these documents, and its figures are checked
  against the read model's.
* The rest up to ``cases`` rows is generated **straight into DuckDB** by copying the
  projected rows with shifted dates and new ids (the embedded CouchDB takes ~200 s per
  million documents, and the query latency depends on the rows DuckDB scans, not on how
  they got there). The baseline at that size is extrapolated linearly from the measured
  one and labelled as such.
* Lag: with the follower thread running (longpoll), cases are written one by one at a
  steady rate into the county database while a reader polls the read model; lag is the
  time from the write's acknowledgement to the row being queryable.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grid.codes import township_of
from server.domain.metrics import compute_metrics
from server.domain.projection import project_case
from server.readmodel.follower import Follower, catch_up
from server.readmodel.generate import CST, case_with_events, generate, grid_codes
from server.readmodel.queries import (
    CaseFilter,
    StatsQuery,
    by_child_area,
    list_cases,
    monthly,
    parse_position,
    totals,
)
from server.readmodel.remote import QueryServer, RemoteStore
from server.readmodel.store import ReadModel
from sync.couch import CouchClient

from .measure import percentile

PERIOD = (date(2025, 11, 1), date(2026, 10, 31))


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def run(couch_url: str, *, county: str = "339901", cases: int = 1_000_000,
        couch_cases: int = 5000, repeats: int = 30, lag_seconds: float = 10.0,
        rate: float = 20.0, workdir: Path | None = None,
        console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    couch_cases = min(couch_cases, cases)
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    db_name = f"{prefix}county_{county}"
    if workdir is not None:  # with COUCHDB_URL set, nothing else has made FENGQIAO_HOME yet
        workdir.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(dir=workdir)
    out: dict[str, Any] = {"cases": cases, "couch_cases": couch_cases,
                           "generated_in_duckdb": cases - couch_cases, "county_db": db_name}
    client = CouchClient(couch_url)
    db = client.create_db(db_name)
    store = ReadModel(Path(tmp.name) / "stats.duckdb")
    try:
        # 1. documents into CouchDB
        groups = generate(couch_cases, county=county, seed=42)
        docs = [d for c, evs in groups for d in (c, *evs)]
        out["couch_docs"] = len(docs)
        with _progress(console) as progress:
            task = progress.add_task("写入 CouchDB / writing to CouchDB", total=len(docs))
            t0 = time.perf_counter()
            for i in range(0, len(docs), 2000):
                db.bulk_docs(docs[i:i + 2000])
                progress.advance(task, len(docs[i:i + 2000]))
            out["couch_write_s"] = time.perf_counter() - t0

            # 2. the feed into the read model
            task = progress.add_task("读模型追平 / catch-up from _changes", total=len(docs))
            t0 = time.perf_counter()
            catch_up(store, db, batch=2000, on_batch=lambda r: progress.advance(task, r.changes))
            out["ingest_s"] = time.perf_counter() - t0
            out["ingest_docs_per_s"] = len(docs) / out["ingest_s"]

        # 3. baseline over the same documents, and the read model's answer on them
        as_of = PERIOD[1] + timedelta(days=1)
        console.print("基线：扫描并投影全部文档 / baseline: scan and project every document …")
        t0 = time.perf_counter()
        by_case: dict[str, list[dict[str, Any]]] = {}
        bases: dict[str, dict[str, Any]] = {}
        for row in db.iter_changes(include_docs=True):
            doc = row.get("doc")
            if not doc:
                continue
            if doc.get("type") == "case":
                bases[doc["_id"]] = doc
            elif doc.get("type") == "event":
                by_case.setdefault(doc["case_id"], []).append(doc)
        projections = [project_case(c, by_case.get(i, [])) for i, c in bases.items()]
        want = compute_metrics(projections, county, *PERIOD, as_of)
        baseline_s = time.perf_counter() - t0
        q = StatsQuery(county, *PERIOD, as_of, (county,))
        t0 = time.perf_counter()
        _, got = totals(store.cursor(), q)
        small_s = time.perf_counter() - t0
        mismatched = [k for k, v in want.items()
                      if (got[k].numerator, got[k].denominator) != (v.numerator, v.denominator)]
        out["baseline"] = {"cases": len(projections), "seconds": baseline_s,
                           "read_model_seconds": small_s, "ratio": baseline_s / small_s,
                           "figures_equal": not mismatched, "mismatched": mismatched,
                           "extrapolated_seconds_at_cases": baseline_s * cases / max(1, len(projections))}

        # 4. fill DuckDB up to `cases` rows by copying projected rows
        extra = cases - couch_cases
        if extra > 0:
            with _progress(console) as progress:
                task = progress.add_task("生成到 DuckDB / generating into DuckDB", total=extra)
                t0 = time.perf_counter()
                _fill(store, couch_cases, extra, lambda n: progress.advance(task, n))
                out["generate_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            store.rebuild_cells()  # rows written straight into `cases` bypass the batch path
            out["cells_rebuild_s"] = time.perf_counter() - t0
        out["rows"] = store.cursor().execute("SELECT COUNT(*) FROM cases").fetchone()[0]  # type: ignore[index]

        # 5. dashboard queries
        first_page, cursor = list_cases(store.cursor(), CaseFilter(scope=(county,), today=as_of), limit=50)
        assert first_page
        out["queries"] = _time_queries(_queries(store.cursor(), store, q, county, as_of, cursor),
                                       repeats, console, "查询 / queries")
        # 5b. the same queries as a second server process asks them (``serve --workers N``):
        # over the owner's Unix socket, results serialised (server.readmodel.remote)
        server = QueryServer(store, Path(tmp.name) / "stats.sock").start()
        try:
            remote = RemoteStore(server.path)
            out["queries_remote"] = _time_queries(
                _queries(remote.cursor(), remote, q, county, as_of, cursor),
                repeats, console, "经套接字查询 / queries over the socket")
            # 6. lag behind the county database while cases keep arriving
            out["lag"] = _lag(store, remote, couch_url, db, county, lag_seconds, rate, console, q)
        finally:
            server.close()
        return out
    finally:
        store.close()
        try:
            client.delete_db(db_name)
        finally:
            client.close()
            tmp.cleanup()


def _queries(cur: Any, cache: Any, q: StatsQuery, county: str, as_of: date,
             cursor: str | None) -> dict[str, Callable[[], Any]]:
    """The dashboard's and the case list's queries on one cursor (local or remote)."""
    township = str(township_of(grid_codes(county)[0]))
    return {
        "county_year_totals": lambda: totals(cur, q),
        "township_quarter_totals": lambda: totals(cur, StatsQuery(
            township, date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 1), (township,))),
        "county_by_township": lambda: by_child_area(cur, q),
        "county_monthly_trend": lambda: monthly(cur, q),
        "list_first_page": lambda: list_cases(cur, CaseFilter(scope=(township,), today=as_of), limit=50),
        "list_next_page": lambda: list_cases(cur, CaseFilter(scope=(county,), today=as_of),
                                             limit=50, after=parse_position(cursor)),
        "list_overdue_filter": lambda: list_cases(cur, CaseFilter(
            scope=(county,), overdue=True, status=("accepted", "in_progress"), today=as_of), limit=50),
        "dashboard_cached_same_version": lambda: (totals(cur, q, cache), by_child_area(cur, q, cache),
                                                  monthly(cur, q, cache)),
        "list_free_text": lambda: list_cases(cur, CaseFilter(scope=(county,), q="山林", today=as_of), limit=50),
    }


def _time_queries(queries: dict[str, Callable[[], Any]], repeats: int, console: Console,
                  title: str) -> dict[str, dict[str, float]]:
    """p50/p95/max of each query; every query but "dashboard_cached_same_version" bypasses
    the result cache (cold)."""
    lat: dict[str, dict[str, float]] = {}
    with _progress(console) as progress:
        task = progress.add_task(title, total=len(queries) * repeats)
        for name, fn in queries.items():
            fn()  # warm
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
                progress.advance(task)
            lat[name] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "max_ms": max(times)}
    return lat


def _fill(store: ReadModel, template_rows: int, extra: int, advance: Callable[[int], None]) -> None:
    """Copy the projected rows with new ids and dates shifted by whole days."""
    cur = store.cursor()
    cur.execute("CREATE TEMP TABLE tpl AS SELECT * FROM cases")
    copies = -(-extra // template_rows)
    done = 0
    step = max(1, 200_000 // template_rows)
    for first in range(1, copies + 1, step):
        last = min(copies, first + step - 1)
        n = min(extra - done, (last - first + 1) * template_rows)
        shift = "(r % 365)"
        dated = ", ".join(f"{c} + {shift}::INTEGER AS {c}" for c in
                          ("created_date", "accepted_date", "closed_date", "accept_due_date",
                           "close_due_date"))
        cur.execute(
            f"INSERT INTO cases SELECT tpl.* REPLACE (case_id || '#' || r::VARCHAR AS case_id, {dated}, "
            f"created_at + to_days({shift}::INTEGER) AS created_at) "
            f"FROM tpl, range({first}, {last + 1}) t(r) LIMIT {n}")
        done += n
        advance(n)
    cur.execute("DROP TABLE tpl")


def _lag(store: ReadModel, remote: RemoteStore, couch_url: str, db: Any, county: str, seconds: float,
         rate: float, console: Console, q: StatsQuery) -> dict[str, Any]:
    """Feed lag at ``rate`` cases/s, and the dashboard's three queries right after each
    batch the follower commits, in the owning process and over its socket (a new version:
    only what the owner computed again with the batch is ready)."""
    import random

    follower = Follower(store, couch_url, db.name, batch=500, poll_timeout_ms=5000).start()
    rng = random.Random(99)
    grids = grid_codes(county)
    written: dict[str, float] = {}
    seen: dict[str, float] = {}
    lock = threading.Lock()
    stop = threading.Event()

    after_batch: list[float] = []
    after_batch_remote: list[float] = []

    def poll() -> None:
        cur, over = store.cursor(), remote.cursor()
        version = store.version
        while not stop.is_set() or len(seen) < len(written):
            if store.version != version:
                version = store.version
                t0 = time.perf_counter()
                totals(cur, q, store), by_child_area(cur, q, store), monthly(cur, q, store)
                t1 = time.perf_counter()
                totals(over, q, remote), by_child_area(over, q, remote), monthly(over, q, remote)
                after_batch.append((t1 - t0) * 1000)
                after_batch_remote.append((time.perf_counter() - t1) * 1000)
            with lock:
                pending = [k for k in written if k not in seen]
            if pending:
                found = cur.execute("SELECT case_id FROM cases WHERE case_id IN "
                                    "(SELECT unnest(?::VARCHAR[]))", [pending]).fetchall()
                now = time.perf_counter()
                for (case_id,) in found:
                    seen.setdefault(case_id, now)
            if stop.is_set() and time.perf_counter() - stop_at[0] > 15:
                break
            time.sleep(0.01)

    stop_at = [0.0]
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        n = int(seconds * rate)
        with _progress(console) as progress:
            task = progress.add_task(f"延迟 / lag: {rate:g} cases/s", total=n)
            start = time.perf_counter()
            for i in range(n):
                target = start + i / rate
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                case, events = case_with_events(rng, rng.choice(grids),
                                                datetime.now(CST) - timedelta(hours=2))
                db.bulk_docs([case, *events])
                with lock:
                    written[case["_id"]] = time.perf_counter()
                progress.advance(task)
        stop_at[0] = time.perf_counter()
        stop.set()
        poller.join(20)
    finally:
        stop.set()
        follower.stop()
    lags = [(seen[k] - written[k]) * 1000 for k in written if k in seen]
    return {"cases": len(written), "seen": len(lags), "rate_per_s": rate,
            "p50_ms": percentile(lags, 50), "p95_ms": percentile(lags, 95),
            "max_ms": max(lags) if lags else float("nan"),
            "follower_errors": follower.status.errors,
            "dashboard_after_batch": {"batches": len(after_batch), "p50_ms": percentile(after_batch, 50),
                                      "p95_ms": percentile(after_batch, 95)},
            "dashboard_after_batch_remote": {"batches": len(after_batch_remote),
                                             "p50_ms": percentile(after_batch_remote, 50),
                                             "p95_ms": percentile(after_batch_remote, 95)}}


def table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title=f"bench stats — {result['rows']:,} case rows "
                    f"({result['couch_cases']:,} via CouchDB feed, "
                    f"{result['generated_in_duckdb']:,} generated straight into DuckDB)")
    t.add_column("measure")
    t.add_column("p50 ms", justify="right")
    t.add_column("p95 ms", justify="right")
    t.add_column("note")
    for name, v in result["queries"].items():
        t.add_row(name, f"{v['p50_ms']:.1f}", f"{v['p95_ms']:.1f}",
                  "OK" if v["p95_ms"] < 100 else "over 100 ms target")
    for name, v in result.get("queries_remote", {}).items():
        t.add_row(f"{name} (another process, socket)", f"{v['p50_ms']:.1f}", f"{v['p95_ms']:.1f}",
                  "OK" if v["p95_ms"] < 100 else "over 100 ms target")
    lag = result["lag"]
    t.add_row("feed lag (write → queryable)", f"{lag['p50_ms']:.0f}", f"{lag['p95_ms']:.0f}",
              f"{lag['seen']}/{lag['cases']} cases at {lag['rate_per_s']:g}/s, max {lag['max_ms']:.0f} ms; "
              + ("OK" if lag["p95_ms"] < 2000 else "over 2 s target"))
    for key, where in (("dashboard_after_batch", "in the owner"), ("dashboard_after_batch_remote", "over its socket")):
        after = lag.get(key)
        if after and after["batches"]:
            t.add_row(f"dashboard right after each batch, {where}", f"{after['p50_ms']:.1f}",
                      f"{after['p95_ms']:.1f}", f"totals + by township + trend, {after['batches']} batches; "
                      + ("OK" if after["p95_ms"] < 100 else "over 100 ms target"))
    b = result["baseline"]
    t.add_row("baseline: scan + project + compute_metrics", f"{b['seconds'] * 1000:.0f}", "",
              f"{b['cases']:,} cases (measured); read model {b['read_model_seconds'] * 1000:.1f} ms "
              f"on the same data → ×{b['ratio']:.0f}; figures equal: {b['figures_equal']}")
    t.add_row("baseline extrapolated", f"{b['extrapolated_seconds_at_cases'] * 1000:.0f}", "",
              f"linear estimate at {result['cases']:,} cases (not measured)")
    t.add_row("ingest via _changes", "", "", f"{result['couch_docs']:,} docs in {result['ingest_s']:.1f} s "
              f"({result['ingest_docs_per_s']:.0f} docs/s); CouchDB write {result['couch_write_s']:.1f} s")
    return t
