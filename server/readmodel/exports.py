"""台账 exports from the read model: xlsx (openpyxl, write-only), CSV (UTF-8 with BOM), GeoJSON.

Rows come from ``queries.iter_cases`` / ``iter_risks`` / ``iter_areas``, which already
applied the caller's scope; parties' ID numbers and phones were masked when the rows were
stored (``schemas.privacy.mask_parties``), so nothing here can leak them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from schemas import vocab
from schemas.privacy import mask_id_number, mask_phone


def _label(table: dict[str, tuple[str, str]], code: Any) -> str:
    return table.get(code, (code or "", ""))[0] if code else ""


def _parties(row: dict[str, Any], key: str) -> str:
    values = []
    for p in row.get("parties") or []:
        value = p.get(key)
        if key == "id_number":
            value = mask_id_number(value)  # already masked; masking is idempotent here
        elif key == "phone":
            value = mask_phone(value)
        if value:
            values.append(str(value))
    return "；".join(values)


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


CASE_FIELDS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    (vocab.TERMS["tracking_code"][0], lambda r: r["tracking_code"]),
    ("登记日期", lambda r: _date(r["created_date"])),
    ("区划编码", lambda r: r["area_code"]),
    ("区划名称", lambda r: r.get("area_name") or ""),
    ("来源渠道", lambda r: _label(vocab.CHANNELS, r["channel"])),
    ("纠纷类别", lambda r: _label(vocab.CATEGORIES, r["category"])),
    ("标题", lambda r: r["title"] or ""),
    ("简要情况", lambda r: r["description"] or ""),
    ("当事人", lambda r: "；".join(f"{p.get('name', '')}（{_label(vocab.PARTY_ROLES, p.get('role'))}）"
                                  for p in r.get("parties") or [])),
    ("身份证号（脱敏）", lambda r: _parties(r, "id_number")),
    ("联系电话（脱敏）", lambda r: _parties(r, "phone")),
    ("办理状态", lambda r: _label(vocab.CASE_STATUSES, r["status"])),
    ("当前层级", lambda r: _label(vocab.CASE_LEVELS, r["level"])),
    ("化解层级", lambda r: _label(vocab.RESOLUTION_LEVELS, r["resolution_level"])),
    ("受理日期", lambda r: _date(r["accepted_date"])),
    ("受理期限", lambda r: _date(r["accept_due_date"])),
    ("办结期限", lambda r: _date(r["close_due_date"])),
    ("办结日期", lambda r: _date(r["closed_date"])),
    ("是否超期", lambda r: "是" if (r.get("accept_overdue") or r.get("close_overdue")) else "否"),
    ("办理天数", lambda r: r.get("duration_days") if r.get("duration_days") is not None else ""),
    ("满意度评价", lambda r: _label(vocab.EVALUATIONS, r["evaluation"])),
    ("重复访", lambda r: "是" if r.get("is_repeat") else "否"),
    ("首问责任人", lambda r: r.get("first_handler") or ""),
    ("包案领导", lambda r: r.get("lead_official") or ""),
)

RISK_FIELDS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("登记日期", lambda r: _date(r["created_at"])),
    ("区划编码", lambda r: r["area_code"]),
    ("隐患名称", lambda r: r["title"] or ""),
    ("基本情况", lambda r: r["description"] or ""),
    ("类别", lambda r: _label(vocab.CATEGORIES, r["category"])),
    ("风险等级", lambda r: _label(vocab.RISK_LEVELS, r["level"])),
    ("排查层级", lambda r: _label(vocab.SCREENING_ROUNDS, r["screening_round"])),
    ("责任人", lambda r: r["owner"] or ""),
    ("化解时限", lambda r: _date(r["due"])),
    ("包案领导", lambda r: r["lead_official"] or ""),
    ("状态", lambda r: _label(vocab.RISK_STATUSES, r["status"])),
    ("研判次数", lambda r: r["reviews"]),
)


# Leading characters a spreadsheet may read as the start of a formula (OWASP, "CSV
# injection"). Text from users (titles, names, notes) can start with any of them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def csv_safe(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe, as OWASP advises: the
    spreadsheet shows it as text, and a person still reads every character."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _xlsx_cells(ws: Any, values: list[Any]) -> list[Any]:
    """Every text cell is written as a string cell: openpyxl would store text starting with
    ``=`` as a formula. As text, ``=1+1`` shows exactly as typed and is never evaluated."""
    cells = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def write_xlsx(rows: Iterable[dict[str, Any]], fields: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...],
               sheet: str, out: io.BufferedIOBase | io.BytesIO) -> int:
    """A write-only workbook (constant memory); returns the number of data rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([name for name, _ in fields])
    n = 0
    for row in rows:
        ws.append(_xlsx_cells(ws, [get(row) for _, get in fields]))
        n += 1
    wb.save(out)
    return n


def write_csv(rows: Iterable[dict[str, Any]], fields: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...],
              out: io.TextIOBase | io.StringIO) -> int:
    """CSV with a UTF-8 BOM so Excel opens Chinese text correctly; returns data rows."""
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([name for name, _ in fields])
    n = 0
    for row in rows:
        writer.writerow([csv_safe(get(row)) for _, get in fields])
        n += 1
    return n


def cases_geojson(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Cases with a location as WGS84 points (no personal data in the properties)."""
    features = []
    for r in rows:
        if r.get("lon") is None or r.get("lat") is None:
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {
                "case_id": r["case_id"], "tracking_code": r["tracking_code"],
                "area_code": r["area_code"], "title": r["title"], "category": r["category"],
                "status": r["status"], "level": r["level"],
                "created_date": _date(r["created_date"]),
                "overdue": bool(r.get("accept_overdue") or r.get("close_overdue")),
            },
        })
    return {"type": "FeatureCollection", "features": features}


def areas_geojson(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": r["geometry"],
         "properties": {"code": r["code"], "name": r["name"], "level": r["level"],
                        "parent": r["parent"], "version": r["version"]}}
        for r in rows if r.get("geometry")
    ]}


def geojson_bytes(collection: dict[str, Any]) -> bytes:
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
