"""Points files for ``grid assign``: a CSV in, the same CSV with the assignment appended out.

Every input column is kept as the text it was (codes with leading zeros, ids, notes), and
lon/lat are parsed strictly: a cell that is not a number is an error naming its line.

Two paths give the same file. The common one — UTF-8, no quoted fields, one record per
line — works on the bytes with numpy: it finds the lon/lat cells by their commas, parses
them in one C conversion (cells of digits, sign, point and exponent only), and writes each
input line back unchanged with the answer's columns appended, assembled as byte matrices
a block of rows at a time (:func:`write_assigned`). It needs neither pandas nor a CSV
writer: ``DataFrame.to_csv`` alone took longer than a whole ``geopandas.sjoin`` on a real
county (issue 18). Anything else (quotes, blank lines, ragged rows, spaces or other
characters in a number) takes the pandas path, which also produces the error messages.
"""

from __future__ import annotations

import codecs
import mmap
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
_SCAN = 1 << 22  # bytes scanned at a time (UTF-8 check, newlines, commas)
_CHUNK = 1 << 21  # bytes of output assembled at a time (small temporaries are reused, fast)


@dataclass
class Points:
    """A points CSV as read: lon/lat arrays, and either the raw lines (fast path) or a
    DataFrame of text columns (pandas path)."""

    path: Path
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    data: NDArray[np.uint8] | None = None  # the file's bytes after any BOM, mapped (fast path)
    starts: NDArray[np.int64] | None = None  # record line starts in data (header excluded)
    ends: NDArray[np.int64] | None = None  # record content ends (before \r\n or \n)
    header: bytes = b""
    newline: bytes = b"\n"
    frame: Any = None  # pandas DataFrame of text columns (pandas path)
    lon_column: str = "lon"
    lat_column: str = "lat"

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
    points.lon_column, points.lat_column = lon_col, lat_col
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
    if path.stat().st_size == 0:
        return None
    with path.open("rb") as f:  # mapped, not read: pages come from the file cache as touched
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    skip = len(_BOM) if mapped[:len(_BOM)] == _BOM else 0
    if len(mapped) <= skip or mapped.find(b'"', skip) >= 0 or mapped.find(b"\x00", skip) >= 0:
        return None
    if not _is_utf8(memoryview(mapped)[skip:]):
        return None
    data = np.frombuffer(mapped, dtype=np.uint8)[skip:]
    size = len(data)
    buf = data
    nl = _positions(buf, 10)
    ends = nl if buf[-1] == 10 else np.r_[nl, size]
    starts = np.r_[0, ends[:-1] + 1]
    crlf = ends > starts
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    content = np.where(crlf, ends - 1, ends)
    if (content <= starts).any() or len(starts) < 2:
        return None  # blank lines or no records: pandas decides
    header = buf[: content[0]].tobytes()
    columns = header.decode("utf-8").split(",")
    if lon_col not in columns or lat_col not in columns or len(set(columns)) != len(columns):
        return None  # the pandas path names the missing column
    if set(columns) & set(RESULT_COLUMNS):
        return None  # columns to overwrite: the pandas path does that
    ncols = len(columns)
    commas = _positions(buf, 44)
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
        cells = _take_windows(data, begin, w)
        cells[np.arange(w) >= width[:, None]] = 0
        if not _NUMBER_BYTES[cells].all():
            return None  # spaces, letters, underscores…: the pandas path decides
        try:  # C strtod per cell, correctly rounded like float()
            num = np.ascontiguousarray(cells).view(f"S{w}").ravel().astype(np.float64)
        except ValueError:
            return None
        if not np.isfinite(num).all():
            return None
        values.append(num)
    newline = b"\r\n" if crlf[0] else b"\n"
    return Points(path, values[0], values[1], data=data, starts=starts[1:], ends=content[1:],
                  header=header, newline=newline)


#: Bytes a number cell may hold on the fast path (digits, sign, point, exponent; 0 pads).
_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[np.frombuffer(b"0123456789.+-eE\x00", dtype=np.uint8)] = True


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
    0.1 m, version. Both paths write the same text.

    The fast path assembles the output as byte matrices, a block of rows at a time: each
    row's input line (a fixed-width window of the file), the text of its answer (one of
    ``4 × areas`` ready-made pieces: assigned to g or nearest to g, near a border or not),
    the distance's digits (integer arithmetic, the text ``repr(round(d, 1))`` gives) and
    the version; a mask keeps each row's own bytes. No Python object per row: writing was
    the largest cost of ``grid assign`` after the nearest query (issue 16).

    An ``out`` ending in ``.parquet`` gets Parquet instead (:func:`_to_parquet`)."""
    out = Path(out)
    if out.suffix.lower() == ".parquet":
        text = out.with_name(f".{out.name}.csv.tmp")
        try:
            write_assigned(points, index, located, text)
            _to_parquet(text, out, points.lon_column, points.lat_column)
        finally:
            text.unlink(missing_ok=True)
        return
    if points.data is None:
        _write_pandas(points, index, located, out)
        return
    assert points.starts is not None and points.ends is not None
    n = len(index.codes)
    version = "" if index.version is None else str(index.version)

    def code(v: Any) -> str:
        return "" if v is None else str(v)

    pieces = [f",{code(index._grid[i])},{code(index._village[i])},{code(index._township[i])},,"
              f"{'true' if near else 'false'},assigned,0.0" for near in (False, True) for i in range(n)]
    pieces += [f",,,,{index.codes[i]},{'true' if near else 'false'},unassigned,"
               for near in (False, True) for i in range(n)]
    table, table_len = _text_table(pieces)
    area, near = located.area, located.near_border.astype(np.int64)
    outside = area < 0
    key = np.where(outside, 2 * n + located.nearest + n * near, area + n * near)
    tenths = np.where(outside, np.rint(located.distance_m * 10), 0).astype(np.int64)  # = np.round(d, 1) × 10
    whole, frac = tenths // 10, tenths % 10
    nd = max(1, len(str(int(whole.max())))) if len(whole) else 1
    powers = 10 ** np.arange(nd - 1, -1, -1, dtype=np.int64)
    tail = np.frombuffer(f",{version}".encode() + points.newline, dtype=np.uint8)

    starts, ends = points.starts, points.ends
    length = ends - starts
    width = int(length.max())
    per_row = width + table.shape[1] + nd + 2 + len(tail)
    if width > 4 * float(length.mean()) + 64:
        _write_joined(points, pieces, key, located, version, out)  # a few very long rows
        return
    data = points.data
    if out.exists() and out.samefile(points.path):
        data = np.array(data)  # the input is mapped: read it before the output replaces it
    col = np.arange(width)
    tcol = np.arange(table.shape[1])
    dcol = np.arange(nd)
    head = points.header + ("," + ",".join(RESULT_COLUMNS)).encode() + points.newline
    step = max(1, _CHUNK // per_row)
    with out.open("wb") as f:
        f.write(head)
        for lo in range(0, len(starts), step):
            hi = min(lo + step, len(starts))
            k, o = key[lo:hi], outside[lo:hi]
            w = whole[lo:hi]
            digits = ((w[:, None] // powers) % 10 + 48).astype(np.uint8)
            ndig = (w[:, None] >= powers[:-1]).sum(axis=1) + 1  # powers[:-1]: 10^(nd-1) … 10
            frac_txt = np.c_[np.full(hi - lo, 46, np.uint8), (frac[lo:hi] + 48).astype(np.uint8)]
            rows = np.concatenate([_take_windows(data, starts[lo:hi], width), table[k], digits, frac_txt,
                                   np.broadcast_to(tail, (hi - lo, len(tail)))], axis=1)
            keep = np.concatenate([
                col < length[lo:hi, None],
                tcol < table_len[k][:, None],
                (dcol >= nd - ndig[:, None]) & o[:, None],
                np.broadcast_to(o[:, None], (hi - lo, 2)),
                np.ones((hi - lo, len(tail)), dtype=bool)], axis=1)
            f.write(rows[keep])


def _to_parquet(csv: Path, out: Path, lon_col: str, lat_col: str) -> None:
    """The written CSV as Parquet, by DuckDB (a dependency already; no pyarrow): input
    columns as text, lon/lat as DOUBLE, the answer's columns typed (codes NULL where
    empty, near_border BOOLEAN, distance_m DOUBLE, version INTEGER)."""
    import duckdb

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    typed = [f"TRY_CAST(trim({q(c)}) AS DOUBLE) AS {q(c)}" for c in (lon_col, lat_col)]
    typed += [f"NULLIF({q(c)}, '') AS {q(c)}"
              for c in ("grid_code", "village_code", "township_code", "nearest_code")]
    typed += ["near_border = 'true' AS near_border", "CAST(distance_m AS DOUBLE) AS distance_m",
              "CAST(NULLIF(version, '') AS INTEGER) AS version"]
    tmp = out.with_name(f".{out.name}.tmp")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * REPLACE ({', '.join(typed)}) FROM read_csv(?, all_varchar = true, "
                    f"header = true, delim = ',', quote = '\"', escape = '\"')) TO '{_sql_text(tmp)}' "
                    "(FORMAT parquet)", [str(csv)])
    tmp.replace(out)


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _take_windows(data: NDArray[np.uint8], begin: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """The ``width`` bytes from each offset in ``begin`` as rows of a new matrix; past the
    end of ``data`` the rows are padded with zeros."""
    limit = len(data) - width
    if limit >= 0 and (len(begin) == 0 or int(begin.max()) <= limit):
        return np.lib.stride_tricks.sliding_window_view(data, width)[begin]
    out = np.zeros((len(begin), width), dtype=np.uint8)
    ok = begin <= limit
    if limit >= 0:
        out[ok] = np.lib.stride_tricks.sliding_window_view(data, width)[begin[ok]]
    for i in np.flatnonzero(~ok).tolist():  # the rows that start in the last `width` bytes
        tail = data[int(begin[i]):]
        out[i, :len(tail)] = tail
    return out


def _positions(buf: NDArray[np.uint8], byte: int) -> NDArray[np.int64]:
    """Offsets of ``byte`` in ``buf``, scanned a few MB at a time (small reused temporaries)."""
    found = [np.flatnonzero(buf[i:i + _SCAN] == byte) + i for i in range(0, len(buf), _SCAN)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _is_utf8(view: memoryview) -> bool:
    """Whether the bytes are UTF-8, decoded a few MB at a time and thrown away (decoding a
    whole file of Chinese text at once makes a string twice its size)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for i in range(0, len(view), _SCAN):
            decoder.decode(view[i:i + _SCAN], final=i + _SCAN >= len(view))
    except UnicodeDecodeError:
        return False
    return True


def _text_table(texts: list[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """UTF-8 texts as a zero-padded byte matrix, one row each, and their lengths."""
    encoded = [t.encode() for t in texts]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    width = max(1, int(lengths.max()) if len(lengths) else 1)
    table = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, :len(e)] = np.frombuffer(e, dtype=np.uint8)
    return table, lengths


def _write_joined(points: Points, pieces: list[str], key: NDArray[np.int64], located: Located,
                  version: str, out: Path) -> None:
    """The same text as :func:`write_assigned`, row by row in Python: for files whose rows
    differ so much in length that fixed-width windows would waste memory."""
    assert points.data is not None and points.starts is not None and points.ends is not None
    data = points.data.tobytes()
    dist = np.round(located.distance_m, 1).tolist()
    outside = (located.area < 0).tolist()
    enc = [p.encode() for p in pieces]
    tail = f",{version}".encode()
    nl = points.newline
    body = nl.join([data[s:e] + enc[k] + (repr(d).encode() if o else b"") + tail
                    for s, e, k, o, d in zip(points.starts.tolist(), points.ends.tolist(), key.tolist(),
                                             outside, dist, strict=True)])
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
