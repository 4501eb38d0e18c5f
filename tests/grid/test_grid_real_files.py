"""Boundary files as a county's GIS staff bring them (issue 18): declared and undeclared
coordinate systems, GCJ-02 boundaries, GBK Shapefiles with and without .cpg, duplicates,
exploded multiparts, an enclave filling a hole — each imported, checked and assigned.

The files are written at test time into tmp dirs: a hand-drawn district with an enclave
(always), and files derived from the real 赤水市 townships when ../shared is present.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from grid_fixtures import REAL, feature, write_geojson
from pyproj import Geod

from grid.assign import GridIndex, brute_force_code
from grid.boundaries import Boundaries, make_layer, read_boundaries, read_outline
from grid.check import check_boundaries
from grid.errors import BadCode, EncodingError, UnknownCRS, VersionError
from grid.place import wgs84_to_mars
from grid.versions import GridStore
from server.cli import main  # fengqiao: the one CLI translator of errors

A, B, C = "339901001", "339901002", "339901003"  # 街道 A holds B's enclave in its hole
NAMES = {A: "东湖街道", B: "枫桥街道", C: "上塘街道"}
HOLE = shapely.box(120.5080, 29.7080, 120.5098, 29.7096)  # ~170 m × 180 m


def district() -> Boundaries:
    """Three townships near 120.5°E 29.7°N: A (with a hole), B (main body east of A plus a
    detached piece filling A's hole), C north of both."""
    a = shapely.box(120.50, 29.70, 120.52, 29.72).difference(HOLE)
    b = shapely.MultiPolygon([shapely.box(120.52, 29.70, 120.54, 29.72), HOLE])
    c = shapely.box(120.50, 29.72, 120.54, 29.74)
    return Boundaries({"township": make_layer([A, B, C], [NAMES[A], NAMES[B], NAMES[C]], [a, b, c])})


def _frame(b: Boundaries) -> gpd.GeoDataFrame:
    return b.layer("township")[["code", "name", "geometry"]]


def _without_crs(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    data = json.loads(gdf.to_json())
    data.pop("crs", None)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _points(path: Path, lon: list[float], lat: list[float]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "lon", "lat"])
        for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
            w.writerow([f"c{i:03d}", repr(x), repr(y)])
    return path


def _assign(*args: object) -> tuple[int, str, list[dict[str, str]]]:
    out = Path(str(args[-1]))
    result = CliRunner().invoke(main, ["grid", "assign", *map(str, args[:-1]), "-o", str(out)])
    rows = list(csv.DictReader(out.open(encoding="utf-8"))) if out.exists() else []
    return result.exit_code, result.output, rows


ENCLAVE_PT = (120.5089, 29.7088)  # inside the hole → B
A_PT, B_PT = (120.505, 29.705), (120.53, 29.71)


# ------------------------------------------------------------------ finding 1: no crs member

def test_projected_geojson_without_crs_member_needs_crs_and_the_english_half_says_so(tmp_path: Path) -> None:
    path = _without_crs(_frame(district()).to_crs("EPSG:4549"), tmp_path / "zone40.geojson")
    with pytest.raises(UnknownCRS) as info:
        read_boundaries(path)
    assert "--crs" in info.value.message_en and "--crs" in info.value.message_zh
    assert "EPSG:4549" in info.value.message_en  # the zone that puts it in 浙江
    b = read_boundaries(path, crs="EPSG:4549")
    assert b.crs is not None and (b.crs.declared, b.crs.used) == (None, "EPSG:4549")
    got = b.layer("township").set_index("code").geometry
    for code, geom in zip(_frame(district())["code"], _frame(district()).geometry, strict=True):
        assert shapely.hausdorff_distance(got[code], geom) < 1e-7
    assert check_boundaries(b).ok
    index = GridIndex(b)
    assert index.locate(*ENCLAVE_PT).township_code == B


def test_cli_import_with_crs_records_it_in_the_version(tmp_path: Path) -> None:
    path = _without_crs(_frame(district()).to_crs("EPSG:4549"), tmp_path / "zone40.geojson")
    result = CliRunner().invoke(main, ["grid", "import", str(path), "--crs", "EPSG:4549", "--home",
                                           str(tmp_path / "home"), "--commit", "--json"])
    assert result.exit_code == 0, result.output
    meta = GridStore(tmp_path / "home").get(1).meta
    assert meta["crs"]["used"] == "EPSG:4549" and meta["crs"]["declared"] is None


# ------------------------------------------------------------------ finding 2: --crs means something

def test_crs_is_validated_even_when_the_file_declares_one(tmp_path: Path) -> None:
    path = tmp_path / "declared.gpkg"
    _frame(district()).to_crs("EPSG:4549").to_file(path)
    with pytest.raises(UnknownCRS, match="not-a-crs"):
        read_boundaries(path, crs="not-a-crs")


def test_crs_overrides_the_declaration_with_a_warning_and_a_wrong_zone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "declared.gpkg"
    _frame(district()).to_crs("EPSG:4549").to_file(path)
    b = read_boundaries(path, crs="EPSG:4547")  # 6° west: lands in 江西/湖南, not 浙江
    report = check_boundaries(b)
    kinds = {i.kind: i for i in report.issues}
    assert kinds["crs_override"].severity == "warning"
    assert "EPSG:4549" in kinds["crs_override"].message_en and "EPSG:4547" in kinds["crs_override"].message_en
    misplaced = kinds["misplaced"]
    assert misplaced.severity == "error" and not report.ok
    assert "浙江" in misplaced.message_zh and "--crs EPSG:4549" in misplaced.message_en
    assert check_boundaries(read_boundaries(path)).ok  # the declaration itself is right


def test_boundaries_outside_china_are_refused(tmp_path: Path) -> None:
    moved = _frame(district())
    moved["geometry"] = shapely.transform(moved.geometry.values, lambda c: c - [110.0, 0.0])  # 10.5°E
    path = write_geojson(tmp_path / "europe.geojson", [
        feature({"code": c, "name": n}, g) for c, n, g in zip(moved["code"], moved["name"], moved.geometry,
                                                                strict=True)])
    report = check_boundaries(read_boundaries(path))
    assert [i.kind for i in report.errors] == ["misplaced"]
    assert "浙江" in report.errors[0].message_zh


def test_a_wrong_zone_is_found_against_the_outline(tmp_path: Path) -> None:
    b = district()
    outline = shapely.union_all(b.layer("township").geometry.values)
    path = tmp_path / "declared.gpkg"
    _frame(b).to_crs("EPSG:4549").to_file(path)
    report = check_boundaries(read_boundaries(path, crs="EPSG:4548"), outline=outline)
    assert any(i.kind == "misplaced" and "cover 0% of the outline" in i.message_en
               and "--crs EPSG:4549" in i.message_en for i in report.errors)


# ------------------------------------------------------------------ finding 3: GCJ-02 boundaries

def _gcj_file(tmp_path: Path, suffix: str = ".geojson") -> Path:
    gdf = _frame(district())
    gdf = gdf.set_geometry(gpd.GeoSeries(wgs84_to_mars("gcj02", gdf.geometry.values), crs="EPSG:4326"))
    path = tmp_path / f"amap{suffix}"
    if suffix == ".geojson":
        return _without_crs(gdf, path)
    gdf.to_file(path, encoding="UTF-8")
    return path


@pytest.mark.parametrize("suffix", [".geojson", ".shp"])
def test_gcj02_boundaries_are_converted_on_import(tmp_path: Path, suffix: str) -> None:
    path = _gcj_file(tmp_path, suffix)
    b = read_boundaries(path, crs="gcj02")
    assert b.crs is not None and b.crs.used == "gcj02"
    got = b.layer("township").set_index("code").geometry
    for code, geom in zip(_frame(district())["code"], _frame(district()).geometry, strict=True):
        assert shapely.hausdorff_distance(got[code], geom) < 1e-8  # below a millimetre
    index = GridIndex(b)
    assert index.locate(*ENCLAVE_PT).township_code == B
    assert index.locate(*A_PT).township_code == A


def test_gcj02_read_as_wgs84_misplaces_the_enclave_and_the_outline_says_which_crs(tmp_path: Path) -> None:
    path = _gcj_file(tmp_path)
    wrong = read_boundaries(path)
    # ~500 m off: the 170 m enclave's point now falls in A, not B
    assert GridIndex(wrong).locate(*ENCLAVE_PT).township_code != B
    outline = shapely.union_all(district().layer("township").geometry.values)
    report = check_boundaries(wrong, outline=outline)
    assert any(i.kind == "misplaced" and "--crs gcj02" in i.message_en for i in report.errors)
    assert check_boundaries(read_boundaries(path, crs="gcj02"), outline=outline).ok


def test_cli_import_gcj02_records_the_conversion(tmp_path: Path) -> None:
    path = _gcj_file(tmp_path)
    result = CliRunner().invoke(main, ["grid", "import", str(path), "--crs", "gcj02", "--home",
                                           str(tmp_path / "home"), "--commit", "--json"])
    assert result.exit_code == 0, result.output
    crs = GridStore(tmp_path / "home").get(1).meta["crs"]
    assert crs["used"] == "gcj02" and "WGS-84" in crs["converted"]


# ------------------------------------------------------------------ finding 4: no assignment without a check

def _duplicate_file(tmp_path: Path) -> Path:
    b = district()
    return write_geojson(tmp_path / "dup.geojson", [
        feature({"code": A, "name": NAMES[A]}, b.layer("township").geometry.iloc[0]),
        feature({"code": B, "name": NAMES[B]}, b.layer("township").geometry.iloc[1]),
        feature({"code": B, "name": "上塘街道"}, b.layer("township").geometry.iloc[2]),  # wrong code
    ])


def test_assign_from_a_file_runs_the_check_and_stops_on_errors(tmp_path: Path) -> None:
    pts = _points(tmp_path / "p.csv", [A_PT[0], 120.52], [A_PT[1], 29.73])
    code, output, rows = _assign(_duplicate_file(tmp_path), pts, tmp_path / "out.csv")
    assert code == 1 and rows == []
    assert "duplicate" not in output or "occurs 2 times" in output
    assert "features 2" not in output  # each feature is named on its own
    assert "feature 2 (枫桥街道)" in output and "feature 3 (上塘街道)" in output
    assert "--no-check" in output and "Traceback" not in output
    code, output, rows = _assign(_duplicate_file(tmp_path), pts, "--no-check", tmp_path / "out.csv")
    assert code == 0 and "--no-check" in output and len(rows) == 2


def test_assign_from_a_file_with_a_bowtie_stops(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(120.50, 29.70), (120.52, 29.72), (120.52, 29.70), (120.50, 29.72)])
    path = write_geojson(tmp_path / "bowtie.geojson", [feature({"code": A, "name": NAMES[A]}, bowtie)])
    code, output, _ = _assign(path, _points(tmp_path / "p.csv", [120.51], [29.705]), tmp_path / "o.csv")
    assert code == 1 and "invalid geometry" in output


def test_a_version_whose_check_failed_is_not_used_without_force(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["grid", "import", str(_duplicate_file(tmp_path)), "--home", str(home),
                                           "--commit", "--json"])
    assert result.exit_code == 0 and not json.loads(result.output)["check"]["ok"]
    pts = _points(tmp_path / "p.csv", [A_PT[0]], [A_PT[1]])
    code, output, rows = _assign(1, pts, "--home", home, tmp_path / "o.csv")
    assert code == 1 and "--force" in output and rows == []
    with pytest.raises(VersionError):
        GridStore(home).get(1).index()
    code, output, rows = _assign(1, pts, "--home", home, "--force", tmp_path / "o.csv")
    assert code == 0 and rows[0]["township_code"] == A


# ------------------------------------------------------------------ finding 5: messages, parts, encodings

def test_duplicate_codes_list_every_feature_with_number_and_name(tmp_path: Path) -> None:
    report = check_boundaries(read_boundaries(_duplicate_file(tmp_path)))
    dup = next(i for i in report.errors if i.kind == "duplicate_code")
    assert "feature 2 (枫桥街道)" in dup.message_en and "feature 3 (上塘街道)" in dup.message_en
    assert "第 2 个要素（枫桥街道）" in dup.message_zh and "第 3 个要素（上塘街道）" in dup.message_zh


def _exploded(tmp_path: Path, suffix: str = ".geojson") -> Path:
    """B's two parts as two rows with the same code and name, as Shapefiles often have."""
    rows = _frame(district()).explode(index_parts=False).reset_index(drop=True)
    assert list(rows["code"]) == [A, B, B, C]
    path = tmp_path / f"exploded{suffix}"
    rows.to_file(path, encoding="UTF-8") if suffix == ".shp" else _without_crs(rows, path)
    return path


@pytest.mark.parametrize("suffix", [".geojson", ".shp"])
def test_rows_of_one_area_are_dissolved_with_a_warning(tmp_path: Path, suffix: str) -> None:
    b = read_boundaries(_exploded(tmp_path, suffix))
    assert b.counts() == {"township": 3}
    report = check_boundaries(b)
    assert report.ok and [i.kind for i in report.warnings] == ["dissolved"]
    assert "features 2, 3" in report.warnings[0].message_en and B in report.warnings[0].message_en
    index = GridIndex(b)
    assert index.locate(*ENCLAVE_PT).township_code == B and index.locate(*B_PT).township_code == B


def test_rows_of_one_area_can_be_refused_with_the_hint(tmp_path: Path) -> None:
    with pytest.raises(BadCode) as info:
        read_boundaries(_exploded(tmp_path), multipart="error")
    assert "features 2, 3" in info.value.message_en and "dissolve" in info.value.message_en
    result = CliRunner().invoke(main, ["grid", "check", str(_exploded(tmp_path)), "--multipart", "error"])
    assert result.exit_code == 1 and "dissolve" in result.output


def _gbk_shapefile(tmp_path: Path, *, cpg: bool, ldid: int | None) -> Path:
    path = tmp_path / "gbk.shp"
    pyogrio.write_dataframe(_frame(district()), path, encoding="gbk")
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    return path


def test_gbk_shapefile_with_cpg_reads_its_names(tmp_path: Path) -> None:
    b = read_boundaries(_gbk_shapefile(tmp_path, cpg=True, ldid=None))
    assert list(b.layer("township")["name"]) == [NAMES[A], NAMES[B], NAMES[C]]


def test_gbk_dbf_declaring_its_code_page_in_the_header_needs_no_cpg(tmp_path: Path) -> None:
    b = read_boundaries(_gbk_shapefile(tmp_path, cpg=False, ldid=0x4D))
    assert list(b.layer("township")["name"]) == [NAMES[A], NAMES[B], NAMES[C]]
    assert b.encoding == "gbk"
    assert GridIndex(b).locate(*ENCLAVE_PT).township_code == B


def test_gbk_dbf_declaring_nothing_is_asked_for(tmp_path: Path) -> None:
    path = _gbk_shapefile(tmp_path, cpg=False, ldid=None)
    with pytest.raises(EncodingError) as info:
        read_boundaries(path)
    assert "--encoding" in info.value.message_en and info.value.feature == 1
    assert list(read_boundaries(path, encoding="gbk").layer("township")["name"])[0] == NAMES[A]


def test_unknown_encoding_is_reported_as_unknown(tmp_path: Path) -> None:
    with pytest.raises(EncodingError, match="unknown encoding 'gbkk'") as info:
        read_boundaries(_gbk_shapefile(tmp_path, cpg=False, ldid=None), encoding="gbkk")
    assert "未知编码" in info.value.message_zh


def test_latin1_on_a_gbk_file_is_flagged_as_garbled(tmp_path: Path) -> None:
    with pytest.raises(EncodingError) as info:
        read_boundaries(_gbk_shapefile(tmp_path, cpg=False, ldid=None), encoding="latin1")
    e = info.value
    assert "garbled" in e.message_en and "latin1" in e.message_en and e.feature == 1
    assert (e.code, e.field) == (A, "name")


# ------------------------------------------------------------------ finding 6: far distances

def _geodesic_brute(b: Boundaries, lon: float, lat: float) -> float:
    union = shapely.union_all(b.layer("township").geometry.values)
    pts = shapely.get_coordinates(shapely.segmentize(union.boundary, 0.00002))  # ~2 m
    _, _, d = Geod(ellps="WGS84").inv(np.full(len(pts), lon), np.full(len(pts), lat), pts[:, 0], pts[:, 1])
    return float(np.min(d))


@pytest.mark.parametrize("lon, lat", [(-59.5, -29.7), (121.5, 31.2), (0.0, 89.0), (121.0, 29.7)])
def test_distance_of_far_points_is_geodesic(lon: float, lat: float) -> None:
    b = district()
    index = GridIndex(b)
    want = _geodesic_brute(b, lon, lat)
    one = index.locate(lon, lat)
    many = index.locate_many([lon], [lat])
    assert one.status == "unassigned" and one.nearest_code is not None
    assert one.distance_m == pytest.approx(want, abs=0.5)
    assert float(many["distance_m"].iloc[0]) == pytest.approx(want, abs=0.5)


# ------------------------------------------------------------------ finding 7: outside points, fast and right

def test_points_over_the_bounding_box_match_brute_force_including_outside(small_county: Boundaries) -> None:
    # rotate the county's outline 45° so a third of its bounding box is outside
    index = GridIndex(small_county)
    layer = small_county.layer("grid")
    minx, miny, maxx, maxy = shapely.total_bounds(layer.geometry.values)
    rng = np.random.default_rng(18)
    lon = rng.uniform(minx - 0.01, maxx + 0.01, 3000)
    lat = rng.uniform(miny - 0.01, maxy + 0.01, 3000)
    got = index.locate_many(lon, lat)
    outside = got["status"] == "unassigned"
    assert 0.1 < outside.mean() < 0.9
    assert (index.cells == -3).any()  # the coarse outside cells exist
    for i in range(0, 3000, 7):
        assert got["grid_code"].iloc[i] == brute_force_code(small_county, lon[i], lat[i])
    # nearest code and distance of outside points against the polygons themselves
    xy = index.geoms_xy
    for i in np.flatnonzero(outside.to_numpy())[:200]:
        p = shapely.Point(*index.frame.to_xy(lon[i], lat[i]))
        d = shapely.distance(xy, p)
        assert float(got["distance_m"].iloc[i]) == pytest.approx(d.min(), abs=1e-6)
        assert got["nearest_code"].iloc[i] == index.codes[np.flatnonzero(d == d.min()).min()]
        assert index.locate(lon[i], lat[i]).distance_m == pytest.approx(d.min(), abs=1e-6)


def test_assign_csv_fast_and_pandas_paths_write_the_same_answers(tmp_path: Path) -> None:
    b = district()
    store = GridStore(tmp_path / "home")
    store.activate(store.add(b, check_boundaries(b)).number)
    lon = [ENCLAVE_PT[0], A_PT[0], B_PT[0], 121.0, 120.5]
    lat = [ENCLAVE_PT[1], A_PT[1], B_PT[1], 29.7, 29.72]
    plain = _points(tmp_path / "plain.csv", lon, lat)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(plain.read_text(encoding="utf-8").replace("c000", '"c,000"'), encoding="utf-8")
    _, _, fast = _assign(1, plain, "--home", tmp_path / "home", tmp_path / "fast.csv")
    _, _, slow = _assign(1, quoted, "--home", tmp_path / "home", tmp_path / "slow.csv")
    assert [r["township_code"] for r in fast] == [B, A, B, "", A]
    drop = lambda rows: [{k: v for k, v in r.items() if k != "id"} for r in rows]  # noqa: E731
    assert drop(fast) == drop(slow) and slow[0]["id"] == "c,000"
    assert fast[3]["status"] == "unassigned" and fast[3]["nearest_code"] == B
    assert float(fast[3]["distance_m"]) == pytest.approx(_geodesic_brute(b, 121.0, 29.7), abs=0.5)


# ------------------------------------------------------------------ derived from the real county

real = pytest.mark.skipif(not (REAL / "townships.geojson").exists(), reason="shared real data not present")


def _real_frame() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(REAL / "townships.geojson")
    fill = {"丙安乡": "520381110", "两河口乡": "520381109"}
    gdf["code"] = [c or fill[n] for c, n in zip(gdf["code_nbs2023_by_name"], gdf["name"], strict=True)]
    return gdf[["code", "name", "geometry"]].set_crs("EPSG:4490", allow_override=True)


@real
def test_real_county_in_its_gauss_krueger_zone_without_declaration(tmp_path: Path) -> None:
    path = _without_crs(_real_frame().to_crs("EPSG:4544"), tmp_path / "chishui-cm105.geojson")
    with pytest.raises(UnknownCRS) as info:
        read_boundaries(path)
    assert "--crs EPSG:4544" in info.value.message_en and "贵州" in info.value.message_zh
    b = read_boundaries(path, crs="EPSG:4544")
    outline = read_outline(REAL / "county_outline.geojson")
    assert check_boundaries(b, outline=outline).ok
    index = GridIndex(b, cell_m=40)
    for code, geom in zip(_real_frame()["code"], _real_frame().geometry, strict=True):
        p = shapely.point_on_surface(geom)
        assert index.locate(p.x, p.y).township_code == code


@real
def test_real_county_in_a_wrong_zone_stays_in_its_province_but_not_on_its_outline(tmp_path: Path) -> None:
    path = tmp_path / "chishui.gpkg"
    _real_frame().to_crs("EPSG:4544").to_file(path)
    wrong = read_boundaries(path, crs="EPSG:4545")  # 3° east: 108.7°E, still inside 贵州
    assert "misplaced" not in {i.kind for i in check_boundaries(wrong).issues}
    report = check_boundaries(wrong, outline=read_outline(REAL / "county_outline.geojson"))
    assert any(i.kind == "misplaced" and "--crs EPSG:4544" in i.message_en for i in report.errors)


@real
def test_real_county_in_gcj02_is_refused_against_its_outline_and_imported_with_crs(tmp_path: Path) -> None:
    gdf = _real_frame()
    gdf = gdf.set_geometry(gpd.GeoSeries(wgs84_to_mars("gcj02", gdf.geometry.values), crs="EPSG:4326"))
    path = _without_crs(gdf, tmp_path / "chishui-amap.geojson")
    outline = read_outline(REAL / "county_outline.geojson")
    wrong = check_boundaries(read_boundaries(path), outline=outline)
    assert any(i.kind == "misplaced" and "--crs gcj02" in i.message_en for i in wrong.errors)
    right = read_boundaries(path, crs="gcj02")
    assert check_boundaries(right, outline=outline).ok
    index = GridIndex(right, cell_m=40)
    for code, geom in zip(_real_frame()["code"], _real_frame().geometry, strict=True):
        p = shapely.point_on_surface(geom)
        assert index.locate(p.x, p.y).township_code == code


@real
def test_real_county_as_gbk_shapefile_without_cpg_but_with_ldid(tmp_path: Path) -> None:
    path = tmp_path / "chishui.shp"
    pyogrio.write_dataframe(_real_frame(), path, encoding="gbk")
    path.with_suffix(".cpg").unlink()
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D
    dbf.write_bytes(bytes(data))
    b = read_boundaries(path)
    assert set(b.layer("township")["name"]) == set(_real_frame()["name"])
    with pytest.raises(EncodingError, match="garbled"):
        read_boundaries(path, encoding="latin1")
