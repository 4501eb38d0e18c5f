"""Chaos: real PouchDB tablets against a gateway (gunicorn subprocess) and an embedded
CouchDB, both killed with SIGKILL and restarted at random moments, also mid-replication.

After healing: every document created on any tablet is in the county database exactly
once (one id, one leaf revision unless it is a reviewed conflict), every conflict is in
the review queue, and replication checkpoints resume (no full re-sync after a restart).

Small by default (runs in the normal suite). Larger, on demand::

    FENGQIAO_CHAOS_STEPS=400 FENGQIAO_CHAOS_SEED=7 .venv/bin/pytest -m chaos tests/chaos

The seed is printed and named in every failure message.

With a 3-node Apache CouchDB cluster of ``../shared/tools/apache-couchdb.sh`` behind
``COUCHDB_URL`` and ``FENGQIAO_TEST_CLUSTER=1``, one more test SIGKILLs each CouchDB node in
turn while tablets keep pushing (skipped otherwise)::

    COUCHDB_URL=$(bash ../shared/tools/apache-couchdb.sh url) FENGQIAO_TEST_CLUSTER=1 \
        .venv/bin/pytest -m chaos tests/chaos
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import factories as f
import pytest
from apps import new_prefix
from testenv import ROOT, poll

from server.bench.errors import PouchFailed
from server.bench.gateway import GatewayProcess
from server.bench.pouch import PouchProcess
from sync import conflicts
from sync.couch import CouchClient, Database, split_credentials
from sync.embedded import EmbeddedCouch, free_port
from sync.errors import SyncError
from sync.topology import Topology
from sync.users import UserStore, provision

pytestmark = pytest.mark.chaos

STEPS = int(os.environ.get("FENGQIAO_CHAOS_STEPS", "16"))
# Chance that a step kills a server. Restarting the gateway (gunicorn, app import) costs
# seconds, so the suite's small run kills rarely at random and four times on purpose.
KILL_RATE = float(os.environ.get("FENGQIAO_CHAOS_KILL_RATE", "0.08"))
SEED = int(os.environ.get("FENGQIAO_CHAOS_SEED", str(random.randrange(1_000_000))))


class Cluster:
    """An embedded CouchDB on a fixed port and a gateway subprocess, each killable."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.couch = EmbeddedCouch(home / "couch-home", port=self.port)
        self.url = self.couch.start()
        self.prefix = new_prefix("chaos")  # its own server, deleted with tmp_path
        self.client = CouchClient(self.url)
        self.topology = Topology(f.COUNTY, (f.TOWNSHIP_1,), self.prefix)
        store = UserStore(self.client, self.prefix, f.COUNTY)
        for name, role, codes in (("alice", "grid_worker", [f.GRID_A]), ("bob", "grid_worker", [f.GRID_B]),
                                  ("mia", "township_mediator", [f.TOWNSHIP_1])):
            provision(self.client, self.topology, store, name, role, codes, f.PASSWORD)
        self.gateway = GatewayProcess(self.url, self.prefix, f.COUNTY, home / "gw", workers=1, threads=4)
        self.gateway.start()
        self.kills = {"gateway": 0, "couch": 0}

    @property
    def township(self) -> Database:
        return self.client.db(self.topology.township_db(f.TOWNSHIP_1))

    @property
    def county(self) -> Database:
        return self.client.db(self.topology.county_db())

    def kill_gateway(self) -> None:
        self.gateway.kill()
        self.kills["gateway"] += 1

    def restart_gateway(self) -> None:
        self.gateway = GatewayProcess(self.url, self.prefix, f.COUNTY, self.home / "gw",
                                      port=self.gateway.port, workers=1, threads=4)
        self.gateway.start()

    def kill_couch(self) -> None:
        self.couch.kill()
        self.kills["couch"] += 1

    def restart_couch(self) -> None:
        self.couch = EmbeddedCouch(self.home / "couch-home", port=self.port)
        assert self.couch.start() == self.url

    def close(self) -> None:
        self.gateway.stop()
        self.client.close()
        self.couch.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@dataclass
class Device:
    """A tablet: its own Node process (so a sync can run while the test kills servers)."""

    user: str
    node: PouchProcess
    url: str
    online: bool = True
    cases: list[dict[str, Any]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)

    def sync(self, direction: str) -> dict[str, Any] | None:
        """One replication; None when it failed (server down, killed mid-way)."""
        try:
            result = self.node.replicate("local", f"{self.url}/sync/{self.user}", direction,
                                         {"username": self.user, "password": f.PASSWORD})
        except PouchFailed:
            return None
        return result if result["status"] == "complete" and not result["errors"] else None

    def put(self, docs: list[dict[str, Any]]) -> None:
        for result in self.node.call("bulk", db="local", docs=docs):
            assert result.get("ok"), result
        self.created.update(d["_id"] for d in docs)


def devices(cluster: Cluster | ClusterSite) -> Iterator[list[Device]]:
    nodes = [Device(u, PouchProcess(), cluster.gateway.url) for u in ("alice", "bob", "mia")]
    try:
        yield nodes
    finally:
        for d in nodes:
            d.node.close()


def _grid(user: str) -> str:
    return {"alice": f.GRID_A, "bob": f.GRID_B}[user]


def act(rnd: random.Random, cluster: Cluster, tablets: list[Device]) -> str:
    """One random step; returns what it did (for the failure message)."""
    roll = rnd.random()
    device = rnd.choice(tablets)
    if roll < 0.30:
        if device.user == "mia":
            known = [c for d in tablets for c in d.cases if d.user != "mia"]
            pulled = {r["id"] for r in device.node.call("allDocs", db="local", opts={})["rows"]}
            known = [c for c in known if c["_id"] in pulled]
            if not known:
                return "mia: nothing pulled yet"
            target = rnd.choice(known)
            docs = [f.event(target, "mia") for _ in range(rnd.randint(1, 3))]
            if rnd.random() < 0.5:
                # The mediator corrects the base record while the reporter may too: a conflict.
                doc = device.node.call("get", db="local", docid=target["_id"], opts={})
                doc["description"] = f"调解员更正 {rnd.random():.6f}"
                docs.append(doc)
            device.put(docs)
            return f"mia wrote {len(docs)} docs"
        case = f.case(_grid(device.user), device.user)
        device.cases.append(case)
        device.put([case, *(f.event(case, device.user) for _ in range(rnd.randint(1, 4)))])
        return f"{device.user} created a case"
    if roll < 0.40 and device.user != "mia" and device.cases:
        target = rnd.choice(device.cases)
        doc = device.node.call("get", db="local", docid=target["_id"], opts={})
        doc["description"] = f"网格员更正 {rnd.random():.6f}"
        device.put([doc])
        return f"{device.user} edited a case"
    if roll < 0.50:
        device.online = not device.online
        return f"{device.user} {'online' if device.online else 'offline'}"
    if roll < 1.0 - KILL_RATE:
        if not device.online:
            return f"{device.user} offline, no sync"
        device.sync("push")
        device.sync("pull")
        return f"{device.user} synced"
    # A server dies, possibly while a tablet replicates.
    victim = "gateway" if rnd.random() < 0.6 else "couch"
    worker = None
    if device.online:
        worker = threading.Thread(target=lambda: (device.sync("push"), device.sync("pull")))
        worker.start()
        time.sleep(rnd.uniform(0.0, 0.4))
    if victim == "gateway":
        cluster.kill_gateway()
    else:
        cluster.kill_couch()
    if worker is not None:
        worker.join(120)
        assert not worker.is_alive(), "a replication hung after its server was killed"
    if victim == "gateway":
        cluster.restart_gateway()
    else:
        cluster.restart_couch()
    return f"killed {victim} (during {device.user}'s sync: {worker is not None})"


def heal(cluster: Cluster | ClusterSite, tablets: list[Device], seed: int) -> None:
    for d in tablets:
        d.online = True
    for _ in range(6):
        results = [(d.sync("push"), d.sync("pull")) for d in tablets]
        if all(p is not None and q is not None and not p["docs_written"] and not q["docs_written"]
               for p, q in results):
            return
    raise AssertionError(f"seed {seed}: tablets did not settle after healing")


def check_everything_arrived(cluster: Cluster | ClusterSite, tablets: list[Device], seed: int,
                             timeout: float = 90) -> None:
    created = set().union(*(d.created for d in tablets))
    county = cluster.county

    def missing() -> list[str]:
        rows = county.all_docs(keys=sorted(created))["rows"]
        return [r["key"] for r in rows if "value" not in r or r["value"].get("deleted")]

    poll(missing, timeout, until=lambda ids: not ids, ignore=(SyncError,),
         what=f"seed {seed}: every document in the county (last value: those missing)")
    events = {i for i in created if i.startswith("event:")}
    in_county = {r["id"] for r in county.all_docs(startkey="event:", endkey="event:\ufff0")["rows"]}
    assert in_county == events, f"seed {seed}: events differ: extra {in_county - events}, missing {events - in_county}"
    # Exactly once: no event has a second leaf revision (a duplicate write of the same fact).
    rows = county.all_docs(keys=sorted(events), include_docs=True, conflicts=True)["rows"]
    doubled = [r["id"] for r in rows if (r.get("doc") or {}).get("_conflicts")]
    assert not doubled, f"seed {seed}: events with more than one revision: {doubled}"


def check_conflicts_queued(cluster: Cluster, seed: int) -> int:
    township = cluster.township
    conflicts.scan(township)
    queued = {r["doc_id"] for r in conflicts.open_records(township)}
    rows = township.all_docs(startkey="case:", endkey="case:\ufff0", include_docs=True, conflicts=True)["rows"]
    conflicted = {r["id"] for r in rows if (r.get("doc") or {}).get("_conflicts")}
    assert conflicted <= queued, f"seed {seed}: conflicts not in the review queue: {conflicted - queued}"
    return len(conflicted)


def check_checkpoints_resume(cluster: Cluster, tablets: list[Device], seed: int, n_conflicts: int) -> None:
    """Kill both servers once more; afterwards each tablet reads only what is new: for the
    mediator, alice's new case and the conflict records the review queue's scan wrote
    after the mediator's last pull (one per conflicted document)."""
    cluster.kill_gateway()
    cluster.kill_couch()
    cluster.restart_couch()
    cluster.restart_gateway()
    alice, bob, mia = tablets
    case = f.case(f.GRID_A, "alice")
    alice.cases.append(case)
    alice.put([case])
    pushed = alice.sync("push")
    assert pushed is not None and pushed["docs_read"] == 1, f"seed {seed}: push re-read {pushed}"
    pulled = bob.sync("pull")
    assert pulled is not None and pulled["docs_read"] == 0, f"seed {seed}: bob re-read {pulled}"
    poll(lambda: cluster.township.get_or_none(case["_id"]) is not None, 10, ignore=(SyncError,))
    pulled = mia.sync("pull")
    assert pulled is not None and pulled["docs_read"] <= 1 + n_conflicts, f"seed {seed}: mia re-read {pulled}"


def test_tablets_survive_killed_gateway_and_couchdb(cluster: Cluster) -> None:
    print(f"chaos seed {SEED} (FENGQIAO_CHAOS_SEED={SEED} to replay), steps {STEPS}")
    rnd = random.Random(SEED)
    gen = devices(cluster)
    tablets = next(gen)
    log: list[str] = []
    try:
        for _ in range(STEPS):
            log.append(act(rnd, cluster, tablets))
        # At least one kill of each kind mid-replication, whatever the dice said.
        alice = tablets[0]
        alice.online = True
        for victim in ("gateway", "couch"):
            alice.put([f.case(f.GRID_A, "alice")])
            worker = threading.Thread(target=alice.sync, args=("push",))
            worker.start()
            time.sleep(rnd.uniform(0.0, 0.2))
            (cluster.kill_gateway if victim == "gateway" else cluster.kill_couch)()
            worker.join(120)
            (cluster.restart_gateway if victim == "gateway" else cluster.restart_couch)()
        # One certain conflict: reporter and mediator both correct the same base record.
        alice, mia = tablets[0], tablets[2]
        case = f.case(f.GRID_A, "alice")
        alice.cases.append(case)
        alice.put([case])
        assert alice.sync("push") is not None and mia.sync("pull") is not None
        for device, text in ((alice, "网格员更正"), (mia, "调解员更正")):
            doc = device.node.call("get", db="local", docid=case["_id"], opts={})
            device.put([{**doc, "description": text}])
        assert alice.sync("push") is not None and mia.sync("push") is not None
        heal(cluster, tablets, SEED)
        check_everything_arrived(cluster, tablets, SEED)
        n_conflicts = check_conflicts_queued(cluster, SEED)
        assert n_conflicts >= 1, f"seed {SEED}: the certain conflict is not in the township database"
        check_checkpoints_resume(cluster, tablets, SEED, n_conflicts)
        print(f"kills {cluster.kills}, conflicts queued {n_conflicts}, steps: {log}")
    except AssertionError as exc:
        raise AssertionError(f"chaos seed {SEED}: {exc}\nsteps: {log}") from exc
    finally:
        gen.close()


def test_gateway_killed_mid_push_then_retried_loses_and_duplicates_nothing(cluster: Cluster) -> None:
    """Issue 6: kill -9 of the gateway in the middle of a push; restart; the tablet retries."""
    rnd = random.Random(SEED)
    node = PouchProcess()
    try:
        alice = Device("alice", node, cluster.gateway.url)
        docs = []
        for _ in range(60):
            case = f.case(f.GRID_A, "alice")
            docs += [case, *(f.event(case, "alice") for _ in range(4))]
        alice.put(docs)
        outcome: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: outcome.update(first=alice.sync("push")))
        worker.start()
        # Kill once part of the batch is in: between the first and the last document.
        poll(lambda: cluster.township.info()["doc_count"] > 5, 60, every=0.02, ignore=(SyncError,))
        time.sleep(rnd.uniform(0.0, 0.1))
        cluster.kill_gateway()
        worker.join(120)
        stored_before = cluster.township.all_docs(keys=[d["_id"] for d in docs])["rows"]
        partial = sum(1 for r in stored_before if "value" in r)
        cluster.restart_gateway()
        retry = alice.sync("push")
        assert retry is not None and retry["doc_write_failures"] == 0, f"seed {SEED}: retry failed: {retry}"
        rows = cluster.township.all_docs(keys=[d["_id"] for d in docs], include_docs=True, conflicts=True)["rows"]
        missing = [r["key"] for r in rows if "value" not in r]
        doubled = [r["id"] for r in rows if (r.get("doc") or {}).get("_conflicts")]
        assert not missing and not doubled, f"seed {SEED}: missing {missing[:5]}, duplicated {doubled[:5]}"
        revs = {r["id"]: r["value"]["rev"] for r in rows}
        assert all(rev.startswith("1-") for rev in revs.values()), f"seed {SEED}: rewritten revisions"
        print(f"killed after {partial}/{len(docs)} documents; first push: {outcome.get('first')}; "
              f"retry wrote {retry['docs_written']}")
        assert outcome.get("first") is None or partial == len(docs)
    finally:
        node.close()


# -- Apache CouchDB cluster: one node SIGKILLed mid-sync ------------------------------------------
#
# Runs only with FENGQIAO_TEST_CLUSTER=1 and COUCHDB_URL pointing at a node of the 3-node
# cluster that ../shared/tools/apache-couchdb.sh runs (`start --nodes 3`): the test kills
# and revives nodes with that script, so it never touches a CouchDB it did not start.

CLUSTER_SCRIPT = ROOT.parent / "shared" / "tools" / "apache-couchdb.sh"
# How long the county may take to hold every event once the tablets have settled. Bounded,
# but generous: a continuous replication whose source or target node died is retried by
# CouchDB's scheduler with a backoff of 30 s doubling per crash, on its `[replicator]
# interval` (60 s), and a `_replicator` document owned by a dead node moves to a live one
# only after `cluster_quiet_period` (60 s).
CLUSTER_SETTLE = float(os.environ.get("FENGQIAO_CHAOS_CLUSTER_SETTLE", "600"))


def _cluster_script(*args: str) -> str:
    done = subprocess.run(["bash", str(CLUSTER_SCRIPT), *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"apache-couchdb.sh {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout.strip()


def _cluster_nodes(couch_url: str) -> tuple[list[int], int]:
    """The script's node numbers, and which of them ``couch_url`` (the app's node) is.

    Skips, with the reason, when there is no 3-node cluster of the script to fault.
    """
    if os.environ.get("FENGQIAO_TEST_CLUSTER") != "1":
        pytest.skip("集群混沌测试未启用：设置 FENGQIAO_TEST_CLUSTER=1 并让 COUCHDB_URL 指向集群节点 / "
                    "cluster chaos is off: set FENGQIAO_TEST_CLUSTER=1 with COUCHDB_URL at a node "
                    "of `apache-couchdb.sh start --nodes 3`")
    if not os.environ.get("COUCHDB_URL"):
        pytest.skip("未设置 COUCHDB_URL / COUCHDB_URL is not set: the cluster chaos test needs it")
    if not CLUSTER_SCRIPT.exists():
        pytest.skip(f"找不到 {CLUSTER_SCRIPT} / {CLUSTER_SCRIPT} not found (CI clones shared/ beside the repo)")
    try:
        with CouchClient(couch_url) as client:
            members = client.json("GET", "_membership")
    except SyncError as exc:  # pouchdb-server has no _membership
        pytest.skip(f"COUCHDB_URL 不是三节点集群 / COUCHDB_URL is not a 3-node cluster: {exc}")
    if len(members.get("cluster_nodes", [])) != 3:
        pytest.skip(f"COUCHDB_URL 不是三节点集群 / COUCHDB_URL is not a 3-node cluster: {members}")
    wanted = split_credentials(couch_url)[0]
    nodes = [1, 2, 3]
    urls = [subprocess.run(["bash", str(CLUSTER_SCRIPT), "url", str(n)], capture_output=True,
                           text=True, timeout=60).stdout.strip() for n in nodes]
    own = [n for n, url in zip(nodes, urls, strict=True) if url and split_credentials(url)[0] == wanted]
    if not own:
        pytest.skip(f"COUCHDB_URL 不是 apache-couchdb.sh 启动的节点 / COUCHDB_URL is not a node "
                    f"that {CLUSTER_SCRIPT.name} started")
    return nodes, own[0]


@dataclass
class ClusterSite:
    """Databases and a gateway subprocess on the Apache CouchDB cluster (node ``own``)."""

    client: CouchClient
    topology: Topology
    gateway: GatewayProcess

    @property
    def township(self) -> Database:
        return self.client.db(self.topology.township_db(f.TOWNSHIP_1))

    @property
    def county(self) -> Database:
        return self.client.db(self.topology.county_db())


class Writer(threading.Thread):
    """A tablet that keeps writing cases and events and syncing until told to stop."""

    def __init__(self, device: Device, rnd: random.Random) -> None:
        super().__init__(daemon=True)
        self.device, self.rnd = device, rnd
        self.stop = threading.Event()
        self.syncing = threading.Event()
        self.attempts = 0
        self.synced = 0  # rounds whose push and pull both completed
        self.failure: BaseException | None = None

    def run(self) -> None:
        d = self.device
        try:
            while not self.stop.is_set():
                if d.user == "mia":
                    pulled = [r["id"] for r in d.node.call("allDocs", db="local", opts={})["rows"]
                              if r["id"].startswith("case:")]
                    if pulled:
                        target = d.node.call("get", db="local", docid=self.rnd.choice(sorted(pulled)),
                                             opts={})
                        d.put([f.event(target, "mia") for _ in range(self.rnd.randint(1, 2))])
                else:
                    case = f.case(_grid(d.user), d.user)
                    d.cases.append(case)
                    d.put([case, *(f.event(case, d.user) for _ in range(self.rnd.randint(1, 3)))])
                self.syncing.set()
                pushed, pulled = d.sync("push"), d.sync("pull")
                self.syncing.clear()
                self.synced += pushed is not None and pulled is not None
                self.attempts += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.failure = exc


@pytest.fixture
def cluster_site(couch_url: str, cleanup_prefix: str, tmp_path: Path) -> Iterator[tuple[ClusterSite, list[int], int]]:
    nodes, own = _cluster_nodes(couch_url)
    client = CouchClient(couch_url)
    topology = Topology(f.COUNTY, (f.TOWNSHIP_1,), cleanup_prefix)
    store = UserStore(client, cleanup_prefix, f.COUNTY)
    for name, role, codes in (("alice", "grid_worker", [f.GRID_A]), ("bob", "grid_worker", [f.GRID_B]),
                              ("mia", "township_mediator", [f.TOWNSHIP_1])):
        provision(client, topology, store, name, role, codes, f.PASSWORD)
    gateway = GatewayProcess(couch_url, cleanup_prefix, f.COUNTY, tmp_path / "gw", workers=1, threads=4)
    gateway.start()
    try:
        yield ClusterSite(client, topology, gateway), nodes, own
    finally:
        gateway.stop()
        for n in nodes:  # every node back before the databases are deleted
            _cluster_script("revive", str(n))
        client.close()


@pytest.mark.timeout(CLUSTER_SETTLE + 900)
def test_cluster_node_killed_mid_sync_loses_and_duplicates_no_event(cluster_site) -> None:  # type: ignore[no-untyped-def]
    """Tablets keep pushing while CouchDB nodes die one at a time: each other node, then
    the node the app talks to. Afterwards every event is in the county exactly once."""
    site, nodes, own = cluster_site
    print(f"cluster chaos seed {SEED} (FENGQIAO_CHAOS_SEED={SEED} to replay); app on node{own}")
    rnd = random.Random(SEED)
    gen = devices(site)
    tablets = next(gen)
    writers = [Writer(d, random.Random(rnd.random())) for d in tablets]
    log: list[str] = []
    try:
        for w in writers:
            w.start()
        for victim in [*(n for n in nodes if n != own), own]:
            # Mid-sync: some tablet is replicating when the node dies.
            poll(lambda: any(w.syncing.is_set() for w in writers), 120, every=0.01)
            time.sleep(rnd.uniform(0.0, 0.3))
            _cluster_script("kill", str(victim))
            # The tablets go on with the node dead. Another node's death is invisible to them:
            # each completes a whole sync (quorum 2 of 3). With the app's own node dead they
            # only fail, so there each just makes two more attempts.
            if victim != own:
                marks = {w: w.synced + 1 for w in writers}
                poll(lambda marks=marks: all(w.synced >= m or not w.is_alive() for w, m in marks.items()),
                     300, every=0.25, what=f"seed {SEED}: every tablet syncing with node{victim} dead")
            else:
                marks = {w: w.attempts + 2 for w in writers}
                poll(lambda marks=marks: all(w.attempts >= m or not w.is_alive() for w, m in marks.items()),
                     300, every=0.25, what=f"seed {SEED}: tablets trying again with node{victim} dead")
            _cluster_script("revive", str(victim))
            log.append(f"node{victim} killed and revived; rounds {[w.attempts for w in writers]}")
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(300)
            assert not w.is_alive(), f"seed {SEED}: {w.device.user}'s sync hung"
            assert w.failure is None, f"seed {SEED}: {w.device.user}: {w.failure!r}"
        heal(site, tablets, SEED)
        started = time.monotonic()
        check_everything_arrived(site, tablets, SEED, timeout=CLUSTER_SETTLE)
        log.append(f"county complete {time.monotonic() - started:.0f} s after the tablets settled")
        created = sorted(set().union(*(d.created for d in tablets)))
        rows = site.county.all_docs(keys=created, include_docs=True, conflicts=True)["rows"]
        conflicted = [r["id"] for r in rows if (r.get("doc") or {}).get("_conflicts")]
        assert not conflicted, f"seed {SEED}: unresolved conflicts in the county: {conflicted[:10]}"
        n_events = sum(1 for i in created if i.startswith("event:"))
        print(f"{n_events} events, {len(created) - n_events} cases; {log}")
        assert n_events > 0
    except AssertionError as exc:
        raise AssertionError(f"cluster chaos seed {SEED}: {exc}\nsteps: {log}") from exc
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(300)
        gen.close()
