"""Which databases exist, with what security, design documents and replications.

One database per township (``tw_<9-digit code>``), one per county (``county_<6-digit>``)
and the county's server-only accounts database (``users_<6-digit>``), every name behind an
optional prefix (tests use a random prefix; several counties may share one server).

Replication is continuous, through ``_replicator`` documents with full URLs (Apache
CouchDB 3.x refuses bare names): each township up into the county (everything but design
documents), and the county down into each township (filtered: reference data and the
decisions taken above for that township). Creating all this is idempotent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from .couch import CouchClient, Database, replication_doc
from .design import design_documents, down_selector, mango_indexes, up_selector
from .errors import Conflict, CouchError, NotFound

log = logging.getLogger("fengqiao.sync")

# Only server admins read or write the databases: tablets and people reach data through
# the gateway and the API, which enforce each user's scope.
ADMIN_ONLY_SECURITY = {
    "admins": {"names": [], "roles": ["_admin"]},
    "members": {"names": [], "roles": ["_admin"]},
}


@dataclass(frozen=True)
class Topology:
    """The databases of one county installation."""

    county_code: str
    township_codes: tuple[str, ...]
    prefix: str = ""

    def county_db(self) -> str:
        return f"{self.prefix}county_{self.county_code}"

    def township_db(self, township_code: str) -> str:
        return f"{self.prefix}tw_{township_code}"

    def scope_db(self, township_code: str | None) -> str:
        """The database that holds a user's whole scope: their township's, or for users
        above townships (county reviewers, admins) the county's, where every township
        replicates. The one rule for "which database backs this user" (gateway and API)."""
        return self.township_db(township_code) if township_code else self.county_db()

    def users_db(self) -> str:
        return f"{self.prefix}users_{self.county_code}"

    def all_dbs(self) -> list[str]:
        return [self.county_db(), *(self.township_db(c) for c in self.township_codes)]

    def replication_ids(self, township_code: str) -> tuple[str, str]:
        """The ``_replicator`` ids (up, down) for one township."""
        return (f"{self.prefix}up_{township_code}", f"{self.prefix}down_{township_code}")

    def with_townships(self, codes: tuple[str, ...] | list[str]) -> Topology:
        merged = tuple(sorted(set(self.township_codes) | set(codes)))
        return Topology(self.county_code, merged, self.prefix)


def init_databases(client: CouchClient, topology: Topology) -> dict[str, list[str]]:
    """Create every database with its ``_security``, design documents, Mango indexes and
    replications.

    Returns what was done per database, so the CLI can say that a second run changed
    nothing.
    """
    report: dict[str, list[str]] = {}
    existing = set(client.all_dbs())
    for name in [*topology.all_dbs(), topology.users_db()]:
        done: list[str] = []
        db = client.create_db(name, exist_ok=True)
        if name not in existing:
            done.append("created")
        if db.security() != ADMIN_ONLY_SECURITY:
            db.set_security(ADMIN_ONLY_SECURITY)
            done.append("security")
        if name != topology.users_db():
            kind = "county" if name == topology.county_db() else "township"
            for ddoc_name, body in design_documents(kind).items():
                if db.put_design(ddoc_name, body):
                    done.append(f"design:{ddoc_name}")
            for index in mango_indexes(kind):
                created = db.create_index(list(index.fields), name=index.name, ddoc=index.ddoc)
                if created.get("result") == "created":
                    done.append(f"index:{index.name}")
        report[name] = done
    written = ensure_all_replications(client, topology, topology.township_codes)
    for code in topology.township_codes:
        report[topology.township_db(code)].extend(written[code])
    return report


# Replication settings on Apache CouchDB, measured on 3.4.3 (docs/architecture.md,
# "Measured facts"): ten pushes of 12 documents into one township cost 248 replicator
# requests with the defaults, 106 with one worker per replication (a trickle of changes
# split over four workers makes four small batches of each), 76 when the down replication
# also skips ``_bulk_get`` — it asked for it after every ``_revs_diff``, even when nothing
# was missing, and what it carries down is mostly the township's own documents coming back.
# What it does need (a county user's or a policy document) it then reads one by one.
UP_SETTINGS = {"worker_processes": 1}
DOWN_SETTINGS = {"worker_processes": 1, "use_bulk_get": False}


def wanted_replications(client: CouchClient, topology: Topology, code: str) -> list[dict[str, Any]]:
    """The township's up and down ``_replicator`` documents: with a ``selector`` and the
    settings above where the server replicates by selector (Apache CouchDB), else with the
    JS filters (``sync.design``) and the server's defaults (pouchdb-server)."""
    up_id, down_id = topology.replication_ids(code)
    township = client.db_url(topology.township_db(code))
    county = client.db_url(topology.county_db())
    if client.replicates_by_selector():
        return [replication_doc(up_id, township, county, selector=up_selector(), settings=UP_SETTINGS),
                replication_doc(down_id, county, township, selector=down_selector(code),
                                settings=DOWN_SETTINGS)]
    return [
        replication_doc(up_id, township, county, filter="fengqiao/up"),
        replication_doc(down_id, county, township, filter="fengqiao/down",
                        query_params={"township": code}),
    ]


# Seconds between deleting stale ``_replicator`` documents and creating them again. Measured
# on pouchdb-server 4.2.0: its replicator cancels the old replication when it sees the
# deletion, and the cancelled one, when it ends, marks the document of that id completed —
# if the new document exists by then, the new replication runs on but shows as completed
# and the replicator forgets it. The pause lets most cancellations end first (without it
# 4 of 4 rewritten documents ended "completed"; with it ~1 in 7 test runs still had one,
# and a replication retrying a dead address ends only at its next retry). A restart of the
# embedded server clears it, which is what ``EmbeddedCouch`` does when its port changed —
# the case that matters; Apache CouchDB has no such problem.
REPLICATION_RELEASE_PAUSE = 1.0


def ensure_replications(client: CouchClient, topology: Topology, code: str) -> list[str]:
    """Write the township's two ``_replicator`` documents unless identical ones exist."""
    return ensure_all_replications(client, topology, [code])[code]


def ensure_all_replications(client: CouchClient, topology: Topology,
                            codes: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Write the townships' ``_replicator`` documents unless identical ones exist; returns
    what was written per township.

    A document that differs (e.g. the embedded server's port changed) is deleted and
    created again, never updated: pouchdb-server 4.2.0 refuses updates to a running
    replication's document (403 "Only the replicator can edit replication documents that
    are in the triggered state"); Apache CouchDB accepts both ways.
    """
    replicator = client.create_db("_replicator", exist_ok=True)
    to_write: list[tuple[str, dict[str, Any]]] = []
    deleted = False
    for code in codes:
        for wanted in wanted_replications(client, topology, code):
            current = replicator.get_or_none(wanted["_id"])
            if current is not None and all(current.get(k) == v for k, v in wanted.items()):
                continue
            if current is not None:
                deleted |= _delete(replicator, wanted["_id"], current)
            to_write.append((code, wanted))
    if deleted:
        time.sleep(REPLICATION_RELEASE_PAUSE)
    done: dict[str, list[str]] = {code: [] for code in codes}
    for code, wanted in to_write:
        replicator.put(wanted)  # over a deleted document: no revision needed
        done[code].append(f"replication:{wanted['_id']}")
    return done


def _delete(replicator: Database, doc_id: str, current: dict[str, Any] | None) -> bool:
    """Delete a ``_replicator`` document; the replicator writes its state into it meanwhile,
    so a conflict means: read again and retry. False if it was gone already."""
    for _ in range(10):
        if current is None:
            return False
        try:
            replicator.delete_doc(doc_id, current["_rev"])
            return True
        except Conflict:
            current = replicator.get_or_none(doc_id)
    raise Conflict(409, "conflict", f"_replicator/{doc_id} kept changing")


def remove_replications(client: CouchClient, topology: Topology) -> None:
    """Delete this topology's ``_replicator`` documents and wait until their jobs have
    stopped (tests, and decommissioning; ``stop_replications``)."""
    stop_replications(client, [i for code in topology.township_codes for i in topology.replication_ids(code)])


def remove_prefix(client: CouchClient, prefix: str) -> None:
    """Delete every ``_replicator`` document and database named with ``prefix`` (a test
    run's or a benchmark's; replication ids start with the topology's prefix), the
    replications stopped first (``stop_replications``)."""
    replicator = client.db("_replicator")
    if replicator.exists():
        rows = replicator.all_docs(startkey=prefix, endkey=prefix + "\ufff0")["rows"]
        stop_replications(client, [row["id"] for row in rows])
    for name in client.all_dbs():
        if name.startswith(prefix):
            client.delete_db(name)


def stop_replications(client: CouchClient, doc_ids: list[str], *, wait_s: float = 15.0) -> None:
    """Delete these ``_replicator`` documents and, on Apache CouchDB, wait (at most
    ``wait_s``) until its scheduler has stopped their jobs.

    Why wait: a job still running when its databases are deleted can miss its own
    cancellation and retry against the missing database for as long as the node runs
    (measured on 3.4.3: "zombie" jobs in ``_scheduler/jobs`` whose document is gone,
    apache/couchdb#3988), so databases are deleted only after this returns."""
    replicator = client.db("_replicator")
    removed = []
    for doc_id in doc_ids:
        for _ in range(10):  # the replicator writes its state into the document meanwhile
            current = replicator.get_or_none(doc_id)
            if current is None:
                break
            try:
                replicator.delete_doc(doc_id, current["_rev"])
            except (Conflict, NotFound):
                continue
            removed.append(doc_id)
            break
    if not removed or not client.is_apache_couchdb():
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        jobs = client.json("GET", "_scheduler/jobs").get("jobs", [])
        if not {job.get("doc_id") for job in jobs} & set(removed):
            return
        time.sleep(0.1)
    log.warning("replication jobs still running %.0f s after their documents were deleted: %s",
                wait_s, ", ".join(removed))


def replication_status(client: CouchClient, topology: Topology, window: int = 200) -> list[dict[str, Any]]:
    """Each replication's state, lag and last error, for ``db status``.

    Lag is measured the same way on both servers, from the data itself: the source's
    newest ``window`` changes that pass the replication's filter are checked against the
    target with ``_revs_diff``. ``pending`` counts those still missing there, and ``lag``
    counts the changes from the newest one back to the oldest missing one (0: caught up).
    Why counted and not subtracted: a sequence is opaque, and on Apache CouchDB 3.x its
    leading integer sums one counter per shard (in a descending feed the other shards'
    counters are at the head), so head minus row is a distance inside one shard only.
    The feed is newest first, but across shards only partially ordered, so there
    ``pending <= lag <= window`` holds and ``lag`` is a bound, not an exact distance.
    State and error come from ``_scheduler/docs`` (Apache CouchDB 3.x) or from the
    ``_replicator`` document itself (pouchdb-server writes them there).
    """
    replicator = client.db("_replicator")
    out = []
    for code in topology.township_codes:
        up_id, down_id = topology.replication_ids(code)
        for doc_id, direction in ((up_id, "up"), (down_id, "down")):
            doc = replicator.get_or_none(doc_id)
            source = client.db(topology.township_db(code) if direction == "up" else topology.county_db())
            target = client.db(topology.county_db() if direction == "up" else topology.township_db(code))
            state, error = _state(client, doc_id, doc)
            params: dict[str, Any] = {"descending": True, "limit": window, "style": "all_docs"}
            if doc is not None and "selector" in doc:  # the filter the replication itself uses
                params.update(filter="_selector", body={"selector": doc["selector"]})
            else:
                params["filter"] = f"fengqiao/{direction}"
                if direction == "down":
                    params["township"] = code
            recent = source.changes(**params)["results"]  # newest first
            missing = target.revs_diff({r["id"]: [c["rev"] for c in r["changes"]] for r in recent}) if recent else {}
            positions = [i for i, r in enumerate(recent) if r["id"] in missing]
            out.append({
                "id": doc_id, "direction": direction, "township": code, "state": state,
                "pending": len(positions),
                "lag": positions[-1] + 1 if positions else 0,
                "error": error,
            })
    return out


def _state(client: CouchClient, doc_id: str, doc: dict[str, Any] | None) -> tuple[str, str | None]:
    if doc is None:
        return "missing", "no _replicator document"
    try:
        info = client.json("GET", f"_scheduler/docs/_replicator/{doc_id}")
        return str(info.get("state")), (info.get("info") or {}).get("error") if isinstance(info.get("info"), dict) else info.get("info")
    except CouchError:
        pass
    return str(doc.get("_replication_state", "unknown")), doc.get("_replication_state_reason")

