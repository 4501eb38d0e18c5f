"""Browser fixtures: one headless Debian chromium driven by Playwright. The county, its
accounts, the live server and ``artifacts`` (where screenshots go) are those of
tests/conftest.py; the dashboard brings its own demo county (``dashboard/conftest.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("FENGQIAO_CHROMIUM", "/usr/bin/chromium")
# Background networking off: this machine's closed network refuses Chromium's own calls.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run (Playwright's sync API allows one)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not installed: run `make test` as root (it installs Debian's "
                    "chromium) or `apt-get install chromium fonts-noto-cjk`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
