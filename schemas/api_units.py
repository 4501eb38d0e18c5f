"""Request and response bodies of ``/api/units`` (承办单位)."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas import vocab
from schemas.fields import MAX_NAME, AreaCode, Bool, Choice, Strict, Text


class UnitCreateSchema(Strict):
    name = Text(required=True, max_length=MAX_NAME)
    unit_type = Choice(vocab.UNIT_TYPES, required=True)
    area_code = AreaCode(required=True)
    contact = Text(max_length=MAX_NAME)
    active = Bool()


class UnitUpdateSchema(Strict):
    name = Text(max_length=MAX_NAME)
    unit_type = Choice(vocab.UNIT_TYPES)
    area_code = AreaCode()
    contact = Text(max_length=MAX_NAME)
    active = Bool()


class UnitOutSchema(Schema):
    _id = fields.String()
    _rev = fields.String()
    name = fields.String()
    unit_type = fields.String()
    area_code = fields.String()
    contact = fields.String()
    active = fields.Boolean()


class UnitListSchema(Schema):
    items = fields.List(fields.Nested(UnitOutSchema))


class UnitCaseListSchema(Schema):
    unit = fields.Nested(UnitOutSchema)
    items = fields.List(fields.Dict())
