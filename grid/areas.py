"""Area documents for CouchDB: one ``area:<code>`` document per area of a version.

Tablets draw their grid, village and township on a map offline, so each area travels down
to them as a small document. The full geometry stays on disk in the version; the document
carries a simplified copy bounded in size (default ≤ 2,000 coordinates per area, 6
decimals ≈ 0.1 m) so a township's reference data stays light. The keys are fixed — the
marshmallow schema in ``schemas/`` is written against exactly these::

    _id "area:<code>", type "area", schema_version 1, level, code, name, parent (code or
    null), version (int), geometry (GeoJSON), bbox [minx, miny, maxx, maxy]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely

from .boundaries import Boundaries

SCHEMA_VERSION = 1
MAX_COORDS = 2000


def simplify_for_map(geom: Any, max_coords: int = MAX_COORDS) -> Any:
    """``geom`` with at most ``max_coords`` coordinates, simplified as little as needed.

    Tolerance doubles from 0.5 m until it fits (topology preserved, so no self-crossing);
    coordinates are rounded to 6 decimals. Raises ValueError if it cannot fit (an area
    with more parts than the budget allows).
    """
    geom = shapely.make_valid(geom)
    out = shapely.set_precision(geom, 1e-6) if shapely.get_num_coordinates(geom) else geom
    tol = 0.5 / 111_000  # ~0.5 m in degrees
    for _ in range(40):
        if shapely.get_num_coordinates(out) <= max_coords:
            return out
        out = shapely.set_precision(shapely.simplify(geom, tol, preserve_topology=True), 1e-6)
        tol *= 2
    raise ValueError(f"cannot simplify to {max_coords} coordinates")


def _geojson(geom: Any) -> dict[str, Any]:
    data = json.loads(shapely.to_geojson(geom))
    return data  # type: ignore[no-any-return]


def area_documents(boundaries: Boundaries, version: int, *, max_coords: int = MAX_COORDS
                   ) -> Iterator[dict[str, Any]]:
    """Yield the ``area:<code>`` document of every area, top level first, by code."""
    for level in boundaries.levels:
        layer = boundaries.layer(level).sort_values("code", kind="stable")
        for code, name, parent, geom in zip(layer["code"], layer["name"], layer["parent"],
                                            layer.geometry.values, strict=True):
            minx, miny, maxx, maxy = shapely.bounds(geom)
            yield {
                "_id": f"area:{code}",
                "type": "area",
                "schema_version": SCHEMA_VERSION,
                "level": level,
                "code": str(code),
                "name": None if name is None else str(name),
                "parent": None if parent is None or (isinstance(parent, float) and np.isnan(parent))
                else str(parent),
                "version": int(version),
                "geometry": _geojson(simplify_for_map(geom, max_coords)),
                "bbox": [round(float(v), 7) for v in (minx, miny, maxx, maxy)],
            }
