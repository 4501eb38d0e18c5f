"""The tablet's browser fixtures: reference data in the township (two grids, the policies)
and a page of the tablet on the test's live server (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import factories as f
import pytest
from tabletpage import TIMEOUT_MS, area_doc

from schemas import validate_document
from server.domain.policies import policy_documents


@pytest.fixture
def reference_data(township_db) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    docs = [area_doc(f.GRID_A, "东村第一网格", 120.10, 30.10),
            area_doc(f.GRID_B, "东村第二网格", 120.12, 30.10), *policy_documents()]
    for doc in docs:
        assert validate_document(doc) == [], doc["_id"]
    township_db.bulk_docs(docs)
    return docs


@pytest.fixture
def page(browser, live, reference_data) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    # bypass_csp: Playwright's wait_for_function evaluates strings, which our strict CSP
    # forbids; tests/browser/test_csp.py drives the pages with the CSP in force.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    print("browser console errors:", errors)
    context.close()
