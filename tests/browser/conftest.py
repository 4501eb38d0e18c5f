"""Browser fixtures: Debian's chromium driven by Playwright, plus the sync fixtures.

The accounts, live server and database fixtures are the sync suite's own
(``tests/sync/conftest.py``), loaded from that file so both suites share one definition.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FENGQIAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

_spec = importlib.util.spec_from_file_location(
    "fq_sync_conftest", Path(__file__).resolve().parents[1] / "sync" / "conftest.py")
assert _spec and _spec.loader
_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sync)
sync_app, topology, accounts, live = _sync.sync_app, _sync.topology, _sync.accounts, _sync.live
township_db, county_db = _sync.township_db, _sync.county_db


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not installed: run `make test` as root (it installs Debian's "
                    "chromium) or `apt-get install chromium fonts-noto-cjk`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
