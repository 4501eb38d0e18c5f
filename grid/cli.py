"""Command line for grids: ``grid_cli`` (mounted as ``fengqiao grid``) and ``bench_grid``
(mounted as ``fengqiao bench grid``).

Every command that changes stored data is a dry run unless given ``--commit``. Errors are
``GridError``s (``grid/errors.py``) naming file, feature/row and field in Chinese and
English; the ``fengqiao`` command (``server/cli.py``, the one CLI translator: ``grid``
imports nothing of ``server``) prints them with exit code 1 — never a traceback. The store is ``--home`` (default ``$FENGQIAO_HOME/grid``, i.e.
``./var/grid``).

Imports are made where they are needed: ``grid assign <version>`` runs with numpy, shapely
and the version's cached arrays only, without pandas, geopandas or a GeoPackage reader
(half of its time went to start-up before, issue 18).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .coords import POINT_CRS
from .errors import GridError
from .versions import GridStore, default_home

if TYPE_CHECKING:
    from .assign import GridIndex
    from .boundaries import Boundaries
    from .check import CheckReport



class _Console:
    """A rich ``Console`` made on first use: rich costs ~15 ms to import, and ``grid assign``
    prints one plain line (issue 16: commands load only what they use)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, **self._options)
        return getattr(self._console, name)


console: Any = _Console()
err_console: Any = _Console(stderr=True)


def _home_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--home", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="边界版本目录 / grid store directory [default: $FENGQIAO_HOME/grid, ./var/grid]",
    )(f)


def _store(home: Path | None) -> GridStore:
    return GridStore(home if home is not None else default_home())


def _read_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--code-column", default="code", show_default=True,
                     help="编码所在列 / column holding the area code"),
        click.option("--name-column", default="name", show_default=True,
                     help="名称所在列 / column holding the Chinese name"),
        click.option("--layer", default=None, help="只读此图层 / read only this layer (GeoPackage)"),
        click.option("--crs", "file_crs", default=None,
                     help="边界坐标系，覆盖文件声明（不同时警告）：EPSG:4490、EPSG:4549、gcj02（高德/腾讯）、"
                          "bd09（百度）/ CRS of the boundary coordinates; overrides the file's "
                          "declaration (with a warning): EPSG:4490, EPSG:4549, gcj02, bd09"),
        click.option("--level", type=click.Choice(["county", "township", "village", "grid"]),
                     default=None, help="要求所有编码属于此层级 / require every code at this level"),
        click.option("--missing-code", type=click.Choice(["error", "skip"]), default="error",
                     show_default=True,
                     help="编码为空时报错或跳过并报告 / empty code: fail, or skip and report"),
        click.option("--encoding", default=None,
                     help="Shapefile 文本编码，如 gbk（默认取 .cpg，其次 .dbf 头）/ text encoding of a "
                          "Shapefile .dbf, e.g. gbk [default: from .cpg, else the .dbf header]"),
        click.option("--multipart", type=click.Choice(["dissolve", "error"]), default="dissolve",
                     show_default=True,
                     help="编码与名称都相同的多行：合并为一个区域并警告，或报错 / rows with the same code "
                          "and name: dissolve into one area with a warning, or refuse"),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _read(path: Path, o: dict[str, Any]) -> Boundaries:
    from .boundaries import read_boundaries

    return read_boundaries(
        path, code_column=o["code_column"], name_column=o["name_column"], layer=o["layer"],
        crs=o["file_crs"], level=o["level"], missing_code=o["missing_code"], encoding=o["encoding"],
        multipart=o["multipart"],
    )


def _check(b: Boundaries, sliver_m2: float = 10.0, ignore_m2: float = 0.01,
           outline: Path | None = None) -> CheckReport:
    from .boundaries import read_outline
    from .check import check_boundaries

    return check_boundaries(b, sliver_m2=sliver_m2, ignore_m2=ignore_m2,
                            outline=read_outline(outline) if outline else None)


def _check_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--outline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="县界文件，报告未覆盖和越界部分 / county outline to compare with")(f)
    f = click.option("--ignore-m2", type=click.FloatRange(min=0), default=0.01, show_default=True,
                     help="小于此面积不报告（浮点噪声）/ pieces below this are noise, not reported")(f)
    f = click.option("--sliver-m2", type=click.FloatRange(min=0), default=10.0, show_default=True,
                     help="小于此面积的重叠/空隙为警告 / overlaps and gaps below this are warnings")(f)
    return f


# --------------------------------------------------------------------------- output

def _print_report(report: CheckReport, limit: int) -> None:
    from rich.table import Table

    s = report.summary()
    table = Table(title=f"检查结果 / check: {report.source}")
    for col in ("级别 severity", "类型 kind", "层级 level", "编码 codes", "面积 m²", "说明 message"):
        table.add_column(col)
    for issue in sorted(report.issues, key=lambda i: (i.severity != "error", -(i.area_m2 or 0)))[:limit]:
        table.add_row(
            "[red]error[/red]" if issue.severity == "error" else "[yellow]warning[/yellow]",
            issue.kind, issue.level or "", ",".join(issue.codes),
            "" if issue.area_m2 is None else f"{issue.area_m2:,.1f}",
            f"{issue.message_zh}\n{issue.message_en}",
        )
    if report.issues:
        console.print(table)
        if len(report.issues) > limit:
            console.print(f"…另有 {len(report.issues) - limit} 条 / {len(report.issues) - limit} more "
                          "(use --json or --limit)")
    summary = Table(title="汇总 / summary")
    for col in ("类型 kind", "errors", "warnings", "总面积 total m²", "最大 largest m²"):
        summary.add_column(col)
    for kind, v in sorted(s["by_kind"].items()):
        summary.add_row(kind, str(v["errors"]), str(v["warnings"]), f"{v['area_m2']:,.1f}",
                        f"{v['largest_m2']:,.1f}")
    console.print(summary)
    counts = ", ".join(f"{k} {v}" for k, v in s["areas"].items())
    verdict = "[green]通过 / passed[/green]" if report.ok else "[red]未通过 / failed[/red]"
    console.print(f"{verdict}: {s['errors']} errors, {s['warnings']} warnings; areas: {counts}")


# --------------------------------------------------------------------------- group

@click.group("grid",
             help="网格边界：导入、检查、版本、落点 / grid boundaries: import, check, versions, assignment.")
def grid_cli() -> None:
    pass


@grid_cli.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_read_options
@_check_options
@click.option("--fix", "fix_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="把修复后的几何写入此 GeoPackage / write repaired geometry (make_valid) here")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="表格最多显示条数 / rows shown in the table")
def check_cmd(file: Path, sliver_m2: float, ignore_m2: float, outline: Path | None,
              fix_out: Path | None, as_json: bool, limit: int, **read_opts: Any) -> None:
    """检查边界文件质量 / check a boundary file: invalid geometry, overlaps, gaps, duplicates.

    Exits 1 when errors are found (warnings alone exit 0).
    """
    b = _read(file, read_opts)
    report = _check(b, sliver_m2, ignore_m2, outline)
    if fix_out is not None and report.repaired is not None:
        report.repaired.write_gpkg(fix_out)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "fixed": str(fix_out) if fix_out else None},
                              ensure_ascii=False, indent=2))
    else:
        _print_report(report, limit)
        if fix_out is not None:
            console.print(f"修复结果已写入 / repaired geometry written to {fix_out}")
    sys.exit(0 if report.ok else 1)


@grid_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_read_options
@_check_options
@_home_option
@click.option("--commit", is_flag=True, help="真正保存为新版本（否则只预演）/ store it (default: dry run)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
def import_cmd(file: Path, sliver_m2: float, ignore_m2: float, outline: Path | None,
               home: Path | None, commit: bool, as_json: bool, **read_opts: Any) -> None:
    """导入边界为新的未启用版本 / import boundaries as a new inactive version (dry run unless --commit)."""
    b = _read(file, read_opts)
    report = _check(b, sliver_m2, ignore_m2, outline)
    store = _store(home)
    result: dict[str, Any] = {"file": str(file), "counts": b.counts(), "check": report.summary(),
                              "skipped": [s.to_dict() for s in b.skipped],
                              "notes": [n.to_dict() for n in b.notes],
                              "crs": None if b.crs is None else b.crs.to_dict(), "committed": commit}
    if commit:
        options = {k: v for k, v in read_opts.items() if v is not None}
        v = store.add(b, report, source=str(file), options=options)
        result["version"] = v.number
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _print_report(report, 20)
    for s in b.skipped:
        console.print(f"[yellow]跳过 skipped[/yellow] {s.reason_zh} / {s.reason_en} (feature {s.feature}, {s.name})")
    if b.crs is not None:
        console.print(f"坐标系 / CRS: {b.crs.used}"
                      + (" → WGS-84" if b.crs.used in ("gcj02", "bd09") else "")
                      + (f"（文件声明 / declared {b.crs.declared}）" if b.crs.declared else "（文件未声明 / none declared）"))
    if commit:
        console.print(f"已保存为版本 {result['version']}（未启用）/ stored as version {result['version']} "
                      f"(inactive). 启用 / activate: fengqiao grid activate {result['version']} --commit")
    else:
        console.print(f"预演，未保存 / dry run, nothing stored (next version would be "
                      f"{store.next_number()}); add --commit")


@grid_cli.command("versions")
@_home_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
def versions_cmd(home: Path | None, as_json: bool) -> None:
    """列出边界版本 / list boundary versions."""
    from rich.table import Table

    store = _store(home)
    metas = [v.meta for v in store.versions()]
    if as_json:
        click.echo(json.dumps(metas, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"边界版本 / boundary versions in {store.home}")
    for col in ("version", "status", "created", "source", "areas", "check"):
        table.add_column(col)
    for m in metas:
        check = m["check"]
        table.add_row(str(m["version"]), m["status"], m["created"], str(m["source"]),
                      ", ".join(f"{k} {n}" for k, n in m["counts"].items()),
                      f"{'ok' if check['ok'] else 'FAILED'} ({check['errors']} E, {check['warnings']} W)")
    console.print(table)


@grid_cli.command("activate")
@click.argument("version")
@_home_option
@click.option("--commit", is_flag=True, help="真正启用（否则只预演）/ really activate (default: dry run)")
@click.option("--force", is_flag=True, help="检查有错误也启用 / activate even if its check failed")
def activate_cmd(version: str, home: Path | None, commit: bool, force: bool) -> None:
    """启用一个边界版本 / make a boundary version the active one (dry run unless --commit)."""
    store = _store(home)
    v = store.resolve(version)
    meta = v.meta
    if not meta["check"]["ok"] and not force:
        store.activate(v.number)  # raises the explanatory VersionError
    if not commit:
        console.print(f"预演 / dry run: version {v.number} ({meta['status']}) would become active "
                      f"(now: {store.active_number()}); add --commit")
        return
    store.activate(v.number, force=force)
    console.print(f"版本 {v.number} 已启用 / version {v.number} is now active")


def _index_for(grids: str, home: Path | None, read_opts: dict[str, Any], near_m: float, *,
               no_check: bool, force: bool, points: int | None = None) -> GridIndex:
    """The index for ``grid assign``: a boundary file, read and checked like an import (its
    errors stop the run unless ``--no-check``), or a stored version (refused when its check
    failed, unless ``--force``)."""
    path = Path(grids)
    if path.exists():
        from concurrent.futures import ThreadPoolExecutor

        from .assign import GridIndex

        b = _read(path, read_opts)
        if no_check:
            err_console.print("[yellow]未检查边界（--no-check）/ boundaries not checked (--no-check)[/yellow]")
            return GridIndex(b, near_m=near_m, points=points)
        # the check runs beside the index build (both mostly in GEOS and numpy, which let go
        # of the GIL): the second core does the check; its errors still stop the run
        areas = GridIndex.areas_of(b)
        with ThreadPoolExecutor(max_workers=1) as pool:
            checking = pool.submit(_check, b)
            try:
                index = GridIndex.from_areas(*areas, near_m=near_m, points=points)
            except Exception:
                if checking.result().ok:
                    raise
                index = None  # broken boundaries: the check's errors say why, below
            report = checking.result()
        if not report.ok:
            first = report.errors[:5]
            lines_zh = "；".join(i.message_zh for i in first)
            lines_en = "; ".join(i.message_en for i in first)
            more = len(report.errors) - len(first)
            raise GridError(
                f"边界检查发现 {len(report.errors)} 个错误，未落点：{lines_zh}"
                + (f"；另有 {more} 个" if more else "") + "。修复后重试，或用 --no-check 跳过检查",
                f"the boundary check found {len(report.errors)} errors, nothing assigned: {lines_en}"
                + (f"; {more} more" if more else "") + ". Fix them, or pass --no-check to skip the check",
                file=str(path))
        for issue in report.warnings:
            if issue.kind in ("crs_override", "dissolved"):
                err_console.print(f"[yellow]警告 / warning[/yellow] {issue.message_zh} / {issue.message_en}")
        assert index is not None
        return index
    return _store(home).resolve(grids).index(near_m=near_m, force=force)


@grid_cli.command("assign")
@click.argument("grids")
@click.argument("points", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出 CSV，或以 .parquet 结尾输出 Parquet / output CSV (input columns + "
                   "assignment), or Parquet when it ends in .parquet")
@click.option("--lon-column", default="lon", show_default=True, help="经度列 / longitude column")
@click.option("--lat-column", default="lat", show_default=True, help="纬度列 / latitude column")
@click.option("--points-crs", type=click.Choice(list(POINT_CRS)), default="wgs84", show_default=True,
              help="点的坐标系（gcj02 高德/腾讯，bd09 百度）/ coordinate system of the points")
@click.option("--near-m", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="距其他网格小于此距离标记 near_border / near-border distance in metres")
@click.option("--no-check", is_flag=True,
              help="边界文件不做检查（会打印提示）/ skip the check of a boundary file (says so)")
@click.option("--force", is_flag=True,
              help="使用检查未通过的版本 / use a stored version whose check failed")
@_read_options
@_home_option
def assign_cmd(grids: str, points: Path, output: Path, lon_column: str, lat_column: str,
               points_crs: str, near_m: float, no_check: bool, force: bool, home: Path | None,
               **read_opts: Any) -> None:
    """把点落到网格 / assign points (CSV with lon,lat) to grids.

    GRIDS is a boundary file (read and checked as by import; errors stop it unless
    --no-check), or a stored version number / 'active' (a version whose check failed needs
    --force).
    """
    from .pointsfile import read_points, write_assigned

    pts = read_points(points, lon_column, lat_column)
    index = _index_for(grids, home, read_opts, near_m, no_check=no_check, force=force, points=len(pts))
    located = index.locate_arrays(pts.lon, pts.lat, crs=points_crs)
    write_assigned(pts, index, located, output)
    assigned = int((located.state == 0).sum())
    click.echo(f"已写入 / wrote {output}: {len(pts):,} points, assigned {assigned:,}, "
               f"unassigned {len(pts) - assigned:,}, near_border {int(located.near_border.sum()):,}")


@grid_cli.command("diff")
@click.argument("v1")
@click.argument("v2")
@_home_option
@click.option("--cases", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="案件位置 CSV（lon,lat[,id]）/ CSV of stored case locations")
@click.option("--tolerance-m2", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="几何变化小于此面积忽略 / ignore geometry changes below this")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
def diff_cmd(v1: str, v2: str, home: Path | None, cases: Path | None, tolerance_m2: float,
             as_json: bool) -> None:
    """比较两个边界版本 / list areas that differ between two versions (and cases that would move)."""
    from rich.table import Table

    from .diff import case_moves, diff_boundaries
    from .pointsfile import read_points

    store = _store(home)
    a, b = store.resolve(v1), store.resolve(v2)
    changes = diff_boundaries(a.boundaries, b.boundaries, tolerance_m2=tolerance_m2)
    moves = None
    if cases is not None:
        pts = read_points(cases, "lon", "lat")
        moves = case_moves(a.index(force=True), b.index(force=True), pts.lon, pts.lat)
    if as_json:
        click.echo(json.dumps({
            "from": a.number, "to": b.number, "changes": [c.to_dict() for c in changes],
            "case_moves": None if moves is None else moves.to_dict(orient="records"),
        }, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"版本 {a.number} → {b.number} 的变化 / changes")
    for col in ("level", "code", "change", "name", "old m²", "new m²", "Δ m²"):
        table.add_column(col)
    for c in changes:
        table.add_row(c.level, c.code, c.change, c.name_new or c.name_old or "",
                      "" if c.area_old_m2 is None else f"{c.area_old_m2:,.0f}",
                      "" if c.area_new_m2 is None else f"{c.area_new_m2:,.0f}",
                      f"{c.area_delta_m2:+,.0f}")
    console.print(table if changes else "没有变化 / no changes")
    if moves is not None:
        mt = Table(title="案件归属变化 / cases that would move")
        for col in ("from", "to", "cases"):
            mt.add_column(col)
        for row in moves.itertuples():
            mt.add_row(str(row.from_code or "unassigned"), str(row.to_code or "unassigned"), str(row.cases))
        console.print(mt if len(moves) else "没有案件变化归属 / no case would move")


@grid_cli.command("demo-county")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子 / random seed")
@click.option("--townships", type=click.IntRange(min=1), default=20, show_default=True,
              help="乡镇数 / number of townships")
@click.option("--villages", type=click.IntRange(min=1), default=300, show_default=True,
              help="村社区数 / number of villages")
@click.option("--grids", type=click.IntRange(min=1), default=3000, show_default=True,
              help="网格数（约）/ number of grids (approximate)")
@click.option("--county-code", default="339901", show_default=True,
              help="县级代码（默认虚构）/ county code (default is fictitious)")
def demo_county_cmd(out: Path, seed: int, townships: int, villages: int, grids: int,
                    county_code: str) -> None:
    """生成虚构的示范县 GeoPackage / generate the fictitious demo county (one layer per level)."""
    from .demo import make_demo_county

    if not townships <= villages <= grids:
        raise click.BadParameter("需要 townships ≤ villages ≤ grids / need townships <= villages <= grids")
    b = make_demo_county(seed, townships=townships, villages=villages, grids=grids,
                         county_code=county_code)
    b.write_gpkg(out)
    console.print(f"已写入 / wrote {out}: " + ", ".join(f"{k} {v}" for k, v in b.counts().items()))


@click.command("grid")
@click.option("--points", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="随机点数 / number of random points")
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子 / random seed")
@click.option("--townships", type=click.IntRange(min=1), default=20, show_default=True,
              help="示范县乡镇数 / demo county townships")
@click.option("--villages", type=click.IntRange(min=1), default=300, show_default=True,
              help="示范县村数 / demo county villages")
@click.option("--grids", type=click.IntRange(min=1), default=3000, show_default=True,
              help="示范县网格数 / demo county grids")
@click.option("--single", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="单点延迟测量次数 / single-point lookups timed")
@click.option("--end-to-end", "end_to_end", is_flag=True,
              help="比较 grid assign 命令与 geopandas 脚本（读、sjoin、写 CSV）的总耗时 / time the "
                   "grid assign command against a geopandas read + sjoin + to_csv script")
@click.option("--real", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="端到端时另测此真实边界（GeoJSON，code 列）/ with --end-to-end, also a real "
                   "boundary file (code column)")
@click.option("--real-code-column", default="code", show_default=True,
              help="真实边界的编码列（无编码的要素跳过）/ code column of --real (uncoded features skipped)")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="端到端每边运行次数（取中位数）/ end-to-end runs per side (median)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
def bench_grid(points: int, seed: int, townships: int, villages: int, grids: int, single: int,
               end_to_end: bool, real: Path | None, real_code_column: str, repeats: int,
               as_json: bool) -> None:
    """网格落点基准：本实现对比 geopandas.sjoin / assignment vs geopandas.sjoin in one run."""
    from .bench import print_end_to_end, print_result, run_benchmark, run_end_to_end

    if end_to_end:
        e2e = run_end_to_end(points=points, seed=seed, real=real, real_code_column=real_code_column,
                             repeats=repeats, progress=not as_json)
        if as_json:
            click.echo(json.dumps(e2e, ensure_ascii=False, indent=2))
        else:
            print_end_to_end(e2e, console)
        return

    result = run_benchmark(points=points, seed=seed, townships=townships, villages=villages,
                           grids=grids, single=single, progress=not as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_result(result, console)
    if not result["agreement"]["agrees"]:
        sys.exit(1)
