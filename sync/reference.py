"""Publishing reference data — area documents and deadline policies — to every database
that needs it, with the same revision everywhere.

Why not write them once into the county database and let the downward replication carry
them? It would work, but a township would wait for thousands of area documents to trickle
through a filtered replication before its first tablet can draw a map. Why not write them
into each database directly? Each write would get its own revision id, and the up and
down replications would then turn every area document into a conflict. So each document
is written with an explicit revision derived from its content (``new_edits=false``): the
county and the townships hold the same revision, replication has nothing to do, and
publishing the same content again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .couch import CouchClient, Database
from .topology import Topology


def content_rev_hash(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    return hashlib.md5(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def destinations(doc: Mapping[str, Any], topology: Topology) -> list[str]:
    """The databases a reference document belongs in: always the county; townships for
    their own areas, their ancestors, and policies."""
    names = [topology.county_db()]
    if doc.get("type") == "policy":
        return names + [topology.township_db(c) for c in topology.township_codes]
    code = str(doc.get("code", ""))
    for township in topology.township_codes:
        if code.startswith(township) or township.startswith(code):
            names.append(topology.township_db(township))
    return names


def publish(client: CouchClient, topology: Topology, docs: Iterable[Mapping[str, Any]],
            batch: int = 500) -> int:
    """Write each document where it belongs; returns how many writes were needed.

    The revision is decided against the county database (which holds every reference
    document), then the same revision is written to every destination that lacks it.
    """
    county = client.db(topology.county_db())
    pending = [dict(d) for d in docs]
    written = 0
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        versioned = [_with_revision(doc, rev) for doc, rev in
                     zip(chunk, _current_revs(county, chunk), strict=True)]
        per_db: dict[str, list[dict[str, Any]]] = {}
        for doc in versioned:
            for name in destinations(doc, topology):
                per_db.setdefault(name, []).append(doc)
        for name, items in per_db.items():
            written += _write_missing(client.db(name), items)
    return written


def _current_revs(db: Database, docs: list[dict[str, Any]]) -> list[str | None]:
    rows = {row["key"]: row for row in db.all_docs(keys=[d["_id"] for d in docs])["rows"]}
    out: list[str | None] = []
    for doc in docs:
        value = rows.get(doc["_id"], {}).get("value") or {}
        out.append(value["rev"] if "rev" in value and not value.get("deleted") else None)
    return out


def _with_revision(doc: dict[str, Any], current: str | None) -> dict[str, Any]:
    new_hash = content_rev_hash(doc)
    if current is None:
        doc["_rev"], doc["_revisions"] = f"1-{new_hash}", {"start": 1, "ids": [new_hash]}
        return doc
    generation, old_hash = current.split("-", 1)
    if old_hash == new_hash:  # same content: keep the revision the county has
        doc["_rev"], doc["_revisions"] = current, {"start": int(generation), "ids": [old_hash]}
    else:
        doc["_rev"] = f"{int(generation) + 1}-{new_hash}"
        doc["_revisions"] = {"start": int(generation) + 1, "ids": [new_hash, old_hash]}
    return doc


def _write_missing(db: Database, docs: list[dict[str, Any]]) -> int:
    have = _current_revs(db, docs)
    out = [doc for doc, rev in zip(docs, have, strict=True) if rev != doc["_rev"]]
    if out:
        db.bulk_docs(out, new_edits=False)
    return len(out)
