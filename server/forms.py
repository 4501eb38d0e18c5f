"""The action forms of the workbench, described from the schemas (``/dashboard/forms.json``).

Each event kind's form is its marshmallow schema read field by field: the same fields,
required flags, lengths, ranges and code lists the API validates with, and the labels of
``schemas.vocab`` (``FIELD_LABELS``, the code lists). The browser builds the form from this
description, so a field added to a schema appears on the screen with no JavaScript change
and no second list of fields or choices.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from schemas import vocab
from schemas.events import EVENT_SCHEMAS, EventSchema
from schemas.fields import MAX_TITLE, Bool, Choice, Day, Int, Text

# Fields of every event the server fills in (``server.cases.SERVER_FIELDS``) or that the
# form does not ask for.
_COMMON = frozenset(EventSchema._declared_fields) - {"note"}
_HIDDEN = frozenset({"unit_id", "note"})


def _choices(field: Choice) -> list[dict[str, str]]:
    labels = field.labels or {}
    return [{"code": c, "zh": labels[c][0] if c in labels else c,
             "en": labels[c][1] if c in labels else c} for c in field.choices]


def describe_field(name: str, field: fields.Field) -> dict[str, Any]:
    """One field as a form shows it."""
    zh, en = vocab.FIELD_LABELS.get(name, (name, name))
    out: dict[str, Any] = {"name": name, "zh": zh, "en": en, "required": bool(field.required)}
    if isinstance(field, Choice):
        out.update(widget="select", choices=_choices(field))
    elif isinstance(field, Day):
        out["widget"] = "date"
    elif isinstance(field, Bool):
        out["widget"] = "checkbox"
    elif isinstance(field, Int):
        out.update(widget="number", min=getattr(field, "min", None), max=getattr(field, "max", None))
    elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        out.update(widget="units", max_items=getattr(field, "max_items", None))
    elif isinstance(field, fields.List):  # a list of texts: one per line
        out.update(widget="lines", max_items=getattr(field, "max_items", None),
                   max_length=getattr(field.inner, "max_length", None))
    elif isinstance(field, Text):
        limit = getattr(field, "max_length", None)
        out.update(widget="textarea" if limit and limit > MAX_TITLE else "text", max_length=limit)
    else:
        out["widget"] = "text"
    return out


def schema_form(schema: type[Schema], skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    return [describe_field(name, field) for name, field in schema._declared_fields.items()
            if name not in skip and not name.startswith("_")]


def event_forms() -> dict[str, Any]:
    """kind → {zh, en, fields}: the form of each case event."""
    return {kind: {"zh": vocab.EVENT_KINDS[kind][0], "en": vocab.EVENT_KINDS[kind][1],
                   "fields": schema_form(cls, _COMMON | _HIDDEN)}
            for kind, cls in EVENT_SCHEMAS.items()}


def risk_event_forms() -> dict[str, Any]:
    """kind → {zh, en, fields}: the form of each risk event (排查, 研判, 化解, 备注)."""
    from schemas.risk import RISK_EVENT_SCHEMAS, RiskEventSchema

    common = frozenset(RiskEventSchema._declared_fields) - {"note"}
    return {kind: {"zh": vocab.RISK_EVENT_KINDS[kind][0], "en": vocab.RISK_EVENT_KINDS[kind][1],
                   "fields": schema_form(cls, common | _HIDDEN)}
            for kind, cls in RISK_EVENT_SCHEMAS.items()}


def forms() -> dict[str, Any]:
    """Every form of the workbench."""
    from schemas.api_risks import ReviewItemSchema, RiskCreateSchema
    from schemas.api_units import UnitCreateSchema

    return {"events": event_forms(), "risk_events": risk_event_forms(),
            "risk": schema_form(RiskCreateSchema, frozenset({"case_id", "created_at", "location"})),
            "review_item": schema_form(ReviewItemSchema, frozenset({"risk_id", "case_id"})),
            "unit": schema_form(UnitCreateSchema)}
