"""The public tracking page at phone width: a citizen types or scans the code, reads the
status, dates and deadlines in large type, and evaluates once after closure."""

from __future__ import annotations

from typing import Any

import factories as f
import pytest
from testenv import poll

from schemas import vocab

PHONE = {"width": 390, "height": 844}


def _store(township_db: Any, county_db: Any, *docs: dict[str, Any]) -> None:
    """Written as a tablet's sync would; the tracking API finds cases in the county copy."""
    assert all(r.get("ok") for r in township_db.bulk_docs(list(docs)))
    poll(lambda: all(county_db.get_or_none(d["_id"]) for d in docs), timeout=30)


@pytest.fixture
def matters(live, township_db, county_db) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    closed = f.case(f.GRID_A, "alice", created_at="2026-11-20T09:30:00+08:00",
                    parties=[{"role": "applicant", "name": "王喆"}])
    done = f.event(closed, "alice", kind="closed", at="2026-11-28T10:00:00+08:00", reply="已调解结案。")
    reported = f.case(f.GRID_A, "alice", policy="regulation")
    _store(township_db, county_db, closed, done, reported)
    return {"closed": closed, "reported": reported}


@pytest.fixture
def phone(browser, live, artifacts):  # type: ignore[no-untyped-def]
    # bypass_csp: wait_for_function evaluates strings; test_csp.py runs this page under the CSP.
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def smallest_text_px(page: Any) -> float:
    """The smallest computed font size of any visible element that holds text."""
    return page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
        .filter(el => el.offsetParent !== null && [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(el => parseFloat(getComputedStyle(el).fontSize)))""")


def test_a_citizen_looks_up_the_code_and_evaluates_once(phone, live, matters, township_db, artifacts):  # type: ignore[no-untyped-def]
    code = matters["closed"]["tracking_code"]
    phone.goto(f"{live.url}/track/")
    phone.wait_for_selector("body[data-ready]")
    assert phone.locator("#code-label").inner_text().startswith(vocab.TERMS["tracking_code"][0])
    phone.fill("#code", code.lower())  # typed in lower case: the page reads it as the code
    phone.click("#lookup-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.locator("#status").inner_text() == vocab.CASE_STATUSES["closed"][0]
    assert phone.locator("#result-code").inner_text() == code
    dates = phone.locator("#dates").inner_text()
    assert "2026年11月20日" in dates and "2026年11月28日" in dates
    assert "已按期完成" in phone.locator("#deadlines").inner_text()
    assert phone.url.endswith(f"/track/{code}")  # the address can be kept or shared

    # Large type, one column: nothing smaller than 20 px, nothing wider than the phone.
    assert smallest_text_px(phone) >= 20
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(artifacts / "track-phone.png"), full_page=True)

    phone.wait_for_selector("#evaluate:not([hidden])")
    phone.check("input[name=rating][value=satisfied]")
    phone.fill("#comment", "调解员很耐心")
    phone.click("#evaluate-button")
    phone.wait_for_selector("#evaluation-done:not([hidden])")
    assert vocab.EVALUATIONS["satisfied"][0] in phone.locator("#evaluation-done").inner_text()
    assert phone.locator("#evaluate").is_hidden()
    uuid = matters["closed"]["_id"].split(":", 1)[1]
    rows = township_db.all_docs(startkey=f"event:{uuid}:", endkey=f"event:{uuid}:\ufff0", include_docs=True)["rows"]
    ratings = [r["doc"] for r in rows if r["doc"].get("kind") == "evaluated"]
    assert [(e["rating"], e["actor"], e.get("comment")) for e in ratings] == [("satisfied", "public", "调解员很耐心")]

    # Scanning the QR code again: the page opens with the code and shows the evaluation.
    phone.goto(f"{live.url}/track/{code}")
    phone.wait_for_selector("#evaluation-done:not([hidden])")
    assert phone.locator("#evaluate").is_hidden()
    assert phone.errors == []


def test_an_open_matter_has_no_evaluation_and_a_bad_code_says_what_to_do(phone, live, matters):  # type: ignore[no-untyped-def]
    phone.goto(f"{live.url}/track/?code={matters['reported']['tracking_code']}")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.locator("#status").inner_text() == vocab.CASE_STATUSES["reported"][0]
    assert "应于" in phone.locator("#deadlines").inner_text()
    assert phone.locator("#evaluation").is_hidden()

    phone.fill("#code", "ABCDEFGHJK")
    phone.click("#lookup-button")
    phone.wait_for_selector("#message:not([hidden])")
    assert "请核对回执上的查询码" in phone.locator("#message").inner_text()
    assert phone.locator("#result").is_hidden()
    assert phone.errors == []
