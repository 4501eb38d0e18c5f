"""Browser fixtures: Debian's chromium driven by Playwright, plus the sync fixtures.

The accounts, live server and database fixtures are the sync suite's own
(``tests/sync/conftest.py``), loaded from that file so both suites share one definition.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "fq_sync_conftest", Path(__file__).resolve().parents[1] / "sync" / "conftest.py")
assert _spec and _spec.loader
_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sync)
sync_app, topology, accounts, live = _sync.sync_app, _sync.topology, _sync.accounts, _sync.live
township_db, county_db = _sync.township_db, _sync.county_db


