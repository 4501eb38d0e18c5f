"""GCJ-02 and BD-09 to WGS84: round trips under 0.5 m, nothing applied outside China."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.coords import (
    bd09_to_wgs84,
    from_storage,
    gcj02_to_wgs84,
    haversine_m,
    normalise_crs,
    to_storage,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from grid.errors import CoordinateError


def test_known_shanghai_point_matches_the_published_offset() -> None:
    # test vector widely quoted with the eviltransform formulas
    lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
    assert float(lon) == pytest.approx(121.531541859215, abs=1e-9)
    assert float(lat) == pytest.approx(31.17530398364597, abs=1e-9)


def test_round_trips_over_china_are_below_half_a_metre() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(73.5, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.5, 20_000)
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        back = inverse(*forward(lon, lat))
        err = haversine_m(lon, lat, *back)
        assert err.max() < 0.5
        # and the offset really was applied (hundreds of metres)
        moved = haversine_m(lon, lat, *forward(lon, lat))
        assert np.median(moved) > 100


@settings(max_examples=100, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.5))
def test_round_trip_property(lon: float, lat: float) -> None:
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        assert float(haversine_m(lon, lat, *inverse(*forward(lon, lat)))) < 0.5


def test_outside_china_gcj02_is_unchanged() -> None:
    lon = np.array([2.35, -74.0, 139.7, 151.2])
    lat = np.array([48.85, 40.7, 35.7, -33.9])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_to_storage_names_the_input_system() -> None:
    lon, lat = wgs84_to_gcj02(120.5, 29.7)
    back = to_storage(lon, lat, "GCJ-02")
    assert float(haversine_m(120.5, 29.7, *back)) < 0.01
    assert to_storage(120.5, 29.7, "cgcs2000") == (120.5, 29.7)
    bd = from_storage(120.5, 29.7, "bd09")
    assert float(haversine_m(120.5, 29.7, *to_storage(*bd, "baidu"))) < 0.01


def test_unknown_point_crs_is_a_clear_error() -> None:
    with pytest.raises(CoordinateError) as info:
        normalise_crs("mercator")
    assert "gcj02" in info.value.message_en and "坐标系" in info.value.message_zh
