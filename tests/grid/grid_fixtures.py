"""Helpers for grid tests: hand-drawn squares and file writers.

The squares (lon/lat, ~1 km each, near 120.5E 29.7N)::

    lat 29.72 ┌──────────┬──────────┐
              │ ...001   │ ...002   │   village 339901100201 (村)
    lat 29.71 ├──────────┼──────────┤
              │ ...001   │ ...002   │   village 339901100001 (社区)
    lat 29.70 └──────────┴──────────┘
           lon 120.50  120.51    120.52
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from testenv import ROOT

from grid.boundaries import Boundaries, make_layer

TOWNSHIP = "339901100"
V_COMM = TOWNSHIP + "001"
V_VILL = TOWNSHIP + "201"
REAL = ROOT / ".." / "shared" / "data" / "real-520381"


def square(x: float, y: float, size: float = 0.01) -> shapely.Polygon:
    # round so that 120.50 + 0.01 is exactly the literal 120.51 the neighbours use
    return shapely.box(x, y, round(x + size, 9), round(y + size, 9))


def squares() -> Boundaries:
    grids = {
        V_COMM + "001": square(120.50, 29.70), V_COMM + "002": square(120.51, 29.70),
        V_VILL + "001": square(120.50, 29.71), V_VILL + "002": square(120.51, 29.71),
    }
    villages = {V_COMM: shapely.box(120.50, 29.70, 120.52, 29.71),
                V_VILL: shapely.box(120.50, 29.71, 120.52, 29.72)}
    return Boundaries({
        "township": make_layer([TOWNSHIP], ["枫桥镇"], [shapely.box(120.50, 29.70, 120.52, 29.72)]),
        "village": make_layer(list(villages), ["东湖社区", "上塘村"], list(villages.values())),
        "grid": make_layer(list(grids), [f"第{i}网格" for i in (1, 2, 1, 2)], list(grids.values())),
    }, source="squares")


def feature(props: dict[str, Any], geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": None if geom is None else json.loads(shapely.to_geojson(geom))}


def write_geojson(path: Path, features: list[dict[str, Any]], crs: str | None = None) -> Path:
    data: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


