"""Personal identifiers of parties: validation and masking for exports.

Documents store ID numbers and phone numbers in full (mediators need them to contact
people and to check identity); everything that leaves the system for a wider audience —
exports, dashboards, printed lists — shows them masked via these functions.
"""

from __future__ import annotations

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
