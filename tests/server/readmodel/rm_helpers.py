"""Helpers for the read-model tests: documents as ``_changes`` rows, table snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.readmodel.cells import LAYOUTS
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
    folded = {layout.table: layout for layout in LAYOUTS}
    for table in TABLES:
        where = " WHERE key <> 'seq'" if table == "meta" else ""
        sql = f"SELECT * FROM {table}{where}"
        if table in folded:  # cells as a query sees them: the rows of a cell summed
            keys = ", ".join(("area_code", "created_date", *folded[table].columns))
            sums = ", ".join(f"SUM({c})" for c in
                             [d[0] for d in cur.execute(sql).description][len(keys.split(", ")):])
            sql = f"SELECT {keys}, {sums} FROM {table} GROUP BY ALL HAVING SUM(a0) <> 0"
        rows = cur.execute(sql).fetchall()
        out[table] = sorted(rows, key=repr)
    return out
