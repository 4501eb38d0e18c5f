"""One registry of document types (``schemas.registry.DOC_TYPES``, issue 17).

What a type is — how it is scoped, who wrote it, its parent, whether it is append-only,
whether tablets may write it, its device time, the fields only the server sets — is
declared once there and read by the scope rule (``sync.scope``), the push rules
(``sync.push``, ``sync.gateway``), the case and risk services (``server.cases``,
``server.risks``) and the read model. These tests check that every type states every fact
and that the facts agree with its schema, pin the facts the sync rules enforce today, and
fail when product code keeps its own per-type table again.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

import pytest
from schema_examples import EXAMPLES
from testenv import ROOT

from schemas import vocab
from schemas.ids import ID_PATTERNS, USERNAME_RE
from schemas.registry import (
    AREA,
    BOUNDARY,
    CHILD_TYPE,
    DOC_TYPES,
    MEDIATORS,
    PUBLIC,
    SERVER,
    DocType,
    Scope,
)


def schema_fields(name: str) -> set[str]:
    """Every field any schema of the type declares (all kinds, both user shapes)."""
    spec = DOC_TYPES[name]
    example = EXAMPLES[name]
    variants = [example, {k: v for k, v in example.items() if k != "password_hash"}]
    variants += [dict(example, kind=k) for k in (*vocab.EVENT_KINDS, *vocab.RISK_EVENT_KINDS)]
    found: set[str] = set()
    for select in spec.select.values():
        for doc in variants:
            schema = select(doc)
            if hasattr(schema, "fields"):
                found.update(schema.fields)
    return found


# -- (a) every type is fully declared ---------------------------------------------------------

def test_no_fact_has_a_default() -> None:
    """A new type cannot leave a fact out: every field of DocType must be given."""
    missing = dataclasses.MISSING
    assert [f.name for f in dataclasses.fields(DocType)
            if f.default is not missing or f.default_factory is not missing] == []
    with pytest.raises(TypeError):
        DocType("x", "x", "x", select={})  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(DOC_TYPES))
def test_each_type_states_its_facts_and_they_agree_with_its_schema(name: str) -> None:
    spec = DOC_TYPES[name]
    fields = schema_fields(name)
    assert spec.name == name and spec.label_zh and spec.label_en and spec.select
    assert isinstance(spec.scope, Scope)
    assert spec.scope in (AREA, BOUNDARY, MEDIATORS, PUBLIC, SERVER) or spec.scope.prefix == "u"
    assert (spec.scope.field is None) == (spec.scope.prefix in ("p", None))
    named = [spec.scope.field, spec.author, spec.device_time, spec.parent and spec.parent.field,
             *spec.server_only, *spec.reserved]
    assert {n for n in named if n} <= fields, "a fact names a field the schema does not have"
    for value in (spec.immutable, spec.tablet_writes):
        assert isinstance(value, bool)
    assert isinstance(spec.server_only, frozenset) and isinstance(spec.reserved, frozenset)


@pytest.mark.parametrize("name", sorted(DOC_TYPES))
def test_the_facts_fit_together(name: str) -> None:
    spec = DOC_TYPES[name]
    if spec.tablet_writes:
        # a tablet writes only area-scoped work (``sync.scope.may_write_key``), names its
        # author, carries its device time, and never sets the receipt time
        assert spec.scope == AREA and spec.author and spec.device_time
        assert "received_at" in spec.server_only
    else:
        # these facts are rules of a tablet's write: nothing to state for server-only types
        assert not spec.immutable and spec.device_time is None and not spec.server_only
        assert not spec.reserved
    if spec.parent is not None:
        parent = DOC_TYPES[spec.parent.type]
        assert parent.parent is None and parent.scope == spec.scope  # same area as its parent
        assert ID_PATTERNS[name].groups == 2  # <type>:<parent uuid>:<time-sortable id>
        assert CHILD_TYPE[spec.parent.type] == name
        assert spec.set_by_server >= {spec.parent.field, spec.author, spec.device_time, "area_code"}
    else:
        with pytest.raises(ValueError):
            _ = spec.set_by_server


def test_each_example_has_the_scope_key_its_type_declares() -> None:
    from sync.scope import scope_key

    for name, doc in EXAMPLES.items():
        scope = DOC_TYPES[name].scope
        if scope.prefix is None:
            expected = None
        elif scope.field is None:
            expected = scope.prefix
        else:
            value = doc.get(scope.field)
            expected = f"{scope.prefix}:{value}" if value is not None else None
        assert scope_key(doc) == expected, name
        if scope.field is not None:
            with_area = dict(doc, **{scope.field: "330681001201003"})
            assert scope_key(with_area) == f"{scope.prefix}:330681001201003", name


# The rules tablets live by, as they were before the registry (sync/push.py, sync/scope.py,
# server/cases.py, server/risks.py). A deliberate change to what a tablet may do changes
# this test too.
def test_the_registry_holds_the_rules_the_gateway_and_api_enforced() -> None:
    from server import cases, risks
    from sync import push

    by = {n: t for n, t in DOC_TYPES.items()}
    assert {n for n, t in by.items() if t.tablet_writes} == {"case", "event", "risk", "riskevent"}
    assert {n: t.author for n, t in by.items() if t.tablet_writes} == {
        "case": "reported_by", "event": "actor", "risk": "reported_by", "riskevent": "actor"}
    assert {n: t.device_time for n, t in by.items() if t.tablet_writes} == {
        "case": "created_at", "event": "at", "risk": "created_at", "riskevent": "at"}
    assert {n: (t.parent.field, t.parent.type) for n, t in by.items() if t.parent} == {
        "event": ("case_id", "case"), "riskevent": ("risk_id", "risk")}
    assert {n for n, t in by.items() if t.immutable} == {"event", "riskevent"}
    assert push.SERVER_ONLY == {"received_at"}
    assert {n for n, t in by.items() if t.scope == AREA} == {"case", "event", "risk", "riskevent"}
    assert {n for n, t in by.items() if t.scope == PUBLIC} == {"policy"}
    assert {n: t.scope.field for n, t in by.items() if t.scope.prefix == "u"} == {
        "user": "username", "notification": "recipient"}
    assert cases.SERVER_FIELDS == {"type", "schema_version", "case_id", "actor", "area_code",
                                   "received_at", "at", "review_level"}
    assert risks.SERVER_FIELDS == {"type", "schema_version", "risk_id", "actor", "area_code",
                                   "received_at", "at"}


# -- (b) no product code keeps its own per-type table -----------------------------------------

TYPE_NAMES = frozenset(DOC_TYPES)
# schemas/ is where the facts live (the registry, the id patterns, each schema's doc_type).
PRODUCT = ("server", "sync", "grid")


def own_type_tables(source: str, where: str) -> list[str]:
    """Each set, tuple or list of two or more type names and nothing else
    (``frozenset({"event", "riskevent"})``, ``kind in ("case", "event", …)``), and each dict
    keyed by two or more type names and nothing else (``{"event": "case_id", …}``), as
    ``where:line``. Precise on purpose: a dict of form names or of case fields that happens
    to hold ``"risk"`` or ``"area"`` among other keys is not a table of types."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Set | ast.Tuple | ast.List):
            items: list[Any] = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        else:
            continue
        names = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
        if len(items) >= 2 and len(names) == len(items) and set(names) <= TYPE_NAMES:
            found.append(f"{where}:{node.lineno}: {names}")
    return found


@pytest.mark.parametrize(("code", "flagged"), [
    ('IMMUTABLE_TYPES = frozenset({"event", "riskevent"})', True),
    ('AREA_SCOPED_TYPES = frozenset({"case", "event", "risk", "riskevent"})', True),
    ('AUTHOR = {"case": "reported_by", "event": "actor"}', True),
    ('ok = kind in ("case", "event", "risk", "riskevent", "area")', True),
    ('forms = {"events": 1, "risk": 2, "unit": 3}', False),
    ('row = {"area": 1, "policy": 2, "status": 3}', False),
    ('one = kind == "case"', False),
    ('fields = ("case_id", "risk_id")', False),
])
def test_the_detector_finds_what_the_registry_replaced(code: str, flagged: bool) -> None:
    assert bool(own_type_tables(code, "sample")) is flagged


def test_no_product_code_keeps_its_own_table_of_types() -> None:
    found = [hit for top in PRODUCT for path in sorted((ROOT / top).rglob("*.py"))
             if "node_modules" not in path.parts
             for hit in own_type_tables(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == [], ("per-type facts belong in schemas/registry.py (DocType); "
                         "read them from DOC_TYPES instead:\n" + "\n".join(found))


# -- one user-name rule ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "ok"), [
    ("wang.wei", True), ("abc", True), ("a" * 32, True), ("li_na-2", True),
    ("ab", False), ("a" * 33, False), ("1abc", False), ("Wang", False), ("_abc", False),
    ("abc\n", False), ("a:b", False), ("王伟", False), ("", False),
])
def test_one_username_rule_for_accounts_ids_and_fields(name: str, ok: bool) -> None:
    """An account may be created under a name exactly when documents may name it: the
    account rule (``sync.users``), ``user:<name>`` ids and every username field are the one
    pattern of ``schemas.ids``."""
    from schemas import validate_document
    from sync.users import UserError, validate_user

    assert bool(re.fullmatch(USERNAME_RE, name)) is ok
    try:
        validate_user(name, "county_reviewer", ["330681"], "330681")
        account = True
    except UserError as exc:
        account = False
        assert exc.field == "username"
    assert account is ok
    event = dict(EXAMPLES["event"], actor=name)
    assert ("actor" not in {e.field for e in validate_document(event)}) is ok
    assert bool(ID_PATTERNS["user"].fullmatch(f"user:{name}")) is ok


def test_sync_users_keeps_no_pattern_of_its_own() -> None:
    text = (ROOT / "sync" / "users.py").read_text(encoding="utf-8")
    assert "USERNAME_RE = " not in text and "[a-z0-9_." not in text
