"""The dashboard in a real browser: sign-in per role, cards equal /api/stats, scope, exports."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from dashpage import open_dashboard
from openpyxl import load_workbook

from schemas import vocab

CARD_KEYS = ["stays_in_village", "stays_in_township", "stays_in_county", "timely_acceptance",
             "on_time_closure", "satisfaction", "evaluation_rate", "repeat_share",
             "avg_duration_days", "avg_duration_working_days"]
PANELS = ["overdue", "due-soon", "risks", "reviews", "reminders", "conflicts"]


def wait_loaded(page: Any, area: str | None = None) -> None:
    selector = f"body[data-loaded='{area}']" if area else "body[data-loaded]"
    page.wait_for_selector(selector, timeout=20_000)


def assert_cards_match_api(page: Any) -> dict[str, Any]:
    """Every card's value, numerator and denominator are /api/stats' for the page's area and
    period, fetched with the page's own session."""
    area = page.locator("#area").input_value()
    start, end = page.locator("#from").input_value(), page.locator("#to").input_value()
    r = page.request.get(f"/api/stats?area={area}&from={start}&to={end}")
    assert r.status == 200, r.text()
    stats = r.json()
    assert stats["area_code"] == area
    assert page.locator("#case-count").inner_text() == str(stats["cases"])
    metrics = {m["key"]: m for m in stats["metrics"]}
    cards = page.locator(".metric")
    assert cards.count() == len(CARD_KEYS)
    for i in range(cards.count()):
        card = cards.nth(i)
        key = card.get_attribute("data-key")
        m = metrics[key]
        assert card.get_attribute("data-denominator") == str(m["denominator"]), key
        assert float(card.get_attribute("data-numerator")) == pytest.approx(m["numerator"]), key
        shown = card.locator(".value").inner_text()
        if m["value"] is None:
            assert card.get_attribute("data-value") == "" and shown == "—", key
            continue
        assert float(card.get_attribute("data-value")) == pytest.approx(m["value"]), key
        number = float(re.sub(r"[^\d.]", "", shown))
        expected = m["value"] * 100 if m["kind"] == "rate" else m["value"]
        assert number == pytest.approx(expected, abs=0.051), (key, shown, m)
        frac = card.locator(".frac").inner_text()
        assert str(m["denominator"]) in frac, (key, frac)
    assert [card.get_attribute("data-key") for card in cards.all()] == CARD_KEYS
    return stats


def assert_panels_settled(page: Any) -> None:
    """Each list panel shows rows, 'no data', or its endpoint's HTTP status — never fake rows."""
    for panel in PANELS:
        el = page.locator(f"#{panel}")
        assert el.locator("table, .empty, .unavailable").count() >= 1, panel
    for note in page.locator(".unavailable").all():
        assert re.search(r"HTTP \d{3}", note.inner_text()), note.inner_text()


def both(table: dict[str, tuple[str, str]]) -> set[str]:
    return {f"{zh} {en}" for zh, en in table.values()}


def assert_one_vocabulary(page: Any) -> None:
    """Every status, level, role and term the page shows is ``schemas.vocab``'s word."""
    role = vocab.ROLES["county_reviewer"][0]
    assert f"（{role}）" in page.locator("#who-name").inner_text()
    for panel in ("overdue", "due-soon"):
        heads = page.locator(f"#{panel} th").all_inner_texts()
        if heads:
            assert heads[0] == " ".join(vocab.TERMS["tracking_code"]), heads
        statuses = {vocab.CASE_STATUSES[c][0] for c in vocab.CASE_STATUSES}
        for cell in page.locator(f"#{panel} tbody td:nth-child(4)").all_inner_texts():
            assert cell.removesuffix("（挂起）") in statuses, cell
    risk_rows = page.locator("#risks tr[data-risk]")
    assert risk_rows.count() > 0
    for cell in page.locator("#risks tr[data-risk] td:nth-child(8)").all_inner_texts():
        assert cell in both(vocab.RISK_STATUSES), cell
    for cell in page.locator("#risks tr[data-risk] td:nth-child(1)").all_inner_texts():
        assert cell in {zh for zh, _ in vocab.RISK_LEVELS.values()}, cell
    open_zh = "、".join(vocab.CASE_STATUSES[c][0] for c in vocab.OPEN_CASE_STATUSES)
    assert f"当前未结案件（{open_zh}）" in page.locator("#map-note").inner_text()


def make_conflict(couch: Any, demo: dict[str, Any], township: str) -> tuple[Any, str]:
    """Two offline edits of one risk entry, as two tablets would push them (a CouchDB
    conflict); returns the township database and the risk's id."""
    db = couch.db(demo["topology"].township_db(township))
    rows = db.all_docs(startkey="risk:", endkey="risk:\ufff0", include_docs=True)["rows"]
    base = next(r["doc"] for r in rows if r["doc"].get("type") == "risk")
    edits = [{**base, "owner": owner, "_rev": rev,
              "_revisions": {"start": 2, "ids": [rev[2:], base["_rev"][2:]]}}
             for owner, rev in (("乙方版本", "2-" + "a" * 32), ("丙方版本", "2-" + "b" * 32))]
    db.bulk_docs(edits, new_edits=False)
    return db, base["_id"]


def test_township_mediator_sees_own_township_only(browser, demo, artifacts, couch) -> None:  # type: ignore[no-untyped-def]
    own = demo["accounts"]["mediator01"][1][0]
    other = next(codes[0] for role, codes in demo["accounts"].values()
                 if role == "township_mediator" and codes[0] != own)
    db, risk_id = make_conflict(couch, demo, own)
    page = open_dashboard(browser, demo, "mediator01", 1366, 768)
    wait_loaded(page, own)
    assert_cards_match_api(page)

    # The conflict review queue: both versions side by side, the mediator keeps one.
    block = page.locator(f".conflict[data-conflict='{risk_id}']")
    assert block.locator(".version").count() == 2
    assert block.locator("dd.diff", has_text="乙方版本").count() == 1
    assert block.locator("dd.diff", has_text="丙方版本").count() == 1
    block.locator("textarea").fill("以乙方为准")
    block.locator(".version", has_text="乙方版本").get_by_role("button").click()
    block.wait_for(state="detached")
    assert db.get(risk_id)["owner"] == "乙方版本"
    assert not db.get(risk_id, conflicts=True).get("_conflicts")
    options = page.locator("#area option").evaluate_all("els => els.map(e => e.value)")
    assert options[0] == own and len(options) > 1
    assert all(code.startswith(own) for code in options), options
    assert other not in options
    # Forcing the other township into the select is refused by the API, not just hidden.
    page.locator("#area").evaluate(
        "(el, code) => el.add(new Option(code, code))", other)
    page.locator("#area").select_option(other)
    page.wait_for_function("document.getElementById('status').textContent.includes('403')")
    r = page.request.get(f"/api/stats?area={other}")
    assert r.status == 403
    assert page.request.get(f"/api/exports/cases.xlsx?area={other}").status == 403
    # A village of the mediator's own township: the cards follow the selected area.
    page.locator("#area").select_option(options[1])
    wait_loaded(page, options[1])
    assert_cards_match_api(page)
    assert_panels_settled(page)
    page.screenshot(path=str(artifacts / "dashboard-mediator-1366.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_county_reviewer_cards_breakdown_and_export(browser, demo, artifacts) -> None:  # type: ignore[no-untyped-def]
    county = demo["accounts"]["county"][1][0]
    page = open_dashboard(browser, demo, "county", 1920, 1080)
    wait_loaded(page, county)
    stats = assert_cards_match_api(page)
    assert stats["cases"] > 0
    # Breakdown: one row per township, plus the total.
    rows = page.locator("#breakdown tbody tr")
    assert rows.count() == len(stats["by_area"]) + 1
    assert [r.get_attribute("data-area") for r in rows.all()[:-1]] == [
        a["area_code"] for a in stats["by_area"]]
    page.wait_for_selector("#map .leaflet-interactive")
    page.wait_for_selector("#trend")
    assert_panels_settled(page)
    assert_one_vocabulary(page)
    page.screenshot(path=str(artifacts / "dashboard-county-1920.png"), full_page=False)
    page.screenshot(path=str(artifacts / "dashboard-county-1920-full.png"), full_page=True)
    # docs/screenshots/dashboard.png in the README is a copy of this artefact, refreshed by
    # hand: a test run leaves the working tree as it found it.

    # Another period: the cards still equal the API.
    page.locator("#from").fill(stats["to"][:4] + "-01-01")
    page.get_by_role("button", name="查询 / Show").click()
    wait_loaded(page, county)
    assert_cards_match_api(page)

    # Drill into a township from the breakdown table.
    township = stats["by_area"][0]
    page.locator(f"#breakdown tr[data-area='{township['area_code']}'] button").click()
    wait_loaded(page, township["area_code"])
    assert_cards_match_api(page)

    with page.expect_download() as info:
        page.locator("a[data-export='cases.xlsx']").click()
    download = info.value
    path = Path(download.path())
    assert download.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    sheet = workbook.worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[0] == vocab.TERMS["tracking_code"][0]
    column = header.index("办理状态")
    assert rows and {row[column] for row in rows} <= {zh for zh, _ in vocab.CASE_STATUSES.values()}
    # The 月报 of the period's month, as PDF, from the same panel.
    with page.expect_download() as info:
        page.locator("a[data-report='monthly.pdf']").click()
    assert info.value.suggested_filename == f"月报-{township['area_code']}-{stats['to'][:7]}.pdf"
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_wrong_password_then_grid_worker_is_told_to_use_the_tablet(browser, demo) -> None:  # type: ignore[no-untyped-def]
    worker = next(n for n, (role, _) in demo["accounts"].items() if role == "grid_worker")
    page = open_dashboard(browser, demo, worker, 1366, 768, password="not-the-password")
    page.wait_for_function("document.getElementById('login-error').textContent.length > 0")
    assert page.locator("#dash-view").is_hidden()
    page.get_by_label("密码 Password", exact=True).fill(demo["password"])
    page.get_by_role("button", name="登录 / Log in").click()
    page.wait_for_selector("#denied-view:not([hidden])")
    assert "和".join(vocab.ROLES[r][0] for r in ("township_mediator", "county_reviewer")) in page.locator("#denied-text").inner_text()
    assert page.locator("#dash-view").is_hidden()
    page.context.close()
