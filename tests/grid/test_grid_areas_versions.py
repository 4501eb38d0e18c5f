"""Area documents for CouchDB, the demo county, and versions on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from grid_fixtures import TOWNSHIP, V_COMM, squares

from grid.areas import area_documents
from grid.boundaries import Boundaries
from grid.check import check_boundaries
from grid.codes import is_parent_of, validate_code, village_kind
from grid.demo import make_demo_county
from grid.errors import VersionError
from grid.versions import GridStore

KEYS = {"_id", "type", "schema_version", "level", "code", "name", "parent", "version", "geometry", "bbox"}


def test_area_documents_have_exactly_the_agreed_keys() -> None:
    docs = list(area_documents(squares(), version=4))
    assert [d["_id"] for d in docs[:3]] == [f"area:{TOWNSHIP}", f"area:{V_COMM}", f"area:{TOWNSHIP}201"]
    for d in docs:
        assert set(d) == KEYS
        assert d["type"] == "area" and d["schema_version"] == 1 and d["version"] == 4
    grid = next(d for d in docs if d["code"] == V_COMM + "001")
    assert grid == {
        "_id": f"area:{V_COMM}001", "type": "area", "schema_version": 1, "level": "grid",
        "code": f"{V_COMM}001", "name": "第1网格", "parent": V_COMM, "version": 4,
        "geometry": grid["geometry"], "bbox": [120.5, 29.7, 120.51, 29.71],
    }
    assert grid["geometry"]["type"] == "Polygon"
    assert docs[0]["parent"] == "339901"  # the parent is a code, even when its layer is absent
    json.dumps(docs)  # plain JSON


def test_area_documents_simplify_big_geometries_to_the_budget() -> None:
    circle = shapely.Point(120.5, 29.7).buffer(0.05, quad_segs=2000)  # 8,000 vertices
    from grid.boundaries import make_layer

    b = Boundaries({"township": make_layer([TOWNSHIP], ["大镇"], [circle])})
    doc = next(area_documents(b, version=1, max_coords=2000))
    geom = shapely.from_geojson(json.dumps(doc["geometry"]))
    assert shapely.get_num_coordinates(geom) <= 2000
    assert geom.is_valid and abs(geom.area - circle.area) / circle.area < 0.001


def test_demo_county_is_deterministic_and_nested(small_county: Boundaries) -> None:
    again = make_demo_county(7, townships=3, villages=12, grids=120, radius_km=3.5)
    for lvl in small_county.levels:
        assert list(again.layer(lvl)["code"]) == list(small_county.layer(lvl)["code"])
        assert all(a.equals_exact(b, 0) for a, b in zip(again.layer(lvl).geometry,
                                                          small_county.layer(lvl).geometry, strict=True))
    assert small_county.counts()["township"] == 3 and small_county.counts()["village"] == 12
    for lvl in ("township", "village", "grid"):
        for code, parent in zip(small_county.layer(lvl)["code"], small_county.layer(lvl)["parent"],
                                strict=True):
            validate_code(code, lvl)  # type: ignore[arg-type]
            assert is_parent_of(parent, code)
    names = small_county.layer("village").set_index("code")["name"]
    for code, name in names.items():
        assert name.endswith("社区" if village_kind(code) == "community" else "村")
    assert set(small_county.layer("grid")["name"].str.fullmatch(r"第\d+网格")) == {True}
    lon, lat = shapely.get_coordinates(small_county.layer("county").geometry.iloc[0]).mean(axis=0)
    assert 120.3 < lon < 120.7 and 29.5 < lat < 29.9


def test_full_demo_county_sizes() -> None:
    b = make_demo_county(0)
    counts = b.counts()
    assert counts["township"] == 20 and counts["village"] == 300
    assert 2800 <= counts["grid"] <= 3200
    assert np.all(shapely.is_valid(b.layer("grid").geometry.values))


def test_versions_activate_retire_and_resolve(tmp_path: Path) -> None:
    store = GridStore(tmp_path)
    with pytest.raises(VersionError, match="no active boundary version"):
        store.current()
    b = squares()
    v1 = store.add(b, check_boundaries(b), source="a.geojson")
    v2 = store.add(b, check_boundaries(b), source="b.geojson")
    assert (v1.number, v2.number) == (1, 2)
    store.activate(1)
    store.activate(2)
    assert [v.status for v in store.versions()] == ["retired", "active"]
    assert store.resolve("active").number == 2 and store.resolve("v1").number == 1
    meta = store.get(1).meta
    assert meta["source"] == "a.geojson" and meta["check"]["ok"] and meta["counts"]["grid"] == 4
    a = store.current().index().locate(120.505, 29.705)
    assert (a.grid_code, a.version) == (V_COMM + "001", 2)
    assert store.current().boundaries.counts() == b.counts()


def test_cell_index_is_cached_beside_the_version_and_gives_the_same_answers(
        tmp_path: Path, small_county: Boundaries) -> None:
    store = GridStore(tmp_path)
    store.add(small_county, check_boundaries(small_county))
    built = store.get(1).index()
    assert list(store.get(1).path.glob("cells-30m.npz"))
    loaded = store.get(1).index()  # a new Version object: loads the cache
    assert loaded is not built and np.array_equal(loaded.cells, built.cells)
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = shapely.total_bounds(small_county.layer("grid").geometry.values)
    lon, lat = rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000)
    assert built.locate_many(lon, lat).equals(loaded.locate_many(lon, lat))
