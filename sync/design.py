"""Design documents installed in every database.

``validate_doc_update`` is the database's last line of defence: even a write that skips
the gateway (an admin script, a replication from a misconfigured peer) cannot store a
document without ``type`` and ``schema_version``. The full schema check lives in
``schemas/`` and runs in the gateway, where it can answer per document in two languages.
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


def design_documents(kind: str) -> dict[str, dict[str, Any]]:
    """The design documents for a ``township`` or ``county`` database, by name."""
    return {
        "fengqiao": {
            "language": "javascript",
            "validate_doc_update": VALIDATE_DOC_UPDATE,
        }
    }
