"""The ``fengqiao`` command line: one click group; each package
adds its own commands (``grid``, ``calendar``, ``bench`` …).

Commands that need CouchDB use ``COUCHDB_URL`` when it is set, otherwise they start the
embedded pouchdb-server under ``FENGQIAO_HOME`` for their own duration — or attach to
the one a running ``fengqiao demo``/``serve`` already started there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sync.couch import CouchClient, mask_url
from sync.embedded import couchdb
from sync.errors import SyncError
from sync.topology import Topology, init_databases

from .config import ConfigError, load_settings

console = Console(highlight=False)


class FengqiaoGroup(click.Group):
    """Turns our errors into one clear message and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SyncError, ConfigError) as exc:
            click.echo(f"错误：{exc.message_zh}\nError: {exc.message_en}", err=True)
            sys.exit(1)


@click.group(cls=FengqiaoGroup, help="枫桥 fengqiao：网格化矛盾纠纷调处 / grid-based dispute mediation.")
@click.version_option(package_name="fengqiao")
def main() -> None:
    pass


@contextmanager
def couch_settings(**overrides: Any) -> Iterator[dict[str, Any]]:
    """Settings with a working ``COUCHDB_URL`` (embedded server started if needed)."""
    settings = load_settings({k: v for k, v in overrides.items() if v is not None})
    with couchdb(settings["COUCHDB_URL"], settings["FENGQIAO_HOME"]) as url:
        settings["COUCHDB_URL"] = url
        yield settings


def topology_from(settings: dict[str, Any], townships: str | None) -> Topology:
    """The county's databases; township codes from ``--townships`` (comma-separated)."""
    codes = tuple(c.strip() for c in (townships or "").split(",") if c.strip())
    county = settings["FENGQIAO_COUNTY"]
    for code in codes:
        if not (code.isdigit() and len(code) == 9 and code.startswith(county)):
            raise click.BadParameter(
                f"乡镇代码 {code!r} 应为以县代码 {county} 开头的 9 位数字 / "
                f"township code {code!r} must be 9 digits starting with county code {county}",
                param_hint="--townships",
            )
    return Topology(county, codes, settings["FENGQIAO_DB_PREFIX"])


# -- db ---------------------------------------------------------------------------------------


@main.group("db", help="数据库：创建、状态 / databases: create, status.")
def db_group() -> None:
    pass


@db_group.command("init", help="创建县、乡镇数据库及安全设置、设计文档（可重复运行）/ create databases (idempotent).")
@click.option("--townships", help="逗号分隔的 9 位乡镇代码 / comma-separated 9-digit township codes.")
def db_init(townships: str | None) -> None:
    with couch_settings() as settings:
        topology = topology_from(settings, townships)
        with CouchClient(settings["COUCHDB_URL"]) as client:
            report = init_databases(client, topology)
    table = Table("数据库 database", "变更 changes")
    for name, done in report.items():
        table.add_row(name, ", ".join(done) or "无变化 unchanged")
    console.print(table)


# -- serve and demo ---------------------------------------------------------------------------


def run_server(settings: dict[str, Any], workers: int, threads: int) -> None:
    """Serve the app with gunicorn (gthread workers); returns when it is stopped."""
    from gunicorn.app.base import BaseApplication

    from .app import create_app

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings['FENGQIAO_HOST']}:{settings['FENGQIAO_PORT']}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("accesslog", None)

        def load(self):  # type: ignore[no-untyped-def]
            return create_app(settings)

    _Gunicorn().run()


def print_urls(settings: dict[str, Any]) -> None:
    base = f"http://{settings['FENGQIAO_HOST']}:{settings['FENGQIAO_PORT']}"
    console.print(f"[bold]枫桥 fengqiao[/bold] 已启动 / running at {base}")
    console.print(f"  健康检查 health:   {base}/healthz")
    console.print(f"  CouchDB:           {mask_url(settings['COUCHDB_URL'])}")
    console.print("按 Ctrl-C 停止 / press Ctrl-C to stop")


@main.command("serve", help="启动服务（未设 COUCHDB_URL 时启动内置 CouchDB）/ run the server.")
@click.option("--host", help="监听地址 / listen address (FENGQIAO_HOST).")
@click.option("--port", type=int, help="端口 / port (FENGQIAO_PORT).")
@click.option("--workers", default=2, show_default=True, help="进程数 / worker processes.")
@click.option("--threads", default=8, show_default=True, help="每进程线程数 / threads per worker.")
def serve(host: str | None, port: int | None, workers: int, threads: int) -> None:
    with couch_settings(FENGQIAO_HOST=host, FENGQIAO_PORT=port) as settings:
        print_urls(settings)
        run_server(settings, workers, threads)


@main.command("demo", help="演示：内置 CouchDB、演示县、用户、样例数据、服务 / run the demo.")
@click.option("--host", help="监听地址 / listen address.")
@click.option("--port", type=int, help="端口 / port.")
def demo(host: str | None, port: int | None) -> None:
    with couch_settings(FENGQIAO_HOST=host, FENGQIAO_PORT=port) as settings:
        from .demo import prepare_demo

        prepare_demo(settings, console)
        print_urls(settings)
        run_server(settings, workers=2, threads=8)


def _mount_package_commands() -> None:
    """Each package contributes its own commands."""
    from . import cli_plugins

    cli_plugins.mount(main)


_mount_package_commands()
