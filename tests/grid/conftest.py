"""Fixtures for grid tests (helpers and the picture of the squares: grid_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from grid_fixtures import feature, squares, write_geojson

from grid.boundaries import Boundaries
from grid.demo import make_demo_county


@pytest.fixture
def square_boundaries() -> Boundaries:
    return squares()


@pytest.fixture(scope="session")
def small_county() -> Boundaries:
    """A small demo county (~120 grids over ~30 km²): realistic grid sizes, fast to build."""
    return make_demo_county(7, townships=3, villages=12, grids=120, radius_km=3.5)


@pytest.fixture
def squares_file(tmp_path: Path) -> Path:
    b = squares()
    feats = [feature({"code": c, "name": n}, g) for lvl in b.levels
             for c, n, g in zip(b.layer(lvl)["code"], b.layer(lvl)["name"], b.layer(lvl).geometry,
                                strict=True)]
    return write_geojson(tmp_path / "squares.geojson", feats)
