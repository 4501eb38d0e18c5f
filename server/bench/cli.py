"""``fengqiao bench sync``, ``bench load`` and ``bench stats``: options, progress, and the
table of results (or ``--json``). Mounted lazily by ``server/cli_plugins.py``: importing this module
loads click only; the benchmark itself is imported when the command runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .env import Step


def _run_with_progress(title: str, run: Callable[[Step], dict[str, Any]], as_json: bool) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, highlight=False)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=as_json) as progress:
        task = progress.add_task(title)
        return run(lambda text: progress.update(task, description=f"{title}: {text}"))


def _table(title: str, rows: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("指标 figure", "数值 value", "目标 target", title=title)
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def _settings() -> dict[str, Any]:
    from server.config import load_settings

    return load_settings()


def _gateway_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options both sync benchmarks share: the gateway's processes and threads, the
    seed, the CouchDB to run against, JSON output."""
    for option in reversed((
        click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
                     help="gunicorn 进程数 / gunicorn workers."),
        click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
                     help="每进程线程数 / threads per worker."),
        click.option("--seed", default=1, show_default=True, help="随机种子 / random seed."),
        click.option("--couchdb-url", default=None,
                     help="对该 CouchDB 测试（默认 COUCHDB_URL，未设则内置）；报告其 CPU 与请求数 / run "
                          "against this CouchDB (default COUCHDB_URL, else embedded); its CPU and "
                          "requests are reported."),
        click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON."),
    )):
        command = option(command)
    return command


@click.command("sync", help="同步网关与直连 CouchDB 的吞吐对比、首次同步、推送到县库延迟 / "
                            "gateway vs direct CouchDB throughput, first sync, push → county latency.")
@click.option("--docs", default=2000, show_default=True, type=click.IntRange(10, 50_000),
              help="范围内文档数 / documents in the tablet's scope.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 20),
              help="每项重复次数（取中位数）/ repetitions of each measurement (median).")
@click.option("--pushes", default=30, show_default=True, type=click.IntRange(1, 1000),
              help="推送→县库延迟的样本数 / samples of push → county latency.")
@_gateway_options
def bench_sync(docs: int, rounds: int, pushes: int, workers: int, threads: int, seed: int,
               couchdb_url: str | None, as_json: bool) -> None:
    from .sync_bench import sync_bench

    settings = _settings()
    out = _run_with_progress("bench sync", lambda step: sync_bench(
        couchdb_url or settings["COUCHDB_URL"], settings["FENGQIAO_COUNTY"], docs=docs, rounds=rounds,
        pushes=pushes, workers=workers, threads=threads, seed=seed, step=step), as_json)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    pull, push, first, lat, ok = out["pull"], out["push"], out["first_sync"], out["push_to_county"], out["targets"]
    _table(f"bench sync — {docs} docs ~{out['mean_doc_bytes']} B, {out['couchdb']}", [
        ("拉取 pull, gateway", f"{pull['gateway_docs_per_s']} docs/s", ""),
        ("拉取 pull, direct", f"{pull['direct_docs_per_s']} docs/s", ""),
        ("拉取比 pull ratio", f"{pull['ratio']:.2f}×", f"≥ 0.8× {_mark(ok['pull_ratio_ge_0_8'])}"),
        ("推送 push, gateway", f"{push['gateway_docs_per_s']} docs/s", ""),
        ("推送 push, direct", f"{push['direct_docs_per_s']} docs/s", ""),
        ("推送比 push ratio", f"{push['ratio']:.2f}×", f"≥ 0.8× {_mark(ok['push_ratio_ge_0_8'])}"),
        ("首次同步 first sync (warm)", f"{first['warm_ms'] / 1000:.2f} s ({first['scope_docs']} docs)", ""),
        ("首次同步 first sync (cold gateway)", f"{first['cold_ms'] / 1000:.2f} s", ""),
        ("推送→县库 push → county p50", f"{lat['p50_s']:.2f} s", ""),
        ("推送→县库 push → county p95", f"{lat['p95_s']:.2f} s (n={lat['n']})",
         f"≤ 5 s {_mark(ok['push_to_county_p95_le_5s'])}"),
    ])

@click.command("load", help="模拟 N 台平板在压缩时间窗内各同步一次 / N simulated tablets, one sync "
                            "session each, spread over a compressed window.")
@click.option("--tablets", default=1500, show_default=True, type=click.IntRange(1, 20_000),
              help="平板数 / simulated tablets.")
@click.option("--townships", default=20, show_default=True, type=click.IntRange(1, 999),
              help="乡镇数 / townships the grid workers are spread over.")
@click.option("--window", default=900.0, show_default=True, type=click.FloatRange(1, 86_400),
              help="真实时间窗（秒）/ real window in seconds (reported).")
@click.option("--compress-to", "compressed", default=60.0, show_default=True,
              type=click.FloatRange(1, 3600), help="压缩后的时间窗（秒）/ compressed window in seconds.")
@click.option("--seed-docs", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="每网格已有文档数 / documents each grid holds already.")
@_gateway_options
def bench_load(tablets: int, townships: int, window: float, compressed: float, seed_docs: int,
               workers: int, threads: int, seed: int, couchdb_url: str | None, as_json: bool) -> None:
    from .load import load_bench

    settings = _settings()
    out = _run_with_progress("bench load", lambda step: load_bench(
        couchdb_url or settings["COUCHDB_URL"], settings["FENGQIAO_COUNTY"], tablets=tablets,
        townships=townships, window=window, compressed=compressed, seed_docs=seed_docs,
        workers=workers, threads=threads, seed=seed, step=step), as_json)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    s, ok = out["session_s"], out["targets"]
    _table(f"bench load — {tablets} tablets, {window:.0f} s window compressed to {compressed:.0f} s", [
        ("会话/秒 sessions/s", f"{out['sessions_per_s']}", ""),
        ("会话时长 session p50", f"{s['p50']:.2f} s", ""),
        ("会话时长 session p95", f"{s['p95']:.2f} s", f"< 2 s {_mark(ok['p95_lt_2s'])}"),
        ("会话时长 session p99", f"{s['p99']:.2f} s", ""),
        ("错误 errors", f"{out['errors']}", f"0 {_mark(ok['zero_errors'])}"),
        ("CPU 核 cores (gateway / couchdb / load gen)",
         " / ".join(str(out["cpu_cores_avg"].get(k, 0)) for k in ("gateway", "couchdb", "load generator")), ""),
        ("内存峰值 peak RSS MB (gateway / couchdb)",
         f"{out['peak_rss_mb'].get('gateway', 0)} / {out['peak_rss_mb'].get('couchdb', 0)}", ""),
        ("整机 CPU 忙 system CPU busy", f"{out['system_cpu_busy']:.0%}", ""),
        ("每会话网关→CouchDB 请求 gateway → CouchDB requests/session",
         f"{out['gateway_couchdb_requests_per_session']}", ""),
        ("每会话 CouchDB 处理请求（含复制）CouchDB requests/session (replication included)",
         f"{out.get('couchdb_requests_per_session', '—')}", ""),
        ("CouchDB", f"{out['couchdb']['url']}, {out['couchdb']['nodes']} node(s), "
                    f"{out['couchdb']['local_processes']} local process(es)", ""),
    ])
    for example in out["error_examples"]:
        click.echo(f"error: {example}", err=True)


@click.command("stats", help="统计读模型基准：查询 p50/p95、跟随延迟、扫描投影基线 / read-model benchmark.")
@click.option("--cases", default=1_000_000, show_default=True, help="读模型中的案件行数 / case rows in the read model.")
@click.option("--couch-cases", default=5000, show_default=True,
              help="经 CouchDB 写入并走 _changes 的案件数 / cases written through CouchDB and its feed.")
@click.option("--repeats", default=30, show_default=True, help="每个查询重复次数 / runs per query.")
@click.option("--lag-seconds", default=10.0, show_default=True, help="延迟测量时长 / lag measurement duration.")
@click.option("--rate", default=20.0, show_default=True, help="延迟测量写入速率（案件/秒）/ cases per second.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON.")
def bench_stats(cases: int, couch_cases: int, repeats: int, lag_seconds: float, rate: float,
                as_json: bool) -> None:
    from rich.console import Console

    from server.cli import couch_settings

    from . import stats

    with couch_settings() as settings:
        result = stats.run(settings["COUCHDB_URL"], county=settings["FENGQIAO_COUNTY"], cases=cases,
                           couch_cases=couch_cases, repeats=repeats, lag_seconds=lag_seconds,
                           rate=rate, workdir=Path(settings["FENGQIAO_HOME"]),
                           console=Console(highlight=False, stderr=True))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        Console(highlight=False).print(stats.table(result))
