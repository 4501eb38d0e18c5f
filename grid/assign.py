"""Assignment: which grid (village, township) a point belongs to — one point or millions.

Concept: assignment
-------------------
A point is *assigned* to the area of the finest level present (grid; or township when a
version holds townships only, as the real 赤水市 data does) whose polygon **covers** it
(interior or boundary), exactly as a brute-force ``shapely.covers`` over every area would
say, in storage lon/lat. Edge rule: a point on a shared edge or vertex is covered by
several areas; it goes to the one with the **smallest code** — deterministic, independent
of file order, and the same in every process. A point covered by no area is
``unassigned`` and carries the nearest area's code and its distance in metres.
``near_border`` is true when another area (not the assigned one; any area for an
unassigned point) lies within ``near_m`` metres (default 30 m), so the gateway can ask a
grid worker to confirm. Distances are measured in a local metric plane
(:class:`grid.frame.LocalFrame`, < 0.5 % scale error over a county) within ``FAR_DEG``
(0.25°, ~25 km) of the county's bounding box, where the plane's scale error stays below
~0.5 % too; beyond it the error grows without bound (a point on the other side of the
globe came out at 23,143 km, issue 18), so the distance is geodesic on the WGS-84
ellipsoid (``pyproj.Geod``) to the nearest point of the county's boundary.

Concept: cell index
-------------------
Most points lie well inside one grid, far from any border, and need no polygon test. The
index lays a raster of square cells (about 10–20 m) over the areas in the metric plane and
classifies each cell once, when the index is built:

* **far** — the whole cell lies inside area *g* and more than ``near_m`` from every other
  area: answer *g*, ``near_border=false`` without touching a polygon;
* **near** — the whole cell lies inside *g* and within ``near_m`` of another area:
  answer *g*, ``near_border=true``;
* **contour** — the whole cell lies inside *g* but straddles the ``near_m`` contour: the
  grid is known; ``near_border`` is one exact ``dwithin`` against the single other area in
  reach (remembered per cell), or a tree query when several are;
* **border, near certain** — the cell touches a border, but borders of two different
  areas pass within ``near_m - r`` of its centre: only the ``covers`` test is needed;
* **outside** — no area contains the cell centre and no border passes through the cell
  (and every point off the raster): the point is unassigned without a ``covers`` test;
  only the nearest area and its distance remain. Blocks of 8 × 8 cells keep the few edges
  that can be nearest to any point in them (a quadtree over the border, bounded by the
  triangle inequality, see :func:`_block_candidates`), so a point costs a handful of
  point–segment distances in numpy, computed as GEOS computes them (81 k outside points
  took 0.76 s in GEOS's nearest-segment query on a real county before, most of
  ``grid assign``'s time there — issue 18; now ~0.05 s). Points off the raster ask a
  tree of border segments;
* **border** — anything else (touches a border, or where areas overlap): the exact path
  (STRtree ``covers`` in lon/lat, ``dwithin`` in metres, the block candidates for nearest).

Classification is rigorous, not sampled: cell centres are labelled by scanline
rasterisation, and the exact distance from each centre to every border segment nearby
(borders split into pieces no longer than a cell) bounds the distance of every point of the
cell (± half the cell diagonal, plus a 1 cm margin for rounding). A cell is fast only if
that bound proves the answer; so the fast path returns exactly the brute-force answer.
Lookups are vectorised with numpy (no Python loop per point); a single-point lookup is a
couple of array reads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from .coords import to_storage
from .errors import GridError
from .frame import LocalFrame

if TYPE_CHECKING:  # pandas and geopandas stay out of `grid assign`'s start-up
    import pandas as pd

    from .boundaries import Boundaries

#: Statuses of an assignment.
ASSIGNED = "assigned"
UNASSIGNED = "unassigned"
_STATUS = np.array([ASSIGNED, UNASSIGNED, "invalid"], dtype=object)
_MARGIN_M = 0.01  # metres of slack for float rounding between lon/lat and the metric plane
#: Points farther than this (degrees) outside the county's bounding box are measured
#: geodesically, not in the local plane.
FAR_DEG = 0.25
#: Cell values: -1 border (exact path), -2 border with near_border certain, -3 outside.
_BORDER, _BORDER_NEAR, _OUTSIDE = -1, -2, -3
#: Version of the cell-index layout saved beside a version (older caches are rebuilt).
CELLS_FORMAT = 4
#: Side, in metres (rounded to whole cells: 8 cells of a stored version's 10–20 m), of the
#: blocks that keep the candidate edges for nearest-area queries.
_BLOCK_M = 120.0
_PAIRS = 1 << 16  # point-edge pairs per chunk of a nearest query
_POINTS = 1 << 16  # points per chunk of locate_arrays


@dataclass(frozen=True)
class Assignment:
    """The answer for one point. Codes are None at levels the version does not have."""

    grid_code: str | None
    village_code: str | None
    township_code: str | None
    status: str
    near_border: bool
    nearest_code: str | None = None
    distance_m: float = 0.0
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# geodesic search along the county boundary: coarse and fine sample spacing (degrees) and
# the longest a coarse step can be in metres (a degree of latitude is < 111.7 km)
_COARSE_DEG, _FINE_DEG = 0.005, 0.0001
_COARSE_M = _COARSE_DEG * 111_700.0


@dataclass(frozen=True)
class Located:
    """Answers for many points as arrays: ``area`` (index into the index's sorted codes, -1
    none), ``state`` (0 assigned, 1 unassigned, 2 invalid coordinate), ``near_border``,
    ``nearest`` (index, -1 none) and ``distance_m``."""

    area: NDArray[np.int64]
    state: NDArray[np.int8]
    near_border: NDArray[np.bool_]
    nearest: NDArray[np.int64]
    distance_m: NDArray[np.float64]


class GridIndex:
    """Point → area lookups over the finest level of one boundary version.

    Build it from :class:`~grid.boundaries.Boundaries` (or ``Version.index()``), then ask
    :meth:`locate` for one point or :meth:`locate_many` for arrays. ``near_m`` is the
    near-border distance; ``cell_m`` the cell size of the cell index (default: chosen from
    the extent, 10–20 m, at most ~8 million cells). ``points``: the index answers one batch
    of about this many points and is then dropped (``grid assign FILE``), so its cells are
    as coarse as that batch repays — about four cells per point, 10–60 m: a stored
    version's 12 million cells took 3.7 s to build for a 500 k-point file whose lookups
    took 0.2 s, where 60 m cells build in 0.35 s and answer in 0.45 s. Thread-safe for
    reading.
    """

    def __init__(
        self,
        boundaries: Boundaries,
        *,
        version: int | None = None,
        near_m: float = 30.0,
        cell_m: float | None = None,
        cells: dict[str, Any] | None = None,
        points: int | None = None,
    ) -> None:
        self._points_hint = points
        self._setup(*self.areas_of(boundaries), version, near_m, cell_m, cells)

    @staticmethod
    def areas_of(boundaries: Boundaries) -> tuple[str, NDArray[np.object_], NDArray[np.object_],
                                                   NDArray[np.object_]]:
        """(level, codes, names, geometries) of the finest level, sorted by code and made
        valid: what an index is built from (see :meth:`from_areas`)."""
        level = boundaries.finest_level
        layer = boundaries.layer(level).sort_values("code", kind="stable").reset_index(drop=True)
        # valid polygons only (an unchecked version may hold a bowtie); covers() on the
        # repaired shape is what a person means by "inside"
        return (level, layer["code"].to_numpy(dtype=object), layer["name"].to_numpy(dtype=object),
                shapely.make_valid(layer.geometry.values))

    @classmethod
    def from_areas(cls, level: str, codes: ArrayLike, names: ArrayLike, geoms: ArrayLike, *,
                   version: int | None = None, near_m: float = 30.0, cell_m: float | None = None,
                   cells: dict[str, Any] | None = None, points: int | None = None) -> GridIndex:
        """An index over areas given as arrays, already sorted by code and valid (what a
        version caches beside itself, so ``grid assign`` needs neither geopandas nor a
        GeoPackage reader). ``points`` as for the constructor."""
        self = cls.__new__(cls)
        self._points_hint = points
        self._setup(level, np.asarray(codes, dtype=object), np.asarray(names, dtype=object),
                    np.asarray(geoms, dtype=object), version, near_m, cell_m, cells)
        return self

    def _setup(self, level: str, codes: NDArray[np.object_], names: NDArray[np.object_],
               geoms: NDArray[np.object_], version: int | None, near_m: float,
               cell_m: float | None, cells: dict[str, Any] | None) -> None:
        if near_m < 0:
            raise ValueError("near_m must be >= 0")
        self.version = version
        self.near_m = float(near_m)
        self.level = level
        self.codes: NDArray[np.object_] = codes
        self.names: NDArray[np.object_] = names
        self.geoms = geoms
        self.tree = shapely.STRtree(geoms)
        self.frame = LocalFrame.around(geoms)
        self._bounds = tuple(float(v) for v in shapely.total_bounds(geoms))
        self.geoms_xy = self.frame.geoms_to_xy(geoms)
        self.tree_xy = shapely.STRtree(self.geoms_xy)
        n = len(self.codes)
        self._grid = np.array([c if len(c) == 15 else None for c in self.codes], dtype=object)
        self._village = np.array([c[:12] if len(c) >= 12 else None for c in self.codes], dtype=object)
        self._township = np.array([c[:9] if len(c) >= 9 else None for c in self.codes], dtype=object)
        none = np.array([None], dtype=object)
        self._grid_t, self._village_t, self._township_t, self._codes_t = (
            np.r_[a, none] for a in (self._grid, self._village, self._township, self.codes))
        self._fast = [
            Assignment(self._grid[i], self._village[i], self._township[i], ASSIGNED, near, None, 0.0,
                       version)
            for near in (False, True) for i in range(n)
        ]
        self._segments: tuple[Any, NDArray[np.int64]] | None = None
        self._edge_arrays: tuple[NDArray[np.float64], NDArray[np.int64]] | None = None
        self._edge_cols: tuple[NDArray[np.float64], ...] | None = None
        self._outer: Any = None
        if (cells is not None and float(cells["near_m"]) == self.near_m and int(cells["n"]) == n
                and int(cells.get("format", 1)) == CELLS_FORMAT):
            self._load_cells(cells)
        else:
            self._build_cells(cell_m)

    def cell_state(self) -> dict[str, Any]:
        """The built cell index as arrays, to save next to a version (``np.savez``) and pass
        back as ``cells=`` — building takes seconds for a county, loading milliseconds."""
        return {"cells": self.cells, "pair_g": self._pair_g, "pair_h": self._pair_h,
                "grid": np.array([self.x0, self.y0, self.cell_m, self.nx, self.ny]),
                "blk_start": self._blk_start, "blk_cand": self._blk_cand, "blk_cells": self._blk_cells,
                "near_m": self.near_m, "n": len(self.codes), "format": CELLS_FORMAT}

    def _load_cells(self, state: dict[str, Any]) -> None:
        self.cells = np.asarray(state["cells"])
        self._pair_g = np.asarray(state["pair_g"], dtype=np.int64)
        self._pair_h = np.asarray(state["pair_h"], dtype=np.int64)
        x0, y0, cs, nx, ny = (float(v) for v in state["grid"])
        self.x0, self.y0, self.cell_m, self.nx, self.ny = x0, y0, cs, int(nx), int(ny)
        self._blk_start = np.asarray(state["blk_start"], dtype=np.int64)
        self._blk_cand = np.asarray(state["blk_cand"], dtype=np.int32)
        self._blk_cells = int(state["blk_cells"])
        self._finish_cells()

    # ------------------------------------------------------------------ cell index
    def _build_cells(self, cell_m: float | None) -> None:
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms_xy)
        w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        if cell_m is None:
            cell_m = min(20.0, max(10.0, math.sqrt(w * h / 12e6)))
            if self._points_hint is not None:  # one batch: about four cells per point
                cell_m = min(60.0, max(cell_m, math.sqrt(w * h / (4 * max(self._points_hint, 1)))))
        self.cell_m = cs = float(cell_m)
        self.x0, self.y0 = minx, miny
        self.nx, self.ny = int(math.ceil(w / cs)), int(math.ceil(h / cs))
        n = len(self.codes)
        count, label = _rasterise(self.geoms_xy, self.x0, self.y0, cs, self.nx, self.ny)
        r = cs * math.sqrt(2) / 2  # half diagonal: every point of a cell is this close to its centre
        reach = self.near_m + r + _MARGIN_M
        close = self.near_m - r - _MARGIN_M
        d_all, d_other, o_min, o_max, two_close = _border_distances(
            self.geoms_xy, label, self.x0, self.y0, cs, self.nx, self.ny, reach, close)
        inside = (count == 1) & (d_all > r + _MARGIN_M)
        far = inside & (d_other > reach)
        near = inside & (d_other <= self.near_m - r - _MARGIN_M)
        unsure = inside & ~far & ~near
        # value: area g far from others = g; near another = g + n; inside g but straddling
        # the near_m contour = 2n + k, where pair k = (g, h): h is the only other area
        # within reach (one exact distance test), or -1 (several: ask the tree); else -1
        only = np.where(o_min == o_max, o_min, -1)
        # pairs (g, h) numbered in lexicographic order; one int64 key each sorts the same way
        # and 4× faster than np.unique(axis=0)
        key = label[unsure].astype(np.int64) * (n + 1) + (only[unsure].astype(np.int64) + 1)
        uniq, k = np.unique(key, return_inverse=True)
        pairs = np.c_[uniq // (n + 1), uniq % (n + 1) - 1].astype(np.int64)
        self._pair_g, self._pair_h = pairs[:, 0].copy(), pairs[:, 1].copy()
        top = 2 * n + len(pairs)
        dtype = np.int16 if top < np.iinfo(np.int16).max else np.int32
        cells = np.full((self.ny, self.nx), -1, dtype=dtype)
        cells[unsure] = 2 * n + k.ravel()
        cells[far] = label[far]
        cells[near] = label[near] + n
        # a border cell where two areas' borders pass within near_m - r of the centre: every
        # point of it has an area other than its own within near_m, so near_border is
        # certain and only the covers test remains
        cells[(cells == -1) & two_close] = _BORDER_NEAR
        # no area holds the centre and no border comes within the half diagonal: the whole
        # cell is outside every area (d_all is inf beyond reach, which is as good)
        cells[(cells == -1) & (count == 0) & (d_all > r + _MARGIN_M)] = _OUTSIDE
        self.cells = cells
        block_m = _BLOCK_M
        if self._points_hint is not None:  # one batch: a block per ~4 points at most
            block_m = max(block_m, math.sqrt(w * h * 4 / max(self._points_hint, 1)))
        self._blk_cells = max(1, round(block_m / cs))
        self._blk_start, self._blk_cand = _block_candidates(
            self._edges()[0], cells < 0, self.x0, self.y0, cs, self._blk_cells)
        self._finish_cells()

    def _edges(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Every ring edge of the areas in the metric plane, [x1, y1, x2, y2], and its area."""
        if self._edge_arrays is None:
            self._edge_arrays = _ring_edges(self.geoms_xy)
        return self._edge_arrays

    def _edge_columns(self) -> tuple[NDArray[np.float64], ...]:
        """x1, y1, x2, y2 of :meth:`_edges`, each contiguous (gathers by edge are faster)."""
        if self._edge_cols is None:
            self._edge_cols = tuple(np.ascontiguousarray(c) for c in self._edges()[0].T)
        return self._edge_cols

    def _finish_cells(self) -> None:
        n = len(self.codes)
        self._bx = -(-self.nx // self._blk_cells)
        self._inv_cs = 1.0 / self.cell_m
        self._n, self._n2 = n, 2 * n
        self._kx, self._ky = self.frame.kx, self.frame.ky

    @property
    def fast_fraction(self) -> float:
        """Share of cells answered without a polygon test (by cell count, not area)."""
        return float((self.cells >= 0).mean())

    def _cell_values(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int32]:
        """Cell value per point: off the raster by more than a metre is outside (the raster
        covers every area's bounds); the last metre goes the exact way."""
        fx = (x - self.x0) * self._inv_cs
        fy = (y - self.y0) * self._inv_cs
        ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        margin = self._inv_cs  # one metre in cells
        off = ~((fx >= -margin) & (fx < self.nx + margin) & (fy >= -margin) & (fy < self.ny + margin))
        out = np.where(off, _OUTSIDE, _BORDER).astype(np.int32)
        out[ok] = self.cells[fy[ok].astype(np.intp), fx[ok].astype(np.intp)]
        return out

    # ------------------------------------------------------------------ lookups
    def locate(self, lon: float, lat: float, crs: str = "wgs84") -> Assignment:
        """The assignment of one point given in ``crs`` (wgs84, cgcs2000, gcj02, bd09).

        Raises GridError for a non-finite coordinate; never for a point outside the
        county (that is an ``unassigned`` answer).
        """
        if crs not in ("wgs84", "cgcs2000"):
            lon_a, lat_a = to_storage(lon, lat, crs)
            lon, lat = float(lon_a), float(lat_a)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise GridError(f"坐标无效：{lon}, {lat}", f"invalid coordinate: {lon}, {lat}")
        x = (lon - self.frame.lon0) * self._kx
        y = (lat - self.frame.lat0) * self._ky
        fx = (x - self.x0) * self._inv_cs
        fy = (y - self.y0) * self._inv_cs
        if 0 <= fx < self.nx and 0 <= fy < self.ny:
            v = int(self.cells[int(fy), int(fx)])
            if 0 <= v < self._n2:
                return self._fast[v]
            if v >= 0:
                g, h = int(self._pair_g[v - self._n2]), int(self._pair_h[v - self._n2])
                if h >= 0:
                    near = bool(shapely.dwithin(self.geoms_xy[h], shapely.Point(x, y), self.near_m))
                    return self._fast[g + self._n if near else g]
                return self._exact_one(lon, lat, x, y, g)
            if v == _OUTSIDE:
                return self._outside_one(lon, lat, x, y)
            return self._exact_one(lon, lat, x, y, -1, near_known=v == _BORDER_NEAR)
        if int(self._cell_values(np.array([x]), np.array([y]))[0]) == _OUTSIDE:
            return self._outside_one(lon, lat, x, y)
        return self._exact_one(lon, lat, x, y, -1)

    def _outside_one(self, lon: float, lat: float, x: float, y: float) -> Assignment:
        g, d = self._nearest(np.array([lon]), np.array([lat]), np.array([x]), np.array([y]))
        return Assignment(None, None, None, UNASSIGNED, bool(d[0] <= self.near_m), str(self.codes[g[0]]),
                          float(d[0]), self.version)

    def _exact_one(self, lon: float, lat: float, x: float, y: float, known: int,
                   near_known: bool = False) -> Assignment:
        if known >= 0:
            hits = np.array([known])
        else:
            hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        pxy = shapely.Point(x, y)
        if len(hits):
            g = int(hits.min())
            if near_known:
                return self._fast[g + len(self.codes)]
            close = self.tree_xy.query(pxy, predicate="dwithin", distance=self.near_m)
            near = bool((close != g).any())
            return self._fast[g + len(self.codes) if near else g]
        return self._outside_one(lon, lat, x, y)

    def locate_arrays(self, lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84", *,
                      with_near_border: bool = True) -> Located:
        """The answers as plain arrays (see :class:`Located`): what :meth:`locate_many`
        wraps in a DataFrame, and what ``grid assign`` writes without one."""
        if crs in ("wgs84", "cgcs2000"):  # no copy on the common path
            lon = np.asarray(lons, dtype=np.float64).ravel()
            lat = np.asarray(lats, dtype=np.float64).ravel()
        else:
            lon_c, lat_c = to_storage(lons, lats, crs)
            lon, lat = np.atleast_1d(lon_c).ravel(), np.atleast_1d(lat_c).ravel()
        if len(lon) <= _POINTS:
            return self._locate_chunk(lon, lat, with_near_border)
        # a chunk at a time: its temporaries are reused instead of fresh pages for each
        # step over every point (first touches of memory cost more than the arithmetic here)
        npts = len(lon)
        out = Located(np.empty(npts, np.int64), np.empty(npts, np.int8), np.empty(npts, bool),
                      np.empty(npts, np.int64), np.empty(npts))
        for lo in range(0, npts, _POINTS):
            part = self._locate_chunk(lon[lo:lo + _POINTS], lat[lo:lo + _POINTS], with_near_border)
            for name in ("area", "state", "near_border", "nearest", "distance_m"):
                getattr(out, name)[lo:lo + _POINTS] = getattr(part, name)
        return out

    def _locate_chunk(self, lon: NDArray[np.float64], lat: NDArray[np.float64],
                      with_near_border: bool) -> Located:
        n, npts = len(self.codes), len(lon)
        x, y = self.frame.to_xy(lon, lat)
        finite = np.isfinite(x) & np.isfinite(y)
        all_finite = bool(finite.all())
        if all_finite:
            v = self._cell_values(x, y).astype(np.int32)
        else:
            v = self._cell_values(np.where(finite, x, 0.0), np.where(finite, y, 0.0)).astype(np.int32)
        unsure = np.flatnonzero(v >= 2 * n)
        g = np.where((v >= 0) & (v < 2 * n), v % max(n, 1), -1).astype(np.int64)
        g[unsure] = self._pair_g[v[unsure] - 2 * n]
        near = (v >= n) & (v < 2 * n)
        nearest = np.full(npts, -1, dtype=np.int64)
        dist = np.zeros(npts)
        slow = np.flatnonzero((v < 0) & (v != _OUTSIDE) & finite)
        if len(slow):
            g_s, near_s, nearest_s, dist_s = self._exact_many(
                lon[slow], lat[slow], x[slow], y[slow], with_near_border, v[slow] == _BORDER_NEAR)
            g[slow], near[slow], nearest[slow], dist[slow] = g_s, near_s, nearest_s, dist_s
        out = np.flatnonzero((v == _OUTSIDE) & finite)
        if len(out):
            nearest[out], dist[out] = self._nearest(lon[out], lat[out], x[out], y[out])
            near[out] = dist[out] <= self.near_m
        if with_near_border and len(unsure):
            h = self._pair_h[v[unsure] - 2 * n]
            one = h >= 0
            pts = shapely.points(x[unsure], y[unsure])
            near[unsure[one]] = shapely.dwithin(self.geoms_xy[h[one]], pts[one], self.near_m)
            several = unsure[~one]
            if len(several):
                near[several] = self._near_other(x[several], y[several], g[several])
        state = (g < 0).astype(np.int8)
        if not all_finite:
            state[~finite] = 2
        return Located(g, state, near, nearest, dist)

    def locate_many(self, lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84", *,
                    with_near_border: bool = True) -> pd.DataFrame:
        """Assignments of many points (arrays in ``crs``), one row per point, in order.

        Columns: grid_code, village_code, township_code, status, near_border,
        nearest_code, distance_m, version. NaN coordinates give ``status='invalid'``.
        ``with_near_border=False`` skips the near-border test (the column is then absent):
        the like-for-like comparison with a plain spatial join.
        """
        import pandas as pd

        r = self.locate_arrays(lons, lats, crs, with_near_border=with_near_border)
        n, npts = len(self.codes), len(r.area)
        # look-ups through tables with a trailing None: index n means "no area"
        pick = np.where(r.area >= 0, r.area, n)

        def col(table: NDArray[np.object_], idx: NDArray[np.int64]) -> pd.Series:
            return pd.Series(table.take(idx), dtype=object)  # keep None (pandas 3 would make NaN)

        return pd.DataFrame({
            "grid_code": col(self._grid_t, pick),
            "village_code": col(self._village_t, pick),
            "township_code": col(self._township_t, pick),
            "status": col(_STATUS, r.state),
            **({"near_border": r.near_border} if with_near_border else {}),
            "nearest_code": col(self._codes_t, np.where(r.nearest >= 0, r.nearest, n)),
            "distance_m": r.distance_m,
            "version": pd.array(np.full(npts, self.version if self.version is not None else 0),
                                dtype="Int64") if self.version is not None
            else pd.array([None] * npts, dtype="Int64"),
        })

    # ------------------------------------------------------------------ outside points
    def _segment_tree(self) -> tuple[Any, NDArray[np.int64]]:
        """Every ring edge in the metric plane as its own line, in an STRtree, with its area:
        built on first use (an index whose points all fall inside never needs it)."""
        if self._segments is None:
            edges, owner = self._edges()
            lines = shapely.linestrings(edges.reshape(-1, 2, 2))
            self._segments = (shapely.STRtree(lines), owner.astype(np.int64))
        return self._segments

    def _nearest(self, lon: NDArray[np.float64], lat: NDArray[np.float64], x: NDArray[np.float64],
                 y: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Nearest area (smallest code among equally near ones) and distance in metres of
        points outside every area: the block candidates on the raster, the segment tree off
        it, both in the metric plane; geodesic beyond ``FAR_DEG`` of the county's bounding
        box."""
        best, dmin = self._nearest_blocks(x, y)
        rest = np.flatnonzero(best < 0)
        if len(rest):
            best[rest], dmin[rest] = self._nearest_tree(x[rest], y[rest])
        minx, miny, maxx, maxy = self._bounds
        far = np.flatnonzero((lon < minx - FAR_DEG) | (lon > maxx + FAR_DEG)
                             | (lat < miny - FAR_DEG) | (lat > maxy + FAR_DEG))
        if len(far):
            best[far], dmin[far] = self._geodesic(lon[far], lat[far])
        return best, dmin

    def _nearest_blocks(self, x: NDArray[np.float64], y: NDArray[np.float64]
                        ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Nearest area and distance for points on the raster, from the candidate segments
        of their block (see :func:`_block_candidates`): a few exact point–segment distances
        per point in numpy. Points off the raster get area -1 (the caller asks the tree)."""
        m = len(x)
        best = np.full(m, -1, dtype=np.int64)
        dmin = np.full(m, np.inf)
        fx = (x - self.x0) * self._inv_cs
        fy = (y - self.y0) * self._inv_cs
        on = np.flatnonzero((fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny))
        if not len(on):
            return best, dmin
        b = self._blk_cells
        block = (fy[on].astype(np.intp) // b) * self._bx + fx[on].astype(np.intp) // b
        start = self._blk_start[block]
        count = self._blk_start[block + 1] - start
        has = count > 0  # a block without candidates holds no point that needs one
        on, start, count = on[has], start[has], count[has]
        if not len(on):
            return best, dmin
        edges, owner = self._edges()
        ex1, ey1, ex2, ey2 = self._edge_columns()
        xo, yo = x[on], y[on]
        top = np.iinfo(np.int64).max
        # in chunks of ~64 k point-edge pairs: temporaries stay small and are reused (one pass
        # over 3 M pairs at once spent 10× longer faulting in fresh pages than computing)
        ends = np.searchsorted(np.cumsum(count), np.arange(1, int(count.sum()) // _PAIRS + 2) * _PAIRS)
        lo = 0
        for hi in np.minimum(np.r_[ends, len(on)], len(on)).tolist():  # nondecreasing
            if hi <= lo:
                continue
            cnt = count[lo:hi]
            ptr = np.cumsum(cnt) - cnt
            pair = np.repeat(np.arange(hi - lo), cnt)
            seg = self._blk_cand[np.repeat(start[lo:hi] - ptr, cnt) + np.arange(len(pair))]
            d = _segment_distance(xo[lo:hi].take(pair), yo[lo:hi].take(pair), ex1.take(seg),
                                  ey1.take(seg), ex2.take(seg), ey2.take(seg))
            dm = np.minimum.reduceat(d, ptr)
            who = np.where(d <= dm.take(pair), owner.take(seg), top)
            best[on[lo:hi]] = np.minimum.reduceat(who, ptr)
            dmin[on[lo:hi]] = dm
            lo = hi
        return best, dmin

    def _nearest_tree(self, x: NDArray[np.float64], y: NDArray[np.float64]
                      ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Nearest area and distance from the tree of every ring edge (metric plane)."""
        n, m = len(self.codes), len(x)
        tree, owner = self._segment_tree()
        (qi, qs), qd = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=True)
        dmin = np.full(m, np.inf)
        np.minimum.at(dmin, qi, qd)
        best = np.full(m, n, dtype=np.int64)
        tie = qd <= dmin[qi]
        np.minimum.at(best, qi[tie], owner[qs[tie]])
        return best, dmin

    def _outer_rings(self) -> list[tuple[NDArray[np.float64], NDArray[np.int64]]]:
        """The county's boundary (union of the areas) in lon/lat: per ring, its vertices
        segmentized to at most ``_FINE_DEG`` apart, and the positions of coarse samples
        (one every ``_COARSE_DEG`` along the ring). Built on first use."""
        if self._outer is None:
            union = shapely.union_all(self.geoms)
            rings = [r for p in shapely.get_parts(union) for r in shapely.get_rings(p)]
            out = []
            for ring in rings:
                fine = shapely.get_coordinates(shapely.segmentize(ring, _FINE_DEG))
                along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(fine, axis=0).T))]
                step = np.floor(along / _COARSE_DEG)
                coarse = np.r_[0, np.flatnonzero(np.diff(step)) + 1, len(fine) - 1]
                out.append((fine, np.unique(coarse)))
            self._outer = out
        return self._outer  # type: ignore[no-any-return]

    def _geodesic(self, lon: NDArray[np.float64], lat: NDArray[np.float64]
                  ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Geodesic distance (WGS-84) to the county's boundary and the nearest area, for
        points far outside.

        Coarse samples every ``_COARSE_DEG`` along each boundary ring find the stretches
        that can hold the nearest point: every point of a ring lies within ``_COARSE_DEG``
        along the ring of a sample, i.e. within ``_COARSE_M`` metres, so only stretches
        whose sample is within ``2 × _COARSE_M`` of the best are searched again, vertex by
        vertex at ``_FINE_DEG`` (~11 m). That far out the spacing errs by millimetres.
        """
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        rings = self._outer_rings()
        out_d = np.empty(len(lon))
        out_g = np.empty(len(lon), dtype=np.int64)

        def inv(k: int, pts: NDArray[np.float64]) -> NDArray[np.float64]:
            _, _, d = geod.inv(np.full(len(pts), lon[k]), np.full(len(pts), lat[k]), pts[:, 0], pts[:, 1])
            return np.asarray(d)

        for k in range(len(lon)):
            dists = [inv(k, fine[coarse]) for fine, coarse in rings]
            floor = min(float(d.min()) for d in dists)
            best_d, best_q = np.inf, (0.0, 0.0)
            for (fine, coarse), d in zip(rings, dists, strict=True):
                for j in np.flatnonzero(d <= floor + 2 * _COARSE_M):
                    lo, hi = coarse[max(j - 1, 0)], coarse[min(j + 1, len(coarse) - 1)]
                    q = fine[lo:hi + 1]
                    dq = inv(k, q)
                    i = int(np.argmin(dq))
                    if dq[i] < best_d:
                        best_d, best_q = float(dq[i]), (float(q[i, 0]), float(q[i, 1]))
            idx = self.tree.query_nearest(shapely.Point(*best_q), all_matches=True)
            out_d[k], out_g[k] = best_d, int(np.min(idx))
        return out_g, out_d

    def _near_other(self, x: NDArray[np.float64], y: NDArray[np.float64],
                    g: NDArray[np.int64]) -> NDArray[np.bool_]:
        """True where an area other than ``g`` lies within ``near_m`` (metric plane)."""
        near = np.zeros(len(x), dtype=bool)
        qi, qg = self.tree_xy.query(shapely.points(x, y), predicate="dwithin", distance=self.near_m)
        near[qi[qg != g[qi]]] = True  # repeats are harmless (and np.unique imports numpy.ma)
        return near

    def _exact_many(self, lon: NDArray[np.float64], lat: NDArray[np.float64],
                    x: NDArray[np.float64], y: NDArray[np.float64], with_near_border: bool = True,
                    near_known: NDArray[np.bool_] | None = None):  # type: ignore[no-untyped-def]
        """The exact path, vectorised: covers in lon/lat, dwithin and nearest in metres."""
        m, n = len(lon), len(self.codes)
        pi, gi = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        g = np.full(m, n, dtype=np.int64)
        np.minimum.at(g, pi, gi)  # the edge rule: smallest code (codes are sorted)
        assigned = g < n
        g[~assigned] = -1
        near = np.zeros(m, dtype=bool)
        nearest = np.full(m, -1, dtype=np.int64)
        dist = np.zeros(m)
        if near_known is not None:
            near[near_known] = True
            a_idx = np.flatnonzero(assigned & ~near_known)
        else:
            a_idx = np.flatnonzero(assigned)
        if len(a_idx) and with_near_border:
            near[a_idx] = self._near_other(x[a_idx], y[a_idx], g[a_idx])
        u_idx = np.flatnonzero(~assigned)
        if len(u_idx):
            nearest[u_idx], dist[u_idx] = self._nearest(lon[u_idx], lat[u_idx], x[u_idx], y[u_idx])
            near[u_idx] = dist[u_idx] <= self.near_m
        return g, near, nearest, dist


def brute_force_code(boundaries: Boundaries, lon: float, lat: float) -> str | None:
    """Reference answer: the smallest code among finest-level areas that cover the point.

    Slow on purpose (a Python loop over every area); the tests and the benchmark compare
    :class:`GridIndex` against it.
    """
    layer = boundaries.layer(boundaries.finest_level)
    p = shapely.Point(lon, lat)
    hits = [c for c, g in zip(layer["code"], shapely.make_valid(layer.geometry.values), strict=True)
            if g.covers(p)]
    return min(hits) if hits else None


# ---------------------------------------------------------------------- rasterising

def _ring_edges(geoms_xy: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """All ring edges as (k, 4) [x1, y1, x2, y2] with the index of their area."""
    parts, part_of = shapely.get_parts(geoms_xy, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    edges = np.c_[coords[:-1][same], coords[1:][same]]
    owner = part_of[ring_of[coord_ring[:-1][same]]]
    return edges, owner


def _segment_distance(px: NDArray[np.float64], py: NDArray[np.float64], ax: NDArray[np.float64],
                      ay: NDArray[np.float64], bx: NDArray[np.float64], by: NDArray[np.float64]
                      ) -> NDArray[np.float64]:
    """Distance from each point to its segment, computed as GEOS computes it
    (``Distance::pointToSegment``: an endpoint's distance when the foot of the perpendicular
    falls outside the segment), so distances to a shared vertex are equal to the last bit
    and tie exactly as they do in ``shapely.distance``."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    pax, pay = px - ax, py - ay
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (pax * dx + pay * dy) / len2
        s = ((ay - py) * dx - (ax - px) * dy) / len2
    d = np.abs(s) * np.sqrt(len2)
    da = np.sqrt(pax * pax + pay * pay)
    pbx, pby = px - bx, py - by
    db = np.sqrt(pbx * pbx + pby * pby)
    return np.where((r <= 0) | (len2 == 0), da, np.where(r >= 1, db, d))


def _block_candidates(edges: NDArray[np.float64], need: NDArray[np.bool_], x0: float, y0: float,
                      cs: float, B: int) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """For each block of ``B`` × ``B`` cells (row-major, ``ceil(ny/B) × ceil(nx/B)``)
    that holds a cell where ``need`` is true, the edges that can be nearest to some point of
    the block, as CSR (``start``, ``cand``); other blocks get none.

    Rigorous, not sampled: with ``c`` the block's centre and ``h`` its half diagonal, every
    point ``p`` of the block has an edge within ``min_e d(c, e) + h``, and an edge ``e``
    can be at that distance only if ``d(c, e) - h`` is no more (triangle inequality). Every
    edge nearest to ``p`` — ties included — is therefore kept. Blocks are refined as a
    quadtree, each child testing its parent's candidates only, so the work follows the
    border rather than the raster (issue 18: outside points asked GEOS's nearest-segment
    query one by one, ~5 µs each).
    """
    ny, nx = need.shape
    by, bx = -(-ny // B), -(-nx // B)
    pad = np.zeros((by * B, bx * B), dtype=bool)
    pad[:ny, :nx] = need
    leaf = pad.reshape(by, B, bx, B).any(axis=(1, 3))
    size = 1 << max(0, math.ceil(math.log2(max(bx, by))))
    top = np.zeros((size, size), dtype=bool)
    top[:by, :bx] = leaf
    levels = [top]
    while levels[-1].shape[0] > 1:
        k = levels[-1].shape[0] // 2
        levels.append(levels[-1].reshape(k, 2, k, 2).any(axis=(1, 3)))
    empty = (np.zeros(by * bx + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    if len(edges) == 0 or not levels[-1][0, 0]:
        return empty
    ex1, ey1, ex2, ey2 = (np.ascontiguousarray(c) for c in edges.T)
    bi, bj = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    start, count = np.zeros(1, dtype=np.int64), np.array([len(edges)], dtype=np.int64)
    cand = np.arange(len(edges), dtype=np.int64)
    for lev in range(len(levels) - 2, -1, -1):
        ci = (bi[:, None] * 2 + np.array([0, 0, 1, 1])).ravel()
        cj = (bj[:, None] * 2 + np.array([0, 1, 0, 1])).ravel()
        parent = np.repeat(np.arange(len(bi)), 4)
        keep = levels[lev][ci, cj]
        ci, cj, parent = ci[keep], cj[keep], parent[keep]
        side = B * (1 << lev) * cs
        half = side * math.sqrt(2) / 2
        keep_cand, keep_count = [], []
        lo = 0
        # a run of children at a time (≤ ~4 × _PAIRS pairs): small temporaries, reused
        total = np.cumsum(count[parent])
        bounds = np.searchsorted(total, np.arange(1, int(total[-1]) // (4 * _PAIRS) + 1) * 4 * _PAIRS)
        for hi in [*bounds.tolist(), len(ci)]:  # nondecreasing
            if hi <= lo:
                continue
            p_, cj_, ci_ = parent[lo:hi], cj[lo:hi], ci[lo:hi]
            cnt = count[p_]
            ptr = np.cumsum(cnt) - cnt
            pair = np.repeat(np.arange(hi - lo), cnt)
            seg = cand[np.repeat(start[p_] - ptr, cnt) + np.arange(len(pair))]
            d = _segment_distance(x0 + (cj_.take(pair) + 0.5) * side, y0 + (ci_.take(pair) + 0.5) * side,
                                  ex1.take(seg), ey1.take(seg), ex2.take(seg), ey2.take(seg))
            bound = np.minimum.reduceat(d, ptr) + 2 * half + _MARGIN_M
            ok = d <= bound.take(pair)
            keep_cand.append(seg[ok])
            keep_count.append(np.bincount(pair[ok], minlength=hi - lo))
            lo = hi
        cand = np.concatenate(keep_cand)
        count = np.concatenate(keep_count).astype(np.int64)
        start = np.cumsum(count) - count
        bi, bj = ci, cj
    # leaves in row-major order
    leaf_id = bi * bx + bj
    order = np.argsort(leaf_id, kind="stable")
    cnt = count[order]
    ptr = np.cumsum(cnt) - cnt
    cand = cand[np.repeat(start[order] - ptr, cnt) + np.arange(int(cnt.sum()))]
    full = np.zeros(by * bx, dtype=np.int64)
    full[leaf_id[order]] = cnt
    return np.r_[0, np.cumsum(full)], cand.astype(np.int32)


def _rasterise(geoms_xy: NDArray[np.object_], x0: float, y0: float, cs: float, nx: int,
               ny: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """For each cell centre: how many areas contain it, and (if one) which.

    Scanline, even-odd per area, half-open in y; only trusted where the centre is far
    from every border (the callers check that with the border distance).
    """
    edges, owner = _ring_edges(geoms_xy)
    x1, y1, x2, y2 = edges.T
    lo, hi = np.minimum(y1, y2), np.maximum(y1, y2)
    j0 = np.ceil((lo - y0) / cs - 0.5).astype(np.int64)
    j1 = np.ceil((hi - y0) / cs - 0.5).astype(np.int64)  # exclusive
    j0, j1 = np.clip(j0, 0, ny), np.clip(j1, 0, ny)
    nrows = np.maximum(j1 - j0, 0)
    e = np.repeat(np.arange(len(edges)), nrows)
    row = j0[e] + (np.arange(len(e)) - np.repeat(np.cumsum(nrows) - nrows, nrows))
    yc = y0 + (row + 0.5) * cs
    xc = x1[e] + (yc - y1[e]) * (x2[e] - x1[e]) / (y2[e] - y1[e])
    who = owner[e]
    order = np.lexsort((xc, row, who))
    xc, row, who = xc[order], row[order], who[order]
    # consecutive crossings of one area on one row pair up (even-odd)
    xa, xb, r_, w_ = xc[0::2], xc[1::2], row[0::2], who[0::2]
    i0 = np.clip(np.ceil((xa - x0) / cs - 0.5), 0, nx).astype(np.int64)
    i1 = np.clip(np.ceil((xb - x0) / cs - 0.5), 0, nx).astype(np.int64)
    keep = i1 > i0
    i0, i1, r_, w_ = i0[keep], i1[keep], r_[keep], w_[keep]
    diff_n = np.zeros((ny, nx + 1), dtype=np.int32)
    diff_l = np.zeros((ny, nx + 1), dtype=np.int64)
    np.add.at(diff_n, (r_, i0), 1)
    np.add.at(diff_n, (r_, i1), -1)
    np.add.at(diff_l, (r_, i0), w_)
    np.add.at(diff_l, (r_, i1), -w_)
    count = np.cumsum(diff_n, axis=1)[:, :nx].astype(np.int32)
    label = np.cumsum(diff_l, axis=1)[:, :nx]
    label = np.where(count == 1, label, -1).astype(np.int32)
    return count, label


def _border_distances(geoms_xy: NDArray[np.object_], label: NDArray[np.int32], x0: float,
                      y0: float, cs: float, nx: int, ny: int, reach: float, close: float
                      ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int32],
                                 NDArray[np.int32], NDArray[np.bool_]]:
    """Per cell centre: distance to the nearest border of any area, and to the nearest
    border of an area other than the centre's own (``label``); ``inf`` beyond ``reach``;
    and the smallest and largest index of those other areas within ``reach`` (equal when
    exactly one other area is that close); and whether borders of two different areas
    pass within ``close`` of the centre.

    Borders are split into pieces no longer than a cell, and each piece visits only the
    cells of its bounding box grown by ``reach``, so the work is proportional to the
    border length, not to the raster.
    """
    # pieces of 3 cells: fewer pieces, each visiting a slightly larger box — the cheapest mix
    pieces = shapely.segmentize(geoms_xy, 3 * cs)
    edges, owner = _ring_edges(pieces)
    d_all = np.full(ny * nx, np.inf, dtype=np.float32)
    d_other = np.full(ny * nx, np.inf, dtype=np.float32)
    big = np.iinfo(np.int32).max  # int32 owners and float32 distances halve peak memory
    o_min = np.full(ny * nx, big, dtype=np.int32)
    o_max = np.full(ny * nx, -1, dtype=np.int32)
    c_min = np.full(ny * nx, big, dtype=np.int32)
    c_max = np.full(ny * nx, -1, dtype=np.int32)
    flat_label = label.ravel()
    for start in range(0, len(edges), 8_000):  # chunks bound the memory (~100 MB)
        ed, ow = edges[start:start + 8_000], owner[start:start + 8_000].astype(np.int32)
        ax, ay, bx, by = ed.T
        ix0 = np.clip(np.floor((np.minimum(ax, bx) - reach - x0) / cs), 0, nx - 1).astype(np.int64)
        ix1 = np.clip(np.floor((np.maximum(ax, bx) + reach - x0) / cs), 0, nx - 1).astype(np.int64)
        iy0 = np.clip(np.floor((np.minimum(ay, by) - reach - y0) / cs), 0, ny - 1).astype(np.int64)
        iy1 = np.clip(np.floor((np.maximum(ay, by) + reach - y0) / cs), 0, ny - 1).astype(np.int64)
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        k = wx * wy
        e = np.repeat(np.arange(len(ed)), k)
        off = np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
        cx = ix0[e] + off % wx[e]
        cy = iy0[e] + off // wx[e]
        px, py = x0 + (cx + 0.5) * cs, y0 + (cy + 0.5) * cs
        dx, dy = bx[e] - ax[e], by[e] - ay[e]
        ll = dx * dx + dy * dy
        t = np.clip(((px - ax[e]) * dx + (py - ay[e]) * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
        dist = np.hypot(px - (ax[e] + t * dx), py - (ay[e] + t * dy)).astype(np.float32)
        cell = cy * nx + cx
        np.minimum.at(d_all, cell, dist)
        other = (ow[e] != flat_label[cell]) & (dist <= reach)
        np.minimum.at(d_other, cell[other], dist[other])
        np.minimum.at(o_min, cell[other], ow[e][other])
        np.maximum.at(o_max, cell[other], ow[e][other])
        is_close = dist <= close
        np.minimum.at(c_min, cell[is_close], ow[e][is_close])
        np.maximum.at(c_max, cell[is_close], ow[e][is_close])
    return (d_all.reshape(ny, nx), d_other.reshape(ny, nx),
            o_min.reshape(ny, nx), o_max.reshape(ny, nx),
            ((c_max >= 0) & (c_min != c_max)).reshape(ny, nx))
