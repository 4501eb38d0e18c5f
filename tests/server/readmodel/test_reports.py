"""月报 / 季报: a month of demo data gives a report whose figures, read back from the xlsx,
equal ``/api/stats`` for that period — totals, per township, per month — and the CLI
writes the same figures. Scope, bad parameters and targets are checked too."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from apps import Site
from click.testing import CliRunner
from factories import COUNTY, PASSWORD, TOWNSHIP_1
from openpyxl import load_workbook
from testenv import signed_in_clients

from server.config import ConfigError
from server.domain.metrics import METRICS
from server.readmodel.generate import CST, generate
from server.reports import parse_targets

ACCOUNTS = {"rex": ("county_reviewer", [COUNTY]), "mia": ("township_mediator", [TOWNSHIP_1])}


@pytest.fixture(scope="module")
def world(couch, couch_url, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with Site.open(couch, couch_url, tmp_path_factory.mktemp("rp-home"), tag="rp", townships=(TOWNSHIP_1,)) as site:
        settings = site.apps.settings("synchronous", FENGQIAO_PARTY_KEY="report-test-key")
        app = site.app("synchronous", FENGQIAO_PARTY_KEY="report-test-key")
        site.provision(ACCOUNTS)
        _load(site.county_db())
        yield {"app": app, "settings": settings}


def _load(county_db: Any) -> None:
    docs: list[dict[str, Any]] = []
    # The demo generator's lifecycles, registered from mid-October to the end of November.
    for case, events in generate(240, county=COUNTY, seed=11, start=datetime(2026, 10, 15, tzinfo=CST), days=47):
        docs += [case, *events]
    for i, level in enumerate(("major", "major", "ordinary")):
        docs.append({"_id": f"risk:{uuid.uuid4()}", "type": "risk", "schema_version": 1,
                     "area_code": f"{TOWNSHIP_1}20{i + 1}001", "title": f"=重大隐患{i}", "description": "征地补偿",
                     "category": "expropriation", "level": level, "screening_round": "township",
                     "owner": "王某", "due": "2026-11-15", "reported_by": "mia",
                     "created_at": "2026-11-02T09:00:00+08:00"})
    county_db.bulk_docs(docs)


@pytest.fixture(scope="module")
def as_user(world):  # type: ignore[no-untyped-def]
    return signed_in_clients(world["app"], PASSWORD)


def figures(sheet: Any, key_column: int = 7) -> dict[str, tuple[Any, Any, Any]]:
    """概览: metric key → (value, numerator, denominator), read back from the cells."""
    out = {}
    for row in sheet.iter_rows(values_only=True):
        if len(row) >= key_column and isinstance(row[key_column - 1], str) and row[0] and row[1:4] != (None,) * 3:
            out[row[key_column - 1]] = (row[1], row[2], row[3])
    return out


def rows_by_first_cell(sheet: Any) -> dict[Any, tuple[Any, ...]]:
    rows = list(sheet.iter_rows(values_only=True))
    return {r[0]: r for r in rows[1:]}


def same(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and a == pytest.approx(b, rel=1e-12))


def test_monthly_report_figures_equal_api_stats(as_user) -> None:  # type: ignore[no-untyped-def]
    rex = as_user("rex")
    r = rex.get("/api/reports/monthly?month=2026-11")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert "attachment" in r.headers["Content-Disposition"] and "2026-11" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["概览", "按乡镇", "按类别", "按渠道", "趋势", "积案", "重大不稳定问题"]
    stats = rex.get("/api/stats?from=2026-11-01&to=2026-11-30").get_json()
    assert stats["cases"] > 100  # a month of demo data

    got = figures(book["概览"])
    for m in stats["metrics"]:
        assert m["key"] in got, m["key"]
        value, num, den = got[m["key"]]
        assert same(value, m["value"]) and num == m["numerator"] and den == m["denominator"], (m, got[m["key"]])
    summary = {r[0]: r[1] for r in book["概览"].iter_rows(values_only=True) if r and r[0]}
    assert summary["登记案件数 cases"] == stats["cases"]
    assert summary["超期判断日 as of"] == stats["as_of"]

    townships = rows_by_first_cell(book["按乡镇"])
    assert set(townships) == {a["area_code"] for a in stats["by_area"]}
    keys = [m.key for m in METRICS]
    for area in stats["by_area"]:
        row = townships[area["area_code"]]
        assert row[2] == area["cases"]
        for m in area["metrics"]:
            assert same(row[3 + keys.index(m["key"])], m["value"]), (area["area_code"], m)

    trend = rows_by_first_cell(book["趋势"])
    assert trend["2026-11"][2] == stats["cases"] and trend["2026-10"][2] > 0  # twelve months back
    assert book["趋势"]._charts  # the line chart
    assert sum(r[2] for r in rows_by_first_cell(book["按类别"]).values()) == stats["cases"]
    assert sum(r[2] for r in rows_by_first_cell(book["按渠道"]).values()) == stats["cases"]

    targets = figures(book["概览"])
    values = {m["key"]: m["value"] for m in stats["metrics"]}
    assert same(targets["target:satisfaction"][0], values["satisfaction"])
    met = {r[6]: r[5] for r in book["概览"].iter_rows(values_only=True) if r and str(r[6]).startswith("target:")}
    assert set(met) == {f"target:{t.key}" for t in parse_targets(None)}
    if values["satisfaction"] is not None:
        assert met["target:satisfaction"] == ("是 yes" if values["satisfaction"] >= 0.98 else "否 no")

    risks = list(book["重大不稳定问题"].iter_rows(values_only=True))[1:]
    assert sorted(r[0] for r in risks) == ["=重大隐患0", "=重大隐患1"]  # text, not a formula
    assert all(r[7] == "是 yes" for r in risks)  # due 2026-11-15, as of 2026-12-01


def test_quarterly_report_and_json_data(as_user) -> None:  # type: ignore[no-untyped-def]
    rex = as_user("rex")
    data = rex.get("/api/reports/quarterly?quarter=2026Q4&format=json").get_json()
    stats = rex.get("/api/stats?from=2026-10-01&to=2026-12-31").get_json()
    assert data["kind"] == "quarterly" and data["cases"] == stats["cases"]
    assert [(m["key"], m["numerator"], m["denominator"]) for m in data["metrics"]] == \
        [(m["key"], m["numerator"], m["denominator"]) for m in stats["metrics"]]
    assert {t["key"] for t in data["targets"]} >= {"online_repeat_share", "satisfaction"}
    online = next(c for c in data["by_channel"] if c["code"] == "online") if any(
        c["code"] == "online" for c in data["by_channel"]) else None
    share = next(t for t in data["targets"] if t["key"] == "online_repeat_share")
    if online:
        assert share["denominator"] == online["cases"]
    r = rex.get("/api/reports/quarterly?quarter=2026Q4")
    assert r.status_code == 200 and load_workbook(io.BytesIO(r.data))["概览"]["A1"].value.endswith("季报")


def test_reports_are_scoped_and_refuse_bad_input(as_user) -> None:  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    own = mia.get("/api/reports/monthly?month=2026-11&format=json").get_json()
    assert own["area_code"] == TOWNSHIP_1
    stats = mia.get("/api/stats?from=2026-11-01&to=2026-11-30").get_json()
    assert own["cases"] == stats["cases"] and all(a["area_code"].startswith(TOWNSHIP_1) for a in own["by_area"])
    assert mia.get(f"/api/reports/monthly?month=2026-11&area={COUNTY}").status_code == 403
    for url in ("/api/reports/monthly?month=2026-13", "/api/reports/monthly", "/api/reports/monthly?month=11-2026",
                "/api/reports/quarterly?quarter=2026Q5", "/api/reports/monthly?month=2026-11&format=docx",
                "/api/reports/monthly?month=2026-11&nonsense=1"):
        r = mia.get(url)
        assert r.status_code == 422, url
        assert r.get_json()["message_zh"] and r.get_json()["message_en"]
    assert as_user(None).get("/api/reports/monthly?month=2026-11").status_code == 401


def test_targets_are_configurable_and_checked() -> None:
    targets = {t.key: t for t in parse_targets("satisfaction>=95%,backlog<=3")}
    assert targets["satisfaction"].value == 0.95 and targets["backlog"].op == "<="
    assert targets["timely_acceptance"].value == 1.0  # defaults kept
    assert targets["online_repeat_share"].channel == "online" and targets["online_repeat_share"].met(0.39)
    with pytest.raises(ConfigError, match="satisfaction>=0.98"):
        parse_targets("happiness>=1")


def test_cli_report_writes_the_same_figures(world, as_user, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from server.cli import main

    api = figures(load_workbook(io.BytesIO(as_user("rex").get("/api/reports/monthly?month=2026-11").data))["概览"])
    env = {k: str(v) for k, v in world["settings"].items() if k != "FENGQIAO_STATS_FOLLOW"}
    env["FENGQIAO_HOME"] = str(tmp_path)  # its own read model file, caught up from the feed
    out = tmp_path / "yuebao.xlsx"
    result = CliRunner().invoke(main, ["report", "--month", "2026-11", "--area", COUNTY, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "yuebao.xlsx" in result.output
    assert figures(load_workbook(out)["概览"]) == api
    pdf = tmp_path / "yuebao.pdf"
    result = CliRunner().invoke(main, ["report", "--month", "2026-11", "--area", COUNTY, "-o", str(pdf)], env=env)
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF") and "yuebao.pdf" in result.output
    bad = CliRunner().invoke(main, ["report", "--month", "2026-11", "--quarter", "2026Q4", "--area", COUNTY], env=env)
    assert bad.exit_code != 0 and "--month" in bad.output
    bad = CliRunner().invoke(main, ["report", "--month", "202611", "--area", COUNTY], env=env)
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output


# -- the PDF -------------------------------------------------------------------------------------

def printed(kind: str, value: float | None) -> str:
    """How the PDF prints a figure (written out here, not imported: the test states it)."""
    if value is None:
        return "—"
    return {"rate": f"{value * 100:.1f}%", "mean": f"{value:.1f}", "count": f"{value:.0f}"}[kind]


def count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def test_monthly_report_pdf_figures_equal_api_stats(as_user, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    """The 月报 as PDF: every metric (value, numerator, denominator), every township's row,
    the month in the trend and the 重大不稳定问题, read back from the PDF's text, equal
    ``/api/stats`` for the month; Chinese drawn with the embedded font (no tofu)."""
    from pdf_checks import ink, missing_glyphs, pages
    from pdf_checks import text as pdf_text

    from server.reports.pdf import BREAKDOWN_METRICS

    rex = as_user("rex")
    r = rex.get("/api/reports/monthly?month=2026-11&format=pdf")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/pdf" and ".pdf" in r.headers["Content-Disposition"]
    (artifacts / "report-monthly.pdf").write_bytes(r.data)
    text = pdf_text(r.data)
    stats = rex.get("/api/stats?from=2026-11-01&to=2026-11-30").get_json()
    assert "2026年11月矛盾纠纷调处化解工作月报" in text and f"{stats['cases']}件" in text

    for m in stats["metrics"]:
        row = f"{m['label_zh']}{printed(m['kind'], m['value'])}{count(m['numerator'])}{count(m['denominator'])}"
        assert row in text, row
    kinds = {m["key"]: m["kind"] for m in stats["metrics"]}
    for area in stats["by_area"]:
        values = {m["key"]: m["value"] for m in area["metrics"]}
        row = (area["name"] or area["area_code"]) + str(area["cases"]) + "".join(
            printed(kinds[k], values[k]) for k in BREAKDOWN_METRICS)
        assert row in text, row
    assert f"2026-11{stats['cases']}" in text  # the trend table's month
    assert "=重大隐患0" in text and "=重大隐患1" in text and "=重大隐患2" not in text  # ordinary: not listed
    values = {m["key"]: m["value"] for m in stats["metrics"]}
    if values["satisfaction"] is not None and values["satisfaction"] < 0.98:
        assert "本期未达标指标" in text and "满意率" in text

    assert missing_glyphs(r.data) == set()
    assert pages(r.data) >= 2 and max(ink(r.data, 0)) > 0.01

    quarterly = rex.get("/api/reports/quarterly?quarter=2026Q4&format=pdf")
    assert quarterly.status_code == 200 and "2026年第4季度矛盾纠纷调处化解工作季报" in pdf_text(quarterly.data)
