"""Where boundaries land: the coordinate system of a boundary file, and whether the result
lies where its codes say.

Concept: boundary CRS
---------------------
A county's GIS staff bring files in CGCS2000 lon/lat (EPSG:4490), WGS-84 (4326), a
CGCS2000 Gauss-Krüger 3-degree zone (EPSG:4513–4533 with the zone number in the easting,
4534–4554 without), or traced on Amap/Tencent (GCJ-02) or Baidu (BD-09) tiles. ``--crs``
names one of them for a file; it always means something (issue 18): it overrides what
the file declares (the import then warns), it is validated, and ``gcj02``/``bd09`` are
accepted for boundaries as ``--points-crs`` accepts them for points (the coordinates are
converted to WGS-84 on import, and the version's metadata records it).

Concept: place check
--------------------
A wrong zone or a missing declaration moves a county hundreds of kilometres, and nothing
in the geometry looks wrong. So after import the extent is compared with China and with
the province the codes name (:data:`grid.codes.PROVINCES`); a file that lands elsewhere
is refused, and the common coordinate systems are tried on the file's own numbers to say
which one would put it in place. A GCJ-02 file read as WGS-84 is only ~500 m off, inside
its province: that is found against a county outline (``--outline``), see
:func:`outline_problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely

from .codes import CHINA_EXTENT, PROVINCES
from .coords import bd09_to_wgs84, gcj02_to_wgs84, normalise_crs, wgs84_to_bd09, wgs84_to_gcj02
from .errors import CoordinateError, UnknownCRS

#: Names of the map-tile coordinate systems accepted by ``--crs`` besides pyproj's.
MARS = ("gcj02", "bd09")
#: CGCS2000 3-degree Gauss-Krüger zones: 4513–4533 carry the zone number in the easting
#: (zone 25 … 45, central meridian 3° × zone), 4534–4554 do not (75°E … 135°E).
GK_ZONES: dict[int, float] = {**{4513 + k: 3.0 * (25 + k) for k in range(21)},
                              **{4534 + k: 75.0 + 3.0 * k for k in range(21)}}
Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoundaryCRS:
    """A coordinate system for boundary coordinates: a pyproj CRS, or ``gcj02``/``bd09``."""

    label: str  # 'EPSG:4549', 'gcj02', or pyproj's name when it has no EPSG code
    crs: Any = None  # pyproj.CRS, None for gcj02/bd09

    @property
    def mars(self) -> bool:
        """True for GCJ-02 and BD-09 (lon/lat, converted to WGS-84 by formula)."""
        return self.crs is None

    @property
    def lonlat(self) -> bool:
        """True when the coordinates are degrees (geographic CRS or GCJ-02/BD-09)."""
        return self.mars or bool(self.crs.is_geographic)

    def same_as(self, other: BoundaryCRS) -> bool:
        if self.mars or other.mars:
            return self.label == other.label
        return bool(self.label == other.label or self.crs.equals(other.crs, ignore_axis_order=True))


def crs_label(crs: Any) -> str:
    """``EPSG:n`` when pyproj knows an EPSG code for ``crs``, else its name."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else str(crs.name)


def parse_boundary_crs(text: Any, file: str | None = None) -> BoundaryCRS:
    """``--crs`` for boundaries: ``gcj02``/``bd09`` (any spelling :func:`grid.coords.normalise_crs`
    knows), else anything pyproj reads (``EPSG:4549``, WKT, PROJ). Raises UnknownCRS."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if isinstance(text, BoundaryCRS):
        return text
    try:
        kind = normalise_crs(str(text))
    except CoordinateError:
        kind = None
    if kind in MARS:
        return BoundaryCRS(str(kind))
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise UnknownCRS(
            f"未知坐标系 {text!r}（例：EPSG:4490 国家2000 经纬度，EPSG:4545–4554 国家2000 高斯-克吕格 "
            "3 度带，gcj02 高德/腾讯，bd09 百度）",
            f"unknown CRS {text!r} (e.g. EPSG:4490 CGCS2000 lon/lat, EPSG:4545–4554 CGCS2000 "
            "Gauss-Krüger zones, gcj02 Amap/Tencent, bd09 Baidu)",
            file=file, field="crs",
        ) from exc
    return BoundaryCRS(crs_label(crs), crs)


def mars_to_wgs84(kind: str, geoms: Any) -> Any:
    """Geometries in GCJ-02 or BD-09 lon/lat converted to WGS-84, vertex by vertex."""
    fn = gcj02_to_wgs84 if kind == "gcj02" else bd09_to_wgs84
    return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


def wgs84_to_mars(kind: str, geoms: Any) -> Any:
    """The inverse of :func:`mars_to_wgs84` (to ask "what if the file was not GCJ-02")."""
    fn = wgs84_to_gcj02 if kind == "gcj02" else wgs84_to_bd09
    return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


def within(bounds: Extent, extent: Extent) -> bool:
    minx, miny, maxx, maxy = bounds
    return extent[0] <= minx and maxx <= extent[2] and extent[1] <= miny and maxy <= extent[3]


def _probe(raw_bounds: Extent) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = raw_bounds
    return (np.array([minx, maxx, minx, maxx, (minx + maxx) / 2]),
            np.array([miny, miny, maxy, maxy, (miny + maxy) / 2]))


@lru_cache(maxsize=64)
def _to_lonlat(epsg: int) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4490", always_xy=True)


def crs_candidates(raw_bounds: Extent, extent: Extent) -> list[str]:
    """The common coordinate systems under which a file's own numbers (``raw_bounds``,
    before any transformation) land inside ``extent``: ``EPSG:4490`` for degrees (4326 is
    the same here), else the Gauss-Krüger zones whose central meridian is within 1.6° of
    the result (a county is drawn in its own zone). GCJ-02 cannot be told apart from
    WGS-84 by extent (500 m); :func:`outline_problem` does that against an outline."""
    x, y = _probe(raw_bounds)
    if not np.isfinite([x, y]).all():
        return []
    out: list[str] = []
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        if within((x.min(), y.min(), x.max(), y.max()), extent):
            out.append("EPSG:4490")
        return out
    for epsg, cm in GK_ZONES.items():
        lon, lat = _to_lonlat(epsg).transform(x, y)
        if np.isfinite(lon).all() and abs(lon[-1] - cm) <= 1.6 and within(
                (lon.min(), lat.min(), lon.max(), lat.max()), extent):
            out.append(f"EPSG:{epsg}")
    return out


def expected_extent(codes: Any) -> tuple[str, str, Extent] | None:
    """``(prefix, province name, extent)`` the codes name, or None when they name several
    provinces or none (the place check then compares with China only)."""
    prefixes = {str(c)[:2] for c in codes}
    if len(prefixes) != 1:
        return None
    prefix = prefixes.pop()
    if prefix not in PROVINCES:
        return None
    name, extent = PROVINCES[prefix]
    return prefix, name, extent


def place_problem(bounds: Extent, codes: Any, raw_bounds: Extent | None = None,
                  used: str | None = None) -> tuple[str, str] | None:
    """Why boundaries with storage ``bounds`` and these ``codes`` are in the wrong place
    (zh, en), with the coordinate systems that would put them right; None when they lie in
    China and inside the province the codes name."""
    expected = expected_extent(codes)
    box = f"{bounds[0]:.2f}–{bounds[2]:.2f}°E, {bounds[1]:.2f}–{bounds[3]:.2f}°N"
    if expected is not None:
        prefix, name, extent = expected
        if within(bounds, extent):
            return None
        zh = f"边界范围（{box}）不在编码 {prefix}… 所属的{name}（{extent[0]}–{extent[2]}°E，{extent[1]}–{extent[3]}°N）内"
        en = (f"the boundaries ({box}) lie outside {name} ({extent[0]}–{extent[2]}°E, "
              f"{extent[1]}–{extent[3]}°N), the province their codes {prefix}… name")
    else:
        extent = CHINA_EXTENT
        if within(bounds, extent):
            return None
        zh, en = f"边界范围（{box}）不在中国境内", f"the boundaries ({box}) do not lie in China"
    used_zh = f"（按 {used} 读取）" if used else ""
    used_en = f" (read as {used})" if used else ""
    zh, en = zh + used_zh, en + used_en
    found = [c for c in crs_candidates(raw_bounds, extent) if c != used] if raw_bounds else []
    if found:
        some = "、".join(found[:3])
        zh += f"；按 {some} 读取则位置正确：请用 --crs {found[0]}"
        en += f"; read as {', '.join(found[:3])} they land in place: pass --crs {found[0]}"
    else:
        zh += "；坐标系可能有误，请用 --crs 指定正确的坐标系"
        en += "; the coordinate system looks wrong: pass the right one with --crs"
    return zh, en


def outline_problem(union: Any, outline: Any, used: str, area: Any,
                    raw_bounds: Extent | None = None) -> tuple[str, str] | None:
    """Against a county outline (``--outline``): are the boundaries in the wrong place?

    ``union`` is the finest level's union in storage lon/lat, ``used`` the CRS the file was
    read in, ``area`` a function giving m² of lon/lat geometries. Two failures, each with
    the ``--crs`` that fits when a common one does:

    * far off: less than half of the outline is covered (a wrong Gauss-Krüger zone moves
      a county 3° — inside a wide province, so only the outline shows it);
    * a map-tile datum: reading the file as GCJ-02 or BD-09 (or, for a file read as one of
      those, as plain lon/lat) fits the outline at least twice as well. A 500 m GCJ-02
      shift stays inside the province (issue 18, finding 3).

    Returns the message (zh, en), or None when the boundaries fit.
    """
    def m2(g: Any) -> float:
        return float(area(np.array([g], dtype=object))[0])

    whole = m2(outline)
    if whole <= 0:
        return None
    covered = m2(shapely.intersection(union, outline)) / whole
    if covered < 0.5:
        minx, miny, maxx, maxy = shapely.bounds(outline)
        pad = 0.1 * max(maxx - minx, maxy - miny)
        box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        found = [c for c in crs_candidates(raw_bounds, box) if c != used] if raw_bounds else []
        zh = f"边界只覆盖县界的 {covered:.0%}（按 {used} 读取）：位置不对"
        en = f"the boundaries cover {covered:.0%} of the outline (read as {used}): they are in the wrong place"
        if found:
            return (zh + f"；按 {found[0]} 读取则与县界重合：请用 --crs {found[0]}",
                    en + f"; read as {found[0]} they match it: pass --crs {found[0]}")
        return zh + "；请检查坐标系（--crs）", en + "; check the coordinate system (--crs)"

    now = m2(shapely.symmetric_difference(union, outline))
    if now < 0.005 * whole:
        return None
    if used in MARS:
        alternatives = {"EPSG:4490": wgs84_to_mars(used, union)}
    else:
        alternatives = {kind: mars_to_wgs84(kind, union) for kind in MARS}
    # moving every vertex can make a valid shape touch itself: repair before overlaying
    alternatives = {k: shapely.make_valid(g) for k, g in alternatives.items()}
    best, fit = min(((k, m2(shapely.symmetric_difference(g, outline)))
                     for k, g in alternatives.items()), key=lambda kv: kv[1])
    if fit > 0.5 * now:
        return None
    return (f"与县界不符 {now / 1e6:.2f} km²（按 {used} 读取）；按 {best} 读取只差 {fit / 1e6:.2f} km²："
            f"请用 --crs {best}",
            f"the boundaries miss the outline by {now / 1e6:.2f} km² (read as {used}); read as "
            f"{best} they miss by {fit / 1e6:.2f} km²: pass --crs {best}")
