"""Design documents installed in every database.

There is deliberately no ``validate_doc_update``. Measured on pouchdb-server 4.2.0: with any
``validate_doc_update`` in a database, a ``_bulk_docs`` with ``new_edits=false`` that adds a
new revision to an existing document answers ``[]`` (success) and stores nothing — exactly
how PouchDB pushes every edit, so edits would be lost silently. The databases are admin-only
(``_security``) and every write from outside passes the gateway or the API, which validate
with ``schemas/`` and answer per document in two languages.

Replication filters come in two forms of one rule. Apache CouchDB (2.0 and later) gets a
``selector``: it is matched inside CouchDB, where a JS filter costs a couchjs round trip
per document and per replication — with 2 replications per township that was more than
half of the requests CouchDB answered under ``bench load`` (issue 16). The embedded
pouchdb-server ignores ``selector`` in replications (docs/architecture.md, "Measured
facts"), so it keeps the JS filter functions. ``tests/sync/test_replication_filters.py``
checks that both forms pass exactly the same documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Township → county: everything but design documents (each database keeps its own).
FILTER_UP = """function (doc, req) {
  return doc._id.indexOf('_design/') !== 0;
}"""

# County → township: reference data and decisions taken above for this township.
# req.query.township is the 9-digit township code. String(): pouchdb-server 4.2.0 parses
# query parameters as JSON, so a code arrives there as a number (CouchDB gives a string).
FILTER_DOWN = """function (doc, req) {
  var tw = req.query.township ? String(req.query.township) : '';
  if (!tw || doc._id.indexOf('_design/') === 0 || doc._deleted) { return false; }
  if (doc.type === 'policy') { return true; }
  if (doc.type === 'area') {
    return typeof doc.code === 'string' && (doc.code.indexOf(tw) === 0 || tw.indexOf(doc.code) === 0);
  }
  if (doc.type === 'user' || doc.type === 'receipt') { return false; }
  return typeof doc.area_code === 'string' && doc.area_code.indexOf(tw) === 0;
}"""


def up_selector() -> dict[str, Any]:
    """``FILTER_UP`` as a selector: every document (tombstones too) but design documents,
    whose ids are the only ones starting with ``_`` that a database replicates."""
    return {"_id": {"$regex": "^[^_]"}}


def down_selector(township: str) -> dict[str, Any]:
    """``FILTER_DOWN`` for one township as a selector. ``indexOf(tw) === 0`` is a regex
    anchored at the start (codes are digits, nothing to escape); ``tw.indexOf(code) === 0``
    is membership in the township code's prefixes (the empty one included, as in JS)."""
    if not township.isdigit():
        raise ValueError(f"township code must be digits: {township!r}")
    under = {"$regex": f"^{township}"}
    return {
        "_deleted": {"$exists": False},
        "$or": [
            {"type": "policy"},
            {"type": "area", "code": {"$type": "string"},
             "$or": [{"code": under}, {"code": {"$in": [township[:n] for n in range(len(township))]}}]},
            {"type": {"$nin": ["policy", "area", "user", "receipt"]}, "area_code": under},
            {"type": {"$exists": False}, "area_code": under},  # ``$nin`` never matches a missing field
        ],
    }


def design_documents(kind: str) -> dict[str, dict[str, Any]]:
    """The design documents for a ``township`` or ``county`` database, by name."""
    body: dict[str, Any] = {"language": "javascript"}
    if kind == "township":
        body["filters"] = {"up": FILTER_UP}
    else:
        body["filters"] = {"down": FILTER_DOWN}
    return {"fengqiao": body}


@dataclass(frozen=True)
class MangoIndex:
    """A Mango JSON index (``POST /db/_index``), each in its own design document."""

    ddoc: str
    name: str
    fields: tuple[str, ...]

    def use_index(self) -> list[str]:
        """The ``use_index`` value of a ``_find`` that relies on this index."""
        return [self.ddoc, self.name]


REPEAT_INDEX = MangoIndex("fq-case-repeat", "case-repeat", ("type", "category", "created_at"))
REVIEW_INDEX = MangoIndex("fq-review-held", "fq-review-held", ("type", "held_on"))
TRACKING_INDEX = MangoIndex("fq-tracking-code", "fq-tracking-code", ("tracking_code",))
OUTBOX_INDEX = MangoIndex("fq-outbox", "fq-outbox", ("type", "status", "created_at"))
# A user's in-app notices, newest first (``/api/notices``).
NOTICE_INDEX = MangoIndex("fq-notices", "fq-notices", ("type", "recipient", "created_at"))


def mango_indexes(kind: str) -> list[MangoIndex]:
    """The Mango indexes of a ``township`` or ``county`` database.

    Created with the database (``db init``), not only on a first request. Why: an Apache
    CouchDB node lists a database's indexes from its design-document cache, filled from
    whichever shard copy answers first; right after an index is created, that copy may not
    hold it yet, and the cache keeps the stale list until it refreshes (``[ddoc_cache]
    refresh_timeout``, 67 s), so a sorted ``_find`` answers ``no_usable_index``.
    """
    if kind == "township":
        return [REPEAT_INDEX]
    return [REPEAT_INDEX, REVIEW_INDEX, TRACKING_INDEX, OUTBOX_INDEX, NOTICE_INDEX]
