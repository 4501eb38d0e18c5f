"""``fengqiao stats …`` and ``fengqiao export …`` (``fengqiao bench stats`` is in ``server/bench/cli.py``).

These open the read model file themselves; DuckDB lets one process write it, so run them
while the server is stopped (they say so if the file is locked).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from server.errors import ServerError

console = Console(highlight=False, stderr=True)


def _settings(**overrides: Any):  # type: ignore[no-untyped-def]
    from server.cli import couch_settings

    return couch_settings(**overrides)


def _store(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.config import party_key

    from .store import ReadModel, default_path

    # A file held by a running server is a ReadModelError: fengqiao prints it, exit 4.
    return ReadModel(settings.get("FENGQIAO_STATS_PATH") or default_path(settings["FENGQIAO_HOME"]),
                     party_key=party_key(settings))


def _county_db(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server.databases import topology_for
    from sync.couch import CouchClient

    client = CouchClient(settings["COUCHDB_URL"])
    return client, client.db(topology_for(settings).county_db())


@click.group("stats", help="统计读模型：重建、状态 / statistics read model: rebuild, status.")
def stats_group() -> None:
    pass


@stats_group.command("rebuild", help="从县库 _changes 重建读模型 / rebuild from the county feed.")
@click.option("--batch", default=2000, show_default=True, help="每批变更数 / changes per batch.")
def stats_rebuild(batch: int) -> None:
    from .follower import rebuild

    with _settings() as settings:
        client, db = _county_db(settings)
        store = _store(settings)
        try:
            if not db.exists():
                raise ServerError(f"县库 {db.name} 不存在（先运行 fengqiao db init）",
                                  f"county database {db.name} does not exist (run fengqiao db init)",
                                  kind="not_found")
            seq_total = db.info().get("doc_count", 0) + db.info().get("doc_del_count", 0)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task("重建 / rebuilding", total=seq_total or None)
                n = rebuild(store, db, batch=batch,
                            on_batch=lambda r: progress.advance(task, r.changes))
            counts = store.counts()
            click.echo(f"已重建：{n} 条变更，{counts['cases']} 个案件，{counts['risks']} 条隐患，"
                       f"{counts['areas']} 个区划 / rebuilt: {n} changes, {counts['cases']} cases, "
                       f"{counts['risks']} risks, {counts['areas']} areas; checkpoint {store.seq()}")
        finally:
            store.close()
            client.close()


@stats_group.command("status", help="读模型检查点与行数 / checkpoint and row counts.")
def stats_status() -> None:
    with _settings() as settings:
        client, db = _county_db(settings)
        store = _store(settings)
        try:
            info = db.info() if db.exists() else {}
            click.echo(json.dumps({"path": str(store.path), "seq": store.seq(),
                                   "county_update_seq": info.get("update_seq"),
                                   "rows": store.counts()}, ensure_ascii=False, indent=2, default=str))
        finally:
            store.close()
            client.close()


@stats_group.command("serve", help="作为读模型唯一属主进程运行：跟随县库、在 Unix 套接字上应答查询"
                     "（serve --workers N>1 会自动启动）/ own the read model: follow the county feed and "
                     "answer the server processes' queries on a Unix socket (started by serve --workers N>1).")
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="套接字路径 / socket path (default: FENGQIAO_STATS_SOCKET, else $FENGQIAO_HOME/run/stats.sock).")
def stats_serve(socket_path: Path | None) -> None:
    import signal
    import threading

    from .follower import Follower
    from .remote import QueryServer

    with _settings() as settings:
        path = socket_path or Path(settings.get("FENGQIAO_STATS_SOCKET") or default_socket(settings))
        _client, db = _county_db(settings)
        store = _store(settings)
        # FENGQIAO_STATS_FOLLOW=off: serve what the file holds, follow nothing (tools, and
        # benchmarks of the sync path alone).
        follower = None if settings.get("FENGQIAO_STATS_FOLLOW") == "off" else \
            Follower(store, settings["COUCHDB_URL"], db.name).start()
        server = QueryServer(store, path).start()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        console.print(f"统计读模型进程已就绪 / read model serving on {path}")
        try:
            stop.wait()
        finally:
            server.close()
            if follower is not None:
                follower.stop()
            store.close()
            _client.close()


def default_socket(settings: dict[str, Any]) -> Path:
    """``$FENGQIAO_HOME/run/stats.sock``, or a fresh private directory under the system's
    temporary one when that path is too long for a Unix socket (108 bytes on Linux)."""
    import tempfile

    path = Path(settings["FENGQIAO_HOME"]).resolve() / "run" / "stats.sock"
    if len(str(path).encode()) < 100:
        return path
    return Path(tempfile.mkdtemp(prefix="fengqiao-")) / "stats.sock"


@click.group("export", help="导出台账 / exports (xlsx, csv, geojson).")
def export_group() -> None:
    pass


@export_group.command("cases", help="导出案件台账（身份证号脱敏）/ export the case register (ID numbers masked).")
@click.option("--area", required=True, help="区划编码前缀 / area code prefix.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "geojson"]), default="xlsx",
              show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--no-catch-up", is_flag=True, help="不先追平县库 / do not catch up with the feed first.")
def export_cases(area: str, fmt: str, output: Path, start: Any, end: Any, no_catch_up: bool) -> None:
    from . import exports
    from .follower import catch_up
    from .queries import CaseFilter, iter_cases

    if not area.isdigit() or len(area) not in (6, 9, 12, 15):
        raise click.BadParameter("应为 6/9/12/15 位区划编码 / a 6, 9, 12 or 15 digit area code",
                                 param_hint="--area")
    with _settings() as settings:
        client, db = _county_db(settings)
        store = _store(settings)
        try:
            if not no_catch_up and db.exists():
                catch_up(store, db)
            flt = CaseFilter(scope=(area,), area=area,
                             start=start.date() if start else None, end=end.date() if end else None)
            rows = iter_cases(store.cursor(), flt)
            if fmt == "xlsx":
                with output.open("wb") as fh:
                    n = exports.write_xlsx(rows, exports.CASE_FIELDS, "案件台账", fh)
            elif fmt == "csv":
                with output.open("w", encoding="utf-8", newline="") as fh:
                    n = exports.write_csv(rows, exports.CASE_FIELDS, fh)
            else:
                collection = exports.cases_geojson(rows)
                output.write_bytes(exports.geojson_bytes(collection))
                n = len(collection["features"])
            click.echo(f"已导出 {n} 行 → {output} / exported {n} rows (as of {date.today()})")
        finally:
            store.close()
            client.close()
