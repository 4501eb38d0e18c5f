"""Every ``fengqiao`` command, named here with its help line and imported when used.

Each is mounted as a :class:`LazyCommand`: its module is imported when the command runs or
shows its own help, never when ``fengqiao`` starts or lists its commands. Importing every
package's command module up front cost 1.4–2 s per invocation (geopandas, pandas, duckdb,
typst, marshmallow …; issue 16). The help line is declared here so that ``fengqiao --help``
can list the commands without importing them; ``tests/server/test_cli_imports.py``
checks that each declared line is the command's own help.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyCommand(click.Group):
    """A command (or group) named here and imported from ``"module:attribute"`` on first use.

    Click asks the parent group for the subcommand, then calls its ``make_context`` and
    ``invoke``; both go to the real command, so its options, subcommands, help and errors are
    its own. Only the one-line listing in the parent's help uses the declared ``help``.
    """

    def __init__(self, name: str, target: str, help: str) -> None:
        super().__init__(name, help=help)
        self._target = target
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        """The command itself, imported on the first call."""
        if self._real is None:
            module, attr = self._target.split(":")
            self._real = getattr(importlib.import_module(module), attr)
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self.real().get_help(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        real = self.real()
        return real.list_commands(ctx) if isinstance(real, click.Group) else []

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        real = self.real()
        return real.get_command(ctx, cmd_name) if isinstance(real, click.Group) else None

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        return self.real().shell_complete(ctx, incomplete)


@click.group("bench", help="基准测试（与同一运行中的基线对比）/ benchmarks against an in-run baseline.")
def bench_group() -> None:
    pass


# (name, "module:attribute", the command's help) — the help must equal the command's own.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("db", "server.db_cli:db_group", "数据库：创建、状态 / databases: create, status."),
    ("users", "server.users_cli:users_group", "账号：添加、导入、列表 / accounts: add, import, list."),
    ("serve", "server.serve_cli:serve", "启动服务（未设 COUCHDB_URL 时启动内置 CouchDB）/ run the server."),
    ("demo", "server.serve_cli:demo", "演示：内置 CouchDB、演示县、用户、样例数据、服务 / run the demo."),
    ("check-deploy", "server.serve_cli:check_deploy",
     "检查生产配置：密钥、TLS、代理、CouchDB 凭据、演示密码（有问题时退出码 1）/ check a production "
     "configuration: secret, TLS, proxy, CouchDB credentials, demo passwords."),
    ("audit", "server.audit_cli:audit_group",
     "审计日志：校验哈希链、导出 / audit log: verify the hash chain, export."),
    ("calendar", "server.domain.cli:calendar_cli",
     "工作日与时限计算 / Working days and deadlines (China calendar)."),
    ("grid", "grid.cli:grid_cli",
     "网格边界：导入、检查、版本、落点 / grid boundaries: import, check, versions, assignment."),
    ("stats", "server.readmodel.cli:stats_group",
     "统计读模型：重建、状态 / statistics read model: rebuild, status."),
    ("export", "server.readmodel.cli:export_group", "导出台账 / exports (xlsx, csv, geojson)."),
    ("notify", "server.notify.cli:notify_group", "通知发件箱 / notification outbox."),
    ("worker", "server.notify.cli:worker",
     "通知工作进程：跟随同步事件、每日临期/到期/逾期提醒、发送（可多个同时运行）/ the notification loop "
     "in the foreground (feed, daily reminders, sending); several may run."),
    ("report", "server.reports.cli:report_cli",
     "月报/季报（xlsx 或 PDF）：全部指标、目标达成、分类、渠道、乡镇、趋势、积案、重大不稳定问题 / monthly or "
     "quarterly report (xlsx or PDF)."),
    ("paper", "server.paper.cli:paper_group",
     "打印文书（PDF）：协议书、告知书、回执、交办单、督办函、纪要、卷宗 / printed documents (PDF)."),
)

BENCH_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("grid", "grid.cli:bench_grid",
     "网格落点基准：本实现对比 geopandas.sjoin / assignment vs geopandas.sjoin in one run."),
    ("sync", "server.bench.cli:bench_sync",
     "同步网关与直连 CouchDB 的吞吐对比、首次同步、推送到县库延迟 / gateway vs direct CouchDB throughput, "
     "first sync, push → county latency."),
    ("load", "server.bench.cli:bench_load",
     "模拟 N 台平板在压缩时间窗内各同步一次 / N simulated tablets, one sync session each, spread over a "
     "compressed window."),
    ("stats", "server.bench.cli:bench_stats",
     "统计读模型基准：查询 p50/p95、跟随延迟、扫描投影基线 / read-model benchmark."),
)


def mount(main: click.Group) -> None:
    """Add every command to ``main`` (each imported when used)."""
    for name, target, help_text in COMMANDS:
        main.add_command(LazyCommand(name, target, help_text))
    for name, target, help_text in BENCH_COMMANDS:
        bench_group.add_command(LazyCommand(name, target, help_text))
    main.add_command(bench_group)
