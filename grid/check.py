"""Quality check of boundaries: what must be fixed (errors) and what to know (warnings).

Concept
-------
A boundary version is loaded inactive, checked, then activated (MapIt's generations);
this module is the "checked" step. It never changes the input: it returns a
:class:`CheckReport` of :class:`Issue` s, and offers repaired geometries
(``shapely.make_valid``, polygonal parts only) for the caller to write out.

What is found, all areas in m² in a Lambert equal-area projection centred on the data:

* ``invalid_geometry`` — self-intersections (bowties), bad rings; reason from GEOS.
* ``duplicate_code`` — two areas with one code.
* ``missing_parent`` — a township/village/grid whose parent code is absent from a level
  that is present.
* ``overlap`` — two areas of one level sharing area.
* ``gap`` — area of a parent not covered by its children (parent minus union of
  children), or, where the parent level is absent, holes inside the union of siblings
  that no other area fills.
* ``outside_parent`` — a child's area outside its parent.
* ``uncovered`` / ``outside_outline`` — against an outline given by the caller: pieces of
  the outline covered by no area, and area beyond the outline. Real data is untidy along
  the edge, so these are always warnings — reported with their areas, never hidden.
* ``skipped`` — features the import left out on purpose (``--missing-code skip``).
* ``misplaced`` — the boundaries do not lie in China, or not in the province their codes
  name (a wrong or missing CRS), or — against an outline — fit it far better read as
  GCJ-02/BD-09 (or as plain lon/lat); the message names the ``--crs`` that puts them in
  place when a common one does (:mod:`grid.place`). An error: assigning against a county
  drawn 300 km or 500 m away gives wrong answers that look right.
* ``crs_override``, ``dissolved`` — what the import did on purpose (``--crs`` relabelled a
  declared CRS; rows of one area were merged), repeated as warnings.

Issues about one feature name it by its 1-based number in the file, code and name.

Overlaps, gaps and outside-parent pieces smaller than ``sliver_m2`` are warnings
(digitising slivers); larger ones are errors. Pieces below ``ignore_m2`` (floating-point
noise, default 0.01 m²) are not reported at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely

from .boundaries import Boundaries
from .codes import LENGTHS, LEVEL_ZH, LEVELS
from .errors import feature_label
from .frame import areas_m2, equal_area_crs
from .place import outline_problem, place_problem

Severity = Literal["error", "warning"]


@dataclass
class Issue:
    """One finding: what, how bad, which codes, how big, and where (lon/lat)."""

    kind: str
    severity: Severity
    level: str | None
    codes: list[str]
    message_zh: str
    message_en: str
    area_m2: float | None = None
    location: tuple[float, float] | None = None  # a point inside the problem, lon/lat

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "severity": self.severity, "level": self.level,
            "codes": self.codes, "area_m2": None if self.area_m2 is None else round(self.area_m2, 3),
            "location": None if self.location is None else [round(v, 7) for v in self.location],
            "message_zh": self.message_zh, "message_en": self.message_en,
        }


@dataclass
class CheckReport:
    """All issues of one check, plus the settings used and the repaired boundaries."""

    issues: list[Issue]
    counts: dict[str, int]
    sliver_m2: float
    ignore_m2: float
    source: str | None = None
    repaired: Boundaries | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing must be fixed (warnings allowed)."""
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """Counts by kind and severity, with total areas — stored in a version's meta.json."""
        by_kind: dict[str, dict[str, Any]] = {}
        for i in self.issues:
            entry = by_kind.setdefault(i.kind, {"errors": 0, "warnings": 0, "area_m2": 0.0,
                                                "largest_m2": 0.0})
            entry["errors" if i.severity == "error" else "warnings"] += 1
            if i.area_m2 is not None:
                entry["area_m2"] = round(entry["area_m2"] + i.area_m2, 3)
                entry["largest_m2"] = round(max(entry["largest_m2"], i.area_m2), 3)
        return {"ok": self.ok, "errors": len(self.errors), "warnings": len(self.warnings),
                "areas": self.counts, "sliver_m2": self.sliver_m2, "by_kind": by_kind}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.summary(),
                "issues": [i.to_dict() for i in self.issues]}


def _severity(area: float, sliver_m2: float) -> Severity:
    return "warning" if area < sliver_m2 else "error"


class _Ctx:
    """Geometry work happens in storage lon/lat, exactly as stored (a straight edge in lon/lat
    is what assignment uses; projecting first would bend edges differently on two sides of
    a shared border and invent slivers). Only the *results* are projected to equal area to
    measure them, after densifying so that long edges follow the projection."""

    def __init__(self, b: Boundaries) -> None:
        allg = np.concatenate([b.layer(lvl).geometry.values for lvl in b.levels]) if b.levels else []
        self.crs = equal_area_crs(allg) if len(allg) else None
        self.ll: dict[str, np.ndarray] = {}
        for lvl in b.levels:
            self.ll[lvl] = shapely.make_valid(b.layer(lvl).geometry.values)

    def area(self, geoms: Any) -> Any:
        """Area in m² (equal-area projection) of lon/lat geometries."""
        return areas_m2(geoms, self.crs)

    def lonlat(self, geom: Any) -> tuple[float, float]:
        """A point inside ``geom`` (lon/lat), to find the problem on a map."""
        p = shapely.point_on_surface(geom)
        return (float(p.x), float(p.y))

    def pieces(self, geom: Any, ignore_m2: float) -> list[tuple[Any, float]]:
        """Polygonal parts of ``geom`` with their areas, above the noise floor."""
        if geom is None or geom.is_empty:
            return []
        parts = [q for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)
                 for q in shapely.get_parts(p)]
        if not parts:
            return []
        areas = self.area(np.array(parts, dtype=object))
        return [(q, float(a)) for q, a in zip(parts, areas, strict=True) if a >= ignore_m2]


def check_boundaries(
    b: Boundaries,
    *,
    sliver_m2: float = 10.0,
    ignore_m2: float = 0.01,
    outline: Any = None,
) -> CheckReport:
    """Check ``b`` and return the report (see the module docstring for what is found).

    ``outline`` is an optional (multi)polygon in storage lon/lat (e.g. from
    :func:`grid.boundaries.read_outline`) to compare the finest level's union against.
    """
    issues: list[Issue] = []
    for s in b.skipped:
        zh, en = feature_label(s.feature, None, s.name)
        issues.append(Issue("skipped", "warning", None, [], f"{zh}：{s.reason_zh}", f"{en}: {s.reason_en}"))
    for note in b.notes:
        issues.append(Issue(note.kind, "warning", None, [note.code] if note.code else [],
                            note.message_zh, note.message_en))
    issues += _place(b)
    ctx = _Ctx(b)
    repaired_layers = {}
    for lvl in b.levels:
        layer = b.layer(lvl)
        codes = layer["code"].tolist()
        geoms = layer.geometry.values
        valid = shapely.is_valid(geoms)
        names = layer["name"].tolist()
        for i in np.flatnonzero(~valid):
            reason = shapely.is_valid_reason(geoms[i])
            zh, en = _label(b, lvl, int(i), codes[i], names[i])
            issues.append(Issue(
                "invalid_geometry", "error", lvl, [codes[i]],
                f"{LEVEL_ZH[lvl]} {zh}几何无效：{reason}；可用 --fix 输出修复结果",
                f"{lvl} {en} has invalid geometry: {reason}; --fix writes a repaired copy",
                location=(float(shapely.point_on_surface(shapely.make_valid(geoms[i])).x),
                          float(shapely.point_on_surface(shapely.make_valid(geoms[i])).y)),
            ))
        repaired = layer.copy()
        repaired["geometry"] = [_polygonal(g) for g in shapely.make_valid(geoms)]
        repaired_layers[lvl] = gpd.GeoDataFrame(repaired, geometry="geometry", crs="EPSG:4490")
        seen: dict[str, list[int]] = {}
        for i, c in enumerate(codes):
            seen.setdefault(c, []).append(i)
        for c, rows in seen.items():
            if len(rows) > 1:
                labels = [_label(b, lvl, i, None, names[i]) for i in rows]
                issues.append(Issue(
                    "duplicate_code", "error", lvl, [c],
                    f"{LEVEL_ZH[lvl]}编码 {c} 出现 {len(rows)} 次："
                    + "、".join(zh for zh, _ in labels)
                    + "；同一区域的几部分请用相同名称（导入时合并），不同区域请改正编码",
                    f"{lvl} code {c} occurs {len(rows)} times: " + "; ".join(en for _, en in labels)
                    + "; parts of one area need the same name (the import dissolves them), "
                    "different areas need their own codes",
                    location=ctx.lonlat(ctx.ll[lvl][rows[0]])))
        issues += _overlaps(lvl, codes, ctx.ll[lvl], ctx, sliver_m2, ignore_m2)
    issues += _hierarchy(b, ctx, sliver_m2, ignore_m2)
    if outline is not None and b.levels:
        issues += _outline(b, ctx, outline, ignore_m2)
    return CheckReport(
        issues=issues, counts=b.counts(), sliver_m2=sliver_m2, ignore_m2=ignore_m2,
        source=b.source, repaired=Boundaries(repaired_layers, b.source, list(b.skipped), list(b.notes),
                                             b.crs, dict(b.features), b.encoding),
    )


def _label(b: Boundaries, lvl: str, row: int, code: str | None, name: Any) -> tuple[str, str]:
    """A row named like the file's feature: "第 3 个要素（code name）" (number(s) when known)."""
    numbers = b.feature_numbers(lvl, row)
    shown_name = None if name is None or (isinstance(name, float) and name != name) else str(name)
    if not numbers:
        extra = " ".join(str(v) for v in (code, shown_name) if v)
        return extra, extra
    zh, en = feature_label(numbers[0], code, shown_name)
    if len(numbers) > 1:
        more = ", ".join(str(n) for n in numbers[1:])
        zh = zh.replace(f"第 {numbers[0]} 个", f"第 {numbers[0]}、{more.replace(', ', '、')} 个")
        en = en.replace(f"feature {numbers[0]}", f"features {numbers[0]}, {more}")
    return zh, en


def _place(b: Boundaries) -> list[Issue]:
    """The ``misplaced`` check against China and the province the codes name."""
    if not b.levels:
        return []
    geoms = np.concatenate([b.layer(lvl).geometry.values for lvl in b.levels])
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return []
    bounds = tuple(float(v) for v in shapely.total_bounds(geoms[ok]))
    codes = np.concatenate([b.layer(lvl)["code"].to_numpy() for lvl in b.levels])
    info = b.crs
    problem = place_problem(bounds, codes, None if info is None else info.raw_bounds,  # type: ignore[arg-type]
                            None if info is None else info.used)
    if problem is None:
        return []
    return [Issue("misplaced", "error", None, [], problem[0], problem[1],
                  location=((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2))]


def _polygonal(g: Any) -> Any:
    """Keep only the polygonal part of a make_valid result."""
    if shapely.get_type_id(g) in (3, 6):
        return g
    polys = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _overlaps(lvl: str, codes: list[str], ea: np.ndarray, ctx: _Ctx, sliver_m2: float,
              ignore_m2: float) -> list[Issue]:
    tree = shapely.STRtree(ea)
    left, right = tree.query(ea, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    inter = shapely.intersection(ea[left], ea[right])
    areas = ctx.area(inter)
    out = []
    for k in np.flatnonzero(areas >= ignore_m2):
        a, b2, area = codes[left[k]], codes[right[k]], float(areas[k])
        sev = _severity(area, sliver_m2)
        out.append(Issue(
            "overlap", sev, lvl, sorted([a, b2]),
            f"{LEVEL_ZH[lvl]} {a} 与 {b2} 重叠 {area:.1f} m²",
            f"{lvl}s {a} and {b2} overlap by {area:.1f} m²",
            area_m2=area, location=ctx.lonlat(inter[k]),
        ))
    return out


def _hierarchy(b: Boundaries, ctx: _Ctx, sliver_m2: float, ignore_m2: float) -> list[Issue]:
    out: list[Issue] = []
    levels = b.levels
    for lvl in levels:
        if lvl == "county":
            continue
        layer = b.layer(lvl)
        parent_lvl = LEVELS[LEVELS.index(lvl) - 1]
        if parent_lvl in levels:
            parents = b.layer(parent_lvl)
            p_codes = parents["code"].tolist()
            known = set(p_codes)
            for c in layer["code"]:
                if c[:-3] not in known:
                    out.append(Issue(
                        "missing_parent", "error", lvl, [c],
                        f"{LEVEL_ZH[lvl]} {c} 的上级 {c[:-3]} 不在{LEVEL_ZH[parent_lvl]}图层中",
                        f"{lvl} {c}: its parent {c[:-3]} is not in the {parent_lvl} layer",
                    ))
            child_parent = layer["code"].str[: LENGTHS[parent_lvl]].to_numpy()
            for j, pc in enumerate(p_codes):
                members = np.flatnonzero(child_parent == pc)
                pgeom = ctx.ll[parent_lvl][j]
                if not len(members):
                    continue  # a parent without children in this file: nothing to compare
                union = shapely.union_all(ctx.ll[lvl][members])
                for piece, area in ctx.pieces(shapely.difference(pgeom, union), ignore_m2):
                    out.append(Issue(
                        "gap", _severity(area, sliver_m2), parent_lvl, [pc],
                        f"{LEVEL_ZH[parent_lvl]} {pc} 内有 {area:.1f} m² 未被{LEVEL_ZH[lvl]}覆盖",
                        f"{area:.1f} m² of {parent_lvl} {pc} is covered by none of its {lvl}s",
                        area_m2=area, location=ctx.lonlat(piece),
                    ))
                for m in members:
                    for piece, area in ctx.pieces(shapely.difference(ctx.ll[lvl][m], pgeom), ignore_m2):
                        c = layer["code"].iloc[m]
                        out.append(Issue(
                            "outside_parent", _severity(area, sliver_m2), lvl, [c, pc],
                            f"{LEVEL_ZH[lvl]} {c} 有 {area:.1f} m² 在上级 {pc} 之外",
                            f"{area:.1f} m² of {lvl} {c} lies outside its parent {pc}",
                            area_m2=area, location=ctx.lonlat(piece),
                        ))
        else:
            groups = layer["code"].str[: LENGTHS[parent_lvl]].to_numpy()
            out += _holes(lvl, ctx.ll[lvl], groups, ctx, sliver_m2, ignore_m2, parent_lvl)
    top = levels[0] if levels else None
    # with the township level present, the per-level pass above already looked at the
    # whole county (one group); below that, holes between groups need one more look
    if top is not None and top not in ("county", "township"):
        ea = ctx.ll[top]
        out += _holes(top, ea, np.array(["*"] * len(ea)), ctx, sliver_m2, ignore_m2, "county")
    return out


def _holes(lvl: str, ea: np.ndarray, groups: np.ndarray, ctx: _Ctx, sliver_m2: float,
           ignore_m2: float, parent_lvl: str) -> list[Issue]:
    """Holes in the union of each group of siblings that no area of the level fills."""
    out: list[Issue] = []
    everything = shapely.union_all(ea)
    for g in np.unique(groups):
        union = shapely.union_all(ea[groups == g])
        rings = [shapely.Polygon(r) for p in shapely.get_parts(union)
                 if shapely.get_type_id(p) == 3 for r in p.interiors]
        for ring in rings:
            for piece, area in ctx.pieces(shapely.difference(ring, everything), ignore_m2):
                where_zh = f"{LEVEL_ZH[parent_lvl]} {g} 内" if g != "*" else "县域内"
                where_en = f"inside {parent_lvl} {g}" if g != "*" else "inside the county"
                out.append(Issue(
                    "gap", _severity(area, sliver_m2), parent_lvl, [] if g == "*" else [str(g)],
                    f"{where_zh}{LEVEL_ZH[lvl]}之间有 {area:.1f} m² 空隙",
                    f"gap of {area:.1f} m² between {lvl}s {where_en}",
                    area_m2=area, location=ctx.lonlat(piece),
                ))
    return out


def _outline(b: Boundaries, ctx: _Ctx, outline: Any, ignore_m2: float) -> list[Issue]:
    outline = shapely.make_valid(outline)
    finest = b.finest_level
    union = shapely.union_all(ctx.ll[finest])
    out: list[Issue] = []
    hint = outline_problem(union, outline, b.crs.used if b.crs is not None else "EPSG:4490", ctx.area,
                           b.crs.raw_bounds if b.crs is not None else None)
    if hint is not None:
        out.append(Issue("misplaced", "error", finest, [], hint[0], hint[1],
                         location=ctx.lonlat(outline)))
    for piece, area in ctx.pieces(shapely.difference(outline, union), ignore_m2):
        out.append(Issue(
            "uncovered", "warning", finest, [],
            f"县界内有 {area:.1f} m² 不属于任何{LEVEL_ZH[finest]}",
            f"{area:.1f} m² inside the outline belongs to no {finest}",
            area_m2=area, location=ctx.lonlat(piece),
        ))
    codes = b.layer(finest)["code"].tolist()
    tree = shapely.STRtree(ctx.ll[finest])
    for piece, area in ctx.pieces(shapely.difference(union, outline), ignore_m2):
        hit = sorted(codes[k] for k in tree.query(piece, predicate="intersects"))[:3]
        out.append(Issue(
            "outside_outline", "warning", finest, hit,
            f"{'、'.join(hit)} 有 {area:.1f} m² 在县界之外",
            f"{area:.1f} m² of {', '.join(hit)} lies outside the outline",
            area_m2=area, location=ctx.lonlat(piece),
        ))
    return out
