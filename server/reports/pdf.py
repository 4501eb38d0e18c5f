"""A report (``data.report_data``) as PDF: the same dict as the xlsx, typeset by the paper
module's Typst template ``report.typ`` (``server.paper``: bundled CJK font, a county may
override the template like any document's).

Everything the template prints is prepared here as text — figures formatted, labels and
dates in Chinese — so the template only lays it out (as for the case documents) and a
county editing it never formats a number. Formats: a rate as a percentage with one
decimal (``97.5%``), a mean with one decimal, a count as an integer, no value as ``—``.

The breakdowns (township, category, channel) print the number of cases and the metrics
in ``BREAKDOWN_METRICS`` (the page is A4; the workbook has every metric of every row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from schemas import vocab
from server.domain.metrics import METRICS

BREAKDOWN_METRICS = ("timely_acceptance", "on_time_closure", "satisfaction", "evaluation_rate",
                     "resolution_rate", "avg_duration_days")
KINDS = {m.key: m.kind for m in METRICS}
SHORT_LABELS = {"avg_duration_days": "平均天数"}  # a narrow column header
NONE = "—"


def figure(kind: str, value: float | None) -> str:
    """A metric value as printed: ``97.5%``, ``12.3``, ``4``, or ``—`` for none."""
    if value is None:
        return NONE
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "mean":
        return f"{value:.1f}"
    return f"{value:.0f}"


def cn_date(value: Any) -> str:
    """``2026年11月30日`` of a date or an ISO date text (empty for nothing)."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if isinstance(day, datetime):
        day = day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def number(value: float | int) -> str:
    """A numerator or denominator: an integer as such, a sum of days with one decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def target_text(text: str) -> str:
    """``>= 98%`` → ``≥98%``, as printed."""
    op, _, rest = text.partition(" ")
    return f"{OPS.get(op, op)}{rest}"


def _met(met: bool | None) -> str:
    return NONE if met is None else ("达标" if met else "未达标")


def _row_metrics(metrics: Sequence[Mapping[str, Any]]) -> list[str]:
    values = {m["key"]: m["value"] for m in metrics}
    return [figure(KINDS[k], values.get(k)) for k in BREAKDOWN_METRICS]


def _breakdown(rows: Sequence[Mapping[str, Any]], name: Any) -> list[dict[str, Any]]:
    return [{"name": str(name(r) or ""), "cases": str(r["cases"]), "values": _row_metrics(r["metrics"])}
            for r in rows]


def twelve_months(end: Any) -> list[str]:
    """``YYYY-MM`` of the twelve months ending with the month of ``end``, oldest first."""
    day = end if isinstance(end, date) else date.fromisoformat(str(end)[:10])
    year, month = day.year, day.month
    out = []
    for _ in range(12):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _trend(rows: Sequence[Mapping[str, Any]], end: Any) -> list[dict[str, Any]]:
    """Every one of the twelve months, a month without registrations as 0 (the chart keeps
    its time axis; the read model lists only months that have cases)."""
    by_month = {r["month"]: r for r in rows}
    out = []
    for month in twelve_months(end):
        r = by_month.get(month)
        out.append({"month": month, "label": f"{int(month[5:7])}月", "cases": r["cases"] if r else 0,
                    "values": _row_metrics(r["metrics"]) if r else [NONE] * len(BREAKDOWN_METRICS)})
    return out


def pdf_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """What ``report.typ`` gets: the report's figures as printed text (see the module)."""
    targets = {t["metric"]: t for t in data["targets"] if not t["channel"]}
    metrics = []
    for m in data["metrics"]:
        t = targets.get(m["key"])
        metrics.append({"label": m["label_zh"], "value": figure(m["kind"], m["value"]),
                        "numerator": number(m["numerator"]), "denominator": number(m["denominator"]),
                        "target": target_text(t["target_text"]) if t else "", "met": _met(t["met"]) if t else "",
                        "missed": bool(t and t["met"] is False)})
    target_rows = [{"label": t["label_zh"], "value": figure(KINDS[t["metric"]], t["value"]),
                    "numerator": number(t["numerator"]), "denominator": number(t["denominator"]),
                    "target": target_text(t["target_text"]), "met": _met(t["met"]), "missed": t["met"] is False}
                   for t in data["targets"]]
    labels = {m.key: SHORT_LABELS.get(m.key, m.label_zh) for m in METRICS}
    child = "乡镇（街道）" if len(data["area_code"]) == 6 else "下级区划"
    area = data["area_name"] or data["area_code"]
    return {
        "kind": "report", "title": data["title_zh"], "title_en": data["title_en"],
        "issuer": area, "area": area, "area_code": data["area_code"], "period": data["period_zh"],
        "from": cn_date(data["from"]), "to": cn_date(data["to"]), "as_of": cn_date(data["as_of"]),
        "generated_at": str(data["generated_at"]).replace("T", " ")[:16], "cases": str(data["cases"]),
        "printed_on": cn_date(str(data["generated_at"])[:10]),
        "metrics": metrics, "targets": target_rows,
        "missed": [t["label"] for t in target_rows if t["missed"]],
        "breakdown_heads": [labels[k] for k in BREAKDOWN_METRICS],
        "child_term": child,
        "by_area": _breakdown(data["by_area"], lambda r: r["name"] or r["area_code"]),
        "by_category": _breakdown(data["by_category"], lambda r: r["label_zh"]),
        "by_channel": _breakdown(data["by_channel"], lambda r: r["label_zh"]),
        "trend": _trend(data["trend"], data["to"]),
        "backlog": [{"code": r["tracking_code"] or "", "area": r["area_name"] or r["area_code"],
                     "title": r["title"] or "", "category": vocab.zh(vocab.CATEGORIES, r["category"] or ""),
                     "status": vocab.zh(vocab.CASE_STATUSES, r["status"] or ""),
                     "registered": cn_date(r["created_date"]), "days": str(r["days_open"]),
                     "lead": r["lead_official"] or ""} for r in data["backlog"]],
        "major_risks": [{"title": r["title"] or "", "area": r["area_code"],
                         "category": vocab.zh(vocab.CATEGORIES, r["category"] or ""),
                         "owner": r["owner"] or "", "due": cn_date(r["due"]), "lead": r["lead_official"] or "",
                         "overdue": bool(r["overdue"])} for r in data["major_risks"]],
        "tracking_term": vocab.TERMS["tracking_code"][0],
    }


def report_pdf(data: Mapping[str, Any], *, override: str | Path | None = None) -> bytes:
    """The PDF of a report; :class:`server.paper.PaperError` when it cannot be typeset
    (font missing, a county's template that does not compile)."""
    from server.paper.typeset import render

    return render("report.typ", pdf_data(data), override=override)
