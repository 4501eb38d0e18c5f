"""``fengqiao serve``, ``fengqiao demo`` and ``fengqiao check-deploy``: running the server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from sync.couch import mask_url

from .cli import console, couch_settings
from .config import load_settings, set_in_environment


def run_server(settings: dict[str, Any], workers: int, threads: int) -> None:
    """Serve the app with gunicorn (gthread workers); returns when it is stopped.

    With more than one worker the statistics read model gets its own owning process
    (``fengqiao stats serve``), which the workers read over a Unix socket: DuckDB lets
    one process open the file (``server/readmodel/remote.py``)."""
    if workers > 1 and not settings.get("FENGQIAO_STATS_SOCKET"):
        with read_model_process(settings) as socket_path:
            run_server({**settings, "FENGQIAO_STATS_SOCKET": str(socket_path)}, workers, threads)
        return
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
            self.cfg.set("worker_exit", _report_couch_requests)

        def load(self):  # type: ignore[no-untyped-def]
            from .notify.scheduler import maybe_start

            app = create_app(settings)
            # In each worker process (after gunicorn's fork: threads do not survive one).
            app.extensions["notify_scheduler"] = maybe_start(settings)
            return app

    _Gunicorn().run()


@contextmanager
def read_model_process(settings: dict[str, Any], timeout: float = 120.0) -> Iterator[Path]:
    """A ``fengqiao stats serve`` child owning the read model, for as long as the block runs."""
    from .config import SETTINGS
    from .readmodel.cli import default_socket
    from .readmodel.remote import wait_until_serving

    path = default_socket(settings)
    env = dict(os.environ)
    for setting in SETTINGS:
        if setting.from_env and settings.get(setting.name) is not None:
            env[setting.name] = str(settings[setting.name])
    # The owner follows the county feed from the start, unless told not to follow at all.
    env["FENGQIAO_STATS_FOLLOW"] = "off" if settings.get("FENGQIAO_STATS_FOLLOW") == "off" else "eager"
    child = subprocess.Popen([sys.executable, "-m", "server", "stats", "serve", "--socket", str(path)],
                             env=env)
    try:
        if not wait_until_serving(path, timeout, lambda: child.poll() is None):
            raise click.ClickException(
                f"统计读模型进程未能启动（退出码 {child.poll()}）/ the read-model process did not start "
                f"(exit code {child.poll()})")
        yield path
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def _report_couch_requests(server: Any, worker: Any) -> None:
    """Log, as a worker ends, how many CouchDB requests it made by endpoint: ``bench load``
    reads these lines to report requests per sync session on any server (issue 16)."""
    import json

    app = getattr(worker, "wsgi", None)
    couch = getattr(app, "extensions", {}).get("couch") if app is not None else None
    if couch is not None:
        worker.log.info("couchdb_requests %s", json.dumps(couch.request_counts(), sort_keys=True))


def print_urls(settings: dict[str, Any], accounts: list[tuple[str, str, list[str], str]] | None = None,
               password: str | None = None) -> None:
    base = f"http://{settings['FENGQIAO_HOST']}:{settings['FENGQIAO_PORT']}"
    console.print(f"[bold]枫桥 fengqiao[/bold] 已启动 / running at {base}")
    console.print(f"  平板（网格员）tablet:      {base}/tablet/")
    console.print(f"  工作台 dashboard:          {base}/dashboard/")
    console.print(f"  接口文档 API docs:         {base}/api/docs")
    console.print(f"  同步地址 sync URL:         {base}/sync/<用户名 username>")
    console.print(f"  健康检查 health:           {base}/healthz")
    console.print(f"  CouchDB:                   {mask_url(settings['COUCHDB_URL'])}")
    if accounts:
        if password:  # on a line of its own: a narrow terminal must not cut it
            console.print(f"  演示账号密码（所有账号相同）/ password of every demo account: [bold]{password}[/bold]",
                          soft_wrap=True)
        table = Table("用户名 username", "角色 role", "区域 area", "姓名 name")
        for username, role, codes, name in accounts:
            table.add_row(username, role, ", ".join(codes), name)
        console.print(table)
    console.print("按 Ctrl-C 停止 / press Ctrl-C to stop")


@click.command("serve", help="启动服务（未设 COUCHDB_URL 时启动内置 CouchDB）/ run the server.")
@click.option("--host", help="监听地址 / listen address (FENGQIAO_HOST).")
@click.option("--port", type=int, help="端口 / port (FENGQIAO_PORT).")
@click.option("--workers", default=1, show_default=True,
              help="进程数；大于 1 时统计读模型另起一个属主进程 / worker processes; above 1 the "
              "statistics read model runs in one owning process of its own (fengqiao stats serve).")
@click.option("--threads", default=16, show_default=True, help="每进程线程数 / threads per worker.")
def serve(host: str | None, port: int | None, workers: int, threads: int) -> None:
    with couch_settings(FENGQIAO_HOST=host, FENGQIAO_PORT=port) as settings:
        print_urls(settings)
        run_server(settings, workers, threads)


@click.command("demo", help="演示：内置 CouchDB、演示县、用户、样例数据、服务 / run the demo.")
@click.option("--host", help="监听地址 / listen address.")
@click.option("--port", type=int, help="端口 / port.")
@click.option("--townships", default=20, show_default=True, help="演示县乡镇数 / townships in the demo county.")
@click.option("--villages", default=300, show_default=True, help="村（社区）数 / villages.")
@click.option("--grids", default=3000, show_default=True, help="网格数（约）/ grids (approximate).")
@click.option("--cases", default=1500, show_default=True, help="样例纠纷数 / sample cases.")
def demo(host: str | None, port: int | None, townships: int, villages: int, grids: int,
         cases: int) -> None:
    with couch_settings(FENGQIAO_HOST=host, FENGQIAO_PORT=port) as settings:
        from .demo import DEMO_PASSWORD, prepare_demo

        sizes = {"townships": townships, "villages": villages, "grids": grids}
        loaded = prepare_demo(settings, console, sizes=sizes, cases=cases)
        if not set_in_environment("FENGQIAO_STATS_FOLLOW"):
            # The demo's first dashboard visit should already show the sample data.
            settings["FENGQIAO_STATS_FOLLOW"] = "eager"
        print_urls(settings, loaded["accounts"], DEMO_PASSWORD)
        run_server(settings, workers=1, threads=16)


@click.command("check-deploy", help="检查生产配置：密钥、TLS、代理、CouchDB 凭据、演示密码（有问题时退出码 1）/ "
              "check a production configuration: secret, TLS, proxy, CouchDB credentials, demo passwords.")
def check_deploy() -> None:
    from .deploy import deploy_checks

    checks = deploy_checks(load_settings(strict=False))
    for check in checks:
        mark = "[green]✓ 通过 pass[/]" if check.ok else "[bold red]✗ 不通过 FAIL[/]"
        console.print(f"{mark}  {check.message_zh}\n            {check.message_en}", soft_wrap=True)
    failed = [c for c in checks if not c.ok]
    if failed:
        click.echo(f"错误：{len(failed)} 项不符合生产要求，拒绝部署\nError: {len(failed)} checks failed; "
                   "this configuration is not fit for production", err=True)
        sys.exit(1)
    console.print(f"全部 {len(checks)} 项通过 / all {len(checks)} checks pass")


