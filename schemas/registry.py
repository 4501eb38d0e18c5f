"""The document-type registry: every type, the facts about it that the sync gateway, the
scope rule and the API services rely on (``DocType``), and dispatch of a document to its
schema by ``type`` (and ``kind``), validated in bulk.

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
class Scope:
    """How a document of a type reduces to its scope key (``sync.scope``): the key's kind
    (``prefix``) and the field whose value follows it, ``<prefix>:<doc[field]>``.

    ``sync.scope`` says who sees which kind of key and what a value must look like.
    """

    prefix: str | None  # a, g, u, c, p; None: never synced
    field: str | None   # None for ``p`` (one key for everyone) and for server-only types


# Work documents of an area (``a:<area_code>``): everyone working there sees them.
AREA = Scope("a", "area_code")
# Boundaries (``g:<code>``): a user's own areas, their ancestors, and (above grid level)
# what lies inside.
BOUNDARY = Scope("g", "code")
# Conflict records (``c:<area_code>``): the mediators and reviewers of the area.
MEDIATORS = Scope("c", "area_code")
# Reference data (``p``): everyone signed in.
PUBLIC = Scope("p", None)
# Never synced: nobody sees it through the gateway.
SERVER = Scope(None, None)


def owner(field: str) -> Scope:
    """Documents of one user (``u:<doc[field]>``): that user only."""
    return Scope("u", field)


@dataclass(frozen=True)
class Parent:
    """A child document names its parent in ``field`` (a ``type`` id), lives in the
    parent's area, and its id carries the parent's uuid (``event:<case uuid>:…``)."""

    field: str
    type: str


@dataclass(frozen=True)
class DocType:
    """One document type and every fact about it that more than one package relies on.

    No field has a default: a new type states each fact, and
    ``tests/schemas/test_type_registry.py`` checks the facts against its schema.

    * ``scope``: how its scope key is formed (``sync.scope``).
    * ``author``: the field naming the account that wrote it; on a tablet's write it must
      be the signed-in user, and no later version may change it (``sync.push``).
    * ``parent``: for a child document, its parent's id field and type (``sync.push``
      checks the areas agree; the API reads a parent's children, ``server.cases``).
    * ``immutable``: append-only: written once, never edited (``sync.push``).
    * ``tablet_writes``: tablets may push it through the sync gateway (``sync.push``);
      every other type is written by the server only.
    * ``device_time``: the field holding the writing device's clock time; a time no clock
      error explains is refused (``sync.push.device_time_problem``).
    * ``server_only``: set by the server only; a pushed document carrying one is refused
      (``sync.push``), and so is an API request body naming one.
    * ``reserved``: set only by one server path (``review_level``: ``/api/reviews``); an API
      request body may not send it, a device cannot be stopped from writing it, so the
      readers judge it by who wrote it (``server.notify.triggers``).
    """

    name: str
    label_zh: str
    label_en: str
    scope: Scope
    author: str | None
    parent: Parent | None
    immutable: bool
    tablet_writes: bool
    device_time: str | None
    server_only: frozenset[str]
    reserved: frozenset[str]
    # version → function picking the schema instance for a document (by kind etc.)
    select: Mapping[int, Callable[[Mapping[str, Any]], Schema | FieldError]]

    @property
    def set_by_server(self) -> frozenset[str]:
        """What the API fills in on a child document it appends — its type, parent, author
        (the caller), device time (the server's: a client-chosen one could backdate it),
        area (the parent's) and the server-only and reserved fields: a request body naming
        one is refused (``server.cases.new_event``, ``server.risks.new_risk_event``)."""
        if self.parent is None:
            raise ValueError(f"{self.name} is not appended to a parent")
        own = {"type", "schema_version", self.parent.field, *self.server_only, *self.reserved}
        own.update(n for n in (self.author, self.device_time, self.scope.field) if n is not None)
        return frozenset(own)


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

# Set by the server on every document a device may write (the receipt time).
_RECEIVED = frozenset({"received_at"})
_NONE: frozenset[str] = frozenset()

DOC_TYPES: dict[str, DocType] = {
    t.name: t
    for t in (
        DocType("case", "矛盾纠纷", "dispute case", scope=AREA, author="reported_by", parent=None,
                immutable=False, tablet_writes=True, device_time="created_at",
                server_only=_RECEIVED, reserved=_NONE, select={1: _fixed(CaseSchema())}),
        DocType("event", "案件事件", "case event", scope=AREA, author="actor",
                parent=Parent("case_id", "case"), immutable=True, tablet_writes=True,
                device_time="at", server_only=_RECEIVED, reserved=frozenset({"review_level"}),
                select={1: _by_kind(_EVENT, EVENT_KINDS)}),
        DocType("risk", "风险隐患", "risk entry", scope=AREA, author="reported_by", parent=None,
                immutable=False, tablet_writes=True, device_time="created_at",
                server_only=_RECEIVED, reserved=_NONE, select={1: _fixed(RiskSchema())}),
        DocType("riskevent", "风险事件", "risk event", scope=AREA, author="actor",
                parent=Parent("risk_id", "risk"), immutable=True, tablet_writes=True,
                device_time="at", server_only=_RECEIVED, reserved=_NONE,
                select={1: _by_kind(_RISK_EVENT, RISK_EVENT_KINDS)}),
        # To one user (``recipient``: a username; an SMS's phone number is nobody's key);
        # its ``area_code`` carries it down to the township (``sync.design``).
        DocType("notification", "通知", "notification", scope=owner("recipient"), author=None,
                parent=None, immutable=False, tablet_writes=False, device_time=None,
                server_only=_NONE, reserved=_NONE, select={1: _fixed(NotificationSchema())}),
        DocType("area", "区划/网格", "area", scope=BOUNDARY, author=None, parent=None,
                immutable=False, tablet_writes=False, device_time=None, server_only=_NONE,
                reserved=_NONE, select={1: _fixed(AreaSchema())}),
        # A user doc with a password hash is the server-side profile; without, the public
        # one (the only one a township database holds).
        DocType("user", "用户", "user", scope=owner("username"), author=None, parent=None,
                immutable=False, tablet_writes=False, device_time=None,
                server_only=_NONE, reserved=_NONE,
                select={1: lambda doc: _USER_FULL if "password_hash" in doc else _USER_PUBLIC}),
        DocType("conflict", "冲突记录", "conflict record", scope=MEDIATORS, author=None, parent=None,
                immutable=False, tablet_writes=False, device_time=None, server_only=_NONE,
                reserved=_NONE, select={1: _fixed(ConflictSchema())}),
        DocType("policy", "时限规则", "deadline policy", scope=PUBLIC, author=None, parent=None,
                immutable=False, tablet_writes=False, device_time=None, server_only=_NONE,
                reserved=_NONE, select={1: _fixed(PolicySchema())}),
        DocType("unit", "承办单位", "responsible unit", scope=SERVER, author="created_by",
                parent=None, immutable=False, tablet_writes=False, device_time=None,
                server_only=_NONE, reserved=_NONE, select={1: _fixed(UnitDocSchema())}),
    )
}
assert set(DOC_TYPES) == set(ID_PATTERNS)

# Child types by their parent's type: ``{"case": "event", "risk": "riskevent"}``.
CHILD_TYPE: dict[str, str] = {t.parent.type: n for n, t in DOC_TYPES.items() if t.parent}


def doc_type(name: Any) -> DocType | None:
    """The registry entry of a ``type`` value; None for anything else."""
    return DOC_TYPES.get(name) if isinstance(name, str) else None


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


__all__ = ["AREA", "BOUNDARY", "CHILD_TYPE", "DOC_TYPES", "MEDIATORS", "PUBLIC", "SERVER", "DocType",
           "Parent", "Scope", "check_document", "doc_type", "label", "owner", "validate_document",
           "validate_documents", "vocab"]
