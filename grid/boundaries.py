"""Boundaries: the areas of one county at each level, and reading them from files.

Concept
-------
A :class:`Boundaries` is what one boundary file (or one stored version) says: for each
level present (county, township, village, grid) a GeoDataFrame with exactly the columns
``code``, ``name``, ``parent``, ``geometry`` in storage lon/lat (EPSG:4490, CGCS2000;
EPSG:4326 input is taken as equal, they differ by centimetres). Codes are validated
strings, names are kept exactly as given (Chinese). Levels need not all be present: the
real data of 赤水市 has townships only, and everything downstream then works at the
finest level present.

Reading (:func:`read_boundaries`) is the boundary where pyogrio/pyproj/shapely errors
become our :mod:`grid.errors` with file, feature index and field. Geometry *quality*
(self-intersections, overlaps, gaps) is not an import error: it is what :mod:`grid.check`
reports, because a version is loaded inactive, checked, and only then activated.
"""

from __future__ import annotations

import codecs
import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .codes import LENGTHS, LEVELS, Level, is_valid_code, validate_code
from .errors import (
    BadCode,
    BadGeometry,
    CodeError,
    EncodingError,
    FileReadError,
    GridError,
    MissingColumn,
    UnknownCRS,
)
from .place import (
    BoundaryCRS,
    crs_candidates,
    crs_label,
    expected_extent,
    mars_to_wgs84,
    parse_boundary_crs,
)

#: The storage CRS: CGCS2000 geographic lon/lat.
STORAGE_CRS = "EPSG:4490"
COLUMNS = ["code", "name", "parent", "geometry"]
MissingCodePolicy = Literal["error", "skip"]
MultipartPolicy = Literal["dissolve", "error"]


@dataclass
class Skipped:
    """A feature left out on purpose (``--missing-code skip``), reported, never hidden.
    ``feature`` is its 1-based number in the file."""

    feature: int
    name: str | None
    reason_zh: str
    reason_en: str

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "name": self.name, "reason_zh": self.reason_zh,
                "reason_en": self.reason_en}


@dataclass
class Note:
    """Something the import did on purpose that a person must hear about: ``--crs``
    overriding the file's declaration (``crs_override``), rows of one area dissolved
    (``dissolved``). The check lists notes as warnings; ``features`` are 1-based."""

    kind: str
    message_zh: str
    message_en: str
    features: list[int] = field(default_factory=list)
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message_zh": self.message_zh, "message_en": self.message_en,
                "features": self.features, "code": self.code}


@dataclass
class CRSInfo:
    """Which coordinate system a file's numbers were read in, and why: what the file
    declares (None: nothing, e.g. a GeoJSON without ``crs``), what ``--crs`` said, what was
    used, and the file's own extent before any transformation (to tell, when the result
    lands in the wrong place, which CRS would put it right). Kept in a version's meta."""

    declared: str | None
    given: str | None
    used: str
    raw_bounds: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"declared": self.declared, "given": self.given, "used": self.used,
                "converted": f"{self.used} → WGS-84" if self.used in ("gcj02", "bd09") else None,
                "raw_bounds": None if self.raw_bounds is None else list(self.raw_bounds)}


@dataclass
class Boundaries:
    """The areas of one county by level; see the module docstring for the concept."""

    layers: dict[str, gpd.GeoDataFrame]
    source: str | None = None
    skipped: list[Skipped] = field(default_factory=list)
    #: notes from the import (warnings the check repeats)
    notes: list[Note] = field(default_factory=list)
    #: how the file's coordinates were read (None for boundaries built in code or stored)
    crs: CRSInfo | None = None
    #: per level, per row: the 1-based numbers of the file's features it came from
    features: dict[str, list[list[int]]] = field(default_factory=dict)
    #: the text encoding used to read a Shapefile (None: the driver's own)
    encoding: str | None = None

    def feature_numbers(self, level: str, row: int) -> list[int]:
        """The file's feature numbers (1-based) behind row ``row`` of ``level``; [] if unknown."""
        rows = self.features.get(level)
        return list(rows[row]) if rows is not None and row < len(rows) else []

    @property
    def levels(self) -> list[Level]:
        """Levels present, top down."""
        return [lvl for lvl in LEVELS if lvl in self.layers and len(self.layers[lvl])]

    @property
    def finest_level(self) -> Level:
        """The lowest level present; points are assigned at this level."""
        if not self.levels:
            raise GridError("边界数据为空", "the boundaries hold no areas")
        return self.levels[-1]

    def layer(self, level: str) -> gpd.GeoDataFrame:
        """The areas of ``level`` (an empty frame when the level is absent)."""
        if level in self.layers:
            return self.layers[level]
        return _empty_layer()

    def all_areas(self) -> gpd.GeoDataFrame:
        """Every area of every level in one frame, with a ``level`` column."""
        frames = [self.layers[lvl].assign(level=lvl) for lvl in self.levels]
        if not frames:
            return _empty_layer().assign(level=pd.Series(dtype=str))
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)

    def counts(self) -> dict[str, int]:
        return {lvl: len(self.layers[lvl]) for lvl in self.levels}

    def write_gpkg(self, path: str | Path) -> None:
        """Write one GeoPackage layer per level (layer name = level)."""
        path = Path(path)
        if path.exists():
            path.unlink()
        for lvl in self.levels:
            pyogrio.write_dataframe(self.layers[lvl], path, layer=lvl, driver="GPKG")

    @classmethod
    def from_gpkg(cls, path: str | Path, source: str | None = None) -> Boundaries:
        """Read a GeoPackage written by :meth:`write_gpkg` (trusted: no re-validation)."""
        layers = {}
        for name, _geom_type in pyogrio.list_layers(path):
            if name in LENGTHS:
                gdf = pyogrio.read_dataframe(path, layer=name)
                layers[name] = gdf[COLUMNS].set_crs(STORAGE_CRS, allow_override=True)
        return cls(layers=layers, source=source or str(path))


def _empty_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": pd.Series(dtype=str), "name": pd.Series(dtype=str),
         "parent": pd.Series(dtype=object)},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
    )


def make_layer(codes: Iterable[str], names: Iterable[str | None], geoms: Any) -> gpd.GeoDataFrame:
    """Build a level's frame from codes, names and geometries (parents from the codes)."""
    codes = [str(c) for c in codes]
    return gpd.GeoDataFrame(
        {"code": codes, "name": list(names),
         "parent": [c[:-3] if len(c) > 6 else None for c in codes]},
        geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
    )


# --------------------------------------------------------------------------- reading

def read_boundaries(
    path: str | Path,
    *,
    code_column: str = "code",
    name_column: str = "name",
    layer: str | None = None,
    crs: str | None = None,
    level: Level | None = None,
    missing_code: MissingCodePolicy = "error",
    encoding: str | None = None,
    multipart: MultipartPolicy = "dissolve",
) -> Boundaries:
    """Read a GeoJSON, GeoPackage or Shapefile of areas into storage lon/lat.

    ``code_column``/``name_column`` name the columns holding codes and names. ``layer``
    picks one layer of a multi-layer file; without it every layer of a GeoPackage is read
    (the demo county writes one per level). ``crs`` (``--crs``) says what the coordinates
    are: anything pyproj reads, or ``gcj02``/``bd09`` (converted to WGS-84); it overrides a
    declared CRS (relabelling, with a warning note, because a county's staff know better
    than a stale ``.prj``). Without it the file's declaration is used; a GeoJSON without a
    ``crs`` member is WGS-84 lon/lat by RFC 7946, and projected numbers in it are refused
    with a hint to pass ``--crs``. ``level`` demands every code be of that level; otherwise
    the level follows each code's length. ``missing_code='skip'`` leaves features with an
    empty code out and lists them in ``Boundaries.skipped`` instead of failing.
    ``encoding`` is for Shapefiles whose .dbf is not UTF-8 (e.g. ``'gbk'``); without it the
    code page comes from the ``.cpg``, else from the .dbf header (LDID), else UTF-8 is
    required. Rows of one area (same code and same name: a multipart area exploded into
    rows, common in Shapefiles) are dissolved into one with a warning note, or refused
    with ``multipart='error'``.

    Raises FileReadError, UnknownCRS, MissingColumn, BadCode, BadGeometry or
    EncodingError, each naming the file, the feature (1-based number, code and name when
    known) and the field.
    """
    path = Path(path)
    fname = str(path)
    if not path.exists():
        raise FileReadError("文件不存在", "file does not exist", file=fname)
    if encoding is not None:
        _check_encoding_name(encoding, fname)
    given = parse_boundary_crs(crs, fname) if crs is not None else None
    if path.suffix.lower() in (".geojson", ".json"):
        _check_utf8_file(path)
    try:
        layer_names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise FileReadError(
            f"无法读取（支持 GeoJSON、GeoPackage、Shapefile）：{exc}",
            f"cannot read it (GeoJSON, GeoPackage and Shapefile are supported): {exc}",
            file=fname,
        ) from exc
    if layer is not None and layer not in layer_names:
        raise FileReadError(
            f"没有图层 {layer!r}；现有图层：{', '.join(layer_names)}",
            f"has no layer {layer!r}; layers: {', '.join(layer_names)}",
            file=fname,
        )
    wanted = [layer] if layer is not None else layer_names
    frames, infos, notes = [], [], []
    for lyr in wanted:
        raw, declared, used_encoding = _read_layer(path, lyr if len(layer_names) > 1 else None, encoding)
        codes = raw[code_column] if code_column in raw.columns else []
        gdf, info, crs_notes = _to_storage_crs(raw, fname, declared, given, codes)
        frames.append(gdf)
        infos.append(info)
        notes += crs_notes
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)
    for col in (code_column, name_column):
        if col not in gdf.columns:
            cols = ", ".join(c for c in gdf.columns if c != "geometry")
            raise MissingColumn(
                f"缺少列 {col!r}；文件中的列：{cols}。请用 --code-column/--name-column 指定",
                f"missing column {col!r}; the file has: {cols}. Choose one with "
                "--code-column/--name-column",
                file=fname, field=col,
            )
    b = _to_boundaries(gdf, fname, code_column, name_column, level, missing_code, multipart,
                       used_encoding)
    b.notes = notes + b.notes
    b.crs = _merge_infos(infos)
    b.encoding = used_encoding
    return b


def _check_encoding_name(encoding: str, fname: str) -> None:
    """An encoding Python does not know is reported as such, not as "not UTF-8"."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise EncodingError(
            f"未知编码 {encoding!r}（例：gbk、gb18030、utf-8、big5）",
            f"unknown encoding {encoding!r} (e.g. gbk, gb18030, utf-8, big5)",
            file=fname, field="encoding",
        ) from exc


def _check_utf8_file(path: Path) -> None:
    """GeoJSON must be UTF-8 (RFC 7946); GDAL would silently mangle other bytes."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        feature = data[: exc.start].count(b'"Feature"')
        raise EncodingError(
            f"不是 UTF-8 编码（第 {exc.start} 字节）；GeoJSON 必须是 UTF-8，请先转码",
            f"is not UTF-8 (byte {exc.start}); GeoJSON must be UTF-8, re-encode it first",
            file=str(path), feature=feature if feature >= 1 else None,
        ) from exc


def _geojson_declares_crs(path: Path) -> bool:
    """True when a GeoJSON has a top-level ``crs`` member. GDAL reports EPSG:4326 for every
    GeoJSON, so without this a file in metres and no ``crs`` could not be told apart from
    one that declares 4326 (issue 18, finding 1)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return True  # let GDAL's own reading decide
    return isinstance(data, dict) and data.get("crs") is not None


# dBASE language driver ids (byte 29 of the .dbf header) → Python codec. ArcGIS and many
# Chinese tools write 0x4D/0x7A for GBK and no .cpg; 0x57 means "the system's ANSI code
# page", which says nothing, so it is asked for like 0.
_LDID: dict[int, str] = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x13: "cp932", 0x4D: "gbk", 0x4E: "cp949",
    0x4F: "big5", 0x57: "", 0x58: "cp1252", 0x59: "cp1252", 0x64: "cp852", 0x65: "cp866",
    0x78: "big5", 0x79: "cp949", 0x7A: "gbk", 0x7B: "cp932", 0x7C: "cp874", 0xC8: "cp1250",
    0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253", 0xCC: "cp1257",
}


def dbf_encoding(path: str | Path) -> tuple[str | None, str]:
    """The code page a Shapefile declares: ``(codec, source)`` with source ``'cpg'``,
    ``'ldid'`` or ``'none'`` (codec None: nothing usable is declared)."""
    path = Path(path)
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        name = cpg.read_text(encoding="ascii", errors="replace").strip()
        try:
            codecs.lookup(name)
            return name, "cpg"
        except LookupError:
            pass  # "ANSI 936"-style values are GDAL's to interpret
        return None, "cpg"
    dbf = path.with_suffix(".dbf")
    if dbf.exists():
        with dbf.open("rb") as f:
            head = f.read(32)
        if len(head) == 32 and _LDID.get(head[29]):
            return _LDID[head[29]], "ldid"
    return None, "none"


def _read_layer(path: Path, layer: str | None, encoding: str | None
                ) -> tuple[gpd.GeoDataFrame, BoundaryCRS | None, str | None]:
    """The layer as read, in the file's own coordinates, with the CRS it declares (None:
    none) and the text encoding used (None: the driver's own, e.g. a .cpg)."""
    fname = str(path)
    is_shp = path.suffix.lower() in (".shp", ".dbf", ".zip")
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    used = encoding
    if encoding is None and is_shp:
        declared_cp, source = dbf_encoding(path)
        if source == "ldid":
            used = declared_cp
        elif source == "none":
            # Without a .cpg or header code page GDAL assumes ISO-8859-1 and hands back
            # mojibake without a word; insist on UTF-8 and say exactly where it is not.
            used = "UTF-8"
    if used is not None:
        kwargs["encoding"] = used
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, **kwargs)
    except UnicodeDecodeError as exc:
        raise _locate_bad_text(path, layer) from exc
    except Exception as exc:
        if "decode" in str(exc).lower() or "utf" in str(exc).lower():
            raise _locate_bad_text(path, layer) from exc
        raise FileReadError(f"无法读取：{exc}", f"cannot read it: {exc}", file=fname) from exc
    declared = None
    if gdf.crs is not None and not (
            path.suffix.lower() in (".geojson", ".json") and not _geojson_declares_crs(path)):
        declared = BoundaryCRS(crs_label(CRS.from_user_input(gdf.crs)), CRS.from_user_input(gdf.crs))
    return gdf, declared, used


def _locate_bad_text(path: Path, layer: str | None) -> EncodingError:
    """Find the first feature and field whose bytes are not UTF-8."""
    fname = str(path)
    try:
        raw = pyogrio.read_dataframe(path, layer=layer, encoding="latin1", read_geometry=False)
    except Exception:  # pragma: no cover - the file is broken beyond text
        raw = pd.DataFrame()
    for col in raw.columns:
        for i, value in enumerate(raw[col]):
            if isinstance(value, str):
                try:
                    value.encode("latin1").decode("utf-8")
                except UnicodeError:
                    return EncodingError(
                        "文本不是 UTF-8 编码，文件也未声明编码（无 .cpg，.dbf 头无代码页）；"
                        "请提供 .cpg 文件或用 --encoding 指定（如 gbk）",
                        "text is not UTF-8 and the file declares no code page (no .cpg, none in "
                        "the .dbf header); add a .cpg file or pass --encoding (e.g. gbk)",
                        file=fname, feature=i + 1, field=str(col),
                    )
    return EncodingError(
        "文本不是 UTF-8 编码；请用 --encoding 指定（如 gbk）",
        "text is not UTF-8; pass --encoding (e.g. gbk)",
        file=fname,
    )


def parse_crs(crs: Any, file: str | None = None) -> CRS:
    """``pyproj.CRS`` from user input, with CRSError translated to UnknownCRS."""
    parsed = parse_boundary_crs(crs, file)
    if parsed.mars:
        raise UnknownCRS(f"此处需要 pyproj 坐标系，不能用 {parsed.label}",
                         f"a pyproj CRS is needed here, not {parsed.label}", file=file, field="crs")
    return parsed.crs


def _raw_bounds(geoms: Any) -> tuple[float, float, float, float] | None:
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return None
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms[ok]))
    return minx, miny, maxx, maxy


def _lonlat_range(b: tuple[float, float, float, float] | None) -> bool:
    if b is None:
        return True
    minx, miny, maxx, maxy = b
    return bool(np.isfinite(b).all() and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def _valid_codes(codes: Any) -> list[str]:
    out = []
    for v in codes:
        c = _code_text(v)
        if c is not None and is_valid_code(c):
            out.append(c)
    return out


def _to_storage_crs(gdf: gpd.GeoDataFrame, fname: str, declared: BoundaryCRS | None,
                    given: BoundaryCRS | None, codes: Any = ()
                    ) -> tuple[gpd.GeoDataFrame, CRSInfo, list[Note]]:
    """The layer in storage lon/lat, what CRS was used and why, and the notes to show."""
    notes: list[Note] = []
    raw_bounds = _raw_bounds(gdf.geometry.values)
    valid_codes = _valid_codes(codes)

    def hint() -> tuple[str, str]:
        """Which common CRS would put these numbers inside the province the codes name."""
        expected = expected_extent(valid_codes) if valid_codes else None
        if raw_bounds is None or expected is None:
            return "", ""
        found = crs_candidates(raw_bounds, expected[2])
        if not found:
            return "", ""
        return (f"；按 {found[0]} 读取则位于{expected[1]}：--crs {found[0]}",
                f"; read as {found[0]} they land in {expected[1]}: --crs {found[0]}")

    if given is not None:
        used = given
        if declared is not None and not declared.same_as(given):
            notes.append(Note(
                "crs_override",
                f"文件声明坐标系 {declared.label}，按 --crs 改为 {given.label}（只换标注，不重投影）",
                f"the file declares {declared.label}; --crs {given.label} overrides it (relabelled, "
                "not reprojected)",
            ))
    elif declared is not None:
        used = declared
    elif fname.lower().endswith((".geojson", ".json")):
        if not _lonlat_range(raw_bounds):
            zh, en = hint()
            raise UnknownCRS(
                "GeoJSON 未声明坐标系（无 crs 成员，按 RFC 7946 应为 WGS-84 经纬度），但坐标是投影坐标"
                f"（米）；请用 --crs 指定，如 --crs EPSG:4549{zh}",
                "the GeoJSON declares no CRS (no crs member: WGS-84 lon/lat by RFC 7946) but its "
                f"coordinates are projected metres; pass --crs, e.g. --crs EPSG:4549{en}",
                file=fname, field="crs",
            )
        used = BoundaryCRS("EPSG:4326", CRS.from_epsg(4326))
    else:
        zh, en = hint()
        raise UnknownCRS(
            f"文件未声明坐标系；请用 --crs 指定（如 EPSG:4490 或 EPSG:4549）{zh}",
            f"the file declares no CRS; pass --crs (e.g. EPSG:4490 or EPSG:4549){en}",
            file=fname, field="crs",
        )
    if used.lonlat and not _lonlat_range(raw_bounds):
        zh, en = hint()
        where = "--crs" if given is not None else "文件声明的坐标系"
        where_en = "--crs" if given is not None else "the declared CRS"
        assert raw_bounds is not None
        minx, miny, maxx, maxy = raw_bounds
        raise UnknownCRS(
            f"坐标超出经纬度范围（{minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}）：{where} {used.label} "
            f"是经纬度，坐标却像投影坐标（米）；请用正确的 .prj 或 --crs 指定{zh}",
            f"coordinates are outside lon/lat range ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}): "
            f"{where_en} {used.label} is lon/lat but they look like projected metres; pass the right "
            f"one with --crs{en}",
            file=fname, field="crs",
        )
    try:
        if used.mars:
            out = gdf.set_crs(STORAGE_CRS, allow_override=True)
            out = out.set_geometry(gpd.GeoSeries(mars_to_wgs84(used.label, out.geometry.values),
                                                 index=out.index, crs=STORAGE_CRS))
        elif used.crs.to_epsg() in (4326, 4490):
            out = gdf.set_crs(STORAGE_CRS, allow_override=True)
        else:
            out = gdf.set_crs(used.crs, allow_override=True).to_crs(STORAGE_CRS)
    except Exception as exc:
        if isinstance(exc, GridError):
            raise
        raise UnknownCRS(
            f"无法从坐标系 {used.label} 转换到经纬度：{exc}",
            f"cannot transform from {used.label} to lon/lat: {exc}",
            file=fname, field="crs",
        ) from exc
    bounds = _raw_bounds(out.geometry.values)
    if not _lonlat_range(bounds):
        assert bounds is not None
        minx, miny, maxx, maxy = bounds
        zh, en = hint()
        raise UnknownCRS(
            f"按 {used.label} 转换后坐标超出经纬度范围（{minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}）："
            f"坐标系有误；请用 --crs 指定{zh}",
            f"coordinates read as {used.label} fall outside lon/lat range ({minx:.0f}, {miny:.0f}, "
            f"{maxx:.0f}, {maxy:.0f}): wrong CRS; pass the right one with --crs{en}",
            file=fname, field="crs",
        )
    info = CRSInfo(declared=None if declared is None else declared.label,
                   given=None if given is None else given.label, used=used.label,
                   raw_bounds=raw_bounds)
    return out, info, notes


def _merge_infos(infos: list[CRSInfo]) -> CRSInfo | None:
    if not infos:
        return None
    first = infos[0]
    boxes = [i.raw_bounds for i in infos if i.raw_bounds is not None and i.used == first.used]
    if not boxes:
        return first
    arr = np.array(boxes)
    return CRSInfo(first.declared, first.given, first.used,
                   (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()),
                    float(arr[:, 3].max())))


def _code_text(value: Any) -> str | None:
    """A code cell as text: numbers from Shapefiles (520381101.0) become digit strings."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    return text or None


# Characters that do not occur in Chinese place names but do in text decoded with the wrong
# code page: Latin-1 supplement and Latin extended (GBK or UTF-8 bytes read as latin1/cp1252),
# the replacement character, C0/C1 controls, private use. 第1网格, 东湖社区, Ⅱ区 pass.
_UNLIKELY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\u024f\ue000-\uf8ff\ufffd]")


def _check_name_text(name: str | None, number: int, code: str | None, fname: str, field: str,
                     encoding: str | None) -> None:
    if name is None or not _UNLIKELY.search(name):
        return
    used_zh = f"按 {encoding} 解码" if encoding else "解码"
    used_en = f"decoded as {encoding}" if encoding else "decoded"
    raise EncodingError(
        f"名称 {name!r} {used_zh}后不像中文地名（乱码？）；请用 --encoding 指定正确的编码（如 gbk）",
        f"name {name!r} {used_en} is unlikely text for a Chinese place name (garbled?); pass the "
        "right --encoding (e.g. gbk)",
        file=fname, feature=number, field=field, code=code,
    )


def _to_boundaries(
    gdf: gpd.GeoDataFrame,
    fname: str,
    code_column: str,
    name_column: str,
    level: Level | None,
    missing_code: MissingCodePolicy,
    multipart: MultipartPolicy = "dissolve",
    encoding: str | None = None,
) -> Boundaries:
    geoms = gdf.geometry.values
    names: list[str | None] = []
    codes: list[str | None] = []
    keep: list[int] = []
    skipped: list[Skipped] = []
    # the columns once, as arrays: a DataFrame lookup per row cost 0.25 s for 3,000 grids
    name_values = gdf[name_column].to_numpy(dtype=object)
    code_values = gdf[code_column].to_numpy(dtype=object)
    # geometry checks for every feature at once; a flagged one is explained by _check_geometry
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    geom_ok = (~shapely.is_missing(geoms) & np.isin(shapely.get_type_id(geoms), (3, 6))
               & ~shapely.is_empty(geoms))
    geom_ok[owner[~np.isfinite(coords).all(axis=1)]] = False
    for i in range(len(gdf)):
        number = i + 1
        name = name_values[i]
        name = None if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        names.append(name)
        code = _code_text(code_values[i])
        _check_name_text(name, number, code, fname, name_column, encoding)
        if code is None:
            if missing_code == "skip":
                skipped.append(Skipped(
                    number, name,
                    f"编码列 {code_column} 为空，已跳过",
                    f"empty code in column {code_column}, skipped",
                ))
                codes.append(None)
                continue
            raise BadCode(
                "编码为空；请补齐编码，或用 --missing-code skip 跳过并报告",
                "empty code; fill it in, or pass --missing-code skip to leave it out and report it",
                file=fname, feature=number, field=code_column, name=name,
            )
        try:
            validate_code(code, level)
        except CodeError as exc:
            raise BadCode(exc.message_zh, exc.message_en, file=fname, feature=number,
                          field=code_column, name=name) from exc
        if not geom_ok[i]:
            _check_geometry(geoms[i], fname, i, code, name)
        codes.append(code)
        keep.append(i)
    # rows of one area: same code and same name (a multipart area exploded into rows)
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i in keep:
        groups.setdefault((codes[i], names[i]), []).append(i)  # type: ignore[arg-type]
    notes: list[Note] = []
    rows: list[tuple[str, str | None, Any, list[int]]] = []
    for (code, name), members in groups.items():
        numbers = [m + 1 for m in members]
        if len(members) == 1:
            rows.append((code, name, shapely.force_2d(geoms[members[0]]), numbers))
            continue
        listed_zh = "、".join(f"第 {n} 个" for n in numbers)
        listed_en = ", ".join(str(n) for n in numbers)
        if multipart == "error":
            raise BadCode(
                f"编码与名称相同的 {len(members)} 行（第 {listed_zh}要素）是同一区域的几部分；"
                "去掉 --multipart error 即可合并为一个区域",
                f"{len(members)} rows with the same code and name (features {listed_en}) are parts "
                "of one area; drop --multipart error to dissolve them into one",
                file=fname, feature=numbers[0], field=code_column, code=code, name=name,
            )
        merged = shapely.union_all(shapely.make_valid(shapely.force_2d(geoms[members])))
        notes.append(Note(
            "dissolved",
            f"{code}（{name}）的 {len(members)} 行（第 {listed_zh}要素）编码与名称相同，已合并为一个区域",
            f"{code} ({name}): {len(members)} rows with the same code and name (features "
            f"{listed_en}) dissolved into one area",
            features=numbers, code=code,
        ))
        rows.append((code, name, merged, numbers))
    layers: dict[str, gpd.GeoDataFrame] = {}
    features: dict[str, list[list[int]]] = {}
    if rows:
        frame = make_layer([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        lengths = frame["code"].str.len().to_numpy()
        for lvl in LEVELS:
            sel = np.flatnonzero(lengths == LENGTHS[lvl])
            if len(sel):
                layers[lvl] = frame.iloc[sel].reset_index(drop=True)
                features[lvl] = [rows[k][3] for k in sel]
    return Boundaries(layers=layers, source=fname, skipped=skipped, notes=notes, features=features)


def _check_geometry(geom: Any, fname: str, i: int, code: str | None = None,
                    name: str | None = None) -> None:
    """Refuse a feature (index ``i``) whose geometry is missing, empty or not polygonal."""
    where = {"file": fname, "feature": i + 1, "field": "geometry", "code": code, "name": name}
    if geom is None or shapely.is_missing(geom):
        raise BadGeometry("没有几何图形", "has no geometry", **where)
    kind = shapely.get_type_id(geom)
    if kind not in (3, 6):  # Polygon, MultiPolygon
        raise BadGeometry(
            f"几何类型为 {geom.geom_type}，应为面（Polygon/MultiPolygon）",
            f"geometry is a {geom.geom_type}; areas must be Polygon or MultiPolygon",
            **where,
        )
    if shapely.is_empty(geom):
        raise BadGeometry("几何图形为空", "geometry is empty", **where)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise BadGeometry("几何坐标含 NaN/无穷大", "geometry has NaN/infinite coordinates", **where)


def read_outline(path: str | Path, crs: str | None = None) -> Any:
    """The union of every polygon in ``path`` (a county outline), in storage lon/lat."""
    path = Path(path)
    if not path.exists():
        raise FileReadError("文件不存在", "file does not exist", file=str(path))
    raw, declared, _ = _read_layer(path, None, None)
    given = parse_boundary_crs(crs, str(path)) if crs is not None else None
    gdf, _, _ = _to_storage_crs(raw, str(path), declared, given)
    for i, g in enumerate(gdf.geometry.values):
        _check_geometry(g, str(path), i)
    return shapely.union_all(shapely.make_valid(gdf.geometry.values))


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)
