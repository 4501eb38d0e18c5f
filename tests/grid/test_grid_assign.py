"""Assignment equals a brute-force ``covers`` test, on edges and vertices too; near-border
and nearest-grid answers equal brute-force distances."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from grid_fixtures import TOWNSHIP, V_COMM, V_VILL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid.assign import GridIndex, brute_force_code
from grid.boundaries import Boundaries
from grid.coords import wgs84_to_gcj02


@pytest.fixture(scope="module")
def county_index(small_county: Boundaries) -> GridIndex:
    return GridIndex(small_county, version=3)


def brute(b: Boundaries, index: GridIndex, lon: float, lat: float) -> tuple[str | None, bool, str | None, float]:
    """Reference: covers over every grid, smallest code; distances in the index's plane."""
    code = brute_force_code(b, lon, lat)
    x, y = index.frame.to_xy(lon, lat)
    d = shapely.distance(index.geoms_xy, shapely.Point(float(x), float(y)))
    if code is not None:
        d = np.where(index.codes == code, np.inf, d)
        return code, bool((d <= index.near_m).any()), None, 0.0
    k = int(np.argmin(d))
    return None, bool(d[k] <= index.near_m), str(index.codes[k]), float(d[k])


def test_squares_known_points(square_boundaries: Boundaries) -> None:
    index = GridIndex(square_boundaries, version=1)
    a = index.locate(120.505, 29.705)
    assert (a.grid_code, a.village_code, a.township_code, a.status, a.near_border, a.version) == (
        V_COMM + "001", V_COMM, TOWNSHIP, "assigned", False, 1)
    # centre vertex shared by all four squares: smallest code wins
    assert index.locate(120.51, 29.71).grid_code == V_COMM + "001"
    # shared edge between the two upper squares
    assert index.locate(120.51, 29.715).grid_code == V_VILL + "001"
    assert index.locate(120.51, 29.715).near_border is True
    # 20 m inside the left edge of a square: near its neighbour? no, the neighbour is 1 km away
    out = index.locate(120.49, 29.705)
    assert (out.status, out.grid_code, out.nearest_code) == ("unassigned", None, V_COMM + "001")
    assert out.distance_m == pytest.approx(967.6, abs=2)


def _sample_points(b: Boundaries, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    geoms = b.layer("grid").geometry.values
    coords = shapely.get_coordinates(geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rand = np.c_[rng.uniform(minx - 0.01, maxx + 0.01, n), rng.uniform(miny - 0.01, maxy + 0.01, n)]
    verts = coords[rng.integers(len(coords), size=n // 4)]
    k = rng.integers(len(coords) - 1, size=n // 4)
    mids = (coords[k] + coords[k + 1]) / 2  # on an edge (up to rounding) or across a ring seam
    pts = np.r_[rand, verts, mids]
    return pts[:, 0], pts[:, 1]


def test_many_points_equal_brute_force_including_vertices(small_county: Boundaries,
                                                          county_index: GridIndex) -> None:
    rng = np.random.default_rng(5)
    lon, lat = _sample_points(small_county, rng, 500)
    df = county_index.locate_many(lon, lat)
    for i in range(len(lon)):
        want = brute(small_county, county_index, lon[i], lat[i])
        got = (df.grid_code[i], bool(df.near_border[i]), df.nearest_code[i], float(df.distance_m[i]))
        assert got[:3] == want[:3], (lon[i], lat[i], got, want)
        assert got[3] == pytest.approx(want[3], abs=1e-6)
        single = county_index.locate(lon[i], lat[i])
        assert (single.grid_code, single.near_border, single.nearest_code) == want[:3]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.tuples(st.just("random"), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("vertex"), st.integers(0, 10**6), st.just(0.0)),
    st.tuples(st.just("edge"), st.integers(0, 10**6), st.floats(0, 1)),
))
def test_property_assignment_equals_brute_force(small_county: Boundaries, county_index: GridIndex,
                                                case: tuple[str, float, float]) -> None:
    kind, a, t = case
    geoms = county_index.geoms
    if kind == "random":
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        lon, lat = minx + a * (maxx - minx), miny + t * (maxy - miny)
    else:
        coords = shapely.get_coordinates(geoms)
        k = int(a) % (len(coords) - 1)
        p, q = coords[k], coords[k + 1]
        lon, lat = (p if kind == "vertex" else p + t * (q - p))
    want = brute(small_county, county_index, float(lon), float(lat))
    got = county_index.locate(float(lon), float(lat))
    assert (got.grid_code, got.near_border, got.nearest_code) == want[:3]
    row = county_index.locate_many([lon], [lat]).iloc[0]
    assert (row.grid_code, bool(row.near_border), row.nearest_code) == want[:3]


def test_fast_cells_answer_most_points_without_polygon_tests(county_index: GridIndex) -> None:
    assert county_index.fast_fraction > 0.3


def test_township_only_layer_assigns_at_township_level(small_county: Boundaries) -> None:
    towns = Boundaries({"township": small_county.layer("township")})
    index = GridIndex(towns)
    p = shapely.point_on_surface(small_county.layer("township").geometry.iloc[1])
    a = index.locate(p.x, p.y)
    assert (a.grid_code, a.village_code, a.township_code) == (None, None,
                                                             small_county.layer("township")["code"].iloc[1])


def test_gcj02_input_is_converted_before_lookup(square_boundaries: Boundaries) -> None:
    index = GridIndex(square_boundaries)
    glon, glat = wgs84_to_gcj02(120.505, 29.705)
    assert index.locate(float(glon), float(glat), crs="gcj02").grid_code == V_COMM + "001"
    df = index.locate_many([glon], [glat], crs="gcj02")
    assert df.grid_code[0] == V_COMM + "001"


def test_invalid_coordinates(square_boundaries: Boundaries) -> None:
    index = GridIndex(square_boundaries)
    df = index.locate_many([np.nan, 120.505], [29.7, 29.705])
    assert list(df.status) == ["invalid", "assigned"]


def test_nearest_from_block_candidates_equals_the_segment_tree(small_county: Boundaries,
                                                               county_index: GridIndex) -> None:
    """Outside points are answered from the candidate edges of their block (issue 18): the
    same area and the same distance, to the last bit, as GEOS's nearest-segment query —
    at random, and right beside vertices, where several areas' edges tie."""
    index = county_index
    rng = np.random.default_rng(11)
    edges, _ = index._edges()
    k = rng.integers(len(edges), size=20_000)
    ang, r = rng.uniform(0, 2 * np.pi, len(k)), rng.exponential(60.0, len(k))
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms_xy)
    x = np.r_[edges[k, 0] + r * np.cos(ang), edges[k, 0], rng.uniform(minx, maxx, 20_000)]
    y = np.r_[edges[k, 1] + r * np.sin(ang), edges[k, 1], rng.uniform(miny, maxy, 20_000)]
    need = np.flatnonzero(index._cell_values(x, y) < 0)
    got_g, got_d = index._nearest_blocks(x[need], y[need])
    covered = got_g >= 0
    assert covered.mean() > 0.9 and (index.cells == -3).any()
    want_g, want_d = index._nearest_tree(x[need][covered], y[need][covered])
    assert (got_g[covered] == want_g).all()
    assert (got_d[covered] == want_d).all()


def test_points_off_the_raster_fall_back_to_the_tree(square_boundaries: Boundaries) -> None:
    index = GridIndex(square_boundaries)
    lon = np.array([120.0, 120.49, 120.505])  # far west, just west, inside
    lat = np.array([29.7, 29.705, 29.705])
    g, d = index._nearest_blocks(*index.frame.to_xy(lon[:2], lat[:2]))
    assert (g < 0).all()  # off the raster: not the blocks' business
    df = index.locate_many(lon, lat)
    assert list(df.status) == ["unassigned", "unassigned", "assigned"]
    assert df.distance_m[1] == pytest.approx(967.6, abs=2)
