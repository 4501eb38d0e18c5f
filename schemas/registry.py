"""Dispatch a document to its schema by ``type`` (and ``kind``), and validate in bulk.

Schema instances are built once at import and reused: building a marshmallow schema is far
more expensive than running one, and a sync gateway validates thousands of documents per
``_bulk_docs`` request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from schemas import vocab
from schemas.area import AreaSchema
from schemas.case import CaseSchema
from schemas.conflict import ConflictSchema
from schemas.errors import DocumentInvalid, FieldError, bi, flatten_errors, split_message
from schemas.events import EVENT_KINDS, EVENT_SCHEMAS
from schemas.ids import ID_PATTERNS, REV_RE, type_of_id
from schemas.notification import NotificationSchema
from schemas.policy import PolicySchema
from schemas.risk import RISK_EVENT_KINDS, RISK_EVENT_SCHEMAS, RiskSchema
from schemas.unit import UnitDocSchema
from schemas.user import UserPublicSchema, UserSchema


@dataclass(frozen=True)
class DocType:
    """One document type: its name, the schema(s) per version, whether it is area-scoped."""

    name: str
    label_zh: str
    label_en: str
    scoped: bool
    # version → function picking the schema instance for a document (by kind etc.)
    select: Mapping[int, Callable[[Mapping[str, Any]], Schema | FieldError]]


def _fixed(schema: Schema) -> Callable[[Mapping[str, Any]], Schema]:
    return lambda doc: schema


def _by_kind(schemas: Mapping[str, Schema], kinds: Mapping[str, tuple[str, str]]
             ) -> Callable[[Mapping[str, Any]], Schema | FieldError]:
    choices = ", ".join(kinds)

    def select(doc: Mapping[str, Any]) -> Schema | FieldError:
        kind = doc.get("kind")
        schema = schemas.get(kind) if isinstance(kind, str) else None
        if schema is None:
            zh, en = split_message(bi(f"事件类型须为以下之一：{choices}", f"Kind must be one of: {choices}."))
            return FieldError("kind", zh, en)
        return schema

    return select


_EVENT = {k: cls() for k, cls in EVENT_SCHEMAS.items()}
_RISK_EVENT = {k: cls() for k, cls in RISK_EVENT_SCHEMAS.items()}
_USER_FULL, _USER_PUBLIC = UserSchema(), UserPublicSchema()

DOC_TYPES: dict[str, DocType] = {
    t.name: t
    for t in (
        DocType("case", "矛盾纠纷", "dispute case", True, {1: _fixed(CaseSchema())}),
        DocType("event", "案件事件", "case event", True, {1: _by_kind(_EVENT, EVENT_KINDS)}),
        DocType("risk", "风险隐患", "risk entry", True, {1: _fixed(RiskSchema())}),
        DocType("riskevent", "风险事件", "risk event", True,
                {1: _by_kind(_RISK_EVENT, RISK_EVENT_KINDS)}),
        DocType("notification", "通知", "notification", True, {1: _fixed(NotificationSchema())}),
        DocType("area", "区划/网格", "area", False, {1: _fixed(AreaSchema())}),
        # A user doc with a password hash is the server-side profile; without, the public one.
        DocType("user", "用户", "user", False,
                {1: lambda doc: _USER_FULL if "password_hash" in doc else _USER_PUBLIC}),
        DocType("conflict", "冲突记录", "conflict record", False, {1: _fixed(ConflictSchema())}),
        DocType("policy", "时限规则", "deadline policy", False, {1: _fixed(PolicySchema())}),
        DocType("unit", "承办单位", "responsible unit", False, {1: _fixed(UnitDocSchema())}),
    )
}
assert set(DOC_TYPES) == set(ID_PATTERNS)

# Types that carry ``area_code`` and are scoped by it (sync gateway, replication filters).
SCOPED_TYPES: frozenset[str] = frozenset(name for name, t in DOC_TYPES.items() if t.scoped)

_TOMBSTONE_KEYS = frozenset({"_id", "_rev", "_deleted", "_revisions"})


def _err(field: str, zh: str, en: str) -> list[FieldError]:
    return [FieldError(field, zh, en)]


def _tombstone_errors(doc: Mapping[str, Any]) -> list[FieldError]:
    doc_id = doc.get("_id")
    if not isinstance(doc_id, str) or type_of_id(doc_id) not in DOC_TYPES:
        return _err("_id", "删除标记的文档编号须以已知类型开头（如 case:）",
                    "A tombstone's _id must start with a known type (e.g. case:).")
    if not ID_PATTERNS[type_of_id(doc_id) or ""].match(doc_id):
        return _err("_id", "文档编号格式不正确", "Malformed document id.")
    rev = doc.get("_rev")
    if rev is not None and not (isinstance(rev, str) and REV_RE.match(rev)):
        return _err("_rev", "修订号须为“数字-十六进制”格式", "Revision must look like <n>-<hex>.")
    return []


def validate_document(doc: Any) -> list[FieldError]:
    """All problems with one document (empty list: valid). Never raises for bad input.

    Dispatches on ``type`` (and ``kind`` for events); a tombstone ``{_id, _rev,
    _deleted: true}`` with nothing else is valid for every type. Errors are sorted by field.
    """
    if not isinstance(doc, Mapping):
        return _err("", "文档应为 JSON 对象", "A document must be a JSON object.")
    if doc.get("_deleted") is True and _TOMBSTONE_KEYS.issuperset(doc):
        return _tombstone_errors(doc)
    doc_type = doc.get("type")
    spec = DOC_TYPES.get(doc_type) if isinstance(doc_type, str) else None
    if spec is None:
        if "type" not in doc:
            return _err("type", "缺少必填字段", "Missing data for required field.")
        names = ", ".join(DOC_TYPES)
        return _err("type", f"未知的文档类型，应为以下之一：{names}",
                    f"Unknown document type; must be one of: {names}.")
    version = doc.get("schema_version")
    select = spec.select.get(version) if isinstance(version, int) and not isinstance(
        version, bool) else None
    if select is None:
        known = ", ".join(str(v) for v in spec.select)
        return _err("schema_version", f"不支持的 schema_version（支持：{known}）",
                    f"Unsupported schema_version (supported: {known}).")
    schema = select(doc)
    if isinstance(schema, FieldError):
        return [schema]
    messages = schema.validate(doc)  # type: ignore[arg-type]
    errors = flatten_errors(messages)
    errors.sort(key=lambda e: e.field)
    return errors


def validate_documents(docs: Iterable[Any]) -> list[list[FieldError]]:
    """Validate many documents; result ``[i]`` holds the errors of ``docs[i]``.

    Kept in input order so a ``_bulk_docs`` handler can answer per document in CouchDB's
    response order. Uses the shared, pre-built schema instances (no per-call setup).
    """
    return [validate_document(doc) for doc in docs]


def check_document(doc: Any) -> None:
    """Raise :class:`DocumentInvalid` listing every problem, or return when ``doc`` is valid."""
    errors = validate_document(doc)
    if errors:
        raise DocumentInvalid(errors)


def label(code_list: Mapping[str, tuple[str, str]], code: str, lang: str = "zh") -> str:
    """The zh (default) or en label of a code from ``schemas.vocab``; the code if unknown."""
    pair = code_list.get(code)
    return code if pair is None else pair[0 if lang == "zh" else 1]


__all__ = ["DOC_TYPES", "SCOPED_TYPES", "DocType", "check_document", "label",
           "validate_document", "validate_documents", "vocab"]
