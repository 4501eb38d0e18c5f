"""Points files for ``grid assign``: a CSV in, the same CSV with the assignment appended out.

Every input column is kept as the text it was (codes with leading zeros, ids, notes), and
lon/lat are parsed strictly: a cell that is not a number is an error naming its line.

Two paths give the same file. The common one — UTF-8, no quoted fields, one record per
line — works on the bytes with numpy: it finds the lon/lat cells by their commas, parses
them in one conversion, and writes each input line back unchanged with the answer's
columns appended (answers of assigned points come from a per-area table of ready-made
text). It needs neither pandas nor a CSV writer: ``DataFrame.to_csv`` alone took longer
than a whole ``geopandas.sjoin`` on a real county (issue 18). Anything else (quotes,
blank lines, ragged rows, a bad number) takes the pandas path, which also produces the
error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .errors import BadPoint, EncodingError, FileReadError, MissingColumn

if TYPE_CHECKING:
    from .assign import GridIndex, Located

#: Columns appended to every row, in this order.
RESULT_COLUMNS = ("grid_code", "village_code", "township_code", "nearest_code", "near_border",
                  "status", "distance_m", "version")
_BOM = b"\xef\xbb\xbf"
_MAX_CELL = 64  # bytes: longer lon/lat cells go the pandas way


@dataclass
class Points:
    """A points CSV as read: lon/lat arrays, and either the raw lines (fast path) or a
    DataFrame of text columns (pandas path)."""

    path: Path
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    data: bytes | None = None  # the file without BOM (fast path)
    starts: NDArray[np.int64] | None = None  # record line starts (header excluded)
    ends: NDArray[np.int64] | None = None  # record content ends (before \r\n or \n)
    header: bytes = b""
    newline: bytes = b"\n"
    frame: Any = None  # pandas DataFrame of text columns (pandas path)

    def __len__(self) -> int:
        return len(self.lon)


def read_points(path: str | Path, lon_col: str = "lon", lat_col: str = "lat") -> Points:
    """Read a CSV of points; every column kept as text, lon/lat parsed strictly.

    Raises FileReadError (missing, unparsable), EncodingError (not UTF-8), MissingColumn
    (lon/lat column absent) or BadPoint (a cell that is not a number, or outside lon/lat
    range), naming the line (1-based, the header is line 1).
    """
    path = Path(path)
    if not path.exists():
        raise FileReadError("文件不存在", "file does not exist", file=str(path))
    fast = _read_fast(path, lon_col, lat_col)
    points = fast if fast is not None else _read_pandas(path, lon_col, lat_col)
    lon, lat = points.lon, points.lat
    bad = np.flatnonzero((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if len(bad):
        i = int(bad[0])
        raise BadPoint(f"第 {i + 2} 行坐标 ({lon[i]}, {lat[i]}) 超出经纬度范围（经度、纬度是否写反？）",
                       f"line {i + 2}: ({lon[i]}, {lat[i]}) is outside lon/lat range (swapped?)",
                       file=str(path), field=lon_col)
    return points


def _read_fast(path: Path, lon_col: str, lat_col: str) -> Points | None:
    """The numpy path, or None when the file needs the pandas one."""
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if b'"' in data or b"\x00" in data or not data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends = nl if data.endswith(b"\n") else np.r_[nl, len(data)]
    starts = np.r_[0, ends[:-1] + 1]
    crlf = ends > starts
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    content = np.where(crlf, ends - 1, ends)
    if (content <= starts).any() or len(starts) < 2:
        return None  # blank lines or no records: pandas decides
    header = data[: content[0]]
    columns = header.decode("utf-8").split(",")
    if lon_col not in columns or lat_col not in columns or len(set(columns)) != len(columns):
        return None  # the pandas path names the missing column
    if set(columns) & set(RESULT_COLUMNS):
        return None  # columns to overwrite: the pandas path does that
    ncols = len(columns)
    commas = np.flatnonzero(buf == 44)
    first = np.searchsorted(commas, starts)
    count = np.searchsorted(commas, content) - first
    if (count != ncols - 1).any():
        return None
    values = []
    for col in (lon_col, lat_col):
        k = columns.index(col)
        begin = starts[1:] if k == 0 else commas[first[1:] + k - 1] + 1
        end = content[1:] if k == ncols - 1 else commas[first[1:] + k]
        width = end - begin
        if len(width) == 0 or width.max() > _MAX_CELL or width.min() == 0:
            return None
        w = int(width.max())
        cells = buf[np.minimum(begin[:, None] + np.arange(w), len(buf) - 1)]
        cells[np.arange(w) >= width[:, None]] = 0
        num = _parse_decimal(cells)
        if num is None:
            try:
                num = np.ascontiguousarray(cells).view(f"S{w}").ravel().astype(np.float64)
            except ValueError:
                return None
        if not np.isfinite(num).all():
            return None
        values.append(num)
    newline = b"\r\n" if crlf[0] else b"\n"
    return Points(path, values[0], values[1], data=data, starts=starts[1:], ends=content[1:],
                  header=header, newline=newline)


_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _parse_decimal(cells: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """Plain decimals (``-120.5261330``: optional sign, digits, at most one point, at most 15
    digits) parsed with integer arithmetic: the digits as one integer divided by a power of
    ten, both exact in float64, so the result is correctly rounded like ``float()``. None
    when any cell is something else (exponents, spaces…): ``float()``'s own parsing then."""
    digit = (cells >= 48) & (cells <= 57)
    dot = cells == 46
    sign = (cells[:, :1] == 45) | (cells[:, :1] == 43)
    other = ~(digit | dot | (cells == 0))
    other[:, :1] &= ~sign
    ndig = digit.sum(axis=1)
    if other.any() or (dot.sum(axis=1) > 1).any() or (ndig == 0).any() or (ndig > 15).any():
        return None
    after = np.cumsum(digit[:, ::-1], axis=1)[:, ::-1] - digit  # digits to the right
    mantissa = (np.where(digit, cells - 48, 0).astype(np.int64) * _POW10[after]).sum(axis=1)
    has_dot = dot.any(axis=1)
    frac = np.where(has_dot, (digit & (np.cumsum(dot, axis=1) > 0)).sum(axis=1), 0)
    value = mantissa / (10.0 ** frac)
    return np.where(cells[:, 0] == 45, -value, value)


def _read_pandas(path: Path, lon_col: str, lat_col: str) -> Points:
    import pandas as pd

    fname = str(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EncodingError("CSV 不是 UTF-8 编码，请先转码", "the CSV is not UTF-8; re-encode it",
                            file=fname) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FileReadError(f"无法解析 CSV：{exc}", f"cannot parse the CSV: {exc}", file=fname) from exc
    values = []
    for col in (lon_col, lat_col):
        if col not in df.columns:
            raise MissingColumn(
                f"缺少列 {col!r}；现有列：{', '.join(df.columns)}（用 --lon-column/--lat-column 指定）",
                f"missing column {col!r}; columns: {', '.join(df.columns)} (choose with "
                "--lon-column/--lat-column)", file=fname, field=col)
        num = pd.to_numeric(df[col].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(num))
        if len(bad):
            i = int(bad[0])
            raise BadPoint(
                f"第 {i + 2} 行的值 {df[col].iloc[i]!r} 不是有效数字（共 {len(bad)} 行有误）",
                f"line {i + 2}: {df[col].iloc[i]!r} is not a number ({len(bad)} bad rows in all)",
                file=fname, field=col)
        values.append(num)
    return Points(path, values[0], values[1], frame=df)


def write_assigned(points: Points, index: GridIndex, located: Located, out: str | Path) -> None:
    """Write ``points`` with the assignment's columns (:data:`RESULT_COLUMNS`) appended:
    codes, nearest code, near_border ``true``/``false``, status, distance in metres to
    0.1 m, version. Both paths write the same text."""
    out = Path(out)
    if points.data is None:
        _write_pandas(points, index, located, out)
        return
    n = len(index.codes)
    version = "" if index.version is None else str(index.version)

    def code(v: Any) -> str:
        return "" if v is None else str(v)

    assigned = np.array([
        f",{code(index._grid[i])},{code(index._village[i])},{code(index._township[i])},,"
        f"{'true' if near else 'false'},assigned,0.0,{version}".encode()
        for near in (False, True) for i in range(n)], dtype=object)
    area, near = located.area, located.near_border
    suffix = np.empty(len(area), dtype=object)
    inside = area >= 0
    suffix[inside] = assigned[area[inside] + n * near[inside]]
    outside = np.flatnonzero(~inside)
    codes = index.codes
    dist = np.round(located.distance_m[outside], 1)
    suffix[outside] = [
        f",,,,{codes[g]},{'true' if b else 'false'},unassigned,{d!r},{version}".encode()
        for g, b, d in zip(located.nearest[outside].tolist(), near[outside].tolist(), dist.tolist(),
                           strict=True)]
    data, nl = points.data, points.newline
    assert points.starts is not None and points.ends is not None
    body = nl.join([data[s:e] + x for s, e, x in zip(points.starts.tolist(), points.ends.tolist(),
                                                     suffix.tolist(), strict=True)])
    head = points.header + ("," + ",".join(RESULT_COLUMNS)).encode()
    out.write_bytes(head + nl + body + nl)


def _write_pandas(points: Points, index: GridIndex, located: Located, out: Path) -> None:
    n = len(index.codes)
    pick = np.where(located.area >= 0, located.area, n)
    df = points.frame.copy()
    df["grid_code"] = index._grid_t.take(pick)
    df["village_code"] = index._village_t.take(pick)
    df["township_code"] = index._township_t.take(pick)
    df["nearest_code"] = index._codes_t.take(np.where(located.nearest >= 0, located.nearest, n))
    df["near_border"] = np.where(located.near_border, "true", "false")
    df["status"] = np.where(located.area >= 0, "assigned", "unassigned")
    df["distance_m"] = np.round(located.distance_m, 1)
    df["version"] = "" if index.version is None else str(index.version)
    df.to_csv(out, index=False, encoding="utf-8")
