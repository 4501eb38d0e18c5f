"""Personal identifiers of parties: validation, masking and keyed hashes.

Documents store ID numbers and phone numbers in full (mediators need them to contact
people and to check identity); everything else shows them masked via these functions:
the case detail by default (the full values only behind an audited 查看 with a reason,
``server.cases.reveal_parties``), exports, dashboards, printed lists. Copies made for
statistics (the DuckDB read model) keep *no* full value at all: masked values for
display and keyed hashes (HMAC-SHA256 with a server key, ``FENGQIAO_PARTY_KEY``) to
recognise the same person again (重复访: same ID number, or same name and phone). A keyed
hash, not a plain one: ID numbers and mobile numbers are few enough (~10^9) to hash them
all, so without the key a plain hash would be as good as the number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

# GB 11643-1999: 17 digits + ISO 7064 MOD 11-2 check character.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$")


def id_number_check_char(first17: str) -> str:
    """The check character for the first 17 digits of a 居民身份证 number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-digit 居民身份证 number ("format", "birth_date",
    "checksum"), or None when it is valid. Lower-case x is not accepted: store upper case.
    """
    if not _ID_RE.match(value):
        return "format"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if born.year < 1880 or born > date.today():
        return "birth_date"
    if id_number_check_char(value[:17]) != value[17]:
        return "checksum"
    return None


def is_valid_id_number(value: str) -> bool:
    """True for an 18-character 居民身份证 number with valid birth date and check char."""
    return isinstance(value, str) and id_number_problem(value) is None


def is_valid_phone(value: str) -> bool:
    """Mainland mobile (11 digits, 1[3-9]…) or landline with area code (0xx-xxxxxxxx)."""
    return bool(MOBILE_RE.match(value) or LANDLINE_RE.match(value))


def mask_id_number(value: str | None) -> str | None:
    """Keep the first 3 and last 4 characters: ``110101199003071234`` → ``110***********1234``.

    Birth date and region detail are hidden; the tail still lets a clerk match a person who
    reads out their number. Shorter/odd input is masked all but its last 2 characters.
    """
    if not value:
        return value
    if len(value) == 18:
        return value[:3] + "*" * 11 + value[-4:]
    return "*" * max(len(value) - 2, 0) + value[-2:]


def mask_phone(value: str | None) -> str | None:
    """Mobile ``13812345678`` → ``138****5678``; landline keeps area code and last 2 digits."""
    if not value:
        return value
    if MOBILE_RE.match(value):
        return value[:3] + "****" + value[-4:]
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    keep = set(digits[:3]) | set(digits[-2:])
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(value))


def mask_parties(parties: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``parties`` with ``id_number`` and ``phone`` masked (for exports)."""
    out = []
    for party in parties:
        p = dict(party)
        if "id_number" in p:
            p["id_number"] = mask_id_number(p["id_number"])
        if "phone" in p:
            p["phone"] = mask_phone(p["phone"])
        out.append(p)
    return out


# What a party record keeps in copies made for statistics (no full identifier).
MINIMISED_PARTY_FIELDS = ("role", "name", "id_number", "phone")


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of ``parts`` (joined by a unit separator) under ``key``, hex, 32 chars."""
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def party_keys(party: dict[str, Any], key: bytes) -> list[str]:
    """The keys that recognise ``party`` again: ``id:<hmac of the ID number>`` and
    ``np:<hmac of name + phone>`` (the two rules of ``server.cases.find_repeats``)."""
    out = []
    if party.get("id_number"):
        out.append("id:" + keyed_hash(key, "id", str(party["id_number"])))
    if party.get("phone") and party.get("name"):
        out.append("np:" + keyed_hash(key, "np", str(party["name"]), str(party["phone"])))
    return out


def minimise_parties(parties: Iterable[Any], key: bytes) -> list[dict[str, Any]]:
    """``parties`` for a statistics copy: role, name, masked ID number and phone, and
    ``keys`` (``party_keys``). Nothing in the result gives back a full identifier."""
    out = []
    for party in parties:
        if not isinstance(party, dict):
            continue
        masked = mask_parties([party])[0]
        kept: dict[str, Any] = {k: masked[k] for k in MINIMISED_PARTY_FIELDS if masked.get(k) is not None}
        kept["keys"] = party_keys(party, key)
        out.append(kept)
    return out


def minimise_case(case: dict[str, Any], key: bytes) -> dict[str, Any]:
    """A copy of a case document whose parties are minimised (``minimise_parties``)."""
    return {**case, "parties": minimise_parties(case.get("parties") or [], key)}
