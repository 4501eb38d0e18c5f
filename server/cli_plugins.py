"""Commands contributed by the other packages, mounted under ``fengqiao``.

Each is mounted as a :class:`LazyCommand`: its module is imported when the command runs
(or its help is shown), not when ``fengqiao`` starts. Importing every package's CLI up
front cost about a second per invocation — most of ``fengqiao grid assign``'s time on a
small file (issue 18).
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyCommand(click.Group):
    """A command (or group) named here and imported from ``"module:attribute"`` on first use.

    Click asks a parent group for the subcommand, then calls its ``make_context`` and runs
    ``ctx.command.invoke``; both are handed to the real command, so options, subcommands,
    help and errors are the real command's own.
    """

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name)
        self._target = target
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        if self._real is None:
            module, attr = self._target.split(":")
            self._real = getattr(importlib.import_module(module), attr)
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.real().get_short_help_str(limit)

    def get_help(self, ctx: click.Context) -> str:
        return self.real().get_help(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        real = self.real()
        return real.list_commands(ctx) if isinstance(real, click.Group) else []

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        real = self.real()
        return real.get_command(ctx, cmd_name) if isinstance(real, click.Group) else None


@click.group("bench", help="基准测试（与同一运行中的基线对比）/ benchmarks against an in-run baseline.")
def bench_group() -> None:
    pass


class _SyncBench(LazyCommand):
    """``bench sync`` and ``bench load`` come from one factory in sync.bench."""

    def real(self) -> click.Command:
        if self._real is None:
            from sync import bench as sync_bench

            commands = {c.name: c for c in sync_bench._click_commands()}
            self._real = commands[self.name]  # type: ignore[index]
        return self._real


def mount(main: click.Group) -> None:
    """Add every package's commands to ``main`` (imported when used)."""
    main.add_command(bench_group)
    main.add_command(LazyCommand("audit", "server.audit_cli:audit_group"))
    bench_group.add_command(_SyncBench("sync", "sync.bench:mount"))
    bench_group.add_command(_SyncBench("load", "sync.bench:mount"))
    main.add_command(LazyCommand("calendar", "server.domain.cli:calendar_cli"))
    main.add_command(LazyCommand("grid", "grid.cli:grid_cli"))
    bench_group.add_command(LazyCommand("grid", "grid.cli:bench_grid"))
    main.add_command(LazyCommand("stats", "server.readmodel.cli:stats_group"))
    main.add_command(LazyCommand("notify", "server.notify.cli:notify_group"))
    main.add_command(LazyCommand("worker", "server.notify.cli:worker"))
    main.add_command(LazyCommand("report", "server.reports.cli:report_cli"))
    main.add_command(LazyCommand("export", "server.readmodel.cli:export_group"))
    bench_group.add_command(LazyCommand("stats", "server.readmodel.cli:bench_stats"))
    main.add_command(LazyCommand("paper", "server.paper.cli:paper_group"))
