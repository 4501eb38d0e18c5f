"""``fengqiao bench sync``: the sync promises of docs/architecture.md ("Scale targets"),
each against a baseline measured in the same run.

The same documents are pulled and pushed by a real PouchDB (``pouch_driver.js``) through the
gateway (gunicorn, as in production) and directly against CouchDB: throughput of each and
the ratio (target gateway ≥ 0.8× direct); the first sync of a fresh tablet with a
2,000-document scope (warm, and with cold gateway processes); and tablet push → visible in
the county database, p50/p95 over N pushes (target p95 ≤ 5 s).
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import time
from typing import Any

from sync.couch import Database, replication_doc
from sync.design import design_documents
from sync.topology import Topology, init_databases, remove_replications
from sync.users import UserStore, provision

from .env import BENCH_PASSWORD, Step, bench_env, quiet
from .errors import BenchError
from .gateway import GatewayProcess
from .measure import percentile
from .pouch import PouchProcess
from .seed import bulk_insert, case_doc, event_doc, scope_docs


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
               step: Step = quiet) -> dict[str, Any]:
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
        # The sync path alone: the direct side has no statistics follower either (the
        # follower's cost is bench stats' and bench load's), with any number of workers.
        gateway = GatewayProcess(env.couch_url, env.prefix, county, env.home / "gw",
                                 workers=workers, threads=threads, stats_follow="off")
        pouch = PouchProcess()
        auth = {"username": user.username, "password": BENCH_PASSWORD}
        gw_url = f"{gateway.start()}/sync/{user.username}"
        try:
            names = (f"tab{n}" for n in itertools.count())

            def timed(url: str, direction: str, db: str, auth_: dict[str, str] | None) -> dict[str, Any]:
                result = pouch.replicate(db, url, direction, auth_, keep_alive=True)
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

