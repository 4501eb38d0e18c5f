"""``fengqiao db init|status|backup|restore``: the county's CouchDB databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from sync.couch import CouchClient
from sync.topology import Topology, init_databases

from .cli import console, couch_settings, topology_from


@click.group("db", help="数据库：创建、状态 / databases: create, status.")
def db_group() -> None:
    pass


@db_group.command("init", help="创建县、乡镇数据库、安全设置、设计文档、复制，并发布区划与时限规则（可重复运行）"
                  " / create databases and replications, publish areas and policies (idempotent).")
@click.option("--townships", help="逗号分隔的 9 位乡镇代码；默认取已启用的边界版本 / comma-separated "
              "9-digit township codes; default: those of the active boundary version.")
def db_init(townships: str | None) -> None:
    from grid.areas import area_documents
    from grid.versions import GridStore, store_home
    from sync.reference import publish

    from .domain.policies import policy_documents

    with couch_settings() as settings:
        topology = topology_from(settings, townships)
        store = GridStore(store_home(settings["FENGQIAO_HOME"]))
        version = store.current() if store.active_number() is not None else None
        if version is not None and not townships:
            topology = topology.with_townships(list(version.boundaries.layer("township")["code"]))
        with CouchClient(settings["COUCHDB_URL"]) as client:
            report = init_databases(client, topology)
            reference = list(policy_documents())
            if version is not None:
                reference += list(area_documents(version.boundaries, version.number))
            published = publish(client, topology, reference)
    table = Table("数据库 database", "变更 changes")
    for name, done in report.items():
        table.add_row(name, ", ".join(done) or "无变化 unchanged")
    console.print(table)
    source = f"边界版本 {version.number} / boundary version {version.number}" if version else \
        "无已启用的边界版本 / no active boundary version"
    console.print(f"参考数据写入 {published} 处 / reference documents written: {published} ({source})")


def _known_townships(client: CouchClient, topology: Topology) -> Topology:
    """The topology with every township that has a database already."""
    head = f"{topology.prefix}tw_"
    codes = [name[len(head):] for name in client.all_dbs() if name.startswith(head)]
    return topology.with_townships(codes)


@db_group.command("status", help="复制状态、滞后与冲突 / replication state, lag and conflicts.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON.")
def db_status(as_json: bool) -> None:
    import json

    from sync import conflicts
    from sync.topology import replication_status

    with couch_settings() as settings:
        with CouchClient(settings["COUCHDB_URL"]) as client:
            topology = _known_townships(client, topology_from(settings, None))
            rows = replication_status(client, topology)
            queue = {}
            for code in topology.township_codes:
                db = client.db(topology.township_db(code))
                conflicts.scan(db)
                queue[code] = len(conflicts.open_records(db))
            county = client.db(topology.county_db())
            if county.exists():
                conflicts.scan(county, county_level_only=True)
                queue[topology.county_code] = len(conflicts.open_records(county))
    if as_json:
        click.echo(json.dumps({"replications": rows, "open_conflicts": queue}, ensure_ascii=False, indent=2))
        return
    table = Table("复制 replication", "方向 dir", "状态 state", "待复制 pending", "滞后 lag (changes)", "错误 error")
    for row in rows:
        table.add_row(row["id"], row["direction"], row["state"], str(row["pending"]), str(row["lag"]),
                      row["error"] or "")
    console.print(table)
    conflicts_table = Table("区域 area", "待处理冲突 open conflicts")
    for code, count in queue.items():
        conflicts_table.add_row(code, str(count))
    console.print(conflicts_table)


@contextmanager
def _progress() -> Iterator[tuple[Any, Any]]:
    """A rich progress bar per database: (started(name, total), advance(name, n))."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        def started(name: str, total: int) -> None:
            tasks[name] = bar.add_task(name, total=max(total, 1))

        def advance(name: str, done: int) -> None:
            bar.advance(tasks[name], done)

        yield started, advance


@db_group.command("backup", help="备份本县全部数据库（文档、全部叶子版本与冲突、附件、已删除文档、安全设置）"
                  " / back up the county's databases: documents, every leaf revision, attachments, deletions.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="备份目录（新建或为空）/ backup directory (new or empty).")
def db_backup(output: Path) -> None:
    from .backup import backup

    with couch_settings() as settings, CouchClient(settings["COUCHDB_URL"]) as client, _progress() as (start, step):
        manifest = backup(client, settings["FENGQIAO_DB_PREFIX"], settings["FENGQIAO_COUNTY"], output,
                          step, start)
    table = Table("数据库 database", "文档 documents", "版本 revisions", "文件 file")
    for short, entry in manifest["databases"].items():
        table.add_row(short, str(entry["documents"]), str(entry["revisions"]), entry["file"])
    console.print(table)
    console.print(f"备份完成 / backup complete: {output}")


@db_group.command("restore", help="从备份恢复到空数据库（名称加 FENGQIAO_DB_PREFIX 前缀）/ restore a backup "
                  "into empty databases (named with FENGQIAO_DB_PREFIX).")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def db_restore(directory: Path) -> None:
    from .backup import restore

    with couch_settings() as settings, CouchClient(settings["COUCHDB_URL"]) as client, _progress() as (start, step):
        manifest = restore(client, settings["FENGQIAO_DB_PREFIX"], directory, step, start)
    console.print(f"已恢复 {len(manifest['databases'])} 个数据库（备份于 {manifest['created_at']}）/ "
                  f"restored {len(manifest['databases'])} databases (backed up {manifest['created_at']})")
    console.print("下一步：`fengqiao db init` 重建复制，`fengqiao audit verify` 校验审计日志 / next: "
                  "`fengqiao db init` writes the replications again, `fengqiao audit verify` checks the audit log")


