"""Helpers for the read-model tests: documents as ``_changes`` rows, table snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.readmodel.store import TABLES, ReadModel


def as_changes(docs: Iterable[dict[str, Any]], first_seq: int = 1) -> list[dict[str, Any]]:
    out = []
    for i, doc in enumerate(docs):
        row: dict[str, Any] = {"id": doc["_id"], "seq": f"{first_seq + i}-x",
                               "changes": [{"rev": "1-a"}], "doc": doc}
        if doc.get("_deleted"):
            row["deleted"] = True
        out.append(row)
    return out


def snapshot(store: ReadModel) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted (the checkpoint excluded)."""
    cur = store.cursor()
    out = {}
    for table in TABLES:
        where = " WHERE key <> 'seq'" if table == "meta" else ""
        rows = cur.execute(f"SELECT * FROM {table}{where}").fetchall()
        out[table] = sorted(rows, key=repr)
    return out
