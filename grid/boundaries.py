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

import json
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
from pyproj.exceptions import CRSError

from .codes import LENGTHS, LEVELS, Level, validate_code
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

#: The storage CRS: CGCS2000 geographic lon/lat.
STORAGE_CRS = "EPSG:4490"
COLUMNS = ["code", "name", "parent", "geometry"]
MissingCodePolicy = Literal["error", "skip"]


@dataclass
class Skipped:
    """A feature left out on purpose (``--missing-code skip``), reported, never hidden."""

    feature: int
    name: str | None
    reason_zh: str
    reason_en: str

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "name": self.name, "reason_zh": self.reason_zh,
                "reason_en": self.reason_en}


@dataclass
class Boundaries:
    """The areas of one county by level; see the module docstring for the concept."""

    layers: dict[str, gpd.GeoDataFrame]
    source: str | None = None
    skipped: list[Skipped] = field(default_factory=list)

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
) -> Boundaries:
    """Read a GeoJSON, GeoPackage or Shapefile of areas into storage lon/lat.

    ``code_column``/``name_column`` name the columns holding codes and names. ``layer``
    picks one layer of a multi-layer file; without it every layer of a GeoPackage is read
    (the demo county writes one per level). ``crs`` is used when the file declares none
    (it never overrides a declared one: reprojecting is safer than relabelling). ``level``
    demands every code be of that level; otherwise the level follows each code's length.
    ``missing_code='skip'`` leaves features with an empty code out and lists them in
    ``Boundaries.skipped`` instead of failing. ``encoding`` is for Shapefiles whose .dbf is
    not UTF-8 and has no .cpg (e.g. ``'gbk'``).

    Raises FileReadError, UnknownCRS, MissingColumn, BadCode, BadGeometry or
    EncodingError, each naming the file, the feature index (0-based) and the field.
    """
    path = Path(path)
    fname = str(path)
    if not path.exists():
        raise FileReadError("文件不存在", "file does not exist", file=fname)
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
    frames = []
    for lyr in wanted:
        frames.append(_read_layer(path, lyr if len(layer_names) > 1 else None, crs, encoding))
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
    return _to_boundaries(gdf, fname, code_column, name_column, level, missing_code)


def _check_utf8_file(path: Path) -> None:
    """GeoJSON must be UTF-8 (RFC 7946); GDAL would silently mangle other bytes."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        feature = data[: exc.start].count(b'"Feature"') - 1
        raise EncodingError(
            f"不是 UTF-8 编码（第 {exc.start} 字节）；GeoJSON 必须是 UTF-8，请先转码",
            f"is not UTF-8 (byte {exc.start}); GeoJSON must be UTF-8, re-encode it first",
            file=str(path), feature=feature if feature >= 0 else None,
        ) from exc


def _read_layer(path: Path, layer: str | None, crs: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    fname = str(path)
    is_shp = path.suffix.lower() in (".shp", ".dbf", ".zip")
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if encoding is not None:
        kwargs["encoding"] = encoding
    elif is_shp and not path.with_suffix(".cpg").exists():
        # Without a .cpg GDAL assumes ISO-8859-1 and hands back mojibake without a word;
        # insist on UTF-8 and say exactly where it is not.
        kwargs["encoding"] = "UTF-8"
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
    gdf = _to_storage_crs(gdf, fname, crs)
    return gdf


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
                        "文本不是 UTF-8 编码；请提供 .cpg 文件或用 --encoding 指定（如 gbk）",
                        "text is not UTF-8; add a .cpg file or pass --encoding (e.g. gbk)",
                        file=fname, feature=i, field=str(col),
                    )
    return EncodingError(
        "文本不是 UTF-8 编码；请用 --encoding 指定（如 gbk）",
        "text is not UTF-8; pass --encoding (e.g. gbk)",
        file=fname,
    )


def parse_crs(crs: Any, file: str | None = None) -> CRS:
    """``pyproj.CRS`` from user input, with CRSError translated to UnknownCRS."""
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise UnknownCRS(
            f"未知坐标系 {crs!r}（例：EPSG:4490 国家2000 经纬度，EPSG:4545–4554 国家2000 高斯-克吕格 3 度带）",
            f"unknown CRS {crs!r} (e.g. EPSG:4490 CGCS2000 lon/lat, EPSG:4545–4554 CGCS2000 "
            "Gauss-Krüger zones)",
            file=file, field="crs",
        ) from exc


def _to_storage_crs(gdf: gpd.GeoDataFrame, fname: str, crs: str | None) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        if crs is None:
            raise UnknownCRS(
                "文件未声明坐标系；请用 --crs 指定（如 EPSG:4490 或 EPSG:4549）",
                "the file declares no CRS; pass --crs (e.g. EPSG:4490 or EPSG:4549)",
                file=fname, field="crs",
            )
        gdf = gdf.set_crs(parse_crs(crs, fname), allow_override=True)
    try:
        source = CRS.from_user_input(gdf.crs)
        if source.to_epsg() in (4326, 4490):
            out = gdf.set_crs(STORAGE_CRS, allow_override=True)
        else:
            out = gdf.to_crs(STORAGE_CRS)
    except (CRSError, Exception) as exc:
        if isinstance(exc, GridError):
            raise
        raise UnknownCRS(
            f"无法从坐标系 {gdf.crs} 转换到经纬度：{exc}",
            f"cannot transform from {gdf.crs} to lon/lat: {exc}",
            file=fname, field="crs",
        ) from exc
    geoms = out.geometry.values
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[ok])
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90) or not np.isfinite(minx):
            raise UnknownCRS(
                f"坐标超出经纬度范围（{minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}）：声明的坐标系 "
                f"{gdf.crs} 可能有误（投影坐标？请用正确的 .prj 或 --crs）",
                f"coordinates are outside lon/lat range ({minx:.0f}, {miny:.0f}, {maxx:.0f}, "
                f"{maxy:.0f}): the declared CRS {gdf.crs} looks wrong (projected metres?)",
                file=fname, field="crs",
            )
    return out


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


def _to_boundaries(
    gdf: gpd.GeoDataFrame,
    fname: str,
    code_column: str,
    name_column: str,
    level: Level | None,
    missing_code: MissingCodePolicy,
) -> Boundaries:
    geoms = gdf.geometry.values
    codes: list[str | None] = []
    keep: list[int] = []
    skipped: list[Skipped] = []
    for i in range(len(gdf)):
        name = gdf[name_column].iloc[i]
        name = None if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        code = _code_text(gdf[code_column].iloc[i])
        if code is None:
            if missing_code == "skip":
                skipped.append(Skipped(
                    i, name,
                    f"编码列 {code_column} 为空，已跳过",
                    f"empty code in column {code_column}, skipped",
                ))
                codes.append(None)
                continue
            raise BadCode(
                f"编码为空（名称 {name!r}）；请补齐编码，或用 --missing-code skip 跳过并报告",
                f"empty code (name {name!r}); fill it in, or pass --missing-code skip to leave "
                "it out and report it",
                file=fname, feature=i, field=code_column,
            )
        try:
            validate_code(code, level)
        except CodeError as exc:
            raise BadCode(exc.message_zh, exc.message_en, file=fname, feature=i,
                          field=code_column) from exc
        _check_geometry(geoms[i], fname, i)
        codes.append(code)
        keep.append(i)
    layers: dict[str, gpd.GeoDataFrame] = {}
    if keep:
        kept_codes = [codes[i] for i in keep]
        frame = make_layer(
            kept_codes,
            [None if pd.isna(v) else str(v) for v in gdf[name_column].iloc[keep]],
            shapely.force_2d(geoms[keep]),
        )
        lengths = frame["code"].str.len()
        for lvl in LEVELS:
            part = frame[lengths == LENGTHS[lvl]]
            if len(part):
                layers[lvl] = part.reset_index(drop=True)
    return Boundaries(layers=layers, source=fname, skipped=skipped)


def _check_geometry(geom: Any, fname: str, i: int) -> None:
    if geom is None or shapely.is_missing(geom):
        raise BadGeometry("没有几何图形", "has no geometry", file=fname, feature=i, field="geometry")
    kind = shapely.get_type_id(geom)
    if kind not in (3, 6):  # Polygon, MultiPolygon
        raise BadGeometry(
            f"几何类型为 {geom.geom_type}，应为面（Polygon/MultiPolygon）",
            f"geometry is a {geom.geom_type}; areas must be Polygon or MultiPolygon",
            file=fname, feature=i, field="geometry",
        )
    if shapely.is_empty(geom):
        raise BadGeometry("几何图形为空", "geometry is empty", file=fname, feature=i, field="geometry")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise BadGeometry("几何坐标含 NaN/无穷大", "geometry has NaN/infinite coordinates",
                          file=fname, feature=i, field="geometry")


def read_outline(path: str | Path, crs: str | None = None) -> Any:
    """The union of every polygon in ``path`` (a county outline), in storage lon/lat."""
    path = Path(path)
    if not path.exists():
        raise FileReadError("文件不存在", "file does not exist", file=str(path))
    gdf = _read_layer(path, None, crs, None)
    for i, g in enumerate(gdf.geometry.values):
        _check_geometry(g, str(path), i)
    return shapely.union_all(shapely.make_valid(gdf.geometry.values))


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)
