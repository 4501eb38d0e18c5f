"""Commands contributed by the other packages, mounted under ``fengqiao``."""

from __future__ import annotations

import click


@click.group("bench", help="基准测试（与同一运行中的基线对比）/ benchmarks against an in-run baseline.")
def bench_group() -> None:
    pass


def mount(main: click.Group) -> None:
    from grid.cli import bench_grid, grid_cli

    from .domain.cli import calendar_cli

    main.add_command(bench_group)
    from .audit_cli import audit_group

    main.add_command(audit_group)
    from sync import bench as sync_bench

    sync_bench.mount(bench_group)  # bench sync, bench load
    main.add_command(calendar_cli, "calendar")
    main.add_command(grid_cli, "grid")
    bench_group.add_command(bench_grid, "grid")
    from .readmodel.cli import bench_stats, export_group, stats_group

    main.add_command(stats_group)
    from .notify.cli import notify_group, worker

    main.add_command(notify_group)
    main.add_command(worker)
    from .reports.cli import report_cli

    main.add_command(report_cli)
    main.add_command(export_group)
    bench_group.add_command(bench_stats)
    from .paper.cli import paper_group

    main.add_command(paper_group)
