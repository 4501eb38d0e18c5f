"""``/api/exports/…``: 台账 downloads from the read model, scoped to the caller, audited.

cases.xlsx / risks.xlsx (Chinese headers, ID numbers and phones masked), cases.csv
(UTF-8 with BOM for Excel), cases.geojson (points, WGS84), grids.geojson (area documents'
geometry). Each download with personal data is recorded with ``audit.record("export", …)``.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Response
from marshmallow import RAISE

from schemas.api_stats import AreaArgsSchema, ExportArgsSchema
from server.readmodel import exports, service
from server.readmodel.queries import iter_areas, iter_cases, iter_risks

from ..auth import require_user
from . import ApiBlueprint
from .case_list import case_filter
from .stats import resolve_area

blp = ApiBlueprint("exports", __name__, url_prefix="/api/exports",
                   description="导出台账（读模型）— exports from the read model")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_DOC = {"responses": {"200": {"description": "file download"}}}


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit(kind: str, area: str | None, rows: int, filters: dict[str, Any] | None = None) -> None:
    from server import audit

    detail: dict[str, Any] = {"export": kind, "area": area or "", "rows": rows}
    if filters:
        detail["filters"] = {k: (v if isinstance(v, str | int | bool | list) or v is None else str(v))
                             for k, v in filters.items() if v not in (None, [], ())}
    audit.record("export", detail=detail)


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M")


def _cases(args: dict[str, Any]) -> tuple[Any, Any]:
    user = require_user()
    flt = case_filter(user, args)
    store = service().ready()
    return flt, iter_cases(store.cursor(), flt)


def _area(args: dict[str, Any]) -> tuple[Any, str | None, Any]:
    """The caller, the area asked for (checked to be within theirs: 403 otherwise) and a
    read-model cursor."""
    user = require_user()
    area = args.get("area")
    if area:
        resolve_area(user, area)
    return user, area, service().ready().cursor()


@blp.get("/cases.xlsx")
@blp.arguments(ExportArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def cases_xlsx(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """案件台账 (xlsx), the list's filters; ID numbers masked."""
    flt, rows = _cases(args)
    out = io.BytesIO()
    n = exports.write_xlsx(rows, exports.CASE_FIELDS, "案件台账", out)
    _audit("cases.xlsx", flt.area, n, args)
    return _download(out.getvalue(), f"案件台账-{flt.area or 'all'}-{_stamp()}.xlsx", XLSX)


@blp.get("/cases.csv")
@blp.arguments(ExportArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def cases_csv(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """案件台账 (CSV, UTF-8 with BOM)."""
    flt, rows = _cases(args)
    out = io.StringIO()
    n = exports.write_csv(rows, exports.CASE_FIELDS, out)
    _audit("cases.csv", flt.area, n, args)
    return _download(out.getvalue().encode("utf-8"), f"案件台账-{flt.area or 'all'}-{_stamp()}.csv",
                     "text/csv; charset=utf-8")


@blp.get("/cases.geojson")
@blp.arguments(ExportArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def cases_geojson(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Cases with a location as GeoJSON points (WGS84); no personal data."""
    flt, rows = _cases(args)
    collection = exports.cases_geojson(rows)
    _audit("cases.geojson", flt.area, len(collection["features"]), args)
    return _download(exports.geojson_bytes(collection), f"cases-{flt.area or 'all'}.geojson",
                     "application/geo+json")


@blp.get("/risks.xlsx")
@blp.arguments(AreaArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def risks_xlsx(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """隐患台账 (xlsx)."""
    user, area, cursor = _area(args)
    out = io.BytesIO()
    n = exports.write_xlsx(iter_risks(cursor, user.area_codes, area),
                           exports.RISK_FIELDS, "隐患台账", out)
    _audit("risks.xlsx", area, n)
    return _download(out.getvalue(), f"隐患台账-{area or 'all'}-{_stamp()}.xlsx", XLSX)


@blp.get("/grids.geojson")
@blp.arguments(AreaArgsSchema, location="query", unknown=RAISE)
@blp.doc(**FILE_DOC)
def grids_geojson(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Grid boundaries (area documents' geometry) in your area, as GeoJSON."""
    user, area, cursor = _area(args)
    collection = exports.areas_geojson(iter_areas(cursor, user.area_codes, area))
    # Boundaries hold no personal data: not audited, so the dashboard's map does not fill
    # the audit log with an "export" on every visit.
    return _download(exports.geojson_bytes(collection), f"grids-{area or 'all'}.geojson",
                     "application/geo+json")
