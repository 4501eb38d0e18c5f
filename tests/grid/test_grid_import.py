"""Reading boundary files: every bad input is a clear error naming file, feature and field."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from grid_fixtures import feature, square, squares, write_geojson

from grid.boundaries import read_boundaries
from grid.errors import (
    BadCode,
    BadGeometry,
    EncodingError,
    FileReadError,
    GridError,
    MissingColumn,
    UnknownCRS,
)

GOOD = "339901100001001"


def test_geojson_levels_follow_codes_and_names_are_kept(squares_file: Path) -> None:
    b = read_boundaries(squares_file)
    assert b.counts() == {"township": 1, "village": 2, "grid": 4}
    assert b.finest_level == "grid"
    village = b.layer("village").set_index("code")
    assert village.loc["339901100001", "name"] == "东湖社区"
    assert set(b.layer("grid")["parent"]) == {"339901100001", "339901100201"}
    assert b.layer("grid").crs.to_epsg() == 4490


def test_gauss_kruger_shapefile_is_stored_as_lonlat(tmp_path: Path) -> None:
    b = squares()
    grids = b.layer("grid").to_crs("EPSG:4550")  # CGCS2000 3-degree GK zone 40 (CM 120E)
    path = tmp_path / "gk.shp"
    grids.to_file(path)
    back = read_boundaries(path)
    assert back.counts() == {"grid": 4}
    got = back.layer("grid").set_index("code").geometry
    want = b.layer("grid").set_index("code").geometry
    for code in want.index:
        assert shapely.hausdorff_distance(got[code], want[code]) < 1e-7  # < 1 cm


def test_geopackage_reads_every_layer(tmp_path: Path) -> None:
    path = tmp_path / "county.gpkg"
    squares().write_gpkg(path)
    assert read_boundaries(path).counts() == {"township": 1, "village": 2, "grid": 4}
    assert read_boundaries(path, layer="village").counts() == {"village": 2}
    with pytest.raises(FileReadError, match="no layer 'towns'"):
        read_boundaries(path, layer="towns")


def _one(tmp_path: Path, props: dict, geom, name: str = "one.geojson") -> Path:  # type: ignore[no-untyped-def]
    return write_geojson(tmp_path / name, [feature({"code": GOOD, "name": "第1网格"}, square(120.5, 29.7)),
                                           feature(props, geom)])


def test_missing_column_names_the_column_and_lists_the_others(squares_file: Path) -> None:
    with pytest.raises(MissingColumn) as info:
        read_boundaries(squares_file, code_column="gb_code")
    e = info.value
    assert (e.file, e.field) == (str(squares_file), "gb_code")
    assert "code, name" in e.message_en and "缺少列" in e.message_zh


def test_bad_code_names_feature_and_field(tmp_path: Path) -> None:
    path = _one(tmp_path, {"code": "33990110000100A", "name": "坏"}, square(120.51, 29.7))
    with pytest.raises(BadCode) as info:
        read_boundaries(path)
    e = info.value
    # the second feature is number 2: "第 1 个要素" reads as the first (issue 18, finding 5)
    assert (e.file, e.feature, e.field) == (str(path), 2, "code")
    assert "feature 2 (坏)" in e.message_en and "第 2 个要素（坏）" in e.message_zh
    assert e.__cause__ is not None


def test_code_of_wrong_level_is_refused_when_level_demanded(squares_file: Path) -> None:
    with pytest.raises(BadCode, match="expected a grid code"):
        read_boundaries(squares_file, level="grid")


def test_empty_code_is_an_error_or_skipped_and_reported(tmp_path: Path) -> None:
    path = _one(tmp_path, {"code": "", "name": "无码村"}, square(120.51, 29.7))
    with pytest.raises(BadCode, match="missing-code skip") as info:
        read_boundaries(path)
    assert info.value.feature == 2 and "feature 2 (无码村)" in info.value.message_en
    b = read_boundaries(path, missing_code="skip")
    assert b.counts() == {"grid": 1}
    assert [(s.feature, s.name) for s in b.skipped] == [(2, "无码村")]


@pytest.mark.parametrize("geom, words", [
    (shapely.Polygon(), "empty"),
    (shapely.LineString([(120.5, 29.7), (120.6, 29.8)]), "LineString"),
    (shapely.Point(120.5, 29.7), "Point"),
    (None, "no geometry"),
])
def test_bad_geometry_names_feature_and_geometry_field(tmp_path: Path, geom, words: str) -> None:  # type: ignore[no-untyped-def]
    path = _one(tmp_path, {"code": "339901100001002", "name": "x"}, geom)
    with pytest.raises(BadGeometry) as info:
        read_boundaries(path)
    assert (info.value.feature, info.value.field) == (2, "geometry")
    assert words in info.value.message_en


def test_shapefile_without_crs_needs_crs_option(tmp_path: Path) -> None:
    gdf = squares().layer("grid").to_crs("EPSG:4549")
    path = tmp_path / "nocrs.shp"
    gdf.to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRS, match="declares no CRS") as info:
        read_boundaries(path)
    assert info.value.field == "crs"
    assert read_boundaries(path, crs="EPSG:4549").counts() == {"grid": 4}


def test_unknown_crs_name_is_translated_from_pyproj(tmp_path: Path) -> None:
    gdf = squares().layer("grid")
    path = tmp_path / "nocrs2.shp"
    gdf.to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRS) as info:
        read_boundaries(path, crs="EPSG:999999")
    assert "EPSG:999999" in info.value.message_en
    assert info.value.__cause__ is not None


def test_projected_metres_labelled_as_lonlat_are_refused(tmp_path: Path) -> None:
    gdf = squares().layer("grid").to_crs("EPSG:4549").set_crs("EPSG:4326", allow_override=True)
    path = tmp_path / "wrong.gpkg"
    gdf.to_file(path)
    with pytest.raises(UnknownCRS, match="outside lon/lat range"):
        read_boundaries(path)


def test_non_utf8_shapefile_names_feature_and_field(tmp_path: Path) -> None:
    gdf = squares().layer("grid")
    path = tmp_path / "gbk.shp"
    pyogrio.write_dataframe(gdf, path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    with pytest.raises(EncodingError) as info:
        read_boundaries(path)
    e = info.value
    assert (e.feature, e.field) == (1, "name")
    assert "--encoding" in e.message_en
    b = read_boundaries(path, encoding="gbk")
    assert list(b.layer("grid")["name"]) == ["第1网格", "第2网格", "第1网格", "第2网格"]


def test_non_utf8_geojson_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.geojson"
    text = write_geojson(tmp_path / "tmp.geojson", [feature({"code": GOOD, "name": "第1网格"},
                                                            square(120.5, 29.7))]).read_text("utf-8")
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(EncodingError, match="not UTF-8"):
        read_boundaries(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FileReadError, match="does not exist"):
        read_boundaries(tmp_path / "nope.geojson")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage")
    with pytest.raises(FileReadError, match="cannot read"):
        read_boundaries(junk)


def test_numeric_codes_from_a_shapefile_become_text(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": np.array([339901100], dtype=np.int64), "name": ["枫桥镇"]},
                           geometry=[square(120.5, 29.7)], crs="EPSG:4490")
    path = tmp_path / "num.shp"
    gdf.to_file(path)
    assert list(read_boundaries(path).layer("township")["code"]) == ["339901100"]


def test_every_error_is_a_grid_error_with_both_languages(tmp_path: Path) -> None:
    with pytest.raises(GridError) as info:
        read_boundaries(tmp_path / "nope.shp")
    d = info.value.to_dict()
    assert d["message_zh"].startswith("文件") and d["message_en"].startswith("file")
