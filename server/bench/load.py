"""``fengqiao bench load``: N simulated tablets (default 1,500), each one realistic sync
session in PouchDB 9's request order, their start times spread over a compressed window,
against the gateway under gunicorn. Reports sessions/s, p50/p95/p99 session time, errors,
the CPU and memory of the gateway, CouchDB and the load generator (``/proc``), and the
CouchDB requests per session (target p95 < 2 s, no errors).

The sessions are plain HTTP (httpx, one connection per tablet, asyncio), not PouchDB: one
Node process could not hold 1,500 tablets' worth of clients without measuring itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from grid.codes import township_of
from sync.couch import Database, mask_url
from sync.gateway import checkpoint_id
from sync.scope import scope_fingerprint
from sync.topology import Topology, init_databases, remove_replications
from sync.users import User, hash_password

from .couch_stats import cluster_nodes, request_count
from .env import BENCH_PASSWORD, BenchEnv, Step, bench_env, quiet
from .errors import BenchError, SessionFailed
from .gateway import GatewayProcess
from .measure import Sampler, percentile
from .seed import bulk_insert, case_doc, event_doc, scope_docs


@dataclass
class Tablet:
    """One simulated tablet: its user, grid, replication ids and what it already holds."""

    user: User
    grid: str
    pull_id: str
    push_id: str
    own_cases: list[dict[str, Any]]

    @property
    def township(self) -> str:
        """The township whose database this tablet syncs with."""
        return township_of(self.grid) or self.grid


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
    password_hash = hash_password(BENCH_PASSWORD)
    tablets: list[Tablet] = []
    user_docs, by_township = [], {}
    for n, grid in enumerate(grids):
        name = f"gw{n:05d}"
        user = User(name, "grid_worker", (grid,), display_name=f"网格员{n}")
        user_docs.append({**user.public_profile(), "password_hash": password_hash,
                          "created_at": "2026-11-01T00:00:00+00:00"})
        tablet = Tablet(user, grid, f"pull-{_rev_hex(rnd)}", f"push-{_rev_hex(rnd)}", [])
        tablets.append(tablet)
        by_township.setdefault(tablet.township, []).append(tablet)
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
    def checkpoint(t: Tablet) -> None:
        db = client.db(topology.township_db(t.township))
        session = uuid.uuid4().hex
        for rep_id, seq in ((t.pull_id, heads[t.township]), (t.push_id, seed_docs)):
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
        except SessionFailed as exc:
            errors.append(f"{t.user.username}: {exc.detail}")
        except TimeoutError:
            errors.append(f"{t.user.username}: TimeoutError")
        done += 1
        if done % 50 == 0:
            step(f"会话 sessions {done}/{len(tablets)}, 错误 errors {len(errors)}")

    await asyncio.gather(*(one(t, at) for t, at in zip(tablets, starts, strict=True)))
    return {"durations": durations, "errors": errors, "timings": timings,
            "elapsed": time.monotonic() - t0}


def load_bench(couch_url: str | None, county: str = "339901", *, tablets: int = 1500,
               townships: int = 20, window: float = 900.0, compressed: float = 60.0,
               seed_docs: int = 10, fresh_docs: int = 2, workers: int = 2, threads: int = 8,
               seed: int = 1, step: Step = quiet) -> dict[str, Any]:
    """Run ``bench load``: ``tablets`` sessions whose start times are spread uniformly over
    ``window`` seconds of real time, compressed into ``compressed`` seconds."""
    if not 1 <= tablets <= 20_000 or not 1 <= townships <= 999 or not 1 <= compressed <= 3600:
        raise BenchError("参数超出范围", "tablets 1–20000, townships 1–999, compressed 1–3600 s",
                         kind="invalid")
    rnd = random.Random(seed)
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
    with bench_env(couch_url, county) as env:
        grids = grid_codes(county, townships, tablets)
        topology = Topology(county, tuple(sorted({township_of(g) or g for g in grids})), env.prefix)
        step("准备数据库 / databases")
        tabs = provision_tablets(env, topology, grids, seed_docs=seed_docs, fresh_docs=fresh_docs,
                                 rnd=rnd, step=step)
        caught_up = _wait_replicated(env, topology, 300, step)
        step("启动网关（gunicorn）/ starting the gateway (gunicorn)")
        # As a county runs it: the statistics read model follows the county feed throughout,
        # with one worker as with several (left lazy, one worker never started it here).
        gateway = GatewayProcess(env.couch_url, env.prefix, county, env.home / "gw",
                                 workers=workers, threads=threads, stats_follow="eager")
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

