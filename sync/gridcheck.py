"""The grid check on push: does a case's location fall in the area it claims?

A tablet sets ``area_code`` (its grid) and ``location`` (GPS, or a tap on the map, in the
CRS the device used). The gateway locates the point in the active boundary version
(``grid.versions.GridStore``) and refuses a case that claims a grid its point is not in,
with both grids named. GPS is not exact at borders, so a point within the near-border
distance (default 30 m) of the claimed grid is accepted. A case without a location, or a
county with no active boundary version yet, cannot be checked: it is accepted and the
check is skipped (``fengqiao db status`` and the logs say when boundaries are missing).

The index is loaded once per process and reloaded when another version is activated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from grid.assign import GridIndex
from grid.errors import GridError
from grid.versions import GridStore, store_home

from .push import LocationCheck

log = logging.getLogger("fengqiao.gridcheck")


class ActiveGrid:
    """The active version's GridIndex, reloaded when ``active.json`` changes."""

    def __init__(self, home: Path | str, near_m: float = 30.0) -> None:
        self.store = GridStore(home)
        self.near_m = near_m
        self._lock = threading.Lock()
        self._number: int | None = None
        self._index: GridIndex | None = None

    def index(self) -> GridIndex | None:
        number = self.store.active_number()
        if number is None:
            return None
        with self._lock:
            if number != self._number:
                self._index = self.store.get(number).index(near_m=self.near_m)
                self._number = number
                log.info("grid check uses boundary version %s", number)
            return self._index


def distance_to_area_m(index: GridIndex, code: str, lon: float, lat: float) -> float | None:
    """Metres from the point to the area ``code`` of the index's finest level (0 inside)."""
    hits = np.flatnonzero(index.codes == code)
    if hits.size == 0:
        return None
    x, y = index.frame.to_xy(lon, lat)
    return float(shapely.distance(index.geoms_xy[hits[0]], shapely.Point(float(x), float(y))))


def check_claim(index: GridIndex, area_code: str, lon: float, lat: float,
                crs: str = "wgs84") -> tuple[str, str] | None:
    """None when the point agrees with ``area_code``; else the reason in zh and en."""
    try:
        found = index.locate(lon, lat, crs)
    except (GridError, ValueError) as exc:
        return (f"位置无法识别：{exc}", f"location cannot be used: {exc}")
    finest = found.grid_code or found.village_code or found.township_code
    if finest is not None and (finest.startswith(area_code) or area_code.startswith(finest)):
        return None  # same area, or the claim is finer/coarser than the boundaries we hold
    claimed_in_index = area_code[: len(index.codes[0])] if len(index.codes) else area_code
    distance = distance_to_area_m(index, claimed_in_index, lon, lat)
    if distance is not None and distance <= index.near_m:
        return None  # within GPS error of the border: accepted
    where = finest or "县域之外 outside every grid"
    return (f"位置不在所报网格 {area_code} 内（定位在 {where}）",
            f"location is not in the claimed area {area_code} (it falls in {where})")


def location_check(settings: Mapping[str, Any]) -> LocationCheck:
    active = ActiveGrid(store_home(settings["FENGQIAO_HOME"]))

    def check(doc: Mapping[str, Any]) -> tuple[str, str] | None:
        location = doc.get("location")
        if not isinstance(location, dict):
            return None
        index = active.index()
        if index is None:
            return None
        return check_claim(index, str(doc.get("area_code", "")), float(location["lon"]),
                           float(location["lat"]), str(location.get("crs", "wgs84")))

    return check
