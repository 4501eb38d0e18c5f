"""The grid check on push: does a case's location fall in the grid it claims?

Filled in from the active boundary version of ``grid/`` (see ``location_check``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .push import LocationCheck


def location_check(settings: Mapping[str, Any]) -> LocationCheck | None:
    """None while no boundary version is active: then claims cannot be checked."""
    return None
