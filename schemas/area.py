"""Area documents (``area:<code>``), produced by ``grid/``: county, township, village, grid.

The keys are fixed by the architecture; this schema checks shapes only. Whether a code
really belongs under its parent in the boundary data is ``grid/``'s business — here we
check digits, length per level and that ``parent`` is the code's own prefix.
"""

from __future__ import annotations

import math
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.fields import (
    _BASE,
    MAX_NAME,
    AreaCode,
    Choice,
    DocumentSchema,
    Int,
    List,
    Num,
    Text,
)

MAX_GEOMETRY_POSITIONS = 200_000


def _is_position(p: Any) -> bool:
    return (isinstance(p, list) and len(p) in (2, 3)
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                    for v in p))


class Geometry(fields.Field):
    """A GeoJSON Polygon or MultiPolygon (rings closed, ≥ 4 positions)."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("几何应为 GeoJSON Polygon 或 MultiPolygon",
                      "Geometry must be a GeoJSON Polygon or MultiPolygon."),
        "ring": bi("多边形的环须闭合且至少 4 个坐标点",
                   "Polygon rings must be closed and have at least 4 positions."),
        "too_big": bi("几何坐标点过多", "Geometry has too many positions."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict) or set(value) - {"type", "coordinates", "bbox"}:
            raise self.make_error("invalid")
        kind, coords = value.get("type"), value.get("coordinates")
        if kind == "Polygon":
            polygons = [coords]
        elif kind == "MultiPolygon" and isinstance(coords, list) and coords:
            polygons = coords
        else:
            raise self.make_error("invalid")
        count = 0
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                raise self.make_error("invalid")
            for ring in polygon:
                if not isinstance(ring, list) or len(ring) < 4 or not all(map(_is_position, ring)):
                    raise self.make_error("ring")
                if ring[0] != ring[-1]:
                    raise self.make_error("ring")
                count += len(ring)
        if count > MAX_GEOMETRY_POSITIONS:
            raise self.make_error("too_big")
        return value


class AreaSchema(DocumentSchema):
    """``area:<code>``: one node of the county → township → village → grid tree."""

    doc_type = "area"
    id_field = "code"

    level = Choice(vocab.AREA_LEVELS, required=True)
    code = AreaCode(required=True)
    name = Text(required=True, max_length=MAX_NAME)
    parent = AreaCode(required=True, allow_none=True)
    version = Int(required=True, min=1)
    geometry = Geometry(required=True)
    bbox = List(Num(), required=True, min_items=4, max_items=4)

    @validates_schema(skip_on_field_errors=True)
    def _check_tree(self, data: dict[str, Any], **kwargs: Any) -> None:
        code, level, parent = data["code"], data["level"], data["parent"]
        errors: dict[str, list[str]] = {}
        want = vocab.AREA_CODE_LENGTHS[level]
        if len(code) != want:
            errors["code"] = [bi(f"{level} 级编码应为 {want} 位", f"A {level} code has {want} digits.")]
        elif level == "county":
            if parent is not None:
                errors["parent"] = [bi("县级区划没有上级（应为 null）", "A county has no parent (null).")]
        elif parent != code[:-3]:
            errors["parent"] = [bi("上级编码应为本编码去掉最后 3 位",
                                   "Parent must be the code without its last 3 digits.")]
        minx, miny, maxx, maxy = data["bbox"]
        if minx > maxx or miny > maxy:
            errors["bbox"] = [bi("bbox 应为 [minx, miny, maxx, maxy]",
                                 "bbox must be [minx, miny, maxx, maxy].")]
        if errors:
            raise ValidationError(errors)
