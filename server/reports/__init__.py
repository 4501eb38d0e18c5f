"""月报 and 季报: every metric for a period and area, against the county's targets.

Layout::

    periods.py  a month (2026-11) or a quarter (2026Q4)
    targets.py  the targets, declared once (defaults: docs/sources.md; FENGQIAO_REPORT_TARGETS)
    data.py     report_data(): the report as plain data (the xlsx and the PDF are made from it)
    xlsx.py     the workbook
    pdf.py      the PDF (Typst template ``server/paper/templates/report.typ``)
    cli.py      ``fengqiao report --month 2026-11 --area 339901`` (or ``--quarter 2026Q4``; ``-o F.pdf``)

The API is ``GET /api/reports/monthly`` and ``/api/reports/quarterly`` (``server.api.reports``).
"""

from __future__ import annotations

from .data import report_as_of, report_data
from .periods import Period, PeriodError, month, quarter
from .targets import DEFAULT_TARGETS, Target, parse_targets

__all__ = ["DEFAULT_TARGETS", "Period", "PeriodError", "Target", "month", "parse_targets", "quarter",
           "report_as_of", "report_data"]


def filename(data: dict, extension: str = "xlsx") -> str:  # type: ignore[type-arg]
    """The download name: ``月报-339901-2026-11.xlsx`` (or ``.pdf``)."""
    kind = "月报" if data["kind"] == "monthly" else "季报"
    return f"{kind}-{data['area_code']}-{data['period']}.{extension}"
