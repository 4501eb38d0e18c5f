"""The ``fengqiao`` command line: one click group; each package
adds its own commands (``grid``, ``calendar``, ``bench`` …).

Commands that need CouchDB use ``COUCHDB_URL`` when it is set, otherwise they start the
embedded pouchdb-server under ``FENGQIAO_HOME`` for their own duration, supervised (restarted
on the same URL if it dies) — or attach to the one a running ``fengqiao demo``/``serve``
already started there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from schemas import vocab
from sync.couch import CouchClient, mask_url
from sync.embedded import couchdb
from sync.errors import SyncError
from sync.topology import Topology, init_databases
from sync.users import ROLES

from .config import EMBEDDED_COUCH, ConfigError, load_settings, set_in_environment

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
    embedded = not settings["COUCHDB_URL"]
    # An embedded server this command starts is supervised (restarted if it dies) for as
    # long as the command runs: for serve and demo, that is gunicorn's arbiter process.
    with couchdb(settings["COUCHDB_URL"], settings["FENGQIAO_HOME"]) as url:
        settings["COUCHDB_URL"] = url
        settings[EMBEDDED_COUCH] = embedded  # /healthz then shows the supervisor's state
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


@db_group.command("init", help="创建县、乡镇数据库、安全设置、设计文档、复制，并发布区划与时限规则（可重复运行）"
                  " / create databases and replications, publish areas and policies (idempotent).")
@click.option("--townships", help="逗号分隔的 9 位乡镇代码；默认取已启用的边界版本 / comma-separated "
              "9-digit township codes; default: those of the active boundary version.")
def db_init(townships: str | None) -> None:
    from pathlib import Path

    from grid.areas import area_documents
    from grid.versions import GridStore
    from sync.reference import publish

    from .domain.policies import policy_documents

    with couch_settings() as settings:
        topology = topology_from(settings, townships)
        store = GridStore(Path(settings["FENGQIAO_HOME"]) / "grid")
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


# -- users ------------------------------------------------------------------------------------


@main.group("users", help="账号：添加、导入、列表 / accounts: add, import, list.")
def users_group() -> None:
    pass


def _user_context(settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    from sync.users import UserStore

    from .app import topology_for

    client = CouchClient(settings["COUCHDB_URL"])
    topology = topology_for(settings)
    return client, topology, UserStore(client, topology.prefix, topology.county_code)


@users_group.command("add", help="添加账号（密码从标准输入读取）/ add an account, password from stdin.")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="角色 / role: " + ", ".join(f"{code} {zh}" for code, (zh, _) in vocab.ROLES.items()) + ".")
@click.option("--area", "areas", required=True,
              help="区域代码，逗号分隔 / area codes, comma-separated (15-digit grids, 9-digit township, 6-digit county).")
@click.option("--password-stdin", is_flag=True, required=True,
              help="从标准输入读取密码（避免出现在命令历史中）/ read the password from stdin.")
@click.option("--display-name", default="", help="显示姓名 / display name.")
@click.option("--phone", default=None, help="手机号 / phone number.")
@click.option("--replace", is_flag=True, help="覆盖已有账号 / replace an existing account.")
def users_add(username: str, role: str, areas: str, password_stdin: bool, display_name: str,
              phone: str | None, replace: bool) -> None:
    from sync.users import provision

    password = sys.stdin.readline().rstrip("\r\n")
    with couch_settings() as settings:
        client, topology, store = _user_context(settings)
        with client:
            user = provision(client, topology, store, username, role, areas.split(","), password,
                             display_name=display_name, phone=phone, replace=replace, must_change=True)
    console.print(f"已添加 / added: {user.username} ({user.role}) {', '.join(user.area_codes)}")
    console.print("首次登录须修改此密码 / the password must be changed at first login")
    console.print(f"同步地址 / sync URL: {{server}}/sync/{user.username}")


@users_group.command("import", help="从 CSV 批量导入账号（全部校验通过才写入）/ import accounts from CSV, all or nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="覆盖已有账号 / replace existing accounts.")
def users_import(file: str, replace: bool) -> None:
    """CSV columns: username, role, area_codes (separated by ``;``), password, display_name, phone."""
    import csv

    from sync.users import UserError, check_password_strength, provision, validate_user

    with couch_settings() as settings:
        county = settings["FENGQIAO_COUNTY"]
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{file}: 文件不是 UTF-8 编码 / not UTF-8 ({exc})") from exc
        required = {"username", "role", "area_codes", "password"}
        if not rows or not required <= set(rows[0]):
            raise click.ClickException(
                f"{file}: 缺少列 / missing columns: {', '.join(sorted(required - set(rows[0] if rows else [])))}")
        problems = []
        seen: set[str] = set()
        for number, row in enumerate(rows, start=2):
            try:
                validate_user(row["username"], row["role"], row["area_codes"].split(";"), county)
                check_password_strength(row["password"], row["username"], row.get("display_name") or "")
                if row["username"] in seen:
                    raise UserError("username", "文件中重复", "appears twice in the file")
                seen.add(row["username"])
            except UserError as exc:
                problems.append(f"{file}:{number}: {exc.message_zh} / {exc.message_en}")
        if problems:
            raise click.ClickException("未导入任何账号 / nothing imported:\n" + "\n".join(problems))
        client, topology, store = _user_context(settings)
        with client:
            if not replace:
                clashes = [r["username"] for r in rows if store.get(r["username"]) is not None]
                if clashes:
                    raise click.ClickException(
                        f"账号已存在，未导入任何账号 / accounts exist, nothing imported: {', '.join(clashes)}")
            for row in rows:
                provision(client, topology, store, row["username"], row["role"],
                          row["area_codes"].split(";"), row["password"],
                          display_name=row.get("display_name") or "", phone=row.get("phone") or None,
                          replace=replace, must_change=True)
    console.print(f"已导入 {len(rows)} 个账号 / imported {len(rows)} accounts")


@users_group.command("list", help="列出账号 / list accounts.")
def users_list() -> None:
    with couch_settings() as settings:
        client, _, store = _user_context(settings)
        with client:
            users = store.all()
    table = Table("用户名 username", "角色 role", "区域 areas", "姓名 name")
    for user in users:
        table.add_row(user.username, user.role, ", ".join(user.area_codes), user.display_name)
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
            from .notify.scheduler import maybe_start

            app = create_app(settings)
            # In each worker process (after gunicorn's fork: threads do not survive one).
            app.extensions["notify_scheduler"] = maybe_start(settings)
            return app

    _Gunicorn().run()


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


@main.command("serve", help="启动服务（未设 COUCHDB_URL 时启动内置 CouchDB）/ run the server.")
@click.option("--host", help="监听地址 / listen address (FENGQIAO_HOST).")
@click.option("--port", type=int, help="端口 / port (FENGQIAO_PORT).")
@click.option("--workers", default=1, show_default=True,
              help="进程数；统计读模型（DuckDB 单写者）要求为 1 / worker processes; the statistics "
              "read model (DuckDB allows one writing process) needs 1.")
@click.option("--threads", default=16, show_default=True, help="每进程线程数 / threads per worker.")
def serve(host: str | None, port: int | None, workers: int, threads: int) -> None:
    with couch_settings(FENGQIAO_HOST=host, FENGQIAO_PORT=port) as settings:
        print_urls(settings)
        run_server(settings, workers, threads)


@main.command("demo", help="演示：内置 CouchDB、演示县、用户、样例数据、服务 / run the demo.")
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


@main.command("check-deploy", help="检查生产配置：密钥、TLS、代理、CouchDB 凭据、演示密码（有问题时退出码 1）/ "
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


def _mount_package_commands() -> None:
    """Each package contributes its own commands."""
    from . import cli_plugins

    cli_plugins.mount(main)


_mount_package_commands()
