"""Points files: the numpy paths (read as byte windows, written as byte matrices) give the
text the pandas path gives, for every shape of file they accept (issue 16: `grid assign`
writes without a per-row Python object); anything else goes the pandas way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grid_fixtures import V_COMM, squares

from grid.assign import GridIndex, Located
from grid.errors import BadPoint
from grid.pointsfile import _read_pandas, read_points, write_assigned


@pytest.fixture(scope="module")
def index() -> GridIndex:
    return GridIndex(squares(), version=4)


def _both(path: Path, index: GridIndex, located: Located | None, tmp: Path) -> tuple[str, str]:
    fast = read_points(path)
    assert fast.data is not None  # the numpy path took it
    slow = _read_pandas(path, "lon", "lat")
    assert np.array_equal(fast.lon, slow.lon) and np.array_equal(fast.lat, slow.lat)
    if located is None:
        located = index.locate_arrays(fast.lon, fast.lat)
    write_assigned(fast, index, located, tmp / "fast.csv")
    write_assigned(slow, index, located, tmp / "slow.csv")
    text = (tmp / "fast.csv").read_bytes().decode("utf-8")
    return text.replace("\r\n", "\n"), (tmp / "slow.csv").read_text(encoding="utf-8")


def test_distances_are_written_as_round_to_tenths(index: GridIndex, tmp_path: Path) -> None:
    d = np.array([0.04, 0.05, 0.15, 9.95, 9.94, 99.95, 100.0, 1234.56, 12345.65, 1e7 + 0.25,
                  20_003_931.4587, 3.0, 0.0, 999_999.96])
    m = len(d)
    path = tmp_path / "p.csv"
    path.write_text("id,lon,lat\n" + "".join(f"{i},120.4{i},29.7\n" for i in range(m)), encoding="utf-8")
    located = Located(area=np.where(np.arange(m) % 3 == 0, 1, -1).astype(np.int64),
                      state=np.zeros(m, np.int8), near_border=np.arange(m) % 2 == 0,
                      nearest=np.where(np.arange(m) % 3 == 0, -1, 2).astype(np.int64),
                      distance_m=np.where(np.arange(m) % 3 == 0, 0.0, d))
    fast, slow = _both(path, index, located, tmp_path)
    assert fast == slow
    rows = [r.split(",") for r in fast.splitlines()[1:]]
    for i, r in enumerate(rows):
        if i % 3:
            assert r[-2] == repr(float(np.round(d[i], 1))) and r[-3] == "unassigned"
    assert rows[1][-2] == "0.0" and rows[5][-2] == "100.0" and rows[3][-1] == "4"  # half to even, as np.round


@pytest.mark.parametrize("shape", ["plain", "crlf", "bom", "no final newline", "exponent", "long row",
                                   "lon last", "one row", "wide rows"])
def test_fast_path_writes_what_pandas_writes(index: GridIndex, tmp_path: Path, shape: str) -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(120.49, 120.53, 400), rng.uniform(29.69, 29.73, 400)
    if shape == "one row":
        lon, lat = lon[:1], lat[:1]
    header = "lat,note,lon" if shape == "lon last" else "id,lon,lat,note"
    lines = []
    for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        xs, ys = (f"{x:.6e}", f"{y:.6e}") if shape == "exponent" else (repr(x), repr(y))
        note = "备注" * (500 if shape == "long row" and i == 7 else 1)
        if shape == "wide rows":  # wider than the zeros read after the file: the last rows' windows
            note = "备注" * (100 + (i == len(lon) - 1))
        lines.append(f"{ys},{note},{xs}" if shape == "lon last" else f"{i:05d},{xs},{ys},{note}")
    nl = "\r\n" if shape == "crlf" else "\n"
    text = header + nl + nl.join(lines) + ("" if shape == "no final newline" else nl)
    path = tmp_path / "p.csv"
    path.write_bytes((b"\xef\xbb\xbf" if shape == "bom" else b"") + text.encode("utf-8"))
    fast, slow = _both(path, index, None, tmp_path)
    assert fast == slow
    assert f",{V_COMM}001," in fast or shape == "one row"
    if shape == "crlf":
        assert (tmp_path / "fast.csv").read_bytes().count(b"\r\n") == len(lines) + 1


@pytest.mark.parametrize("cell", ["1_20.5", " 120.5", "120.5x", "0x78"])
def test_cells_strtod_would_bend_go_the_strict_way(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"id,lon,lat\n1,120.5,29.7\n2,{cell},29.7\n", encoding="utf-8")
    if cell == " 120.5":  # pandas strips spaces, as before
        pts = read_points(path)
        assert pts.data is None and pts.lon[1] == 120.5
        return
    with pytest.raises(BadPoint, match="line 3"):
        read_points(path)


def test_output_may_replace_its_own_input(index: GridIndex, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,lon,lat\n1,120.505,29.705\n2,120.4,29.7\n", encoding="utf-8")
    pts = read_points(path)  # mapped, not read
    write_assigned(pts, index, index.locate_arrays(pts.lon, pts.lat), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith(f"1,120.505,29.705,{V_COMM}001,") and ",unassigned," in lines[2]


@pytest.mark.parametrize("text", ["lon,lat\n120.505,29.705", "lat,lon\n29.7,120.4\n"])
def test_files_shorter_than_a_row_window(index: GridIndex, tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    fast, slow = _both(path, index, None, tmp_path)
    assert fast == slow


def test_parquet_output_has_typed_answers(index: GridIndex, tmp_path: Path) -> None:
    """`-o out.parquet` (issue 16): input columns as text (quoted ones too), lon/lat and the
    answer typed, codes NULL where the CSV has them empty."""
    import duckdb

    path = tmp_path / "p.csv"
    path.write_text('id,"a ""b""",lon,lat\n007,"x,y",120.505,29.705\n008,z,120.49,29.705\n', encoding="utf-8")
    pts = read_points(path)
    write_assigned(pts, index, index.locate_arrays(pts.lon, pts.lat), tmp_path / "o.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet", "p.csv"]  # no temporaries left
    rows = duckdb.sql(f"SELECT * FROM '{tmp_path / 'o.parquet'}'").fetchall()
    cols = [d[0] for d in duckdb.sql(f"DESCRIBE SELECT * FROM '{tmp_path / 'o.parquet'}'").fetchall()]
    assert cols[:4] == ["id", 'a "b"', "lon", "lat"]
    first, second = (dict(zip(cols, r, strict=True)) for r in rows)
    assert (first["id"], first['a "b"'], first["lon"], first["grid_code"]) == ("007", "x,y", 120.505, V_COMM + "001")
    assert (first["nearest_code"], first["near_border"], first["version"]) == (None, False, 4)
    assert second["status"] == "unassigned" and second["grid_code"] is None
    assert second["distance_m"] == pytest.approx(967.6, abs=2)
