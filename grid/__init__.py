"""Administrative grids: county → township → village → grid.

Codes (:mod:`grid.codes`), boundary import (:mod:`grid.boundaries`), where boundaries land
and in which coordinate system (:mod:`grid.place`), quality check (:mod:`grid.check`),
versions on disk (:mod:`grid.versions`), point assignment (:mod:`grid.assign`), points
files (:mod:`grid.pointsfile`), Chinese map coordinates (:mod:`grid.coords`), the demo
county (:mod:`grid.demo`), area documents for CouchDB (:mod:`grid.areas`), version diffs
(:mod:`grid.diff`). Imports nothing of ``server``, ``sync`` or ``schemas``, and no Flask.

The names below are loaded on first use (PEP 562), so that ``import grid.assign`` — what
``grid assign`` and the gateway need — does not pull in geopandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Assignment": "assign", "GridIndex": "assign",
    "Boundaries": "boundaries", "read_boundaries": "boundaries", "read_outline": "boundaries",
    "CheckReport": "check", "Issue": "check", "check_boundaries": "check",
    "is_parent_of": "codes", "is_valid_code": "codes", "is_within": "codes", "level_of": "codes",
    "parent_of": "codes", "prefix_range": "codes", "validate_code": "codes", "village_kind": "codes",
    "GridError": "errors",
    "GridStore": "versions", "Version": "versions",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'grid' has no attribute {name!r}")
