"""The pages work with their strict Content-Security-Policy in force (server/headers.py):
no inline script, no eval, nothing from elsewhere. The other browser tests bypass the CSP
because Playwright's ``wait_for_function`` evaluates strings; this one waits on selectors
only and fails on any violation the browser reports."""

from __future__ import annotations

import factories as f
import pytest

from schemas import validate_document
from server.domain.policies import policy_documents


def _area(code: str, name: str, lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.02, lat], [lon + 0.02, lat + 0.02], [lon, lat + 0.02], [lon, lat]]
    return {"_id": f"area:{code}", "type": "area", "schema_version": 1, "level": "grid", "code": code,
            "name": name, "parent": code[:-3], "version": 1,
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [lon, lat, lon + 0.02, lat + 0.02]}


@pytest.fixture
def strict_page(browser, live, township_db):  # type: ignore[no-untyped-def]
    docs = [_area(f.GRID_A, "东村第一网格", 120.10, 30.10), *policy_documents()]
    assert all(validate_document(d) == [] for d in docs)
    township_db.bulk_docs(docs)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(f"{page.url} {m.location}: {m.text[:90]}")
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    yield page, violations
    context.close()


def test_tablet_dashboard_tracking_and_docs_work_under_the_csp(strict_page, live):  # type: ignore[no-untyped-def]
    page, violations = strict_page
    page.goto(f"{live.url}/tablet/")
    page.fill("#username", "alice")
    page.fill("#password", f.PASSWORD)
    page.click("#loginbtn")
    page.wait_for_selector("text=我的纠纷")
    page.wait_for_selector("text=上次同步")  # the first pull (with the grid's area) is done
    page.click('#tabs a[data-tab="new"]')
    page.wait_for_selector("#caseform .leaflet-interactive")  # the map drew the grid
    page.locator("#caseform [data-map]").click()
    page.wait_for_selector("text=WGS84")

    page.goto(f"{live.url}/dashboard/#/stats")
    page.get_by_label("用户名").fill("mia")
    page.get_by_label("密码 Password", exact=True).fill(f.PASSWORD)
    page.get_by_role("button", name="登录 / Log in").click()
    page.wait_for_selector("#dash-view:not([hidden])")
    page.wait_for_selector("body[data-loaded]")
    # the workbench's views: work list, case list and its filters, risk register, meetings
    for route, ready in (("todo", "[data-group]"), ("cases", "#case-filters button"),
                         ("risks", "#add-risk"), ("reviews", "#add-item")):
        page.goto(f"{live.url}/dashboard/#/{route}")
        page.wait_for_selector(ready)

    page.goto(f"{live.url}/track/ABCDEFGHJK")  # the public tracking page, a code from a QR scan
    page.wait_for_selector("#message:not([hidden])")
    page.fill("#code", "")
    page.click("#lookup-button")
    page.wait_for_selector("text=请输入查询码")

    page.goto(f"{live.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info")
    assert violations == []
