"""The audit trail: every read of personal data, every change, every login attempt.

Records go to an append-only database ``audit_<county>`` (behind ``FENGQIAO_DB_PREFIX``),
one document each (``schemas.audit``): who, when, what action on which document, from
which address and user agent. Nothing updates or deletes them; the database is admin-only
(``_security``) like every other.

**A hash chain makes tampering visible** (等保 2.0 三级: 审计记录应受到保护, 避免受到未预期的
删除、修改或覆盖). Entry *n* has the id ``audit:<n as 12 digits>``, a ``seq`` field *n*,
``prev_hash`` = the ``hash`` of entry *n − 1* (64 zeros for the first) and ``hash`` = the
SHA-256 of its canonical JSON (every field except ``hash`` and CouchDB's ``_rev``: keys
sorted, no spaces, UTF-8; :func:`entry_hash`). Editing a field, deleting an entry or
inserting one breaks a link that :func:`verify` names.

Why the id is the sequence number: appending entry *n* is a ``PUT`` of a new document
``audit:<n>`` without ``_rev``, which CouchDB accepts once and answers 409 for every other
writer (documented behaviour on both servers). So many threads and processes can append
at once and still form one linear chain, each record written in one request that either
happened or did not (no second document such as a chain head that a crash could leave
half-updated). A writer that gets 409 reads the new tail and tries the next number. Each
process remembers its last tail, so an uncontended append is one ``PUT``; threads of one
process take turns (a lock), so they do not race each other into 409s.

Other modules call :func:`record` — e.g. an export::

    from server import audit
    audit.record("export", detail={"what": "cases", "rows": 120})

Auditing must never be skipped silently: if the audit database cannot be written, the
error propagates and the request fails (a read of personal data without a trace is
worse than no read).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_request_context, request

from schemas.audit import AUDIT_ACTIONS, AuditSchema
from schemas.errors import flatten_errors
from sync.couch import Database
from sync.errors import Conflict
from sync.topology import ADMIN_ONLY_SECURITY

from .clock import now
from .errors import ServerError

_SCHEMA = AuditSchema()

GENESIS_HASH = "0" * 64
# Chain ids are ``audit:0…`` (12 digits, at most 10^11 − 1 entries), so every one sorts
# below ``ID_END`` — and records from before the chain (``audit:<yyyymmddThhmmss…>``) above it.
ID_END = "audit:1"
# Tries for one record when other writers keep taking the next number (each 409 means
# another record was appended, so the chain as a whole always moves on).
MAX_APPEND_TRIES = 200


class AuditChainError(ServerError):
    """The audit record could not be appended (the request then fails: see module doc)."""

    kind = "unavailable"


def audit_db_name(prefix: str, county_code: str) -> str:
    return f"{prefix}audit_{county_code}"


def entry_id(seq: int) -> str:
    """The document id of chain entry ``seq`` (1, 2, …)."""
    return f"audit:{seq:012d}"


def canonical_json(value: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8 (not ASCII-escaped): one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the entry's canonical JSON without ``hash`` and CouchDB metadata
    other than ``_id`` (``_rev``, ``_conflicts`` …), so the value is the same before and
    after CouchDB stored it, and in an export."""
    body = {k: v for k, v in entry.items() if k != "hash" and (k == "_id" or not k.startswith("_"))}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def audit_db() -> Database:
    """The audit database (created with admin-only security on first use in a process)."""
    app = current_app
    name = audit_db_name(app.config["FENGQIAO_DB_PREFIX"], app.config["FENGQIAO_COUNTY"])
    client = app.extensions["couch"]
    ready: set[str] = app.extensions.setdefault("fq_audit_ready", set())
    db = client.db(name)
    if name not in ready:
        client.create_db(name, exist_ok=True)
        if db.security() != ADMIN_ONLY_SECURITY:
            try:
                db.set_security(ADMIN_ONLY_SECURITY)
            except Conflict:  # another process set it at the same moment (pouchdb-server: 409)
                if db.security() != ADMIN_ONLY_SECURITY:
                    raise
        ready.add(name)
    return db


class ChainWriter:
    """Appends entries to one audit database's chain; one per database and process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._tail: tuple[int, str] | None = None  # (seq, hash) of the last entry seen
        self.conflicts = 0  # 409s met (other writers were faster): for tests and benchmarks

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``record`` as the next entry; returns it with ``_id``, ``seq`` and hashes."""
        with self._lock:
            for _ in range(MAX_APPEND_TRIES):
                if self._tail is None:
                    self._tail = read_tail(self.db)
                seq, prev = self._tail
                entry = {**record, "_id": entry_id(seq + 1), "seq": seq + 1, "prev_hash": prev}
                entry["hash"] = entry_hash(entry)
                try:
                    self.db.put(entry)
                except Conflict:
                    self.conflicts += 1
                    self._tail = None  # someone else appended: read the new tail
                    continue
                self._tail = (seq + 1, entry["hash"])
                return entry
        raise AuditChainError(
            f"审计记录未能写入：{MAX_APPEND_TRIES} 次尝试均被其他写入者抢先（{self.db.name}）",
            f"audit record not written: other writers were first {MAX_APPEND_TRIES} times ({self.db.name})")


def read_tail(db: Database) -> tuple[int, str]:
    """(seq, hash) of the chain's last stored entry; (0, 64 zeros) when it is empty."""
    rows = db.all_docs(startkey=ID_END, endkey="audit:0", descending=True, limit=1,
                       include_docs=True)["rows"]
    if not rows:
        return 0, GENESIS_HASH
    doc = rows[0]["doc"]
    return int(doc["seq"]), str(doc["hash"])


def _writer(db: Database) -> ChainWriter:
    writers: dict[str, ChainWriter] = current_app.extensions.setdefault("fq_audit_writers", {})
    lock: threading.Lock = current_app.extensions.setdefault("fq_audit_writers_lock", threading.Lock())
    with lock:
        if db.name not in writers:
            writers[db.name] = ChainWriter(db)
        return writers[db.name]


def record(action: str, doc_id: str | None = None, detail: Mapping[str, Any] | None = None, *,
           user: str | None = None) -> dict[str, Any]:
    """Append one audit record and return it.

    ``action``: one of ``schemas.audit.AUDIT_ACTIONS`` (e.g. ``"export"``); ``doc_id``:
    the document concerned; ``detail``: small JSON object (≤ 4 KB). ``user`` defaults to
    the signed-in user of the request ("-" if anonymous). Raises ValueError for an
    unknown action or an invalid record; CouchDB errors propagate.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to schemas.audit.AUDIT_ACTIONS")
    at = _now()
    doc: dict[str, Any] = {
        "type": "audit", "schema_version": 2, "at": at.isoformat(timespec="milliseconds"),
        "action": action,
    }
    api_user = g.get("api_user") if has_request_context() else None
    doc["user"] = user or (api_user.username if api_user else "-")
    if api_user is not None and (user is None or user == api_user.username):
        doc["role"] = api_user.role
    if doc_id:
        doc["doc_id"] = doc_id
    if detail:
        doc["detail"] = dict(detail)
    if has_request_context():
        doc["remote_addr"] = (request.remote_addr or "-")[:64]
        doc["user_agent"] = (request.user_agent.string or "-")[:300]
        doc["method"] = request.method
        doc["path"] = request.path[:500]
    # Validated with placeholder chain fields: the real ones exist only once a number is won.
    problems = flatten_errors(_SCHEMA.validate(
        {**doc, "_id": entry_id(1), "seq": 1, "prev_hash": GENESIS_HASH, "hash": GENESIS_HASH}))
    if problems:
        raise ValueError(f"invalid audit record: {'; '.join(map(str, problems))}")
    return _writer(audit_db()).append(doc)


def _now() -> datetime:
    return now().astimezone(UTC)


def _at_text(when: datetime) -> str:
    """A time as entries store it (UTC, milliseconds), so texts compare as times."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def first_seq_from(db: Database, when: datetime, tail: int) -> int:
    """The first sequence number whose entry was written at or after ``when``.

    Entries are appended in time order, so a binary search on the primary index finds
    a period's bounds with ~2·log2(n) single-row reads, whatever the log's size (a
    writer's clock read a few milliseconds before another's may land one entry later:
    :func:`query` and :func:`export_entries` also filter on ``at`` itself).
    """
    at, lo, hi = _at_text(when), 1, tail + 1
    while lo < hi:
        mid = (lo + hi) // 2
        rows = db.all_docs(startkey=entry_id(mid), endkey=ID_END, limit=1, include_docs=True)["rows"]
        if not rows or str(rows[0]["doc"].get("at", "")) >= at:
            hi = mid
        else:
            lo = mid + 1
    return lo


def query(*, user: str | None = None, doc_id: str | None = None, action: str | None = None,
          since: datetime | None = None, until: datetime | None = None,
          before_id: str | None = None, limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Audit records, newest first, with filters; returns (records, id to continue before).

    Keyset pagination on the sequence-numbered ``_id`` (``before_id``), never skip: a page
    costs the same however deep it is. The query runs on the primary index (an ``_id``
    range, sorted by ``_id``), which every CouchDB and pouchdb-server can serve; a period
    becomes an id range (:func:`first_seq_from`), and filters narrow it.
    """
    db = audit_db()
    id_range: dict[str, str] = {"$gt": "audit:", "$lt": ID_END}
    selector: dict[str, Any] = {}
    if since is not None or until is not None:
        tail = read_tail(db)[0]
        if since is not None:
            id_range = {"$gte": entry_id(first_seq_from(db, since, tail)), "$lt": ID_END}
            selector["at"] = {"$gte": _at_text(since)}
        if until is not None:
            id_range["$lt"] = entry_id(first_seq_from(db, until, tail))
            selector.setdefault("at", {})["$lt"] = _at_text(until)
    if before_id is not None and before_id < id_range["$lt"]:
        id_range["$lt"] = before_id
    selector["_id"] = id_range
    if user:
        selector["user"] = user
    if doc_id:
        selector["doc_id"] = doc_id
    if action:
        selector["action"] = action
    found = db.find(selector, sort=[{"_id": "desc"}], limit=limit + 1)
    docs = found["docs"]
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1]["_id"] if more and docs else None)


# -- reading the whole chain: export and verification ----------------------------------------

PAGE = 1000


def iter_entries(db: Database, first_seq: int = 1, end_seq: int | None = None) -> Iterator[dict[str, Any]]:
    """Stored chain entries from ``first_seq`` (up to, not including, ``end_seq``) in
    order, read in pages from the primary index, with ``_conflicts`` when a document has any."""
    start = entry_id(first_seq)
    end = entry_id(end_seq) if end_seq is not None else ID_END
    while True:
        rows = db.all_docs(startkey=start, endkey=end, include_docs=True, conflicts=True,
                           limit=PAGE + 1)["rows"]
        for row in rows[:PAGE]:
            if row["id"] != end:  # endkey is inclusive
                yield row["doc"]
        if len(rows) <= PAGE:
            return
        start = rows[PAGE]["id"]


def export_entries(db: Database, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The entries of a period (``since`` ≤ at < ``until``) in chain order, without ``_rev``
    and other CouchDB metadata: what an assessor needs to check the hashes again."""
    tail = read_tail(db)[0]
    first = first_seq_from(db, since, tail) if since is not None else 1
    end = first_seq_from(db, until, tail) if until is not None else None
    low = _at_text(since) if since is not None else ""
    high = _at_text(until) if until is not None else None
    for doc in iter_entries(db, first, end):
        at = str(doc.get("at", ""))
        if at >= low and (high is None or at < high):
            yield {k: v for k, v in doc.items() if k == "_id" or not k.startswith("_")}


@dataclass(frozen=True)
class ChainBreak:
    """The first link that does not hold: where (entry id, or file line) and why."""

    entry_id: str
    message_zh: str
    message_en: str
    line: int | None = None  # line of an export file, when a file was checked


@dataclass(frozen=True)
class ChainReport:
    checked: int                   # entries whose links held
    head_seq: int                  # last entry checked
    head_hash: str                 # its hash: keep it outside the server to anchor the chain
    broken: ChainBreak | None = None


def check_chain(entries: Iterable[Mapping[str, Any]], *, first_seq: int | None = 1,
                prev_hash: str | None = GENESIS_HASH, deleted: Iterable[str] = (),
                check_revisions: bool = True) -> ChainReport:
    """Walk ``entries`` in order and stop at the first broken link.

    ``first_seq``/``prev_hash``: where the chain must start (None: trust the first
    entry's own, as for an export of a period). ``deleted``: ids CouchDB lists as deleted
    (their gap is then named a deletion). ``check_revisions``: an entry is written once,
    so a revision other than ``1-…`` means it was changed or re-created in CouchDB.
    """
    gone = set(deleted)
    expected, previous, checked, last_id = first_seq, prev_hash, 0, ""
    for line, entry in enumerate(entries, start=1):
        where = str(entry.get("_id", f"#{line}"))
        seq = entry.get("seq")
        if expected is None:
            expected = seq if isinstance(seq, int) else 1
        if previous is None:
            previous = str(entry.get("prev_hash", ""))
        broken: tuple[str, str] | None = None
        want_id = entry_id(expected)
        if where != want_id:
            missing = want_id
            state_zh, state_en = ("已被删除", "was deleted") if missing in gone else ("缺失", "is missing")
            return ChainReport(checked, expected - 1, previous, ChainBreak(
                missing, f"审计记录 {missing} {state_zh}（其后为 {where}）",
                f"audit entry {missing} {state_en} (next found: {where})", line))
        if seq != expected:
            broken = (f"序号被改为 {seq!r}，应为 {expected}", f"seq changed to {seq!r}, expected {expected}")
        elif entry.get("prev_hash") != previous:
            broken = ("prev_hash 与前一条记录的 hash 不符（前一条被改动或删除）",
                      "prev_hash does not match the previous entry's hash (it was changed or removed)")
        elif entry.get("hash") != entry_hash(entry):
            broken = ("内容与 hash 不符：记录写入后被修改", "content does not match its hash: changed after writing")
        elif check_revisions and not str(entry.get("_rev", "1-")).startswith("1-"):
            broken = (f"文档版本为 {entry.get('_rev')}：写入后在 CouchDB 中被修改或重建",
                      f"revision {entry.get('_rev')}: changed or re-created in CouchDB after writing")
        elif check_revisions and entry.get("_conflicts"):
            broken = ("存在冲突版本：有人以其他内容写入了同一记录",
                      "has conflicting revisions: someone stored other content under this id")
        if broken is not None:
            return ChainReport(checked, expected - 1, previous, ChainBreak(
                where, f"审计记录 {where}：{broken[0]}", f"audit entry {where}: {broken[1]}", line))
        previous, last_id = str(entry["hash"]), where
        expected += 1
        checked += 1
    later = sorted(i for i in gone if i > (last_id or "audit:") and i < ID_END)
    if later:
        return ChainReport(checked, (expected or 1) - 1, previous or GENESIS_HASH, ChainBreak(
            later[0], f"审计记录 {later[0]} 已被删除（链尾）", f"audit entry {later[0]} was deleted (end of the chain)"))
    return ChainReport(checked, (expected or 1) - 1, previous or GENESIS_HASH)


def deleted_entry_ids(db: Database) -> set[str]:
    """Chain ids whose current revision is a deletion, from ``_changes`` (which lists
    deleted documents; ``_all_docs`` does not)."""
    gone = set()
    for row in db.iter_changes(style="all_docs"):
        row_id = row.get("id")
        if row.get("deleted") and isinstance(row_id, str) and "audit:0" <= row_id < ID_END:
            gone.add(row_id)
    return gone


def verify(db: Database) -> ChainReport:
    """Check the whole chain stored in ``db`` (see :func:`check_chain`)."""
    return check_chain(iter_entries(db), deleted=deleted_entry_ids(db))


# -- export formats ---------------------------------------------------------------------------

CSV_COLUMNS = ("seq", "_id", "at", "action", "user", "role", "doc_id", "detail", "remote_addr",
               "user_agent", "method", "path", "type", "schema_version", "prev_hash", "hash")


def export_lines(entries: Iterable[Mapping[str, Any]], fmt: str) -> Iterator[str]:
    """An export as text lines: ``jsonl`` (one entry per line, exactly as hashed, so
    ``fengqiao audit verify --file`` or any SHA-256 tool can check it again) or ``csv``
    (for reading in a spreadsheet: ``detail`` as JSON, text that starts like a formula
    gets an apostrophe, which is why CSV is not for re-checking hashes)."""
    if fmt == "jsonl":
        for entry in entries:
            yield canonical_json(dict(entry)).decode() + "\n"
        return
    import csv
    import io

    from .readmodel.exports import csv_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow([csv_safe(canonical_json(entry[c]).decode() if c == "detail" and c in entry
                                  else entry.get(c, "")) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
