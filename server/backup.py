"""``fengqiao db backup`` / ``fengqiao db restore``: the county's databases, exactly.

Why not copy CouchDB's data files: the embedded pouchdb-server and Apache CouchDB store
them differently, and a file copy of a running server is not consistent. Why not only
replication to a backup node: it copies what is there now, including a mistake made a
minute ago, and gives no file to keep offline. So a backup reads every database through
the documented HTTP API and writes files that can be restored on either server:

* every document **and every leaf revision** (conflicts stay conflicts), deleted ones
  included (the audit chain's checker needs to see deletions), each with its revision
  history (``_revisions``) and its attachments inline — found with
  ``_changes?style=all_docs`` and read with ``_bulk_get?revs=true&attachments=true``;
* each database's ``_security``.

Restore writes them with ``_bulk_docs`` and ``new_edits=false``, which stores the given
revisions as they are: the restored database has the same ids, revisions, histories,
conflicts and attachments, so tablets that synced before continue (their checkpoints
name revisions the server knows again). It only writes into databases that are missing
or empty. Not included: ``_local`` documents (sync checkpoints: tablets then compare
revisions once more, and send nothing twice) and ``_replicator`` documents (they hold the
server's own URL and credentials; ``fengqiao db init`` writes them again).

Layout of a backup directory: ``manifest.json`` (format, time, county, per database its
file, counts and ``_security``) and one ``<name>.jsonl.gz`` per database, one revision per
line. Names are stored without ``FENGQIAO_DB_PREFIX``, so a backup can be restored under
another prefix (a test server, a second installation).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.couch import CouchClient, Database
from sync.errors import SyncError

from .audit import audit_db_name
from .errors import ServerError

FORMAT = 1
READ_BATCH = 100                # revisions per _bulk_get
WRITE_BATCH = 200               # revisions per _bulk_docs …
WRITE_BATCH_BYTES = 8 * 2**20   # … or fewer, when photos make them large

Progress = Callable[[str, int], None]  # (database, revisions just done)


class BackupError(ServerError):
    """A backup or restore problem, naming the database (and document) concerned; each
    raise site names its kind (a directory that is not empty: ``conflict``, …)."""


def county_databases(client: CouchClient, prefix: str, county: str) -> list[str]:
    """The county's databases on the server: townships, county, users, audit."""
    fixed = {f"{prefix}county_{county}", f"{prefix}users_{county}", audit_db_name(prefix, county)}
    township = re.compile(rf"^{re.escape(prefix)}tw_{county}\d{{3}}$")
    return sorted(n for n in client.all_dbs() if n in fixed or township.match(n))


def revision_count(db: Database) -> int:
    """Documents, deleted ones included: a progress bar's total (conflicts add a little)."""
    info = db.info()
    return int(info.get("doc_count", 0)) + int(info.get("doc_del_count", 0))


def _leaves(db: Database) -> Iterator[tuple[str, list[str]]]:
    """(id, leaf revisions) of every document, deleted ones and conflicts included."""
    seen: set[str] = set()
    for row in db.iter_changes(style="all_docs"):
        doc_id = row.get("id")
        if doc_id is None or doc_id in seen:  # the final row; a repeat (possible on a cluster)
            continue
        seen.add(doc_id)
        yield doc_id, [change["rev"] for change in row.get("changes", [])]


def _read(db: Database, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
    answer = db.bulk_get(wanted, revs=True, attachments=True)
    docs = []
    for result in answer["results"]:
        for item in result["docs"]:
            if "ok" not in item:
                error = item.get("error") or item
                raise BackupError(
                    f"读取 {db.name}/{result.get('id')} 失败：{error}",
                    f"could not read {db.name}/{result.get('id')}: {error}")
            docs.append(item["ok"])
    return docs


def backup_database(db: Database, path: Path, progress: Progress) -> dict[str, int]:
    """Write every leaf revision of ``db`` to ``path`` (gzip, one JSON per line)."""
    counts = {"documents": 0, "revisions": 0}
    pending: list[dict[str, str]] = []

    def flush(out: Any) -> None:
        for doc in _read(db, pending):
            out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts["revisions"] += len(pending)
        progress(db.name, len(pending))
        pending.clear()

    with gzip.open(path, "wt", encoding="utf-8") as out:
        for doc_id, revs in _leaves(db):
            if doc_id.startswith("_local/"):
                continue
            counts["documents"] += 1
            pending.extend({"id": doc_id, "rev": rev} for rev in revs)
            if len(pending) >= READ_BATCH:
                flush(out)
        if pending:
            flush(out)
    return counts


def backup(client: CouchClient, prefix: str, county: str, directory: Path,
           progress: Progress, started: Callable[[str, int], None]) -> dict[str, Any]:
    """Back up the county's databases into ``directory`` (created; must be empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise BackupError(f"备份目录 {directory} 不为空", f"backup directory {directory} is not empty",
                          kind="conflict")
    names = county_databases(client, prefix, county)
    if not names:
        raise BackupError(f"服务器上没有县 {county} 的数据库（前缀 {prefix!r}）",
                          f"no databases of county {county} on the server (prefix {prefix!r})", kind="not_found")
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                "county": county, "databases": {}}
    for name in names:
        db = client.db(name)
        short = name[len(prefix):]
        started(name, revision_count(db))
        file = f"{short}.jsonl.gz"
        try:
            counts = backup_database(db, directory / file, progress)
        except BackupError:
            raise
        except SyncError as exc:
            raise BackupError(f"备份 {name} 失败：{exc.message_zh}", f"backup of {name} failed: {exc.message_en}",
                              kind=exc.kind) from exc
        manifest["databases"][short] = {"file": file, "security": db.security(), **counts}
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} 无法读取：{exc}", f"cannot read {path}: {exc}", kind="invalid") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}：不支持的备份格式 {manifest.get('format')!r}",
                          f"{path}: unsupported backup format {manifest.get('format')!r}", kind="invalid")
    return manifest


def _write(db: Database, batch: list[dict[str, Any]]) -> None:
    try:
        results = db.bulk_docs(batch, new_edits=False)
    except SyncError as exc:
        ids = ", ".join(sorted({d["_id"] for d in batch})[:5])
        raise BackupError(f"写入 {db.name} 失败（文档 {ids} …）：{exc.message_zh}",
                          f"writing {db.name} failed (documents {ids} …): {exc.message_en}",
                          kind=exc.kind) from exc
    for result in results:  # with new_edits=false CouchDB lists only the failures
        if result.get("error"):
            raise BackupError(
                f"{db.name}/{result.get('id')} 未能恢复：{result['error']} {result.get('reason', '')}",
                f"{db.name}/{result.get('id')} not restored: {result['error']} {result.get('reason', '')}")


def _refuse_if_not_empty(client: CouchClient, name: str) -> None:
    db = client.db(name)
    if db.exists() and revision_count(db) > 0:
        raise BackupError(f"目标数据库 {name} 已有数据：恢复只写入空数据库（或换一个 FENGQIAO_DB_PREFIX）",
                          f"target database {name} holds documents: restore writes only into empty "
                          "databases (or use another FENGQIAO_DB_PREFIX)", kind="conflict")


def restore_database(client: CouchClient, name: str, path: Path, security: dict[str, Any],
                     progress: Progress) -> int:
    """Write the revisions of one backup file into the empty (or missing) database ``name``."""
    _refuse_if_not_empty(client, name)
    db = client.db(name)
    client.create_db(name, exist_ok=True)
    db.set_security(security)
    written, batch, size = 0, [], 0
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                batch.append(json.loads(line))
            except ValueError as exc:
                raise BackupError(f"{path}:{number} 不是 JSON：{exc}", f"{path}:{number} is not JSON: {exc}",
                                  kind="invalid") from exc
            size += len(line)
            if len(batch) >= WRITE_BATCH or size >= WRITE_BATCH_BYTES:
                _write(db, batch)
                written += len(batch)
                progress(name, len(batch))
                batch, size = [], 0
    if batch:
        _write(db, batch)
        written += len(batch)
        progress(name, len(batch))
    return written


def restore(client: CouchClient, prefix: str, directory: Path, progress: Progress,
            started: Callable[[str, int], None]) -> dict[str, Any]:
    """Restore every database of the backup in ``directory`` under ``prefix``."""
    manifest = read_manifest(directory)
    targets = {short: prefix + short for short in manifest["databases"]}
    for name in targets.values():  # refuse before writing anything
        _refuse_if_not_empty(client, name)
    for short, entry in manifest["databases"].items():
        started(targets[short], int(entry["revisions"]))
        path = directory / entry["file"]
        if not path.is_file():
            raise BackupError(f"缺少备份文件 {path}", f"backup file {path} is missing", kind="invalid")
        restore_database(client, targets[short], path, entry["security"], progress)
    return manifest
