"""Differences between two boundary versions, and which stored cases they would move.

Before activating a new version an admin wants to know what changes: which areas were
added, removed, renamed or redrawn (with the area gained or lost, in m² on an
equal-area projection), and — given the locations of stored cases — how many cases would
move from which grid to which. Cases keep the version they were assigned under; this
tells whether re-assigning them is worth a look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .assign import GridIndex
from .boundaries import Boundaries
from .frame import areas_m2, equal_area_crs


@dataclass
class AreaChange:
    """One changed area: ``change`` is added, removed, geometry or renamed."""

    level: str
    code: str
    change: str
    name_old: str | None
    name_new: str | None
    area_old_m2: float | None
    area_new_m2: float | None
    changed_m2: float  # symmetric difference: how much ground changed hands

    @property
    def area_delta_m2(self) -> float:
        return (self.area_new_m2 or 0.0) - (self.area_old_m2 or 0.0)

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {"level": self.level, "code": self.code, "change": self.change,
                "name_old": self.name_old, "name_new": self.name_new,
                "area_old_m2": r(self.area_old_m2), "area_new_m2": r(self.area_new_m2),
                "area_delta_m2": round(self.area_delta_m2, 1), "changed_m2": round(self.changed_m2, 1)}


def diff_boundaries(old: Boundaries, new: Boundaries, *, tolerance_m2: float = 1.0) -> list[AreaChange]:
    """Areas that differ between ``old`` and ``new``, level by level, sorted by code.

    A geometry counts as changed when the symmetric difference is at least
    ``tolerance_m2`` (re-digitising noise below that is ignored).
    """
    all_geoms = np.concatenate([b.layer(lvl).geometry.values for b in (old, new) for lvl in b.levels])
    crs = equal_area_crs(all_geoms)
    out: list[AreaChange] = []
    for lvl in sorted(set(old.levels) | set(new.levels), key=["county", "township", "village", "grid"].index):
        a = _by_code(old.layer(lvl))
        b = _by_code(new.layer(lvl))
        area = lambda g: float(areas_m2(np.array([g], dtype=object), crs)[0])  # noqa: E731
        for code in sorted(set(a) | set(b)):
            if code not in b:
                name, g = a[code]
                out.append(AreaChange(lvl, code, "removed", name, None, area(g), None, area(g)))
            elif code not in a:
                name, g = b[code]
                out.append(AreaChange(lvl, code, "added", None, name, None, area(g), area(g)))
            else:
                (na, ga), (nb, gb) = a[code], b[code]
                if shapely.equals_exact(ga, gb, tolerance=0):
                    changed = 0.0
                else:
                    changed = area(shapely.symmetric_difference(ga, gb))
                if changed >= tolerance_m2:
                    out.append(AreaChange(lvl, code, "geometry", na, nb, area(ga), area(gb), changed))
                elif na != nb:
                    out.append(AreaChange(lvl, code, "renamed", na, nb, area(ga), area(gb), changed))
    return out


def _by_code(layer: gpd.GeoDataFrame) -> dict[str, tuple[str | None, Any]]:
    geoms = shapely.make_valid(layer.geometry.values) if len(layer) else []
    return {c: (n, g) for c, n, g in zip(layer["code"], layer["name"], geoms, strict=True)}


def case_moves(old: GridIndex, new: GridIndex, lons: Any, lats: Any) -> pd.DataFrame:
    """How many points (stored case locations) change area between two indexes.

    Returns one row per (from_code, to_code) with ``cases``, most first; unassigned points
    show as None. Only points whose code changes are counted.
    """
    a = old.locate_many(lons, lats, with_near_border=False)
    b = new.locate_many(lons, lats, with_near_border=False)
    col_a = _finest_code(a)
    col_b = _finest_code(b)
    moved = col_a.fillna("") != col_b.fillna("")
    frame = pd.DataFrame({"from_code": col_a[moved], "to_code": col_b[moved]}, dtype=object)
    if frame.empty:
        return pd.DataFrame({"from_code": [], "to_code": [], "cases": []})
    counts = frame.fillna("-").value_counts().reset_index(name="cases")
    counts = counts.replace("-", None)
    return counts.sort_values(["cases", "from_code"], ascending=[False, True], kind="stable",
                              na_position="last").reset_index(drop=True)


def _finest_code(df: pd.DataFrame) -> pd.Series:
    out = df["grid_code"].copy()
    for col in ("village_code", "township_code"):
        out = out.where(out.notna(), df[col])
    return out.astype(object)
