"""Exports never hand a spreadsheet a formula from user text (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from openpyxl import load_workbook

from server.readmodel import exports

# OWASP's leading characters, plus the full-width forms a Chinese IME types.
HOSTILE = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x.example","点我")',
           "＝1+1", "-", "=cmd|' /C calc'!A0"]


def row(text: str) -> dict:
    return {
        "tracking_code": "23456789AS", "created_date": date(2026, 11, 20), "area_code": "339901001201001",
        "area_name": text, "channel": "visit", "category": "neighbourhood", "title": text,
        "description": text, "parties": [{"role": "applicant", "name": text, "phone": "13812345678"}],
        "status": "reported", "level": "village", "resolution_level": None, "accepted_date": None,
        "accept_due_date": None, "close_due_date": None, "closed_date": None, "evaluation": None,
        "first_handler": text, "lead_official": text,
    }


def test_xlsx_cells_from_user_text_are_text_never_formulas():
    out = io.BytesIO()
    assert exports.write_xlsx([row(t) for t in HOSTILE], exports.CASE_FIELDS, "案件台账", out) == len(HOSTILE)
    sheet_xml = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    titles = [r[6].value for r in sheet.iter_rows(min_row=2)]
    assert titles == [t.replace("\r", "\n") for t in HOSTILE]  # readable: as typed (XML keeps CR as LF)
    assert all(r[6].data_type == "s" for r in sheet.iter_rows(min_row=2))


def test_csv_cells_from_user_text_start_with_an_apostrophe():
    out = io.StringIO()
    exports.write_csv([row(t) for t in HOSTILE], exports.CASE_FIELDS, out)
    lines = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    header, body = lines[0], lines[1:]
    title = header.index("标题")
    assert [r[title] for r in body] == ["'" + t for t in HOSTILE]
    for r in body:
        for cell in r:
            assert not cell.startswith(exports.FORMULA_START), cell
    # ordinary text is left alone
    plain = io.StringIO()
    exports.write_csv([row("邻里纠纷")], exports.CASE_FIELDS, plain)
    assert "邻里纠纷" in plain.getvalue() and "'邻里纠纷" not in plain.getvalue()
