"""User profiles (``user:<username>``).

Two shapes of one document: the server-side profile carries ``password_hash`` (argon2) and
never leaves the server; the public profile (no hash — the field is *refused*, not just
optional) is what syncs down to tablets. Use :func:`public_profile` to derive one.
"""

from __future__ import annotations

from typing import Any

from schemas import vocab
from schemas.fields import (
    MAX_NAME,
    AreaCode,
    Bool,
    Choice,
    DocRef,
    DocumentSchema,
    Int,
    List,
    Phone,
    Text,
    Timestamp,
    Username,
)


class UserPublicSchema(DocumentSchema):
    """The public profile synced to tablets: no password hash."""

    doc_type = "user"
    id_field = "username"

    username = Username(required=True)
    display_name = Text(required=True, max_length=MAX_NAME)
    role = Choice(vocab.ROLES, required=True)
    area_codes = List(AreaCode(), required=True, max_items=100, unique=True)
    active = Bool(required=True)
    created_at = Timestamp()  # optional in the public copy (sync/users.py leaves it out)
    phone = Phone()
    unit_id = DocRef("unit")  # a unit officer's unit (``schemas.unit``)


class UserSchema(UserPublicSchema):
    """The server-side profile: the public fields plus the argon2 ``password_hash``."""

    created_at = Timestamp(required=True)
    password_hash = Text(required=True, max_length=512, pattern=r"\$argon2(id|i|d)\$\S+")
    # Account safety (MLPS 2.0): failed logins in a row, and the lock they caused.
    login_failures = Int(min=0)
    locked_until = Timestamp()
    must_change_password = Bool()  # set by an administrator's password; cleared by the user's own


def public_profile(user_doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a user document without ``password_hash`` (and without ``_rev``: the
    public copy lives in another database with its own revision history)."""
    return {k: v for k, v in user_doc.items() if k not in ("password_hash", "_rev", "_revisions")}
