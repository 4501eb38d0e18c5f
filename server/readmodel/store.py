"""The statistics read model: one embedded DuckDB file fed from the county ``_changes`` feed.

Tables (all derived; ``fengqiao stats rebuild`` recreates them from CouchDB):

    case_docs(case_id, doc)            base records as JSON (to re-project), parties minimised:
                                       masked ID numbers/phones and keyed hashes, never the
                                       full values (``schemas.privacy.minimise_case``)
    events(event_id, case_id, at_text, kind, doc)   case events as JSON (to re-project)
    cases(...)                         one projected row per case: ``case_row`` columns
                                       (without the three as-of columns, see below) plus
                                       list/export fields (masked parties, title, point)
    risk_docs / riskevents / risks     the risk register, projected by ``project_risk``
    areas(code, level, name, parent, version, geometry, bbox)   area (grid) documents
    case_cells / live_cases            the statistics pre-aggregated per village and day, and
                                       the cases whose as-of columns can change (``cells.py``)
    meta(key, value)                   ``seq`` (the feed checkpoint), ``schema_version``,
                                       ``party_key_id`` (which key made the keyed hashes)

A different ``SCHEMA_VERSION`` or party key than the file was built with deletes the file
and starts a new one, which the follower fills from the feed (a rebuild): deleting, not
dropping tables, so no page of an older layout (version 1 kept full ID numbers and phones
in ``case_docs``) survives in the file.

One batch of changes is applied in ONE transaction together with the new checkpoint:
documents are upserted by ``_id`` (delete + insert, so replaying a change changes
nothing), then every case / risk touched by the batch — its base record or any of its
events, whatever order they came in — is re-projected from everything stored for it.

``accept_overdue``, ``close_overdue`` and ``is_backlog`` depend on the day they are asked
about, so they are not stored: :func:`cases_at` computes them in SQL for any as-of date
from stored, time-independent columns (``accept_open``, ``close_open``, due dates).

DuckDB lets one process write a file; within that process any number of threads read
through their own cursor (``ReadModel.cursor()``) while one writer commits batches.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from schemas.privacy import MINIMISED_PARTY_FIELDS, keyed_hash, minimise_case
from schemas.registry import DOC_TYPES
from server.domain.metrics import BACKLOG_DAYS, case_row
from server.domain.projection import project_case
from server.domain.workdays import WorkCalendar
from server.errors import ServerError

from . import cells
from .calendar import fast_calendar
from .plan import AS_OF_COLUMNS  # noqa: F401  (re-exported: the tests and exports use it)

log = logging.getLogger("fengqiao.readmodel")

# The aggregates computed again after each batch (``ReadModel._bump``): the most recent
# ``HOT_AGGREGATES`` asked in the last ``HOT_SECONDS``, for at most ``REFRESH_BUDGET_S``
# (the follower waits for them, so they bound what they add to the feed lag).
HOT_AGGREGATES = 16
HOT_SECONDS = 600.0
REFRESH_BUDGET_S = 0.5

# 2: parties minimised (no full ID number or phone anywhere in the file), party_keys.
SCHEMA_VERSION = "3"  # 3: resolution_level counted at the highest level reached
FILE_NAME = "stats.duckdb"
# Cell rows a batch appends before they are folded in (cells.compact): a query sums a few
# thousand extra rows at most; folding a year of a big county's cells costs ~0.1 s.
COMPACT_AFTER = 5000

# case_row columns that depend on as_of (``AS_OF_COLUMNS``, from plan.py) are computed per
# query by ``cases_at``, never stored.

CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_id", "VARCHAR"), ("area_code", "VARCHAR"), ("county_code", "VARCHAR"),
    ("township_code", "VARCHAR"), ("village_code", "VARCHAR"), ("grid_code", "VARCHAR"),
    ("channel", "VARCHAR"), ("category", "VARCHAR"), ("policy", "VARCHAR"),
    ("legal_route", "VARCHAR"), ("status", "VARCHAR"), ("level", "VARCHAR"),
    ("resolution_level", "VARCHAR"), ("evaluation", "VARCHAR"),
    ("created_date", "DATE"), ("accepted_date", "DATE"), ("closed_date", "DATE"),
    ("is_open", "BOOLEAN"), ("is_accepted", "BOOLEAN"), ("is_declined", "BOOLEAN"),
    ("is_closed", "BOOLEAN"), ("is_resolved", "BOOLEAN"), ("is_evaluated", "BOOLEAN"),
    ("is_repeat", "BOOLEAN"), ("is_paused", "BOOLEAN"),
    ("accept_due_date", "DATE"), ("accept_decided", "BOOLEAN"), ("accept_on_time", "BOOLEAN"),
    ("accept_open", "BOOLEAN"),
    ("close_due_date", "DATE"), ("close_on_time", "BOOLEAN"), ("close_open", "BOOLEAN"),
    ("duration_days", "INTEGER"), ("duration_working_days", "INTEGER"),
    ("escalations", "INTEGER"), ("pending_units", "INTEGER"), ("anomalies", "INTEGER"),
    # list / export fields
    ("created_at", "TIMESTAMP"),  # UTC, for keyset ordering
    ("tracking_code", "VARCHAR"), ("title", "VARCHAR"), ("description", "VARCHAR"),
    ("reported_by", "VARCHAR"), ("first_handler", "VARCHAR"), ("lead_official", "VARCHAR"),
    ("parties", "VARCHAR"),  # JSON, id numbers and phones masked
    ("lon", "DOUBLE"), ("lat", "DOUBLE"),  # WGS84
    ("event_count", "INTEGER"),
    ("party_keys", "VARCHAR"),  # JSON list of keyed hashes (repeat detection), see privacy.py
)
CASE_COLUMN_NAMES = tuple(name for name, _ in CASE_COLUMNS)

RISK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("risk_id", "VARCHAR"), ("area_code", "VARCHAR"), ("title", "VARCHAR"),
    ("description", "VARCHAR"), ("category", "VARCHAR"), ("level", "VARCHAR"),
    ("screening_round", "VARCHAR"), ("owner", "VARCHAR"), ("due", "DATE"),
    ("lead_official", "VARCHAR"), ("status", "VARCHAR"), ("reviews", "INTEGER"),
    ("reported_by", "VARCHAR"), ("created_at", "TIMESTAMP"), ("case_id", "VARCHAR"),
    ("lon", "DOUBLE"), ("lat", "DOUBLE"),
)
RISK_COLUMN_NAMES = tuple(name for name, _ in RISK_COLUMNS)

AREA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "VARCHAR"), ("level", "VARCHAR"), ("name", "VARCHAR"), ("parent", "VARCHAR"),
    ("version", "INTEGER"), ("geometry", "VARCHAR"), ("bbox", "VARCHAR"),
)

DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS case_docs (case_id VARCHAR, doc VARCHAR)",
    "CREATE TABLE IF NOT EXISTS events (event_id VARCHAR, case_id VARCHAR, at_text VARCHAR, "
    "kind VARCHAR, doc VARCHAR)",
    "CREATE TABLE IF NOT EXISTS cases (" + ", ".join(f"{n} {t}" for n, t in CASE_COLUMNS) + ")",
    "CREATE TABLE IF NOT EXISTS risk_docs (risk_id VARCHAR, doc VARCHAR)",
    "CREATE TABLE IF NOT EXISTS riskevents (event_id VARCHAR, risk_id VARCHAR, doc VARCHAR)",
    "CREATE TABLE IF NOT EXISTS risks (" + ", ".join(f"{n} {t}" for n, t in RISK_COLUMNS) + ")",
    "CREATE TABLE IF NOT EXISTS areas (" + ", ".join(f"{n} {t}" for n, t in AREA_COLUMNS) + ")",
    # Every batch deletes and re-reads rows by id: without these, each of those statements
    # scans the whole table (~30 ms per statement at a million cases; issue 16).
    "CREATE INDEX IF NOT EXISTS cases_case_id ON cases (case_id)",
    "CREATE INDEX IF NOT EXISTS case_docs_case_id ON case_docs (case_id)",
    "CREATE INDEX IF NOT EXISTS events_event_id ON events (event_id)",
    "CREATE INDEX IF NOT EXISTS events_case_id ON events (case_id)",
)
TABLES = ("meta", "case_docs", "events", "cases", "risk_docs", "riskevents", "risks", "areas",
          *(layout.table for layout in cells.LAYOUTS), "live_cases")


class ReadModelError(ServerError):
    """The read model cannot be opened or used (another process holds its file)."""

    kind = "unavailable"


def cases_at(as_of: date, table: str = "cases") -> str:
    """SQL for ``table`` with the as-of columns added, as ``case_row(..., as_of)`` has them.

    Usable wherever a table name goes: ``FROM {cases_at(d)}``.
    """
    d = f"DATE '{as_of.isoformat()}'"
    return (
        f"(SELECT *, COALESCE(accept_open AND {d} > accept_due_date, FALSE) AS accept_overdue, "
        f"COALESCE(close_open AND is_open AND {d} > close_due_date, FALSE) AS close_overdue, "
        f"COALESCE(is_open AND is_accepted AND created_date < {d} - {int(BACKLOG_DAYS)}, FALSE) "
        f"AS is_backlog FROM {table}) AS c"
    )


def _utc_naive(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


def _point(location: Any) -> tuple[float | None, float | None]:
    if not isinstance(location, Mapping):
        return None, None
    lon, lat = location.get("lon"), location.get("lat")
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        return None, None
    crs = str(location.get("crs") or "wgs84")
    if crs in ("gcj02", "bd09"):
        try:
            from grid.coords import to_storage

            x, y = to_storage([lon], [lat], crs)
            return float(x[0]), float(y[0])
        except Exception:  # a point we cannot convert is shown unconverted, never dropped
            return float(lon), float(lat)
    return float(lon), float(lat)


def stored_case_row(case: Mapping[str, Any], events: Iterable[Mapping[str, Any]], *,
                    calendar: WorkCalendar | None = None) -> tuple[Any, ...]:
    """The ``cases`` row for one *minimised* case document (``minimise_case``: what
    ``case_docs`` holds) and its events (column order of the table).

    Projected without ``now``, so rows are a function of the documents alone (a rebuild
    equals the incremental result whenever it runs): ``future_time`` is judged when a
    case is read (``server.cases.project``); push refuses times over a day ahead.
    """
    calendar = calendar or fast_calendar()
    if any(isinstance(p, Mapping) and "keys" not in p for p in case.get("parties", [])):
        raise ValueError(f"{case.get('_id')}: parties not minimised / 当事人信息未最小化")
    projection = project_case(case, events, calendar=calendar)
    row = case_row(projection, date(2000, 1, 1), calendar=calendar)  # as-of columns dropped
    accept, close = projection.deadline("accept"), projection.deadline("close")
    row["accept_open"] = bool(accept and accept.open)
    row["close_open"] = bool(close and close.open)
    lon, lat = _point(case.get("location"))
    minimised = [p for p in case.get("parties", []) if isinstance(p, Mapping)]
    parties = [{k: p[k] for k in MINIMISED_PARTY_FIELDS if p.get(k) is not None} for p in minimised]
    keys = sorted({k for p in minimised for k in p.get("keys", [])})
    row.update(
        created_at=_utc_naive(case.get("created_at")),
        tracking_code=case.get("tracking_code"), title=case.get("title"),
        description=case.get("description"), reported_by=case.get("reported_by"),
        first_handler=projection.first_handler, lead_official=case.get("lead_official"),
        parties=json.dumps(parties, ensure_ascii=False), lon=lon, lat=lat,
        event_count=projection.event_count, party_keys=json.dumps(keys),
    )
    return tuple(row[name] for name in CASE_COLUMN_NAMES)


def stored_risk_row(risk: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
    from server.domain.risks import project_risk

    p = project_risk(risk, events)
    lon, lat = _point(risk.get("location"))
    row = dict(
        risk_id=p.risk_id, area_code=p.area_code, title=risk.get("title"),
        description=risk.get("description"), category=risk.get("category"), level=p.level,
        screening_round=risk.get("screening_round"), owner=p.owner, due=p.due,
        lead_official=p.lead_official, status=p.status, reviews=p.reviews,
        reported_by=risk.get("reported_by"), created_at=_utc_naive(risk.get("created_at")),
        case_id=risk.get("case_id"), lon=lon, lat=lat,
    )
    return tuple(row[name] for name in RISK_COLUMN_NAMES)


_PANDAS_DTYPES = {"VARCHAR": "string", "INTEGER": "Int64", "DOUBLE": "Float64",
                  "BOOLEAN": "boolean"}


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str,
                columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """Bulk insert through a typed pandas frame (``executemany`` is ~1000× slower)."""
    import pandas as pd

    if not rows:
        return
    data: dict[str, Any] = {}
    for i, (name, sql_type) in enumerate(columns):
        values = [r[i] for r in rows]
        if sql_type in ("DATE", "TIMESTAMP"):
            data[name] = pd.to_datetime(pd.Series(values, dtype=object))
        else:
            data[name] = pd.Series(values, dtype=_PANDAS_DTYPES[sql_type])
    frame = pd.DataFrame(data)
    view = f"_batch_{threading.get_ident()}"
    cur.register(view, frame)
    try:
        select = ", ".join(f"CAST({n} AS {t})" for n, t in columns)
        cur.execute(f"INSERT INTO {table} SELECT {select} FROM {view}")
    finally:
        cur.unregister(view)


EVENT_COLUMNS = (("event_id", "VARCHAR"), ("case_id", "VARCHAR"), ("at_text", "VARCHAR"),
                 ("kind", "VARCHAR"), ("doc", "VARCHAR"))
DOC_COLUMNS = {"case_docs": (("case_id", "VARCHAR"), ("doc", "VARCHAR")),
               "events": EVENT_COLUMNS,
               "risk_docs": (("risk_id", "VARCHAR"), ("doc", "VARCHAR")),
               "riskevents": (("event_id", "VARCHAR"), ("risk_id", "VARCHAR"), ("doc", "VARCHAR")),
               "areas": AREA_COLUMNS}


def _parent_id(doc_id: str, kind: str) -> str | None:
    """The parent a child's id names (``schemas.registry``: ``event:<uuid>:<tsid>`` →
    ``case:<uuid>``, ``riskevent:…`` → ``risk:<uuid>``)."""
    parts = doc_id.split(":")
    parent = DOC_TYPES[kind].parent
    if len(parts) < 3 or parent is None:
        return None
    return f"{parent.type}:{parts[1]}"


def _parent_of(doc_id: str, doc: Mapping[str, Any], kind: str) -> str | None:
    """The parent a child document names in its parent field, else the one its id names."""
    parent = DOC_TYPES[kind].parent
    named = doc.get(parent.field) if parent is not None else None
    return named if isinstance(named, str) else _parent_id(doc_id, kind)


@dataclass
class BatchResult:
    changes: int = 0
    cases: int = 0          # case rows re-projected
    risks: int = 0
    skipped: int = 0        # documents that could not be projected (logged)
    seq: Any = None


class ReadModel:
    """One DuckDB file. Thread-safe: writes are serialised, reads use ``cursor()``."""

    def __init__(self, path: str | Path, *, calendar: WorkCalendar | None = None,
                 party_key: bytes | None = None) -> None:
        """``party_key``: the key of parties' keyed hashes (``server.config.party_key``);
        None (tests, benchmarks): a random key, so a file is only ever read back by the
        same instance."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.party_key = party_key or secrets.token_bytes(32)
        self.con = self._connect()
        self.calendar = calendar or fast_calendar()
        self._write = threading.Lock()
        # Results of aggregate queries, valid until the next committed batch (``version``).
        self.version = 0
        self.cache_enabled = True
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._hot: OrderedDict[tuple[Any, ...], float] = OrderedDict()  # aggregate → last asked
        self._cache_lock = threading.Lock()
        self._appended_cells = COMPACT_AFTER + 1  # unknown for a file opened: fold at the first batch
        self._ensure_schema()

    # -- lifecycle ----------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise ReadModelError(
                f"统计库 {self.path} 已被另一进程占用（服务正在运行？DuckDB 只允许一个进程写入）：{exc}",
                f"statistics database {self.path} is locked by another process (is the server "
                f"running? DuckDB allows one writing process): {exc}",
            ) from exc

    def _ensure_schema(self) -> None:
        key_id = keyed_hash(self.party_key, "party key id")
        with self._write:
            for stmt in DDL:
                self.con.execute(stmt)
            version = self._meta(self.con, "schema_version")
            used_key = self._meta(self.con, "party_key_id")
            if (version, used_key) not in ((None, None), (SCHEMA_VERSION, key_id)):
                log.warning("read model schema %s (now %s) or party key changed: deleting %s to "
                            "rebuild it", version, SCHEMA_VERSION, self.path)
                self.con.close()
                for stale in (self.path, self.path.with_name(self.path.name + ".wal")):
                    stale.unlink(missing_ok=True)
                self.con = self._connect()
                for stmt in DDL:
                    self.con.execute(stmt)
                version = None
            if version != SCHEMA_VERSION:
                self._set_meta(self.con, "schema_version", SCHEMA_VERSION)
                self._set_meta(self.con, "party_key_id", key_id)
            for stmt in cells.ddl():
                self.con.execute(stmt)
            if self._meta(self.con, "cells_signature") != cells.signature():
                self._rebuild_cells()

    def _rebuild_cells(self) -> None:
        """The cells from the case rows, in one transaction (caller holds ``_write``)."""
        cur = self.con.cursor()
        cur.begin()
        try:
            cells.rebuild(cur)
            self._set_meta(cur, "cells_signature", cells.signature())
            cur.commit()
        except BaseException:
            cur.rollback()
            raise

    def rebuild_cells(self) -> None:
        """Recompute the pre-aggregated cells after rows were written into ``cases``
        directly (``bench stats`` fills a million rows that way)."""
        with self._write:
            self._rebuild_cells()
        self._bump()

    def close(self) -> None:
        with self._write:
            self.con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread's reads (sees committed batches only)."""
        return self.con.cursor()

    def reset(self) -> None:
        """Empty every table and forget the checkpoint (the next catch-up starts at 0)."""
        self._bump()
        with self._write:
            cur = self.con.cursor()
            cur.begin()
            for table in TABLES:
                if table != "meta":
                    cur.execute(f"DELETE FROM {table}")
            cur.execute("DELETE FROM meta WHERE key = 'seq'")
            cur.commit()

    # -- meta -----------------------------------------------------------------------------

    @staticmethod
    def _meta(cur: duckdb.DuckDBPyConnection, key: str) -> str | None:
        found = cur.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return found[0] if found else None

    @staticmethod
    def _set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
        updated = cur.execute("UPDATE meta SET value = ? WHERE key = ?", [value, key]).fetchone()
        if not updated or not updated[0]:
            cur.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    def seq(self) -> Any:
        """The checkpoint: the ``last_seq`` of the last applied batch (None: nothing yet)."""
        value = self._meta(self.cursor(), "seq")
        return None if value is None else json.loads(value)

    def counts(self) -> dict[str, int]:
        cur = self.cursor()
        return {t: cur.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                for t in TABLES if t != "meta"}

    # -- ingestion ------------------------------------------------------------------------

    def apply_changes(self, changes: Sequence[Mapping[str, Any]], last_seq: Any) -> BatchResult:
        """Apply ``_changes`` rows (with ``doc``) and store ``last_seq``, in one transaction.

        Idempotent: applying the same rows again leaves every table as it was.
        """
        latest: dict[str, Mapping[str, Any]] = {}
        for change in changes:
            doc_id = change.get("id")
            if isinstance(doc_id, str) and not doc_id.startswith(("_design/", "_local/")):
                latest[doc_id] = change
        result = BatchResult(changes=len(changes), seq=last_seq)
        with self._write:
            cur = self.con.cursor()
            cur.begin()
            try:
                self._apply(cur, latest, result)
                self._set_meta(cur, "seq", json.dumps(last_seq))
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            self._bump(cur)
        return result

    def _bump(self, cur: duckdb.DuckDBPyConnection | None = None) -> None:
        """Publish a new ``version``: with ``cur`` (the writer's cursor, after its commit),
        the aggregates readers asked for lately are computed again on the committed data
        first and published with it, so the first dashboard after a batch finds its answers
        ready (issue 16: the three dashboard queries after a batch were the slowest, ~115 ms
        p95 at a million cases). Until then readers get the previous batch's answers: an
        aggregate is at most one batch old, for the time its batch takes to recompute."""
        fresh: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        if cur is not None and self.cache_enabled:
            now = time.monotonic()
            with self._cache_lock:
                hot = [spec for spec, asked in self._hot.items() if now - asked < HOT_SECONDS][-HOT_AGGREGATES:]
            deadline = now + REFRESH_BUDGET_S
            for spec in hot:
                if time.monotonic() > deadline:
                    break
                try:
                    fresh[spec] = cells.aggregate(cur, spec)
                except duckdb.Error as exc:  # it will be computed when asked, and fail there
                    log.warning("aggregate not refreshed: %s", exc)
        with self._cache_lock:
            self.version += 1
            self._cache = fresh

    def prepared(self, spec: Sequence[Any]) -> bool:
        """Whether ``spec`` is computed for the current version (asked since, or recomputed
        with the batch)."""
        with self._cache_lock:
            return tuple(spec) in self._cache

    def aggregate(self, spec: Sequence[Any], cur: Any) -> list[tuple[Any, ...]]:
        """The rows of the aggregate ``spec`` (``cells.Aggregate``), computed once per data
        version: dashboards ask the same aggregates again and again, and the answer cannot
        differ until a batch commits. ``cur``: the caller's cursor, used on a miss."""
        spec = tuple(spec)
        if not self.cache_enabled:
            return cells.aggregate(cur, spec)
        version = self.version
        with self._cache_lock:
            self._hot[spec] = time.monotonic()
            self._hot.move_to_end(spec)
            while len(self._hot) > 4 * HOT_AGGREGATES:
                self._hot.popitem(last=False)
            if spec in self._cache:
                self._cache.move_to_end(spec)
                return self._cache[spec]  # type: ignore[no-any-return]
        value = cells.aggregate(cur, spec)
        with self._cache_lock:
            if version == self.version:  # no batch committed meanwhile
                self._cache[spec] = value
                while len(self._cache) > 256:
                    self._cache.popitem(last=False)
        return value

    def _apply(self, cur: duckdb.DuckDBPyConnection, latest: Mapping[str, Mapping[str, Any]],
               result: BatchResult) -> None:
        # Every change by its type; the types the read model keeps are taken below.
        by_kind: dict[str | None, list[tuple[str, Mapping[str, Any] | None]]] = {}
        for doc_id, change in latest.items():
            doc = change.get("doc")
            deleted = bool(change.get("deleted")) or not isinstance(doc, Mapping) or doc.get("_deleted")
            kind = doc_id.split(":", 1)[0] if ":" in doc_id else None
            if not deleted and isinstance(doc, Mapping) and doc.get("type"):
                kind = str(doc.get("type"))
            by_kind.setdefault(kind, []).append((doc_id, None if deleted else doc))

        touched_cases: set[str] = set()
        touched_risks: set[str] = set()

        def upsert(table: str, key: str, items: list[tuple[str, Mapping[str, Any] | None]],
                   make: Any) -> None:
            ids = [doc_id for doc_id, _ in items]
            cur.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [ids])
            rows = [make(doc_id, doc) for doc_id, doc in items if doc is not None]
            insert_rows(cur, table, DOC_COLUMNS[table], rows)

        def dumps(doc: Mapping[str, Any]) -> str:
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

        if items := by_kind.get("case"):
            upsert("case_docs", "case_id", items, lambda i, d: (i, dumps(minimise_case(dict(d), self.party_key))))
            touched_cases.update(i for i, _ in items)
        if items := by_kind.get("event"):
            def event_row(i: str, d: Mapping[str, Any]) -> tuple[Any, ...]:
                return (i, _parent_of(i, d, "event"), d.get("at"), d.get("kind"), dumps(d))
            # parents of deleted events too: the projection must lose them
            touched_cases.update(p for i, _ in items if (p := _parent_id(i, "event")))
            touched_cases.update(p for i, d in items if d is not None and (p := _parent_of(i, d, "event")))
            upsert("events", "event_id", items, event_row)
        if items := by_kind.get("risk"):
            upsert("risk_docs", "risk_id", items, lambda i, d: (i, dumps(d)))
            touched_risks.update(i for i, _ in items)
        if items := by_kind.get("riskevent"):
            touched_risks.update(p for i, _ in items if (p := _parent_id(i, "riskevent")))
            upsert("riskevents", "event_id", items,
                   lambda i, d: (i, _parent_of(i, d, "riskevent"), dumps(d)))
        if items := by_kind.get("area"):
            upsert("areas", "code", [(i.split(":", 1)[1], d) for i, d in items], lambda c, d: (
                str(d.get("code") or c), d.get("level"), d.get("name"), d.get("parent"),
                d.get("version"), json.dumps(d.get("geometry")), json.dumps(d.get("bbox"))))

        if touched_cases:
            result.cases, skipped = self._reproject_cases(cur, sorted(touched_cases))
            result.skipped += skipped
        if touched_risks:
            result.risks, skipped = self._reproject_risks(cur, sorted(touched_risks))
            result.skipped += skipped

    def _reproject_cases(self, cur: duckdb.DuckDBPyConnection, ids: list[str]) -> tuple[int, int]:
        docs = dict(cur.execute("SELECT case_id, doc FROM case_docs WHERE case_id IN "
                                "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall())
        events: dict[str, list[dict[str, Any]]] = {}
        for case_id, doc in cur.execute("SELECT case_id, doc FROM events WHERE case_id IN "
                                        "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
            events.setdefault(case_id, []).append(json.loads(doc))
        rows, skipped = [], 0
        for case_id in ids:
            if case_id not in docs:
                continue  # events whose case has not arrived yet: projected when it does
            try:
                rows.append(stored_case_row(json.loads(docs[case_id]), events.get(case_id, []),
                                            calendar=self.calendar))
            except (ValueError, TypeError, KeyError) as exc:
                skipped += 1
                log.warning("case %s not projected: %s", case_id, exc)
        # The replaced rows come back from the DELETE (no second scan of `cases`): the
        # pre-aggregated cells subtract them and add the new ones (cells.py).
        old = cur.execute("DELETE FROM cases WHERE case_id IN (SELECT unnest(?::VARCHAR[])) "
                          "RETURNING *", [ids]).fetchall()
        for temp, batch in (("_old_cases", old), ("_new_cases", rows)):
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT * FROM cases LIMIT 0")
            insert_rows(cur, temp, CASE_COLUMNS, batch)
        cur.execute("INSERT INTO cases SELECT * FROM _new_cases")
        self._appended_cells += cells.apply(cur, ids, "_old_cases", "_new_cases")
        if self._appended_cells > COMPACT_AFTER:
            cells.compact(cur)
            self._appended_cells = 0
        cur.execute("DROP TABLE _old_cases")
        cur.execute("DROP TABLE _new_cases")
        return len(rows), skipped

    def _reproject_risks(self, cur: duckdb.DuckDBPyConnection, ids: list[str]) -> tuple[int, int]:
        docs = dict(cur.execute("SELECT risk_id, doc FROM risk_docs WHERE risk_id IN "
                                "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall())
        events: dict[str, list[dict[str, Any]]] = {}
        for risk_id, doc in cur.execute("SELECT risk_id, doc FROM riskevents WHERE risk_id IN "
                                        "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
            events.setdefault(risk_id, []).append(json.loads(doc))
        rows, skipped = [], 0
        for risk_id in ids:
            if risk_id not in docs:
                continue
            try:
                rows.append(stored_risk_row(json.loads(docs[risk_id]), events.get(risk_id, [])))
            except (ValueError, TypeError, KeyError) as exc:
                skipped += 1
                log.warning("risk %s not projected: %s", risk_id, exc)
        cur.execute("DELETE FROM risks WHERE risk_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        insert_rows(cur, "risks", RISK_COLUMNS, rows)
        return len(rows), skipped


def default_path(home: str | Path) -> Path:
    return Path(home) / FILE_NAME
