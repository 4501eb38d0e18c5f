"""Quality check: planted overlaps, gaps, a bowtie and a duplicate code are found; the demo
county passes; slivers below the tolerance are warnings."""

from __future__ import annotations

from pathlib import Path

import shapely
from grid_fixtures import V_COMM, V_VILL, squares

from grid.boundaries import Boundaries, make_layer, read_boundaries
from grid.check import check_boundaries


def _with_grids(grids: dict[str, object]) -> Boundaries:
    b = squares()
    b.layers["grid"] = make_layer(list(grids), [f"第{i}网格" for i in range(len(grids))], list(grids.values()))
    return b


def kinds(report) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(i.kind, i.severity) for i in report.issues}


def test_clean_squares_pass_with_no_issues(square_boundaries: Boundaries) -> None:
    report = check_boundaries(square_boundaries)
    assert report.ok and report.issues == []
    assert report.summary()["areas"] == {"township": 1, "village": 2, "grid": 4}


def test_planted_problems_are_all_found() -> None:
    bowtie = shapely.Polygon([(120.50, 29.71), (120.51, 29.72), (120.51, 29.71), (120.50, 29.72)])
    b = _with_grids({
        # overlaps its neighbour by 0.002° (~190 m) wide strip
        V_COMM + "001": shapely.box(120.50, 29.70, 120.512, 29.71),
        V_COMM + "002": shapely.box(120.51, 29.70, 120.52, 29.71),
        V_VILL + "001": bowtie,
        # leaves a gap in its village (0.005° wide)
        V_VILL + "002": shapely.box(120.515, 29.71, 120.52, 29.72),
        V_VILL + "003": shapely.box(120.53, 29.71, 120.54, 29.72),  # outside its village
    })
    b.layers["grid"] = b.layers["grid"].iloc[[0, 1, 2, 3, 4, 4]].reset_index(drop=True)  # duplicate code
    report = check_boundaries(b)
    assert not report.ok
    found = kinds(report)
    for kind in ("overlap", "gap", "invalid_geometry", "duplicate_code", "outside_parent"):
        assert (kind, "error") in found, kind
    overlap = next(i for i in report.issues if i.kind == "overlap" and V_COMM + "001" in i.codes)
    assert overlap.codes == [V_COMM + "001", V_COMM + "002"]
    assert 190_000 < overlap.area_m2 < 240_000  # 0.002° x 0.01° at 29.7°N
    assert overlap.location is not None
    bow = next(i for i in report.issues if i.kind == "invalid_geometry")
    assert bow.codes == [V_VILL + "001"] and "Self-intersection" in bow.message_en
    # the repaired copy is valid
    assert shapely.is_valid(report.repaired.layer("grid").geometry.values).all()


def test_small_overlap_is_a_warning_below_the_sliver_tolerance() -> None:
    b = _with_grids({
        V_COMM + "001": shapely.box(120.50, 29.70, 120.51 + 2e-6, 29.71),  # ~0.2 m x 1.1 km
        V_COMM + "002": shapely.box(120.51, 29.70, 120.52, 29.71),
        V_VILL + "001": shapely.box(120.50, 29.71, 120.51, 29.72),
        V_VILL + "002": shapely.box(120.51, 29.71, 120.52, 29.72),
    })
    lenient = check_boundaries(b, sliver_m2=1000)
    assert lenient.ok and ("overlap", "warning") in kinds(lenient)
    strict = check_boundaries(b, sliver_m2=10)
    assert not strict.ok and ("overlap", "error") in kinds(strict)


def test_gap_between_siblings_is_found_without_a_parent_layer() -> None:
    b = squares()
    grids = b.layer("grid")
    # a hole in the middle of the township: shrink all four squares away from the centre
    hole = shapely.box(120.508, 29.708, 120.512, 29.712)
    shrunk = [g.difference(hole) for g in grids.geometry]
    b = Boundaries({"grid": make_layer(grids["code"], grids["name"], shrunk)})
    report = check_boundaries(b)
    gaps = [i for i in report.issues if i.kind == "gap"]
    assert gaps and all(i.severity == "error" for i in gaps)


def test_missing_parent_is_an_error() -> None:
    b = _with_grids({
        V_COMM + "001": shapely.box(120.50, 29.70, 120.51, 29.71),
        V_COMM + "002": shapely.box(120.51, 29.70, 120.52, 29.71),
        V_VILL + "001": shapely.box(120.50, 29.71, 120.51, 29.72),
        "339901100205001": shapely.box(120.51, 29.71, 120.52, 29.72),
    })
    assert ("missing_parent", "error") in kinds(check_boundaries(b))


def test_demo_county_passes(small_county: Boundaries) -> None:
    report = check_boundaries(small_county)
    assert report.ok, [i.message_en for i in report.errors]
    assert report.issues == []


def test_fix_round_trip_through_a_file(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(120.50, 29.70), (120.51, 29.71), (120.51, 29.70), (120.50, 29.71)])
    b = _with_grids({V_COMM + "001": bowtie})
    report = check_boundaries(b)
    out = tmp_path / "fixed.gpkg"
    report.repaired.write_gpkg(out)
    fixed = read_boundaries(out)
    assert shapely.is_valid(fixed.layer("grid").geometry.values).all()
    assert check_boundaries(fixed).summary()["by_kind"].get("invalid_geometry") is None
