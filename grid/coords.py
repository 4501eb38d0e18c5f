"""Chinese map coordinates: GCJ-02 (高德, 腾讯, 谷歌中国) and BD-09 (百度) to WGS84.

We store WGS84/CGCS2000 lon/lat only (the two agree to a few centimetres, far below
what a tablet's GPS or a boundary file resolves), so any point that arrives in a
"Mars" coordinate system is converted here, at the edge, with an explicit ``crs``:
``'wgs84'``, ``'cgcs2000'`` (unchanged), ``'gcj02'`` or ``'bd09'``.

GCJ-02 is a published-by-reverse-engineering obfuscation: ``gcj = wgs + offset(wgs)``
with the polynomial-plus-sines offset of the widely documented "eviltransform"
constants (Krasovsky semi-major axis 6378245 m, e² = 0.00669342162296594323). It has
no closed-form inverse, so :func:`gcj02_to_wgs84` solves ``forward(wgs) = gcj`` by
fixed-point iteration, which converges to below 1e-9 degrees (≈0.1 mm) in a handful
of steps because the offset varies slowly. BD-09 is a further rotation/scaling of
GCJ-02 around the origin, inverted the same way. Outside the rough China box used by
every implementation the offset is not applied (the maps there are WGS84).

Everything is vectorised with numpy: pass scalars or arrays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import CoordinateError

PointCRS = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
POINT_CRS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09 rotation constant

Array = NDArray[np.float64]


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where the GCJ-02 offset applies (the conventional bounding box of China)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    sines = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + sines
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + sines
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * pi)
    return dlon, dlat


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """WGS84 → GCJ-02 (the forward formula; unchanged outside China)."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = in_china(lon_a, lat_a)
    dlon, dlat = _offset(lon_a, lat_a)
    return np.where(inside, lon_a + dlon, lon_a), np.where(inside, lat_a + dlat, lat_a)


def _invert(forward, lon: ArrayLike, lat: ArrayLike, start) -> tuple[Array, Array]:  # type: ignore[no-untyped-def]
    """Solve ``forward(x) = target`` by fixed-point iteration from ``start(target)``."""
    tlon, tlat = _arrays(lon, lat)
    glon, glat = start(tlon, tlat)
    for _ in range(30):
        flon, flat = forward(glon, glat)
        elon, elat = tlon - flon, tlat - flat
        glon, glat = glon + elon, glat + elat
        if np.all(np.abs(elon) < 1e-11) and np.all(np.abs(elat) < 1e-11):
            break
    return glon, glat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """GCJ-02 → WGS84 by iterative inversion (error < 1 mm; unchanged outside China)."""
    return _invert(wgs84_to_gcj02, lon, lat, lambda a, b: (a.copy(), b.copy()))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """GCJ-02 → BD-09 (Baidu's published rotation and shift)."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: Array, lat: Array) -> tuple[Array, Array]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """BD-09 → GCJ-02: the usual approximate inverse, refined by iteration."""
    return _invert(gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """WGS84 → BD-09 (through GCJ-02; outside China only the BD rotation is applied,
    as Baidu's own API does)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """BD-09 → WGS84 (inverse of :func:`wgs84_to_bd09`)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def normalise_crs(crs: str) -> PointCRS:
    """Map accepted spellings (``'WGS84'``, ``'EPSG:4326'``, ``'GCJ-02'``, ``'BD09'``…) to ours.

    Raises :class:`CoordinateError` listing the accepted names.
    """
    key = str(crs).strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84", "gps": "wgs84",
        "cgcs2000": "cgcs2000", "epsg:4490": "cgcs2000", "4490": "cgcs2000",
        "gcj02": "gcj02", "gcj": "gcj02", "mars": "gcj02", "amap": "gcj02",
        "bd09": "bd09", "bd09ll": "bd09", "baidu": "bd09",
    }
    if key not in aliases:
        raise CoordinateError(
            f"未知坐标系 {crs!r}；可用：wgs84、cgcs2000、gcj02、bd09",
            f"unknown coordinate system {crs!r}; use one of wgs84, cgcs2000, gcj02, bd09",
        )
    return aliases[key]  # type: ignore[return-value]


def to_storage(lon: ArrayLike, lat: ArrayLike, crs: str = "wgs84") -> tuple[Array, Array]:
    """Convert points given in ``crs`` to storage lon/lat (WGS84 = CGCS2000 here)."""
    kind = normalise_crs(crs)
    if kind in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if kind == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return bd09_to_wgs84(lon, lat)


def from_storage(lon: ArrayLike, lat: ArrayLike, crs: str = "wgs84") -> tuple[Array, Array]:
    """Convert storage lon/lat to ``crs`` (for showing points on a GCJ-02 or Baidu map)."""
    kind = normalise_crs(crs)
    if kind in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if kind == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    return wgs84_to_bd09(lon, lat)


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Array:
    """Great-circle distance in metres (mean Earth radius); good to ~0.5 % — enough for
    checking conversions and reporting distances."""
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(h))
