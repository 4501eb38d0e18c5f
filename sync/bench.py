"""Benchmarks of the sync promises (docs/architecture.md, "Scale targets"), with an in-run baseline.

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

from .bench_couch import cluster_nodes, local_pids, request_count
from .couch import CouchClient, Database, mask_url, replication_doc
from .design import design_documents
from .embedded import PROJECT_ROOT, EmbeddedCouch, free_port
from .errors import SyncError
from .gateway import checkpoint_id
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
                 log_level: str = "WARNING") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = Path(home)
        self.env = {**os.environ, "COUCHDB_URL": couch_url, "FENGQIAO_DB_PREFIX": prefix,
                    "FENGQIAO_COUNTY": county, "FENGQIAO_HOME": str(self.home),
                    "FENGQIAO_PORT": str(self.port), "FENGQIAO_HOST": "127.0.0.1",
                    "FENGQIAO_LOG_LEVEL": log_level,
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

    def couch_requests(self) -> dict[str, int]:
        """CouchDB requests its workers made, by endpoint (logged as each worker ends:
        call after :meth:`stop`)."""
        total: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in self.log_file.read_text(errors="replace").splitlines():
                if "couchdb_requests " in line:
                    for name, n in json.loads(line.split("couchdb_requests ", 1)[1]).items():
                        total[name] = total.get(name, 0) + int(n)
        return total

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
    _external_pids: list[int] | None = None

    def couch_pids(self) -> list[int]:
        """The CouchDB server's processes on this machine (all nodes of a local cluster)."""
        if self.embedded is not None and self.embedded.process is not None:
            return [self.embedded.process.pid]
        if self._external_pids is None:
            self._external_pids = local_pids(self.client)
        return self._external_pids


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
        others = scope_docs(other_grid, "othertablet", docs // 2, rnd)
        bulk_insert(township_db, others)
        # The direct baseline: a database holding exactly the same scope (same documents,
        # plus the profile), continuously replicated onwards like a township database, with
        # the township's own filter, so pushes to either side pay for the same onward
        # replication (a JS filter costs Apache CouchDB a couchjs call per document; the
        # baseline used to replicate unfiltered).
        direct = client.create_db(f"{env.prefix}direct")
        direct_up = client.create_db(f"{env.prefix}direct_up")
        for name, body in design_documents("township").items():
            direct.put_design(name, body)
        bulk_insert(direct, [{k: v for k, v in d.items() if k != "_rev"}
                             for d in [user.public_profile(), *scope]])
        client.create_db("_replicator", exist_ok=True).put(replication_doc(
            f"{env.prefix}direct_up", client.db_url(direct.name), client.db_url(direct_up.name),
            filter="fengqiao/up"))
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

            # The seed is still replicating township → county and direct → direct_up: the
            # cold run measures a cold gateway, not CouchDB busy with that backlog.
            step("等待复制完成 / waiting for the seed to replicate onwards")
            _wait_for_doc(county_db, others[-1]["_id"], timeout=300)
            _wait_for_doc(direct_up, scope[-1]["_id"], timeout=300)
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
                    # Each run alone: the next starts once this one's documents have
                    # replicated onwards (untimed), not while CouchDB still replicates them.
                    _wait_for_doc(county_db if side == "gateway" else direct_up, batch[-1]["_id"], timeout=300)
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


# -- bench load ---------------------------------------------------------------------------------


@dataclass
class Tablet:
    """One simulated tablet: its user, grid, replication ids and what it already holds."""

    user: User
    grid: str
    pull_id: str
    push_id: str
    own_cases: list[dict[str, Any]]


def _rev_hex(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(128):032x}"


def grid_codes(county: str, townships: int, tablets: int) -> list[str]:
    """``tablets`` grid codes spread round-robin over ``townships`` townships, ten grids
    to a village (villages 200…: 村委会)."""
    codes = []
    for i in range(tablets):
        township, k = i % townships, i // townships
        codes.append(f"{county}{township + 1:03d}{200 + k // 10:03d}{k % 10 + 1:03d}")
    return codes


def provision_tablets(env: BenchEnv, topology: Topology, grids: list[str], *, seed_docs: int,
                      fresh_docs: int, rnd: random.Random, step: Step) -> list[Tablet]:
    """Accounts, profiles, each grid's documents, and each tablet's checkpoints as left by
    its previous sync; then ``fresh_docs`` new documents per grid written by the township
    since (what the next session pulls).

    Every account gets the same argon2 hash of the same password (salt included): checking
    it costs exactly what a per-user hash costs, and provisioning 1,500 accounts does not
    spend ~2 minutes hashing."""
    client = env.client
    init_databases(client, topology)
    password_hash = _hasher.hash(BENCH_PASSWORD)
    tablets: list[Tablet] = []
    user_docs, by_township = [], {}
    for n, grid in enumerate(grids):
        name = f"gw{n:05d}"
        user = User(name, "grid_worker", (grid,), display_name=f"网格员{n}")
        user_docs.append({**user.public_profile(), "password_hash": password_hash,
                          "created_at": "2026-11-01T00:00:00+00:00"})
        tablet = Tablet(user, grid, f"pull-{_rev_hex(rnd)}", f"push-{_rev_hex(rnd)}", [])
        tablets.append(tablet)
        by_township.setdefault(grid[:9], []).append(tablet)
    step(f"写入 {len(user_docs)} 个账号 / {len(user_docs)} accounts")
    bulk_insert(client.db(topology.users_db()), user_docs)
    step(f"写入每个网格 {seed_docs} 个文档 / {seed_docs} documents per grid")
    heads = {}
    for code, members in by_township.items():
        db = client.db(topology.township_db(code))
        docs = [t.user.public_profile() for t in members]
        for t in members:
            mine = scope_docs(t.grid, t.user.username, seed_docs, rnd)
            t.own_cases = [d for d in mine if d["type"] == "case"]
            docs.extend(mine)
        bulk_insert(db, docs)
        heads[code] = db.info()["update_seq"]
    step("写入各平板上次同步的检查点 / each tablet's checkpoints from its last sync")
    from concurrent.futures import ThreadPoolExecutor

    def checkpoint(t: Tablet) -> None:
        db = client.db(topology.township_db(t.grid[:9]))
        session = uuid.uuid4().hex
        for rep_id, seq in ((t.pull_id, heads[t.grid[:9]]), (t.push_id, seed_docs)):
            db.put({"_id": checkpoint_id(t.user.username, rep_id), "session_id": session,
                    "last_seq": seq, "replicator": "pouchdb", "version": 1,
                    "history": [{"last_seq": seq, "session_id": session}],
                    "fengqiao_scope": scope_fingerprint(t.user)})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(checkpoint, tablets))
    step(f"乡镇新增每网格 {fresh_docs} 个事件 / {fresh_docs} new township events per grid")
    for code, members in by_township.items():
        fresh = []
        for t in members:
            for i in range(fresh_docs):
                event = event_doc(rnd.choice(t.own_cases), f"mediator{code[-3:]}", 40 + i)
                event["kind"] = "commented"
                fresh.append(event)
        bulk_insert(client.db(topology.township_db(code)), fresh)
    return tablets


def _wait_replicated(env: BenchEnv, topology: Topology, timeout: float, step: Step) -> bool:
    """Wait until the county holds every township document (the seed has flowed up)."""
    client = env.client
    county = client.db(topology.county_db())
    # Design documents stay in their own database (the up filter skips them): the filter's
    # and the Mango indexes' (two in a township, six in the county), counted apart.
    want = sum(_plain_docs(client.db(topology.township_db(c))) for c in topology.township_codes)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = _plain_docs(county)
        step(f"等待县库复制 / county catching up: {have}/{want}")
        if have >= want:
            return True
        time.sleep(2)
    return False


def _plain_docs(db: Database) -> int:
    """Documents that are not design documents."""
    designs = len(db.all_docs(startkey="_design/", endkey="_design0")["rows"])
    return int(db.info()["doc_count"]) - designs


_SSL = httpx.create_ssl_context()


class SessionFailed(Exception):
    pass


async def _session(base: str, t: Tablet, rnd: random.Random, timings: dict[str, list[float]]) -> None:
    """One sync session of a tablet, in the order PouchDB 9 sends the requests."""
    url = f"{base}/sync/{t.user.username}"

    # One connection per tablet, as a device has; the TLS context is shared (each new one
    # costs ~1 MB and CPU, which measured the load generator rather than the server).
    async with httpx.AsyncClient(auth=(t.user.username, BENCH_PASSWORD), timeout=60.0,
                                 verify=_SSL, limits=httpx.Limits(max_connections=1)) as http:

        async def call(name: str, method: str, path: str, ok: tuple[int, ...] = (200, 201),
                       **kw: Any) -> httpx.Response:
            started = time.monotonic()
            try:
                response = await http.request(method, path, **kw)
            except httpx.HTTPError as exc:
                raise SessionFailed(f"{name}: {type(exc).__name__} {exc}") from exc
            timings.setdefault(name, []).append(time.monotonic() - started)
            if response.status_code not in ok:
                raise SessionFailed(f"{name}: HTTP {response.status_code} {response.text[:200]}")
            return response

        await call("GET /", "GET", f"{base}/sync/")
        await call("GET db", "GET", f"{url}/")
        # Pull: checkpoint, changes since it (pages of 100, as batch_size=100), the
        # documents, new checkpoint. (_revs_diff of a pull runs against the local database.)
        local = await call("GET _local", "GET", f"{url}/_local/{t.pull_id}", ok=(200, 404))
        checkpoint = local.json() if local.status_code == 200 else {}
        since: Any = checkpoint.get("last_seq", 0)
        while True:
            page = (await call("_changes", "GET", f"{url}/_changes",
                               params={"style": "all_docs", "since": since, "limit": 100})).json()
            rows = page["results"]
            if rows:
                wanted = [{"id": r["id"], "rev": c["rev"]} for r in rows for c in r["changes"]]
                got = (await call("_bulk_get", "POST", f"{url}/_bulk_get",
                                  params={"revs": "true", "latest": "true"}, json={"docs": wanted})).json()
                for result in got["results"]:
                    for entry in result["docs"]:
                        if "error" in entry:
                            raise SessionFailed(f"_bulk_get: {entry['error']}")
            since = page["last_seq"]
            if len(rows) < 100:
                break
        body = {**{k: v for k, v in checkpoint.items() if k != "_id"}, "last_seq": since,
                "session_id": uuid.uuid4().hex}
        await call("PUT _local", "PUT", f"{url}/_local/{t.pull_id}", json=body)
        # Push: checkpoint, _revs_diff, _bulk_docs (new_edits=false, with _revisions),
        # new checkpoint.
        local = await call("GET _local", "GET", f"{url}/_local/{t.push_id}", ok=(200, 404))
        push_cp = local.json() if local.status_code == 200 else {}
        case = case_doc(t.grid, t.user.username, rnd)
        docs = [case, *(event_doc(rnd.choice([case, *t.own_cases]), t.user.username, i)
                        for i in range(rnd.randint(4, 19)))]
        for doc in docs:
            rev = _rev_hex(rnd)
            doc["_rev"] = f"1-{rev}"
            doc["_revisions"] = {"start": 1, "ids": [rev]}
        diff = (await call("_revs_diff", "POST", f"{url}/_revs_diff",
                           json={d["_id"]: [d["_rev"]] for d in docs})).json()
        missing = [d for d in docs if d["_id"] in diff]
        if len(missing) != len(docs):
            raise SessionFailed(f"_revs_diff: {len(docs) - len(missing)} new documents not missing")
        written = (await call("_bulk_docs", "POST", f"{url}/_bulk_docs",
                              json={"docs": missing, "new_edits": False})).json()
        refused = [r for r in written if r.get("error")]
        if refused:
            raise SessionFailed(f"_bulk_docs: {refused[0]}")
        t.own_cases.append(case)
        body = {**{k: v for k, v in push_cp.items() if k != "_id"},
                "last_seq": int(push_cp.get("last_seq", 0)) + len(docs), "session_id": uuid.uuid4().hex}
        await call("PUT _local", "PUT", f"{url}/_local/{t.push_id}", json=body)


async def _drive(base: str, tablets: list[Tablet], starts: list[float], rnd: random.Random,
                 deadline: float, step: Step) -> dict[str, Any]:
    durations: list[float] = []
    errors: list[str] = []
    timings: dict[str, list[float]] = {}
    t0 = time.monotonic()
    done = 0

    async def one(t: Tablet, at: float) -> None:
        nonlocal done
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        started = time.monotonic()
        try:
            await asyncio.wait_for(_session(base, t, random.Random(rnd.random()), timings),
                                   timeout=max(1.0, deadline - started))
            durations.append(time.monotonic() - started)
        except (SessionFailed, TimeoutError) as exc:
            errors.append(f"{t.user.username}: {exc or type(exc).__name__}")
        done += 1
        if done % 50 == 0:
            step(f"会话 sessions {done}/{len(tablets)}, 错误 errors {len(errors)}")

    await asyncio.gather(*(one(t, at) for t, at in zip(tablets, starts, strict=True)))
    return {"durations": durations, "errors": errors, "timings": timings,
            "elapsed": time.monotonic() - t0}


def load_bench(couch_url: str | None, county: str = "339901", *, tablets: int = 1500,
               townships: int = 20, window: float = 900.0, compressed: float = 60.0,
               seed_docs: int = 10, fresh_docs: int = 2, workers: int = 2, threads: int = 8,
               seed: int = 1, step: Step = _quiet) -> dict[str, Any]:
    """Run ``bench load``: ``tablets`` sessions whose start times are spread uniformly over
    ``window`` seconds of real time, compressed into ``compressed`` seconds."""
    if not 1 <= tablets <= 20_000 or not 1 <= townships <= 999 or not 1 <= compressed <= 3600:
        raise BenchError("参数超出范围", "tablets 1–20000, townships 1–999, compressed 1–3600 s")
    rnd = random.Random(seed)
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
    with bench_env(couch_url, county) as env:
        grids = grid_codes(county, townships, tablets)
        topology = Topology(county, tuple(sorted({g[:9] for g in grids})), env.prefix)
        step("准备数据库 / databases")
        tabs = provision_tablets(env, topology, grids, seed_docs=seed_docs, fresh_docs=fresh_docs,
                                 rnd=rnd, step=step)
        caught_up = _wait_replicated(env, topology, 300, step)
        step("启动网关（gunicorn）/ starting the gateway (gunicorn)")
        gateway = GatewayProcess(env.couch_url, env.prefix, county, env.home / "gw",
                                 workers=workers, threads=threads)
        base = gateway.start()
        order = list(range(len(tabs)))
        rnd.shuffle(order)
        starts = sorted(rnd.uniform(0, compressed) for _ in tabs)
        shuffled = [tabs[i] for i in order]
        sampler = Sampler(lambda: {"gateway": gateway.pids(), "couchdb": env.couch_pids(),
                                   "load generator": [os.getpid()]})
        served_before = request_count(env.client)
        try:
            with sampler:
                result = asyncio.run(_drive(base, shuffled, starts, rnd,
                                            deadline=time.monotonic() + compressed + 300, step=step))
            served_after = request_count(env.client)
        finally:
            gateway.stop()
            log_tail = gateway.log_tail(40)
            remove_replications(env.client, topology)
        gateway_requests = gateway.couch_requests()
        couch_nodes = len(cluster_nodes(env.client)) or 1
        stored = sum(env.client.db(topology.township_db(c)).info()["doc_count"]
                     for c in topology.township_codes)
    durations = result["durations"]
    cpu = sampler.cpu_seconds()
    out: dict[str, Any] = {
        "tablets": tablets, "townships": townships, "window_s": window, "compressed_to_s": compressed,
        "gateway": {"workers": workers, "threads": threads},
        "seed_docs_per_grid": seed_docs, "county_caught_up_before_start": caught_up,
        "sessions_ok": len(durations), "errors": len(result["errors"]),
        "error_examples": result["errors"][:5],
        "elapsed_s": round(result["elapsed"], 1),
        "sessions_per_s": round(len(durations) / result["elapsed"], 2),
        "session_s": {p: round(percentile(durations, q), 3)
                      for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "request_p95_ms": {name: round(percentile(v, 95) * 1000) for name, v in result["timings"].items()},
        "cpu_cores_avg": {g: round(s / sampler.elapsed, 2) for g, s in cpu.items()},
        "system_cpu_busy": round(sampler.system_cpu, 3),
        "peak_rss_mb": {g: round(b / 2**20) for g, b in sampler.peak_rss.items()},
        "loadavg_before": loadavg_before,
        "township_docs_after": stored,
        "couchdb": {"url": mask_url(env.couch_url), "nodes": couch_nodes,
                    "local_processes": len(env.couch_pids())},
    }
    # Requests per session: the gateway's own to CouchDB (every server), and all CouchDB
    # answered meanwhile, replication included (servers with _stats: Apache CouchDB).
    sessions = max(1, len(durations) + len(result["errors"]))
    out["gateway_couchdb_requests_per_session"] = round(sum(gateway_requests.values()) / sessions, 1)
    out["gateway_couchdb_requests_by_endpoint"] = dict(sorted(gateway_requests.items(), key=lambda kv: -kv[1]))
    if served_before is not None and served_after is not None:
        out["couchdb_requests_per_session"] = round((served_after - served_before) / sessions, 1)
    if result["errors"]:
        out["gateway_log_tail"] = log_tail.splitlines()
    out["targets"] = {"p95_lt_2s": out["session_s"]["p95"] < 2.0, "zero_errors": out["errors"] == 0}
    return out


# -- commands (mounted under ``fengqiao bench`` by server/cli_plugins.py) ------------------------


def _run_with_progress(title: str, run: Callable[[Step], dict[str, Any]], as_json: bool) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, highlight=False)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=as_json) as progress:
        task = progress.add_task(title)
        return run(lambda text: progress.update(task, description=f"{title}: {text}"))


def _table(title: str, rows: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("指标 figure", "数值 value", "目标 target", title=title)
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def _settings() -> dict[str, Any]:
    from server.config import load_settings

    return load_settings()


def _click_commands() -> tuple[Any, Any]:
    import click

    @click.command("sync", help="同步网关与直连 CouchDB 的吞吐对比、首次同步、推送到县库延迟 / "
                                "gateway vs direct CouchDB throughput, first sync, push → county latency.")
    @click.option("--docs", default=2000, show_default=True, type=click.IntRange(10, 50_000),
                  help="范围内文档数 / documents in the tablet's scope.")
    @click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 20),
                  help="每项重复次数（取中位数）/ repetitions of each measurement (median).")
    @click.option("--pushes", default=30, show_default=True, type=click.IntRange(1, 1000),
                  help="推送→县库延迟的样本数 / samples of push → county latency.")
    @click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                  help="gunicorn 进程数 / gunicorn workers.")
    @click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
                  help="每进程线程数 / threads per worker.")
    @click.option("--seed", default=1, show_default=True, help="随机种子 / random seed.")
    @click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON.")
    def bench_sync(docs: int, rounds: int, pushes: int, workers: int, threads: int, seed: int,
                   as_json: bool) -> None:
        settings = _settings()
        out = _run_with_progress("bench sync", lambda step: sync_bench(
            settings["COUCHDB_URL"], settings["FENGQIAO_COUNTY"], docs=docs, rounds=rounds,
            pushes=pushes, workers=workers, threads=threads, seed=seed, step=step), as_json)
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        pull, push, first, lat, ok = out["pull"], out["push"], out["first_sync"], out["push_to_county"], out["targets"]
        _table(f"bench sync — {docs} docs ~{out['mean_doc_bytes']} B, {out['couchdb']}", [
            ("拉取 pull, gateway", f"{pull['gateway_docs_per_s']} docs/s", ""),
            ("拉取 pull, direct", f"{pull['direct_docs_per_s']} docs/s", ""),
            ("拉取比 pull ratio", f"{pull['ratio']:.2f}×", f"≥ 0.8× {_mark(ok['pull_ratio_ge_0_8'])}"),
            ("推送 push, gateway", f"{push['gateway_docs_per_s']} docs/s", ""),
            ("推送 push, direct", f"{push['direct_docs_per_s']} docs/s", ""),
            ("推送比 push ratio", f"{push['ratio']:.2f}×", f"≥ 0.8× {_mark(ok['push_ratio_ge_0_8'])}"),
            ("首次同步 first sync (warm)", f"{first['warm_ms'] / 1000:.2f} s ({first['scope_docs']} docs)", ""),
            ("首次同步 first sync (cold gateway)", f"{first['cold_ms'] / 1000:.2f} s", ""),
            ("推送→县库 push → county p50", f"{lat['p50_s']:.2f} s", ""),
            ("推送→县库 push → county p95", f"{lat['p95_s']:.2f} s (n={lat['n']})",
             f"≤ 5 s {_mark(ok['push_to_county_p95_le_5s'])}"),
        ])

    @click.command("load", help="模拟 N 台平板在压缩时间窗内各同步一次 / N simulated tablets, one sync "
                                "session each, spread over a compressed window.")
    @click.option("--tablets", default=1500, show_default=True, type=click.IntRange(1, 20_000),
                  help="平板数 / simulated tablets.")
    @click.option("--townships", default=20, show_default=True, type=click.IntRange(1, 999),
                  help="乡镇数 / townships the grid workers are spread over.")
    @click.option("--window", default=900.0, show_default=True, type=click.FloatRange(1, 86_400),
                  help="真实时间窗（秒）/ real window in seconds (reported).")
    @click.option("--compress-to", "compressed", default=60.0, show_default=True,
                  type=click.FloatRange(1, 3600), help="压缩后的时间窗（秒）/ compressed window in seconds.")
    @click.option("--seed-docs", default=10, show_default=True, type=click.IntRange(1, 1000),
                  help="每网格已有文档数 / documents each grid holds already.")
    @click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                  help="gunicorn 进程数 / gunicorn workers.")
    @click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
                  help="每进程线程数 / threads per worker.")
    @click.option("--seed", default=1, show_default=True, help="随机种子 / random seed.")
    @click.option("--couchdb-url", default=None,
                  help="对该 CouchDB 测试（默认 COUCHDB_URL，未设则内置）；报告其 CPU 与请求数 / run against "
                       "this CouchDB (default COUCHDB_URL, else embedded); its CPU and requests are reported.")
    @click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON.")
    def bench_load(tablets: int, townships: int, window: float, compressed: float, seed_docs: int,
                   workers: int, threads: int, seed: int, couchdb_url: str | None, as_json: bool) -> None:
        settings = _settings()
        out = _run_with_progress("bench load", lambda step: load_bench(
            couchdb_url or settings["COUCHDB_URL"], settings["FENGQIAO_COUNTY"], tablets=tablets,
            townships=townships, window=window, compressed=compressed, seed_docs=seed_docs,
            workers=workers, threads=threads, seed=seed, step=step), as_json)
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        s, ok = out["session_s"], out["targets"]
        _table(f"bench load — {tablets} tablets, {window:.0f} s window compressed to {compressed:.0f} s", [
            ("会话/秒 sessions/s", f"{out['sessions_per_s']}", ""),
            ("会话时长 session p50", f"{s['p50']:.2f} s", ""),
            ("会话时长 session p95", f"{s['p95']:.2f} s", f"< 2 s {_mark(ok['p95_lt_2s'])}"),
            ("会话时长 session p99", f"{s['p99']:.2f} s", ""),
            ("错误 errors", f"{out['errors']}", f"0 {_mark(ok['zero_errors'])}"),
            ("CPU 核 cores (gateway / couchdb / load gen)",
             " / ".join(str(out["cpu_cores_avg"].get(k, 0)) for k in ("gateway", "couchdb", "load generator")), ""),
            ("内存峰值 peak RSS MB (gateway / couchdb)",
             f"{out['peak_rss_mb'].get('gateway', 0)} / {out['peak_rss_mb'].get('couchdb', 0)}", ""),
            ("整机 CPU 忙 system CPU busy", f"{out['system_cpu_busy']:.0%}", ""),
            ("每会话网关→CouchDB 请求 gateway → CouchDB requests/session",
             f"{out['gateway_couchdb_requests_per_session']}", ""),
            ("每会话 CouchDB 处理请求（含复制）CouchDB requests/session (replication included)",
             f"{out.get('couchdb_requests_per_session', '—')}", ""),
            ("CouchDB", f"{out['couchdb']['url']}, {out['couchdb']['nodes']} node(s), "
                        f"{out['couchdb']['local_processes']} local process(es)", ""),
        ])
        for example in out["error_examples"]:
            click.echo(f"error: {example}", err=True)

    return bench_sync, bench_load


def mount(bench_group: Any) -> None:
    """Add ``sync`` and ``load`` to the ``fengqiao bench`` group."""
    bench_sync, bench_load = _click_commands()
    bench_group.add_command(bench_sync)
    bench_group.add_command(bench_load)
