"""``/api/reports/monthly`` and ``/api/reports/quarterly``: 月报 and 季报 (xlsx or PDF, or JSON).

Scoped like ``/api/stats``: the area defaults to the caller's own, and an area outside it
is refused (403). The figures are the read model's, the same queries as ``/api/stats``
(``server.reports.data``). Targets: ``FENGQIAO_REPORT_TARGETS`` over the defaults from the source articles
(docs/sources.md).
Downloads are audited like the 台账 exports.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Response, current_app
from marshmallow import RAISE

from schemas.api_reports import MonthlyReportArgsSchema, QuarterlyReportArgsSchema
from server import reports
from server.readmodel import service
from server.reports.pdf import report_pdf
from server.reports.xlsx import write_report

from ..auth import require_user
from . import ApiBlueprint
from .exports import FILE_DOC, XLSX, _audit, _download
from .stats import resolve_area, today

blp = ApiBlueprint("reports", __name__, url_prefix="/api/reports",
                   description="月报、季报 — monthly and quarterly reports")


def _answer(period: reports.Period, args: dict[str, Any]) -> Response:
    user = require_user()
    prefix = resolve_area(user, args.get("area"))
    # Checked when the server starts (server.config); a ConfigError here is a 503.
    targets = reports.parse_targets(current_app.config.get("FENGQIAO_REPORT_TARGETS"))
    store = service().ready()
    data = reports.report_data(store.cursor(), store, prefix=prefix, period=period, scope=user.area_codes,
                               today=today(), targets=targets)
    if args["format"] == "json":
        body = json.dumps(data, ensure_ascii=False, default=str)
        return Response(body, mimetype="application/json")
    if args["format"] == "pdf":
        # A missing font or a county's template that does not compile: PaperError, 503.
        pdf = report_pdf(data, override=current_app.config.get("FENGQIAO_PAPER_TEMPLATES") or None)
        _audit(f"report.{period.kind}", prefix, data["cases"])
        return _download(pdf, reports.filename(data, "pdf"), "application/pdf")
    out = io.BytesIO()
    write_report(data, out)
    _audit(f"report.{period.kind}", prefix, data["cases"])
    return _download(out.getvalue(), reports.filename(data), XLSX)


@blp.get("/monthly")
@blp.arguments(MonthlyReportArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def monthly_report(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """月报 of ``month`` (YYYY-MM) for ``area`` (default: yours; 403 outside it): every
    metric with numerator and denominator, targets met or missed, by township (or child
    area), category and channel, twelve months' trend, 积案 and 重大不稳定问题.
    ``format``: xlsx (default), pdf (typeset, ``report.typ``) or json. 422 for a bad
    month or parameter; 503 when the PDF cannot be typeset (the message says why)."""
    return _answer(reports.month(args["month"]), args)


@blp.get("/quarterly")
@blp.arguments(QuarterlyReportArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def quarterly_report(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """季报 of ``quarter`` (YYYYQn), otherwise as the 月报."""
    return _answer(reports.quarter(args["quarter"]), args)
