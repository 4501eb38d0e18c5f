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
(:class:`grid.frame.LocalFrame`, < 0.5 % scale error over a county).

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
* **border** — anything else (touches a border, lies outside every area, or where areas
  overlap): the exact path (STRtree ``covers`` in lon/lat, ``dwithin`` and ``nearest`` in
  metres).

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
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from .boundaries import Boundaries
from .coords import to_storage
from .errors import GridError
from .frame import LocalFrame

#: Statuses of an assignment.
ASSIGNED = "assigned"
UNASSIGNED = "unassigned"
_STATUS = np.array([ASSIGNED, UNASSIGNED, "invalid"], dtype=object)
_MARGIN_M = 0.01  # metres of slack for float rounding between lon/lat and the metric plane


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


class GridIndex:
    """Point → area lookups over the finest level of one boundary version.

    Build it from :class:`~grid.boundaries.Boundaries` (or ``Version.index()``), then ask
    :meth:`locate` for one point or :meth:`locate_many` for arrays. ``near_m`` is the
    near-border distance; ``cell_m`` the cell size of the cell index (default: chosen from
    the extent, 10–20 m, at most ~8 million cells). Thread-safe for reading.
    """

    def __init__(
        self,
        boundaries: Boundaries,
        *,
        version: int | None = None,
        near_m: float = 30.0,
        cell_m: float | None = None,
        cells: dict[str, Any] | None = None,
    ) -> None:
        if near_m < 0:
            raise ValueError("near_m must be >= 0")
        self.version = version
        self.near_m = float(near_m)
        self.level = boundaries.finest_level
        layer = boundaries.layer(self.level).sort_values("code", kind="stable").reset_index(drop=True)
        # valid polygons only (an unchecked version may hold a bowtie); covers() on the
        # repaired shape is what a person means by "inside"
        geoms = shapely.make_valid(layer.geometry.values)
        self.codes: NDArray[np.object_] = layer["code"].to_numpy(dtype=object)
        self.names: NDArray[np.object_] = layer["name"].to_numpy(dtype=object)
        self.geoms = geoms
        self.tree = shapely.STRtree(geoms)
        self.frame = LocalFrame.around(geoms)
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
        if cells is not None and float(cells["near_m"]) == self.near_m and int(cells["n"]) == n:
            self._load_cells(cells)
        else:
            self._build_cells(cell_m)

    def cell_state(self) -> dict[str, Any]:
        """The built cell index as arrays, to save next to a version (``np.savez``) and pass
        back as ``cells=`` — building takes seconds for a county, loading milliseconds."""
        return {"cells": self.cells, "pair_g": self._pair_g, "pair_h": self._pair_h,
                "grid": np.array([self.x0, self.y0, self.cell_m, self.nx, self.ny]),
                "near_m": self.near_m, "n": len(self.codes)}

    def _load_cells(self, state: dict[str, Any]) -> None:
        self.cells = np.asarray(state["cells"])
        self._pair_g = np.asarray(state["pair_g"], dtype=np.int64)
        self._pair_h = np.asarray(state["pair_h"], dtype=np.int64)
        x0, y0, cs, nx, ny = (float(v) for v in state["grid"])
        self.x0, self.y0, self.cell_m, self.nx, self.ny = x0, y0, cs, int(nx), int(ny)
        self._finish_cells()

    # ------------------------------------------------------------------ cell index
    def _build_cells(self, cell_m: float | None) -> None:
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms_xy)
        w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        if cell_m is None:
            cell_m = min(20.0, max(10.0, math.sqrt(w * h / 12e6)))
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
        pairs, k = np.unique(np.c_[label[unsure], only[unsure]], axis=0, return_inverse=True)
        pairs = pairs.reshape(-1, 2).astype(np.int64)
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
        cells[(cells == -1) & two_close] = -2
        self.cells = cells
        self._finish_cells()

    def _finish_cells(self) -> None:
        n = len(self.codes)
        self._inv_cs = 1.0 / self.cell_m
        self._n, self._n2 = n, 2 * n
        self._kx, self._ky = self.frame.kx, self.frame.ky

    @property
    def fast_fraction(self) -> float:
        """Share of cells answered without a polygon test (by cell count, not area)."""
        return float((self.cells >= 0).mean())

    def _cell_values(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int32]:
        ix = np.floor((x - self.x0) * self._inv_cs)
        iy = np.floor((y - self.y0) * self._inv_cs)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.full(x.shape, -1, dtype=np.int32)
        out[ok] = self.cells[iy[ok].astype(np.intp), ix[ok].astype(np.intp)]
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
            return self._exact_one(lon, lat, x, y, -1, near_known=v == -2)
        return self._exact_one(lon, lat, x, y, -1)

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
        idx, dist = self.tree_xy.query_nearest(pxy, return_distance=True, all_matches=True)
        k = int(np.argmin(idx))
        g, d = int(idx[k]), float(dist[k])
        return Assignment(None, None, None, UNASSIGNED, d <= self.near_m, str(self.codes[g]), d,
                          self.version)

    def locate_many(self, lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84", *,
                    with_near_border: bool = True) -> pd.DataFrame:
        """Assignments of many points (arrays in ``crs``), one row per point, in order.

        Columns: grid_code, village_code, township_code, status, near_border,
        nearest_code, distance_m, version. NaN coordinates give ``status='invalid'``.
        ``with_near_border=False`` skips the near-border test (the column is then absent):
        the like-for-like comparison with a plain spatial join.
        """
        if crs in ("wgs84", "cgcs2000"):  # no copy on the common path
            lon = np.asarray(lons, dtype=np.float64).ravel()
            lat = np.asarray(lats, dtype=np.float64).ravel()
        else:
            lon_c, lat_c = to_storage(lons, lats, crs)
            lon, lat = np.atleast_1d(lon_c).ravel(), np.atleast_1d(lat_c).ravel()
        n, npts = len(self.codes), len(lon)
        x, y = self.frame.to_xy(lon, lat)
        finite = np.isfinite(x) & np.isfinite(y)
        all_finite = bool(finite.all())
        if all_finite:
            v = self._cell_values(x, y).astype(np.int32)
        else:
            v = self._cell_values(np.where(finite, x, np.inf), np.where(finite, y, np.inf)).astype(np.int32)
        unsure = np.flatnonzero(v >= 2 * n)
        g = np.where((v >= 0) & (v < 2 * n), v % max(n, 1), -1).astype(np.int64)
        g[unsure] = self._pair_g[v[unsure] - 2 * n]
        near = (v >= n) & (v < 2 * n)
        nearest = np.full(npts, -1, dtype=np.int64)
        dist = np.zeros(npts)
        slow = np.flatnonzero((v < 0) & finite)
        if len(slow):
            g_s, near_s, nearest_s, dist_s = self._exact_many(
                lon[slow], lat[slow], x[slow], y[slow], with_near_border, v[slow] == -2)
            g[slow], near[slow], nearest[slow], dist[slow] = g_s, near_s, nearest_s, dist_s
        if with_near_border and len(unsure):
            h = self._pair_h[v[unsure] - 2 * n]
            one = h >= 0
            pts = shapely.points(x[unsure], y[unsure])
            near[unsure[one]] = shapely.dwithin(self.geoms_xy[h[one]], pts[one], self.near_m)
            several = unsure[~one]
            if len(several):
                near[several] = self._near_other(x[several], y[several], g[several])
        # look-ups through tables with a trailing None: index n means "no area"
        pick = np.where(g >= 0, g, n)
        state = (g < 0).astype(np.int8)
        if not all_finite:
            state[~finite] = 2

        def col(table: NDArray[np.object_], idx: NDArray[np.int64]) -> pd.Series:
            return pd.Series(table.take(idx), dtype=object)  # keep None (pandas 3 would make NaN)

        return pd.DataFrame({
            "grid_code": col(self._grid_t, pick),
            "village_code": col(self._village_t, pick),
            "township_code": col(self._township_t, pick),
            "status": col(_STATUS, state),
            **({"near_border": near} if with_near_border else {}),
            "nearest_code": col(self._codes_t, np.where(nearest >= 0, nearest, n)),
            "distance_m": dist,
            "version": pd.array(np.full(npts, self.version if self.version is not None else 0),
                                dtype="Int64") if self.version is not None
            else pd.array([None] * npts, dtype="Int64"),
        })

    def _near_other(self, x: NDArray[np.float64], y: NDArray[np.float64],
                    g: NDArray[np.int64]) -> NDArray[np.bool_]:
        """True where an area other than ``g`` lies within ``near_m`` (metric plane)."""
        near = np.zeros(len(x), dtype=bool)
        qi, qg = self.tree_xy.query(shapely.points(x, y), predicate="dwithin", distance=self.near_m)
        near[np.unique(qi[qg != g[qi]])] = True
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
            pxy = shapely.points(x[u_idx], y[u_idx])
            (qi, qg), qd = self.tree_xy.query_nearest(pxy, return_distance=True, all_matches=True)
            best = np.full(len(u_idx), n, dtype=np.int64)
            np.minimum.at(best, qi, qg)
            dmin = np.full(len(u_idx), np.inf)
            np.minimum.at(dmin, qi, qd)
            nearest[u_idx] = best
            dist[u_idx] = dmin
            near[u_idx] = dmin <= self.near_m
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
