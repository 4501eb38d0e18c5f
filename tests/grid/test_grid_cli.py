"""The grid CLI: dry runs, versions, activation, assignment CSVs, diffs, clear errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from grid_fixtures import V_COMM, V_VILL, feature, square, write_geojson

from grid.cli import bench_grid
from grid.versions import GridStore
from server.cli import main


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, cmd=None):  # type: ignore[no-untyped-def]
        # ``fengqiao grid …``: errors are translated by fengqiao (server/cli.py), not by grid.
        if cmd is None:
            return runner.invoke(main, ["grid", *(str(a) for a in args)], catch_exceptions=False)
        return runner.invoke(cmd, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_every_command_has_bilingual_help(run) -> None:  # type: ignore[no-untyped-def]
    for name in ("import", "check", "assign", "diff", "activate", "versions", "demo-county"):
        result = run(name, "--help")
        assert result.exit_code == 0
        assert "/" in result.output and "--" in result.output
    assert "--points" in run("--help", cmd=bench_grid).output


def test_import_is_a_dry_run_until_commit_then_activate(run, squares_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    dry = run("import", squares_file, "--home", home)
    assert dry.exit_code == 0 and "dry run" in dry.output
    assert GridStore(home).versions() == []
    done = run("import", squares_file, "--home", home, "--commit", "--json")
    assert json.loads(done.output)["version"] == 1
    assert GridStore(home).get(1).status == "inactive"
    assert "would become active" in run("activate", "1", "--home", home).output
    assert GridStore(home).active_number() is None
    assert run("activate", "1", "--home", home, "--commit").exit_code == 0
    assert GridStore(home).current().number == 1
    listing = json.loads(run("versions", "--home", home, "--json").output)
    assert [(v["version"], v["status"], v["counts"]["grid"]) for v in listing] == [(1, "active", 4)]


def test_activation_refuses_a_failed_check_unless_forced(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = write_geojson(tmp_path / "overlap.geojson", [
        feature({"code": V_COMM + "001", "name": "a"}, shapely.box(120.50, 29.70, 120.52, 29.71)),
        feature({"code": V_COMM + "002", "name": "b"}, square(120.51, 29.70)),
    ])
    home = tmp_path / "home"
    assert run("import", bad, "--home", home, "--commit").exit_code == 0
    refused = run("activate", "1", "--home", home, "--commit")
    assert refused.exit_code == 1 and "--force" in refused.output and "错误" in refused.output
    assert run("activate", "1", "--home", home, "--commit", "--force").exit_code == 0


def test_check_exit_codes_json_and_fix(run, squares_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = run("check", squares_file)
    assert ok.exit_code == 0 and "passed" in ok.output
    bowtie = shapely.Polygon([(120.50, 29.70), (120.51, 29.71), (120.51, 29.70), (120.50, 29.71)])
    bad = write_geojson(tmp_path / "bad.geojson", [
        feature({"code": V_COMM + "001", "name": "a"}, bowtie),
        feature({"code": V_COMM + "001", "name": "b"}, square(120.51, 29.70)),
    ])
    fixed = tmp_path / "fixed.gpkg"
    result = run("check", bad, "--json", "--fix", fixed)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert {i["kind"] for i in report["issues"]} >= {"invalid_geometry", "duplicate_code"}
    assert report["fixed"] == str(fixed) and fixed.exists()
    assert "invalid_geometry" not in {i["kind"] for i in json.loads(run("check", fixed, "--json").output)["issues"]}


def test_bad_file_is_one_bilingual_message_without_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_geojson(tmp_path / "line.geojson", [
        feature({"code": V_COMM + "001", "name": "a"}, shapely.LineString([(120.5, 29.7), (120.6, 29.8)]))])
    result = run("check", path)
    assert result.exit_code == 1
    assert "错误：" in result.output and "Error: " in result.output
    assert "feature 1 (339901100001001 a)" in result.output and "field geometry" in result.output
    assert "第 1 个要素（339901100001001 a）" in result.output
    assert "Traceback" not in result.output


def _points(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_assign_csv_keeps_columns_and_adds_the_answer(run, squares_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pts = _points(tmp_path / "p.csv", [
        {"id": "007", "lon": "120.505", "lat": "29.705", "note": "甲"},
        {"id": "008", "lon": "120.515", "lat": "29.7199", "note": "乙"},
        {"id": "009", "lon": "120.40", "lat": "29.705", "note": "丙"},
    ])
    out = tmp_path / "out.csv"
    result = run("assign", squares_file, pts, "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["007", "008", "009"] and rows[0]["note"] == "甲"
    assert [r["grid_code"] for r in rows] == [V_COMM + "001", V_VILL + "002", ""]
    assert [r["status"] for r in rows] == ["assigned", "assigned", "unassigned"]
    assert [r["near_border"] for r in rows] == ["false", "false", "false"]
    assert rows[2]["nearest_code"] == V_COMM + "001" and float(rows[2]["distance_m"]) > 9000


def test_assign_against_the_active_version(run, squares_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    run("import", squares_file, "--home", home, "--commit")
    run("activate", "1", "--home", home, "--commit")
    pts = _points(tmp_path / "p.csv", [{"lon": "120.505", "lat": "29.705"}])
    out = tmp_path / "out.csv"
    assert run("assign", "active", pts, "-o", out, "--home", home).exit_code == 0
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    assert (row["grid_code"], row["version"]) == (V_COMM + "001", "1")


@pytest.mark.parametrize("rows, words", [
    ([{"lon": "120.5", "lat": "abc"}], ["line 2", "field lat", "'abc'"]),
    ([{"lon": "120.5", "lat": "29.7"}, {"lon": "", "lat": "29.7"}], ["line 3", "field lon"]),
    ([{"x": "120.5", "y": "29.7"}], ["missing column 'lon'"]),
    ([{"lon": "29.7", "lat": "120.5"}], ["swapped"]),
])
def test_bad_points_name_file_row_and_field(run, squares_file: Path, tmp_path: Path, rows, words) -> None:  # type: ignore[no-untyped-def]
    pts = _points(tmp_path / "bad.csv", rows)
    result = run("assign", squares_file, pts, "-o", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert str(pts) in result.output and "错误" in result.output
    for w in words:
        assert w in result.output


def test_diff_lists_changes_and_case_moves(run, squares_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    run("import", squares_file, "--home", home, "--commit")
    moved = write_geojson(tmp_path / "v2.geojson", [
        feature({"code": V_COMM + "001", "name": "第1网格"}, shapely.box(120.50, 29.70, 120.505, 29.71)),
        feature({"code": V_COMM + "002", "name": "第2网格"}, shapely.box(120.505, 29.70, 120.52, 29.71)),
        feature({"code": V_VILL + "001", "name": "第1网格"}, square(120.50, 29.71)),
        feature({"code": V_VILL + "003", "name": "第3网格"}, square(120.51, 29.71)),
    ])
    run("import", moved, "--home", home, "--commit", "--level", "grid")
    cases = _points(tmp_path / "cases.csv", [
        {"lon": "120.507", "lat": "29.705", "id": "a"}, {"lon": "120.508", "lat": "29.705", "id": "b"},
        {"lon": "120.502", "lat": "29.705", "id": "c"}])
    result = run("diff", "1", "2", "--home", home, "--cases", cases, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    changes = {(c["level"], c["code"], c["change"]) for c in data["changes"]}
    assert ("grid", V_COMM + "001", "geometry") in changes
    assert ("grid", V_VILL + "002", "removed") in changes and ("grid", V_VILL + "003", "added") in changes
    assert ("village", V_COMM, "removed") in changes  # v2 has grids only
    shrink = next(c for c in data["changes"] if c["code"] == V_COMM + "001")
    assert shrink["area_delta_m2"] == pytest.approx(-0.005 * 0.01 * 96_700 * 110_880, rel=0.02)
    assert data["case_moves"] == [{"from_code": V_COMM + "001", "to_code": V_COMM + "002", "cases": 2}]
    assert "cases that would move" in run("diff", "1", "2", "--home", home, "--cases", cases).output


def test_unknown_version_is_a_clear_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("activate", "9", "--home", tmp_path / "none")
    assert result.exit_code == 1 and "version 9 does not exist" in result.output


def test_demo_county_command_writes_a_county_that_passes_check(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "demo.gpkg"
    result = run("demo-county", out, "--seed", "3", "--townships", "3", "--villages", "9", "--grids", "60")
    assert result.exit_code == 0 and out.exists()
    assert run("check", out).exit_code == 0


def test_bench_runs_tiny_and_agrees(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--points", "3000", "--townships", "2", "--villages", "6", "--grids", "40",
                 "--single", "100", "--json", cmd=bench_grid)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["agreement"]["agrees"] and data["agreement"]["same"] == 3000
    assert set(data["throughput_pts_per_s"]) == {"ours_full", "ours_grid_only", "sjoin"}


@pytest.mark.slow
def test_bench_end_to_end_runs_all_three_and_agrees(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--end-to-end", "--points", "2000", "--repeats", "1", "--json", cmd=bench_grid)
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)["counties"]["demo"]
    assert demo["answers_differ"] == 0 and demo["file_answers_differ"] == 0
    assert demo["ours_s"] > 0 and demo["file_s"] > 0 and demo["baseline_s"] > 0


def test_assign_from_a_version_loads_only_what_it_uses(squares_file: Path, tmp_path: Path) -> None:
    """`grid assign <version>` (issue 16, 18): numpy, shapely and the version's cached arrays;
    not pandas, geopandas, pyproj, pyogrio, rich or numpy.ma (~0.1 s of start-up together)."""
    home = tmp_path / "home"
    runner = CliRunner()
    for args in (["import", str(squares_file), "--home", str(home), "--commit"],
                 ["activate", "1", "--home", str(home), "--commit"]):
        assert runner.invoke(main, ["grid", *args]).exit_code == 0
    pts = _points(tmp_path / "p.csv", [{"lon": "120.505", "lat": "29.705"}, {"lon": "120.4", "lat": "29.7"},
                                       {"lon": "120.51", "lat": "29.71"}])
    out = tmp_path / "o.csv"
    args = ["grid", "assign", "active", str(pts), "-o", str(out), "--home", str(home)]
    for _ in range(2):  # the first run writes the version's caches; the second only reads them
        script = ("import sys, json\nfrom server.cli import main\n"
                  "try:\n    main(sys.argv[1:], prog_name='fengqiao')\n"
                  "except SystemExit as e:\n    assert not e.code, e.code\n"
                  "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n")
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    heavy = {"pandas", "geopandas", "pyproj", "pyogrio", "rich", "numpy.ma"}
    assert sorted(m for m in modules if m in heavy or m.split(".")[0] in heavy - {"numpy.ma"}) == []
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["assigned", "unassigned", "assigned"]
