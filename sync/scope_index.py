"""An in-memory map, document id → scope key, for one database.

Why: the scoped ``_changes`` feed must not read every document of the township on every
request. CouchDB's ways to filter a feed (a JS filter function or a selector) read every
document of the source on every request, and views on the embedded pouchdb-server are slow
(~930 docs/s to build: docs/architecture.md, "Measured facts"). So each gateway process
keeps this map and feeds it incrementally from the database's own ``_changes`` (with
documents, but only those that changed since the last refresh). A scoped feed then reads the
township's ``_changes`` without documents (ids and revisions only) and keeps the rows whose
key the user sees.

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
        self._events: dict[str, set[str]] = {}  # "case:<uuid>" → its "event:<uuid>:…" ids seen
        self.seq: Any = 0
        self._counts: dict[tuple[str, str, int, str], int] = {}
        self._lock = threading.Lock()

    def refresh(self) -> Any:
        """Read the changes since the last refresh; returns the sequence now covered.

        The first build streams every document once. After that the feed is read as ids
        and revisions only, and bodies are fetched just for rows the map does not already
        reflect — documents the gateway itself wrote (``note``) cost no second read.
        """
        with self._lock:
            if self.seq == 0 and not self.keys:
                self._build()
                return self.seq
            page = self.db.changes(since=self.seq)
            rows = page.get("results", [])
            stale = [row for row in rows if not self.covers([row])]
            for start in range(0, len(stale), 500):
                chunk = stale[start : start + 500]
                found = self.db.all_docs(keys=[r["id"] for r in chunk], include_docs=True)["rows"]
                for row, hit in zip(chunk, found, strict=True):
                    self._apply(row["id"], bool(row.get("deleted")), hit.get("doc") or {})
            if page.get("last_seq") is not None:
                self.seq = page["last_seq"]
            return self.seq

    def _build(self) -> None:
        last = self.seq
        for row in self.db.iter_changes(since=0, include_docs=True):
            if "last_seq" in row and "id" not in row:
                last = row["last_seq"] if row["last_seq"] is not None else last
                break
            self._apply(row["id"], bool(row.get("deleted")), row.get("doc") or {})
        self.seq = last

    def _apply(self, doc_id: str, deleted: bool, doc: dict[str, Any]) -> None:
        self._saw(doc_id)
        if deleted or doc.get("_deleted") or not doc:
            self.keys.setdefault(doc_id, None)  # a tombstone keeps the key it had
        else:
            self.keys[doc_id] = scope_key(doc)
        if doc.get("_rev"):
            self.revs[doc_id] = doc["_rev"]

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

    def saw(self, doc_id: str) -> None:
        """Learn that the database holds ``doc_id`` (an event's id files it under its case)."""
        with self._lock:
            self._saw(doc_id)

    def _saw(self, doc_id: str) -> None:
        if doc_id.startswith("event:"):
            self._events.setdefault("case:" + doc_id.split(":", 2)[1], set()).add(doc_id)

    def event_ids(self, case_id: str) -> list[str]:
        """The ids of every event of ``case_id`` the database held when the map last looked
        (right after a refresh: all of them), so a push reads a case's history by id."""
        return sorted(self._events.get(case_id, ()))

    def has_rev(self, doc_id: str, rev: str) -> bool:
        """Does the database hold revision ``rev`` of ``doc_id``? True when it is the
        winning revision the map last saw (a later edit or deletion keeps it in the
        revision tree); False means "not known here", not "absent"."""
        return self.revs.get(doc_id) == rev

    def key(self, doc_id: str) -> str | None:
        return self.keys.get(doc_id)

    def known(self, doc_id: str) -> bool:
        return doc_id in self.keys

    def note(self, doc_id: str, key: str | None, rev: str | None = None) -> None:
        """Record a write the gateway itself just made (before the feed shows it)."""
        with self._lock:
            self.keys[doc_id] = key
            self._saw(doc_id)
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
