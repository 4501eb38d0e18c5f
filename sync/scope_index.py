"""An in-memory map, document id → scope key, for one database.

Why: the scoped ``_changes`` feed must not read every document of the township on every
request. CouchDB's ways to filter a feed (a JS filter function or a selector) read every
document of the source on every request, and views on the embedded pouchdb-server are slow
(~930 docs/s to build, see ARCHITECTURE.md). So each gateway process keeps this map and feeds
it incrementally from the database's own ``_changes`` (with documents, but only those that
changed since the last refresh). A scoped feed then reads the township's ``_changes`` without
documents (ids and revisions only) and keeps the rows whose key the user sees.

The map is a cache, not state: it is rebuilt from CouchDB when a process starts, so
gateway processes stay stateless. A tombstone keeps the key its document had, so deletions
reach exactly the users who saw the document.
"""

from __future__ import annotations

import threading
from typing import Any

from .couch import Database
from .scope import scope_key


class ScopeIndex:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys: dict[str, str | None] = {}
        self.revs: dict[str, str] = {}  # the winning revision each key was computed from
        self.seq: Any = 0
        self._counts: dict[tuple[str, str, int, str], int] = {}
        self._lock = threading.Lock()

    def refresh(self) -> Any:
        """Read the changes since the last refresh; returns the sequence now covered."""
        with self._lock:
            last = self.seq
            for row in self.db.iter_changes(since=self.seq, include_docs=True):
                if "last_seq" in row and "id" not in row:
                    last = row["last_seq"] if row["last_seq"] is not None else last
                    break
                doc = row.get("doc") or {}
                if row.get("deleted") or doc.get("_deleted"):
                    self.keys.setdefault(row["id"], None)
                else:
                    self.keys[row["id"]] = scope_key(doc)
                if doc.get("_rev"):
                    self.revs[row["id"]] = doc["_rev"]
            self.seq = last
            return last

    def covers(self, rows: list[dict[str, Any]]) -> bool:
        """Does the map already reflect these ``_changes`` rows (their winning revisions)?
        Then a scoped feed needs no refresh round trip."""
        for row in rows:
            rev = self.revs.get(row["id"])
            if rev is None or all(change.get("rev") != rev for change in row.get("changes", ())):
                return False
        return True

    def visible_count(self, user: Any) -> int:
        """How many documents ``user`` sees (``doc_count``); cached until the map changes."""
        from .scope import scope_fingerprint, sees

        stamp = (scope_fingerprint(user), user.username, len(self.keys), str(self.seq))
        cached = self._counts.get(stamp)
        if cached is None:
            cached = sum(1 for key in list(self.keys.values()) if sees(user, key))
            self._counts = {stamp: cached, **dict(list(self._counts.items())[-200:])}
        return cached

    def key(self, doc_id: str) -> str | None:
        return self.keys.get(doc_id)

    def known(self, doc_id: str) -> bool:
        return doc_id in self.keys

    def note(self, doc_id: str, key: str | None, rev: str | None = None) -> None:
        """Record a write the gateway itself just made (before the feed shows it)."""
        with self._lock:
            self.keys[doc_id] = key
            if rev:
                self.revs[doc_id] = rev


class ScopeIndexes:
    """One ``ScopeIndex`` per database, shared by the threads of a process."""

    def __init__(self) -> None:
        self._indexes: dict[str, ScopeIndex] = {}
        self._lock = threading.Lock()

    def for_db(self, db: Database) -> ScopeIndex:
        with self._lock:
            index = self._indexes.get(db.name)
            if index is None:
                index = self._indexes[db.name] = ScopeIndex(db)
            return index
