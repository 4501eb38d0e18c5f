"""Every resource module of ``server/api`` is registered, and none is optional."""

from __future__ import annotations

from pathlib import Path

import server.api
from server.api import RESOURCES

API = Path(server.api.__file__).parent


def test_every_resource_module_is_registered_and_every_registered_one_exists():
    # docs.py is the Swagger page (a plain Flask blueprint), not an API resource.
    modules = {p.stem for p in API.glob("*.py")} - {"__init__", "docs"}
    assert set(RESOURCES) == modules
