"""``fengqiao audit verify|export``: check the audit log's hash chain; export a period."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from sync.couch import CouchClient, Database

from . import audit
from .cli import console, couch_settings

CHINA = ZoneInfo("Asia/Shanghai")


def _when(text: str | None, *, end: bool) -> datetime | None:
    """``2026-11-30`` or an ISO time; a time without zone is China Standard Time. A date
    given as ``--to`` means the end of that day (the whole day is exported)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), CHINA)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} 不是日期或时间（例：2026-11-30 或 2026-11-30T08:00） / "
                                 f"not a date or time (e.g. 2026-11-30 or 2026-11-30T08:00)") from None
    return at if at.tzinfo else at.replace(tzinfo=CHINA)


def _audit_db(settings: dict[str, Any], client: CouchClient) -> Database:
    db = client.db(audit.audit_db_name(settings["FENGQIAO_DB_PREFIX"], settings["FENGQIAO_COUNTY"]))
    if not db.exists():
        raise click.ClickException(f"审计数据库 {db.name} 不存在 / audit database {db.name} does not exist")
    return db


@click.group("audit", help="审计日志：校验哈希链、导出 / audit log: verify the hash chain, export.")
def audit_group() -> None:
    pass


def _file_entries(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise click.ClickException(f"{path}:{number}: 不是 JSON / not JSON ({exc})") from None
            if not isinstance(entry, dict):
                raise click.ClickException(f"{path}:{number}: 不是 JSON 对象 / not a JSON object")
            yield entry


@audit_group.command("verify", help="校验审计日志哈希链，报告第一个断开的环节（断开时退出码 1）/ check the "
                     "hash chain and name the first broken link (exit 1 if broken).")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="校验 `audit export` 导出的 JSONL 文件而非数据库 / check a JSONL file from `audit export` "
              "instead of the database.")
def audit_verify(file: Path | None) -> None:
    if file is not None:
        # A period starts anywhere in the chain: its first entry's own seq and prev_hash
        # are taken as given (compare them with the database's chain to anchor it).
        report = audit.check_chain(_file_entries(file), first_seq=None, prev_hash=None,
                                   check_revisions=False)
        source = str(file)
    else:
        with couch_settings() as settings, CouchClient(settings["COUCHDB_URL"]) as client:
            db = _audit_db(settings, client)
            with console.status(f"校验 / checking {db.name} …"):
                report = audit.verify(db)
            source = db.name
    if report.broken is not None:
        where = f"{source}:{report.broken.line}" if file is not None and report.broken.line else source
        console.print(f"[bold red]哈希链断开 / chain broken[/] {where} {report.broken.entry_id}", soft_wrap=True)
        click.echo(f"错误：{report.broken.message_zh}\nError: {report.broken.message_en}", err=True)
        console.print(f"此前 {report.checked} 条完好 / {report.checked} entries before it hold")
        sys.exit(1)
    console.print(f"[green]哈希链完好 / chain intact[/] {source}: {report.checked} 条 entries")
    console.print(f"  最后一条 / last entry: {audit.entry_id(report.head_seq) if report.head_seq else '-'}")
    console.print(f"  末尾哈希 / head hash: {report.head_hash}")
    console.print("  请将末尾哈希另行保存（如交测评机构），日后可证明此前记录未被整体重算 / keep the head hash "
                  "elsewhere (e.g. with the assessor): it proves later that nothing before it was rewritten")


@audit_group.command("export", help="导出一段时间的审计记录（含哈希）供测评 / export a period of the audit log "
                     "with its hashes, for the assessor.")
@click.option("--from", "since", help="起始日期或时间（含），例 2026-11-01 / from this date or time (inclusive).")
@click.option("--to", "until", help="截止日期（含当天）或时间（不含）/ to this date (whole day) or time (exclusive).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件（.jsonl 或 .csv）/ output file (.jsonl or .csv).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]),
              help="格式，默认按扩展名 / format; default from the file's extension.")
def audit_export(since: str | None, until: str | None, output: Path, fmt: str | None) -> None:
    fmt = fmt or ("csv" if output.suffix.lower() == ".csv" else "jsonl")
    start, end = _when(since, end=False), _when(until, end=True)
    count, head = 0, None
    with couch_settings() as settings, CouchClient(settings["COUCHDB_URL"]) as client:
        db = _audit_db(settings, client)

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal count, head
            for entry in audit.export_entries(db, start, end):
                count, head = count + 1, entry
                yield entry

        with output.open("w", encoding="utf-8", newline="") as handle, \
                console.status(f"导出 / exporting {db.name} …"):
            for line in audit.export_lines(counted(), fmt):
                handle.write(line)
    console.print(f"已导出 {count} 条 / exported {count} entries → {output} ({fmt})")
    if head is not None:
        console.print(f"  最后一条 / last: {head['_id']}  hash {head['hash']}")
