"""Design documents installed in every database.

``validate_doc_update`` is each database's last line of defence: even a write that skips
the gateway (an admin script, a replication from a misconfigured peer) cannot store a
document without ``type`` and ``schema_version``. The full schema check lives in
``schemas/`` and runs in the gateway, where it can answer per document in two languages.

Replication filters are JS filter functions, not ``selector``: the embedded pouchdb-server
ignores ``selector`` in replications (ARCHITECTURE.md), and a filter function behaves the
same on Apache CouchDB 3.x.
"""

from __future__ import annotations

from typing import Any

VALIDATE_DOC_UPDATE = """function (newDoc, oldDoc, userCtx) {
  if (newDoc._deleted) { return; }
  if (newDoc._id.indexOf('_design/') === 0) { return; }
  if (typeof newDoc.type !== 'string' || !newDoc.type) {
    throw({forbidden: 'missing type / 缺少 type 字段'});
  }
  if (typeof newDoc.schema_version !== 'number') {
    throw({forbidden: 'missing schema_version / 缺少 schema_version 字段'});
  }
  if (newDoc._id.indexOf(newDoc.type + ':') !== 0) {
    throw({forbidden: 'id must start with its type / 文档 id 必须以类型开头'});
  }
}"""

# Township → county: everything but design documents (each database keeps its own).
FILTER_UP = """function (doc, req) {
  return doc._id.indexOf('_design/') !== 0;
}"""

# County → township: reference data and decisions taken above for this township.
# req.query.township is the 9-digit township code.
FILTER_DOWN = """function (doc, req) {
  var tw = req.query.township;
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
    body: dict[str, Any] = {"language": "javascript", "validate_doc_update": VALIDATE_DOC_UPDATE}
    if kind == "township":
        body["filters"] = {"up": FILTER_UP}
    else:
        body["filters"] = {"down": FILTER_DOWN}
    return {"fengqiao": body}
