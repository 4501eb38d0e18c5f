"""Document ids and the short public tracking code.

Ids carry their type (``case:<uuid>``) so a replication filter, a scope check or a person
reading a log can tell what a document is without opening it. Event ids put the case uuid
first and a time-sortable suffix second, so ``_all_docs?startkey="event:<uuid>:"`` lists a
case's events in (device) time order.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import UTC, datetime

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# ULID (Crockford base32, 26 chars) or our own <yyyymmddThhmmss.fffZ>-<4..16 hex/base32 chars>.
TSID_RE = r"(?:[0-9A-HJKMNP-TV-Z]{26}|\d{8}T\d{6}\.\d{3}Z-[0-9a-zA-Z]{4,16})"
AREA_CODE_RE = r"(?:\d{6}|\d{9}|\d{12}|\d{15})"
# The one user-name rule: of accounts (``sync.users``), of ``user:<name>`` ids and of every
# field naming a user (``schemas.fields.Username``). No colon: it separates a name from
# what follows it (``_local/fq_<user>:<name>``).
USERNAME_RE = r"[a-z][a-z0-9_.\-]{2,31}"
USERNAME_RULE = ("用户名须以小写字母开头，3–32 位小写字母、数字、_ . -",
                 "must start with a lower-case letter: 3–32 of a-z 0-9 _ . -")
POLICY_NAME_RE = r"[a-z0-9_]{1,32}"
FREE_SUFFIX_RE = r"[A-Za-z0-9:._\-]{1,200}"
REV_RE = re.compile(r"^\d+-[0-9a-f]{1,64}$")

# Full-id patterns per type; the group is the part after the prefix.
ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "case": re.compile(rf"^case:({UUID_RE})$"),
    "event": re.compile(rf"^event:({UUID_RE}):({TSID_RE})$"),
    "risk": re.compile(rf"^risk:({UUID_RE})$"),
    "riskevent": re.compile(rf"^riskevent:({UUID_RE}):({TSID_RE})$"),
    "area": re.compile(rf"^area:({AREA_CODE_RE})$"),
    "user": re.compile(rf"^user:({USERNAME_RE})$"),
    "notification": re.compile(rf"^notification:({FREE_SUFFIX_RE})$"),
    "conflict": re.compile(rf"^conflict:({FREE_SUFFIX_RE})$"),
    "policy": re.compile(rf"^policy:({POLICY_NAME_RE})$"),
    "unit": re.compile(rf"^unit:({UUID_RE})$"),
}

# 31 symbols: digits and capitals without 0/O, 1/I/L, so a code read over the phone or
# copied from a paper receipt is unambiguous.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 10


def type_of_id(doc_id: str) -> str | None:
    """The type an id claims (text before the first colon), or None without a colon."""
    head, sep, _ = doc_id.partition(":")
    return head if sep else None


def new_uuid() -> str:
    """A random (version 4) uuid in canonical lowercase text."""
    return str(uuid.uuid4())


def new_case_id() -> str:
    """``case:<uuid4>``."""
    return f"case:{new_uuid()}"


def new_unit_id() -> str:
    """``unit:<uuid4>``: a 承办单位 keeps its id when renamed."""
    return f"unit:{new_uuid()}"


def new_risk_id() -> str:
    """``risk:<uuid4>``."""
    return f"risk:{new_uuid()}"


def time_sortable_id(at: datetime | None = None) -> str:
    """``<utc yyyymmddThhmmss.fffZ>-<8 random hex>``: sorts by time, unique across devices.

    ``at`` must be timezone-aware (default: now). Random bits make two ids created in the
    same millisecond on two tablets different.
    """
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("time_sortable_id needs an aware datetime / 需要带时区的时间")
    u = at.astimezone(UTC)
    return f"{u:%Y%m%dT%H%M%S}.{u.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def _uuid_of(parent_id: str, prefix: str) -> str:
    m = ID_PATTERNS[prefix].match(parent_id)
    if not m:
        raise ValueError(f"not a {prefix} id: {parent_id!r} / 不是有效的{prefix}编号")
    return m.group(1)


def new_event_id(case_id: str, at: datetime | None = None) -> str:
    """``event:<case uuid>:<time-sortable id>`` for an event of ``case_id`` at ``at``."""
    return f"event:{_uuid_of(case_id, 'case')}:{time_sortable_id(at)}"


def new_risk_event_id(risk_id: str, at: datetime | None = None) -> str:
    """``riskevent:<risk uuid>:<time-sortable id>``."""
    return f"riskevent:{_uuid_of(risk_id, 'risk')}:{time_sortable_id(at)}"


def _check_char(body: str) -> str:
    # Weighted sum mod 31 (weights 1..9): catches every single-character error and every
    # swap of two neighbouring characters.
    total = sum((i + 1) * TRACKING_ALPHABET.index(c) for i, c in enumerate(body))
    return TRACKING_ALPHABET[total % len(TRACKING_ALPHABET)]


def new_tracking_code() -> str:
    """A 10-character public tracking code: 9 random symbols + 1 check symbol.

    31**9 ≈ 2.6e13 codes: collisions within a county are negligible, and guessing a valid
    code of someone else's case is impractical.
    """
    body = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH - 1))
    return body + _check_char(body)


def is_valid_tracking_code(code: str) -> bool:
    """Right length, alphabet and check symbol (case-sensitive: codes are stored upper)."""
    return (
        isinstance(code, str)
        and len(code) == TRACKING_LENGTH
        and all(c in TRACKING_ALPHABET for c in code)
        and _check_char(code[:-1]) == code[-1]
    )


def normalise_tracking_code(text: str) -> str:
    """What a person typed → the stored form, so a code read off a receipt works as typed.

    People copy the code from paper or hear it over the phone and type it with spaces or
    dashes between groups, in lower case, or (with a Chinese input method on) in full-width
    characters; none of that should make a valid code "not found". So: NFKC (full-width →
    ASCII), upper case, and whitespace, dashes and underscores removed. Confusables are
    deliberately not "corrected" (O is not read as 0): the check symbol catches the typo
    instead of the system guessing.
    """
    text = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in text
                   if not ch.isspace() and ch != "_" and unicodedata.category(ch) != "Pd")
