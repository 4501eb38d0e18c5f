"""``fengqiao report``: a 月报 or 季报 as xlsx or PDF, from the read model (server stopped:
the command opens the DuckDB file itself and first catches up with the county feed)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click


@click.command("report", help="月报/季报（xlsx 或 PDF）：全部指标、目标达成、分类、渠道、乡镇、趋势、积案、重大不稳定问题 / "
               "monthly or quarterly report (xlsx or PDF).")
@click.option("--month", "month_text", help="月份 YYYY-MM，如 2026-11 / the month.")
@click.option("--quarter", "quarter_text", help="季度 YYYYQn，如 2026Q4 / the quarter.")
@click.option("--area", required=True, help="区划编码（县 6 位或乡镇 9 位）/ county (6) or township (9) code.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件（默认：月报-<区划>-<期间>.xlsx）/ output file.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "pdf"]), default=None,
              help="xlsx 或 pdf（默认按输出文件扩展名，否则 xlsx）/ default: the output's extension, else xlsx.")
def report_cli(month_text: str | None, quarter_text: str | None, area: str, output: Path | None,
               fmt: str | None) -> None:
    from server.readmodel.cli import _county_db, _settings, _store
    from server.readmodel.follower import catch_up

    from . import filename, month, parse_targets, quarter, report_data
    from .xlsx import write_report

    if bool(month_text) == bool(quarter_text):
        raise click.UsageError("请给出 --month 或 --quarter 之一 / give exactly one of --month or --quarter")
    if not area.isdigit() or len(area) not in (6, 9, 12, 15):
        raise click.BadParameter("应为 6/9/12/15 位区划编码 / a 6, 9, 12 or 15 digit area code", param_hint="--area")
    # A period that does not read is a PeriodError, bad targets a ConfigError: fengqiao prints them.
    period = month(month_text) if month_text else quarter(str(quarter_text))
    with _settings() as settings:
        targets = parse_targets(settings.get("FENGQIAO_REPORT_TARGETS"))
        client, db = _county_db(settings)
        store = _store(settings)
        try:
            if db.exists():
                catch_up(store, db)
            data = report_data(store.cursor(), store, prefix=area, period=period, scope=(area,),
                               today=date.today(), targets=targets)
            fmt = fmt or ("pdf" if output and output.suffix.lower() == ".pdf" else "xlsx")
            path = output or Path(filename(data, fmt))
            if fmt == "pdf":
                path.write_bytes(_pdf(data, settings))
            else:
                with path.open("wb") as fh:
                    write_report(data, fh)
        finally:
            store.close()
            client.close()
    missed = [t["label_zh"] for t in data["targets"] if t["met"] is False]
    click.echo(f"已生成 {path}：{data['cases']} 件，未达标 {len(missed)} 项{('（' + '、'.join(missed) + '）') if missed else ''} / "
               f"written {path}: {data['cases']} cases, {len(missed)} targets missed")
    sys.stdout.flush()


def _pdf(data: dict, settings: dict) -> bytes:  # type: ignore[type-arg]
    """The report's PDF with the county's templates (a typesetting failure: PaperError)."""
    from .pdf import report_pdf

    return report_pdf(data, override=settings.get("FENGQIAO_PAPER_TEMPLATES") or None)
