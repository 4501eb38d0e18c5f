"""The one rule that decides what a user may see and write.

Every document reduces to a *scope key*, a short string computed from its content alone:

    a:<area code>     cases, events, risks, risk events: the area they belong to
    g:<area code>     area (boundary) documents
    u:<username>      a user's public profile and notifications to them
    c:<area code>     conflict records (for mediators and reviewers)
    p                 reference data for everyone (deadline policies)
    None              nothing a tablet sees (design documents, 承办单位, unknown types)

Area codes nest by prefix (``grid/codes``), so "in my area" is a prefix test. A user sees
a key when:

    a:X  X starts with one of the user's area codes
    g:X  X is one of the user's areas, an ancestor of one, or (above grid level) inside one
    u:N  N is the user
    c:X  the user is a mediator or reviewer and X is in their area
    p    always

Which kind of key each document type has, and from which field, is declared once in the
type registry (``schemas.registry``, ``DocType.scope``); this module says who sees which
key. A write passes only if the user may see both the stored document and the new version,
and the new version is of a type tablets may write (see ``sync.push``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.registry import doc_type

from .users import User

# Roles whose area codes grant no reading by area (``sees``).
AREA_BLIND_ROLES = frozenset({"unit_officer"})


def _digits(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


# What the value of each kind of key must be (the kinds are the registry's ``Scope``s).
_VALUE_OK = {
    "a": _digits,
    "g": _digits,
    "u": lambda value: isinstance(value, str) and bool(value),
    "c": lambda value: isinstance(value, str),
}


def scope_key(doc: Mapping[str, Any]) -> str | None:
    """The scope key of a document (see the module docstring); None: nobody via sync.

    Which kind of key a type has, and from which field, is the type's ``scope`` in the
    registry (``schemas.registry.DOC_TYPES``).
    """
    doc_id = doc.get("_id", "")
    if doc_id.startswith(("_design/", "_local/")):
        return None
    spec = doc_type(doc.get("type"))
    if spec is None or spec.scope.prefix is None:
        return None
    prefix, field = spec.scope.prefix, spec.scope.field
    if field is None:
        return prefix
    value = doc.get(field)
    return f"{prefix}:{value}" if _VALUE_OK[prefix](value) else None


def sees(user: User, key: str | None) -> bool:
    """May ``user`` read documents with this scope key?"""
    if key is None:
        return False
    if key == "p":
        return True
    kind, _, value = key.partition(":")
    if user.role in AREA_BLIND_ROLES and kind != "u":
        return False  # a unit officer sees its unit's cases only (``server.units``), no area
    if kind == "a":
        return any(value.startswith(code) for code in user.area_codes)
    if kind == "g":
        if user.role == "grid_worker":
            return any(code.startswith(value) or value == code for code in user.area_codes)
        return any(code.startswith(value) or value.startswith(code) for code in user.area_codes)
    if kind == "u":
        return value == user.username
    if kind == "c":
        return user.role != "grid_worker" and any(value.startswith(c) for c in user.area_codes)
    return False


def may_write_key(user: User, key: str | None) -> bool:
    """May ``user`` write a document with this scope key through sync? Only area-scoped
    work documents; reference data, profiles and conflicts are written by the server."""
    return key is not None and key.startswith("a:") and sees(user, key)


def scope_fingerprint(user: User) -> str:
    """Changes when the user's scope changes; stored with their replication checkpoints so
    a changed scope makes the tablet start a fresh pull (see ``sync.gateway``)."""
    return f"{user.role}|{','.join(sorted(user.area_codes))}"
