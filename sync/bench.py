"""Benchmarks of the sync promises (ARCHITECTURE.md, "Scale"), with an in-run baseline.

``sync_bench``  The same documents pulled and pushed by a real PouchDB (pouchdb-node 9,
                ``benchmarks/pouch_bench.js``) through the gateway (gunicorn, as in
                production) and directly against CouchDB, in one run: throughput of each
                and the ratio (target gateway ≥ 0.8× direct); the first sync of a fresh
                tablet with a 2,000-document scope; and tablet push → visible in the county
                database, p50/p95 over N pushes (target p95 ≤ 5 s).
``load_bench``  N simulated tablets (default 1,500), each one realistic sync session in
                PouchDB's request order, spread over a compressed window, against the
                gateway under gunicorn; sessions/s, p50/p95/p99 session time, errors, and
                the server's CPU and memory read from ``/proc`` (target p95 < 2 s, no errors).

Both create their own databases under a random ``bench…_`` prefix and delete them at the
end; only loopback is used. Pieces (``GatewayProcess``, ``PouchProcess``, ``proc_usage``)
are reused by the chaos tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .couch import CouchClient, Database, replication_doc
from .embedded import PROJECT_ROOT, EmbeddedCouch, free_port
from .errors import SyncError
from .gateway import LOCAL_PREFIX
from .scope import scope_fingerprint
from .topology import Topology, init_databases, remove_replications
from .users import User, UserStore, _hasher, provision

DRIVER = PROJECT_ROOT / "benchmarks" / "pouch_bench.js"
BENCH_PASSWORD = "Bench2026pass"
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- processes ----------------------------------------------------------------------------------


class BenchError(SyncError):
    """A benchmark could not run (driver missing, server did not start, …)."""


class PouchProcess:
    """One Node process holding in-memory PouchDB databases (one per simulated tablet)."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not DRIVER.exists():
            raise BenchError("找不到 node 或 benchmarks/pouch_bench.js",
                             f"node or {DRIVER} not found: install Node.js 20 and run `npm ci`")
        self.proc = subprocess.Popen([node, str(DRIVER)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def call(self, op: str, **args: Any) -> Any:
        """Send one command and wait for its answer; raises RuntimeError on a PouchDB error."""
        with self._lock:
            msg_id = next(self._ids)
            assert self.proc.stdin and self.proc.stdout
            self.proc.stdin.write(json.dumps({"id": msg_id, "op": op, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("PouchDB driver exited")
        answer = json.loads(line)
        if not answer["ok"]:
            raise PouchFailed(answer["error"])
        return answer["result"]

    def replicate(self, db: str, url: str, direction: str, auth: dict[str, str] | None = None,
                  **opts: Any) -> dict[str, Any]:
        return self.call("replicate", db=db, url=url, auth=auth, direction=direction, opts=opts)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class PouchFailed(RuntimeError):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(json.dumps(error, ensure_ascii=False))
        self.error = error


class GatewayProcess:
    """``python -m server serve`` (gunicorn, gthread) as a subprocess in its own session,
    so ``kill()`` can SIGKILL the master and its workers at once (``kill -9``)."""

    def __init__(self, couch_url: str, prefix: str, county: str, home: Path | str, *,
                 port: int | None = None, workers: int = 2, threads: int = 8,
                 log_level: str = "WARNING", auth_fail_delay: float = 1.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = Path(home)
        self.env = {**os.environ, "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix,
                    "FENGQIAO_COUNTY": county, "FENGQIAO_HOME": str(self.home),
                    "FENGQIAO_PORT": str(self.port), "FENGQIAO_HOST": "127.0.0.1",
                    "FENGQIAO_LOG_LEVEL": log_level, "FENGQIAO_AUTH_FAIL_DELAY": str(auth_fail_delay),
                    "FENGQIAO_SECRET_KEY": "bench-" + uuid.uuid4().hex}
        self.args = [sys.executable, "-m", "server", "serve", "--workers", str(workers),
                     "--threads", str(threads)]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.home / "gateway.log"

    def start(self, timeout: float = 60.0) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError("网关启动失败", f"the gateway exited with {self.process.returncode}; "
                                 f"log: {self.log_file}\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise BenchError("网关未在时限内响应", f"the gateway did not answer at {self.url} within {timeout:.0f} s")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *children(self.process.pid)]

    def kill(self) -> None:
        """SIGKILL master and workers (the whole process group): a crash, not a shutdown."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- /proc --------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes) of one process; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0, 0
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK, rss_pages * _PAGE


def system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


class Sampler:
    """Samples CPU and memory of some processes every ``interval`` seconds in a thread."""

    def __init__(self, pids: Callable[[], dict[str, list[int]]], interval: float = 0.5) -> None:
        self.pids, self.interval = pids, interval
        self.peak_rss: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu0: dict[int, float] = {}
        self._cpu_last: dict[int, tuple[str, float]] = {}

    def _sample(self) -> None:
        for group, pids in self.pids().items():
            rss = 0
            for pid in pids:
                cpu, mem = proc_usage(pid)
                rss += mem
                self._cpu0.setdefault(pid, cpu)
                if cpu:
                    self._cpu_last[pid] = (group, cpu)
            self.peak_rss[group] = max(self.peak_rss.get(group, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._busy0 = system_busy()
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()
        self.elapsed = time.monotonic() - self._t0
        busy1 = system_busy()
        self.system_cpu = (busy1[0] - self._busy0[0]) / max(busy1[1] - self._busy0[1], 1.0)

    def cpu_seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (group, cpu) in self._cpu_last.items():
            out[group] = out.get(group, 0.0) + cpu - self._cpu0.get(pid, cpu)
        return out


# -- environment --------------------------------------------------------------------------------


@dataclass
class BenchEnv:
    couch_url: str
    client: CouchClient
    prefix: str
    county: str
    home: Path
    embedded: EmbeddedCouch | None

    def couch_pids(self) -> list[int]:
        if self.embedded is not None and self.embedded.process is not None:
            return [self.embedded.process.pid]
        return []


@contextlib.contextmanager
def bench_env(couch_url: str | None, county: str) -> Iterator[BenchEnv]:
    """A CouchDB (``couch_url`` or a fresh embedded one in a temporary home) and a random
    database prefix; every database and replication of the prefix is removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="fengqiao-bench-"))
    embedded = None
    try:
        if not couch_url:
            embedded = EmbeddedCouch(home)
            couch_url = embedded.start()
        client = CouchClient(couch_url, timeout=120.0)
        env = BenchEnv(couch_url, client, f"bench{uuid.uuid4().hex[:6]}_", county, home, embedded)
        try:
            yield env
        finally:
            _cleanup(client, env.prefix)
            client.close()
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(home, ignore_errors=True)


def _cleanup(client: CouchClient, prefix: str) -> None:
    with contextlib.suppress(SyncError):
        replicator = client.db("_replicator")
        if replicator.exists():
            for row in replicator.all_docs(startkey=prefix, endkey=prefix + "\ufff0")["rows"]:
                replicator.delete_doc(row["id"], row["value"]["rev"])
        for name in client.all_dbs():
            if name.startswith(prefix):
                client.delete_db(name)


# -- documents ----------------------------------------------------------------------------------

_CATEGORIES = ("neighbourhood", "marriage_family", "land_forest", "labour")
_TEXT = "双方因宅基地边界和排水沟走向发生争执，网格员已上门了解情况，约定周五在村委会调解。"


def case_doc(area_code: str, reported_by: str, rnd: random.Random) -> dict[str, Any]:
    """A valid case of ~0.5 KB, as a tablet creates it."""
    from schemas import new_case_id, new_tracking_code

    return {
        "_id": new_case_id(), "type": "case", "schema_version": 1, "area_code": area_code,
        "tracking_code": new_tracking_code(), "channel": "grid_worker",
        "category": rnd.choice(_CATEGORIES), "description": _TEXT,
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        "reported_by": reported_by, "created_at": "2026-11-20T09:30:00+08:00", "policy": "520",
    }


def event_doc(case: dict[str, Any], actor: str, n: int) -> dict[str, Any]:
    """A valid ``commented`` event on ``case``."""
    from schemas import new_event_id

    return {
        "_id": new_event_id(case["_id"]), "type": "event", "schema_version": 1,
        "case_id": case["_id"], "kind": "commented", "at": f"2026-11-20T10:{n % 60:02d}:00+08:00",
        "actor": actor, "area_code": case["area_code"], "text": f"第{n}次回访：{_TEXT[:30]}",
    }


def scope_docs(area_code: str, author: str, count: int, rnd: random.Random) -> list[dict[str, Any]]:
    """``count`` documents of one grid: cases, each followed by four events."""
    docs: list[dict[str, Any]] = []
    while len(docs) < count:
        case = case_doc(area_code, author, rnd)
        docs.append(case)
        docs.extend(event_doc(case, author, i) for i in range(min(4, count - len(docs))))
    return docs


def bulk_insert(db: Database, docs: list[dict[str, Any]], chunk: int = 500) -> None:
    for i in range(0, len(docs), chunk):
        for result in db.bulk_docs(docs[i:i + chunk]):
            if result.get("error"):
                raise BenchError("种子数据写入失败", f"seeding failed: {result}")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# -- bench sync ---------------------------------------------------------------------------------


def _wait_for_doc(db: Database, doc_id: str, timeout: float, interval: float = 0.01) -> float | None:
    """Seconds until ``doc_id`` exists in ``db`` (None on timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if db.get_or_none(doc_id) is not None:
            return time.monotonic() - started
        time.sleep(interval)
    return None


def sync_bench(couch_url: str | None, county: str = "339901", *, docs: int = 2000, rounds: int = 3,
               pushes: int = 30, workers: int = 2, threads: int = 8, seed: int = 1,
               step: Step = _quiet) -> dict[str, Any]:
    """Run ``bench sync``; returns the figures (see the module docstring)."""
    rnd = random.Random(seed)
    township = f"{county}001"
    grid, other_grid = f"{township}201001", f"{township}201002"
    with bench_env(couch_url, county) as env:
        client = env.client
        step("准备数据库和账号 / databases and account")
        topology = Topology(county, (township,), env.prefix)
        init_databases(client, topology)
        store = UserStore(client, env.prefix, county)
        user = provision(client, topology, store, "benchtablet", "grid_worker", [grid], BENCH_PASSWORD)
        township_db = client.db(topology.township_db(township))
        county_db = client.db(topology.county_db())
        step(f"写入 {docs} 个范围内文档 + {docs // 2} 个范围外文档 / seeding")
        scope = scope_docs(grid, user.username, docs, rnd)
        bulk_insert(township_db, scope)
        bulk_insert(township_db, scope_docs(other_grid, "othertablet", docs // 2, rnd))
        # The direct baseline: a database holding exactly the same scope (same documents,
        # plus the profile), continuously replicated onwards like a township database, so
        # pushes to either side pay for one onward replication.
        direct = client.create_db(f"{env.prefix}direct")
        direct_up = client.create_db(f"{env.prefix}direct_up")
        bulk_insert(direct, [{k: v for k, v in d.items() if k != "_rev"}
                             for d in [user.public_profile(), *scope]])
        client.create_db("_replicator", exist_ok=True).put(replication_doc(
            f"{env.prefix}direct_up", client.db_url(direct.name), client.db_url(direct_up.name)))
        direct_url = client.db_url(direct.name)
        doc_bytes = statistics.mean(len(json.dumps(d, ensure_ascii=False).encode()) for d in scope)

        step("启动网关（gunicorn）/ starting the gateway (gunicorn)")
        gateway = GatewayProcess(env.couch_url, env.prefix, county, env.home / "gw",
                                 workers=workers, threads=threads)
        pouch = PouchProcess()
        auth = {"username": user.username, "password": BENCH_PASSWORD}
        gw_url = f"{gateway.start()}/sync/{user.username}"
        try:
            names = (f"tab{n}" for n in itertools.count())

            def timed(url: str, direction: str, db: str, auth_: dict[str, str] | None) -> dict[str, Any]:
                result = pouch.replicate(db, url, direction, auth_)
                if result["errors"] or result["doc_write_failures"] or result["status"] != "complete":
                    brief = {k: result[k] for k in ("docs_read", "docs_written", "doc_write_failures", "status")}
                    raise BenchError("复制出错", f"{direction} {url}: {brief}; first error: "
                                     f"{(result['errors'] or [None])[0]}")
                return result

            step("冷启动首次同步 / cold first sync (fresh gateway processes)")
            cold = timed(gw_url, "pull", next(names), auth)
            pull: dict[str, list[dict[str, Any]]] = {"gateway": [], "direct": []}
            for r in range(rounds):
                order = [("gateway", gw_url, auth), ("direct", direct_url, None)]
                for side, url, a in order if r % 2 == 0 else order[::-1]:
                    step(f"拉取 pull {r + 1}/{rounds}: {side}")
                    db = next(names)
                    pull[side].append(timed(url, "pull", db, a))
                    pouch.call("destroy", db=db)
            push: dict[str, list[dict[str, Any]]] = {"gateway": [], "direct": []}
            last_pushed = ""
            for r in range(rounds):
                batch = scope_docs(grid, user.username, docs, rnd)
                order = [("gateway", gw_url, auth), ("direct", direct_url, None)]
                for side, url, a in order if r % 2 == 0 else order[::-1]:
                    step(f"推送 push {r + 1}/{rounds}: {side}")
                    db = next(names)
                    pouch.call("bulk", db=db, docs=batch)
                    push[side].append(timed(url, "push", db, a))
                    pouch.call("destroy", db=db)
                last_pushed = batch[-1]["_id"]
            step("等待县库追上 / waiting for the county database to catch up")
            _wait_for_doc(county_db, last_pushed, timeout=120)

            latencies: list[float] = []
            push_ms: list[float] = []
            tablet = next(names)
            for n in range(pushes):
                step(f"推送→县库 push → county {n + 1}/{pushes}")
                case = case_doc(grid, user.username, rnd)
                note = event_doc(case, user.username, n)
                pouch.call("bulk", db=tablet, docs=[case, note])
                started = time.monotonic()
                result = timed(gw_url, "push", tablet, auth)
                push_ms.append(result["ms"])
                seen = _wait_for_doc(county_db, note["_id"], timeout=60)
                if seen is None or _wait_for_doc(county_db, case["_id"], timeout=5) is None:
                    raise BenchError("推送未到达县库", f"{note['_id']} not in the county database after 60 s")
                latencies.append(time.monotonic() - started)
                time.sleep(rnd.uniform(0.05, 0.3))
        finally:
            pouch.close()
            gateway.stop()
            remove_replications(client, topology)

        def rate(rows: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] / (r["ms"] / 1000) for r in rows)

        vendor = client.info().get("vendor", {}).get("name", "?")
        out: dict[str, Any] = {
            "couchdb": vendor, "gateway": {"workers": workers, "threads": threads},
            "docs": docs, "rounds": rounds, "mean_doc_bytes": round(doc_bytes),
            "out_of_scope_docs_in_township": docs // 2,
        }
        for name, rows, key in (("pull", pull, "docs_written"), ("push", push, "docs_written")):
            g, d = rate(rows["gateway"], key), rate(rows["direct"], key)
            out[name] = {"gateway_docs_per_s": round(g), "direct_docs_per_s": round(d),
                         "ratio": round(g / d, 3),
                         "gateway_ms": [round(r["ms"]) for r in rows["gateway"]],
                         "direct_ms": [round(r["ms"]) for r in rows["direct"]]}
        out["first_sync"] = {"scope_docs": pull["gateway"][0]["docs_written"],
                             "cold_ms": round(cold["ms"]),
                             "warm_ms": round(statistics.median(r["ms"] for r in pull["gateway"]))}
        out["push_to_county"] = {"n": pushes, "p50_s": round(percentile(latencies, 50), 3),
                                 "p95_s": round(percentile(latencies, 95), 3),
                                 "max_s": round(max(latencies), 3),
                                 "push_p50_ms": round(percentile(push_ms, 50))}
        out["targets"] = {
            "pull_ratio_ge_0_8": out["pull"]["ratio"] >= 0.8,
            "push_ratio_ge_0_8": out["push"]["ratio"] >= 0.8,
            "push_to_county_p95_le_5s": out["push_to_county"]["p95_s"] <= 5.0,
        }
        return out
