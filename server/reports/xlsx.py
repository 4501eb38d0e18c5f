"""A report (``data.report_data``) as an xlsx workbook (openpyxl).

Sheets: 概览 (every metric with numerator and denominator, then the targets and whether
each is met), 按区划 (the child areas: townships in a county report), 按类别, 按渠道, 趋势
(twelve months, with a line chart), 积案, 重大不稳定问题. The 概览 rows carry the metric's
code in the last column, so a program (and the tests) can read figures back by key.

Text from people (titles, names) is written as text cells, never as formulas (as the
台账 exports do): ``=1+1`` in a title stays ``=1+1``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from schemas import vocab
from server.domain.metrics import METRICS

BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
MISSED_FILL = PatternFill("solid", fgColor="F8CBAD")
FORMATS = {"rate": "0.0%", "mean": "0.0", "count": "0"}


def _append(ws: Worksheet, values: Sequence[Any], *, head: bool = False,
            formats: Sequence[str | None] | None = None) -> int:
    ws.append([None] * len(values))
    row = ws.max_row
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, date):
            value = value.isoformat()
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula
        if head:
            cell.font, cell.fill = BOLD, HEAD_FILL
        if formats and col - 1 < len(formats) and formats[col - 1] and isinstance(value, int | float):
            cell.number_format = formats[col - 1]  # type: ignore[assignment]
    return row


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w


def _summary(ws: Worksheet, data: dict[str, Any]) -> None:
    ws.title = "概览"
    ws.append([f"{data['area_name'] or data['area_code']} {data['period_zh']} {data['title_zh']}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"{data['title_en']} — {data['area_code']} — {data['period']}"])
    _append(ws, ["区划编码 area", data["area_code"]])
    _append(ws, ["统计期间 period", f"{data['from']} — {data['to']}"])
    _append(ws, ["超期判断日 as of", data["as_of"]])
    _append(ws, ["登记案件数 cases", data["cases"]])
    _append(ws, ["生成时间 generated", data["generated_at"]])
    ws.append([])
    _append(ws, ["指标 metric", "数值 value", "分子 numerator", "分母 denominator", "目标 target",
                 "达标 met", "代码 key"], head=True)
    targets = {t["metric"]: t for t in data["targets"] if not t["channel"]}
    for m in data["metrics"]:
        t = targets.get(m["key"])
        met = None if t is None or t["met"] is None else ("是 yes" if t["met"] else "否 no")
        row = _append(ws, [m["label_zh"], m["value"], m["numerator"], m["denominator"],
                           t["target_text"] if t else None, met, m["key"]],
                      formats=[None, FORMATS[m["kind"]], None, None])
        if t is not None and t["met"] is False:
            ws.cell(row=row, column=2).fill = MISSED_FILL
    ws.append([])
    _append(ws, ["目标 target", "实际 actual", "分子 numerator", "分母 denominator", "目标值 target value",
                 "达标 met", "代码 key"], head=True)
    for t in data["targets"]:
        met = "—" if t["met"] is None else ("是 yes" if t["met"] else "否 no")
        row = _append(ws, [t["label_zh"], t["value"], t["numerator"], t["denominator"], t["target_text"], met,
                           f"target:{t['key']}"], formats=[None, "0.0%"])
        if t["met"] is False:
            ws.cell(row=row, column=2).fill = MISSED_FILL
    _widths(ws, [28, 12, 14, 14, 14, 10, 22])


def _breakdown(ws: Worksheet, rows: list[dict[str, Any]], first: tuple[str, str], name_key: str) -> None:
    _append(ws, [first[0], first[1], "案件数 cases", *(m.label_zh for m in METRICS)], head=True)
    formats = [None, None, None, *(FORMATS[m.kind] for m in METRICS)]
    for r in rows:
        values = {m["key"]: m["value"] for m in r["metrics"]}
        code = r.get("area_code") or r.get("code") or r.get("month")
        _append(ws, [code, r.get(name_key) or "", r["cases"], *(values[m.key] for m in METRICS)], formats=formats)
    _widths(ws, [16, 14, 10, *([12] * len(METRICS))])


def _trend(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    _breakdown(ws, rows, ("月份 month", ""), "month")
    if not rows:
        return
    chart = LineChart()
    chart.title = "登记案件数 cases registered"
    chart.y_axis.title = "案件数 cases"
    chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
    chart.height, chart.width = 8, 18
    ws.add_chart(chart, f"A{len(rows) + 4}")


def _list(ws: Worksheet, heads: list[str], rows: list[list[Any]]) -> None:
    _append(ws, heads, head=True)
    for r in rows:
        _append(ws, r)
    _widths(ws, [14] * len(heads))


def write_report(data: dict[str, Any], out: io.BytesIO | Any) -> None:
    """Write the workbook of ``data`` (from ``report_data``) to the binary stream ``out``."""
    wb = Workbook()
    _summary(wb.active, data)
    child = "按乡镇" if len(data["area_code"]) == 6 else "按下级区划"
    _breakdown(wb.create_sheet(child), data["by_area"], ("区划编码 area", "名称 name"), "name")
    _breakdown(wb.create_sheet("按类别"), data["by_category"], ("类别 code", "类别 category"), "label_zh")
    _breakdown(wb.create_sheet("按渠道"), data["by_channel"], ("渠道 code", "渠道 channel"), "label_zh")
    _trend(wb.create_sheet("趋势"), data["trend"])
    _list(wb.create_sheet("积案"),
          [vocab.TERMS["tracking_code"][0], "区划 area", "区划名称", "标题 title", "类别", "状态 status",
           "登记日期", "受理日期", "已历时（天）", "首问责任人", "包案领导"],
          [[r["tracking_code"], r["area_code"], r["area_name"] or "", r["title"] or "",
            vocab.zh(vocab.CATEGORIES, r["category"] or ""), vocab.zh(vocab.CASE_STATUSES, r["status"] or ""),
            r["created_date"], r["accepted_date"], r["days_open"], r["first_handler"] or "",
            r["lead_official"] or ""] for r in data["backlog"]])
    _list(wb.create_sheet("重大不稳定问题"),
          ["隐患 title", "区划 area", "类别", "等级 level", "责任人 owner", "化解时限 due", "包案领导",
           "超期 overdue"],
          [[r["title"] or "", r["area_code"], vocab.zh(vocab.CATEGORIES, r["category"] or ""),
            vocab.zh(vocab.RISK_LEVELS, r["level"] or ""), r["owner"] or "", r["due"], r["lead_official"] or "",
            "是 yes" if r["overdue"] else "否 no"] for r in data["major_risks"]])
    wb.save(out)
