"""Administrative grids: county → township → village → grid.

Codes (:mod:`grid.codes`), boundary import (:mod:`grid.boundaries`), quality check
(:mod:`grid.check`), versions on disk (:mod:`grid.versions`), point assignment
(:mod:`grid.assign`), Chinese map coordinates (:mod:`grid.coords`), the demo county
(:mod:`grid.demo`), area documents for CouchDB (:mod:`grid.areas`), version diffs
(:mod:`grid.diff`). Imports nothing of ``server``, ``sync`` or ``schemas``, and no Flask.
"""

from .assign import Assignment, GridIndex
from .boundaries import Boundaries, read_boundaries, read_outline
from .check import CheckReport, Issue, check_boundaries
from .codes import (
    is_parent_of,
    is_valid_code,
    is_within,
    level_of,
    parent_of,
    prefix_range,
    validate_code,
    village_kind,
)
from .errors import GridError
from .versions import GridStore, Version

__all__ = [
    "Assignment", "Boundaries", "CheckReport", "GridError", "GridIndex", "GridStore", "Issue",
    "Version", "check_boundaries", "is_parent_of", "is_valid_code", "is_within", "level_of",
    "parent_of", "prefix_range", "read_boundaries", "read_outline", "validate_code", "village_kind",
]
