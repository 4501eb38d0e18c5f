"""Design documents installed in every database.

There is deliberately no ``validate_doc_update``. Measured on pouchdb-server 4.2.0: with any
``validate_doc_update`` in a database, a ``_bulk_docs`` with ``new_edits=false`` that adds a
new revision to an existing document answers ``[]`` (success) and stores nothing — exactly
how PouchDB pushes every edit, so edits would be lost silently. The databases are admin-only
(``_security``) and every write from outside passes the gateway or the API, which validate
with ``schemas/`` and answer per document in two languages.

Replication filters are JS filter functions, not ``selector``: the embedded pouchdb-server
ignores ``selector`` in replications (ARCHITECTURE.md), and a filter function behaves the
same on Apache CouchDB 3.x.
"""

from __future__ import annotations

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


def design_documents(kind: str) -> dict[str, dict[str, Any]]:
    """The design documents for a ``township`` or ``county`` database, by name."""
    body: dict[str, Any] = {"language": "javascript"}
    if kind == "township":
        body["filters"] = {"up": FILTER_UP}
    else:
        body["filters"] = {"down": FILTER_DOWN}
    return {"fengqiao": body}
