"""Sync fixtures beside the county of tests/conftest.py (``site``, ``live``, ``township_db``…):
real PouchDB clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pouch import PouchNode


@pytest.fixture(scope="session")
def pouch() -> Iterator[PouchNode]:
    node = PouchNode()
    yield node
    node.close()
