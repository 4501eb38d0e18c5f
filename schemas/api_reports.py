"""Query arguments of ``/api/reports/…`` (月报, 季报)."""

from __future__ import annotations

from schemas.fields import AreaCode, Choice, Strict, Text

FORMATS = ("xlsx", "pdf", "json")


class _ReportArgs(Strict):
    area = AreaCode(load_default=None, metadata={"description": "区划编码 area code (default: yours)"})
    format = Choice(FORMATS, load_default="xlsx", metadata={"description": "xlsx or pdf (download), or json"})


class MonthlyReportArgsSchema(_ReportArgs):
    month = Text(required=True, max_length=7, pattern=r"\d{4}-(0[1-9]|1[0-2])",
                 metadata={"description": "月份 YYYY-MM, e.g. 2026-11"})


class QuarterlyReportArgsSchema(_ReportArgs):
    quarter = Text(required=True, max_length=6, pattern=r"\d{4}[Qq][1-4]",
                   metadata={"description": "季度 YYYYQn, e.g. 2026Q4"})
