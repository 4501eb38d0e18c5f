"""Area codes: the one place where the code rules live.

A code is a string of digits whose length says its level::

    county    6 digits   GB/T 2260 (2 province + 2 prefecture + 2 county), e.g. 330681
    township  +3 = 9     001–099 街道, 100–199 镇, 200–299 乡 (statistics-bureau practice)
    village   +3 = 12    001–199 居委会/社区 (community), 200–399 村委会/村 (village)
    grid      +3 = 15    001–999, the grid number inside its village

A code's parent is its prefix, so a prefix selects a whole subtree: roll-ups, CouchDB
``startkey``/``endkey`` and DuckDB range filters all use :func:`prefix_range`. Codes are
always strings (leading zeros matter); never store them as numbers.
"""

from __future__ import annotations

from typing import Literal

from .errors import CodeError

Level = Literal["county", "township", "village", "grid"]

#: Levels from the top down.
LEVELS: tuple[Level, ...] = ("county", "township", "village", "grid")
#: Code length of each level.
LENGTHS: dict[str, int] = {"county": 6, "township": 9, "village": 12, "grid": 15}
_LEVEL_BY_LENGTH: dict[int, Level] = {6: "county", 9: "township", 12: "village", 15: "grid"}

# GB/T 2260 province prefixes (incl. 71 Taiwan, 81 Hong Kong, 82 Macao).

#: Where each province lies: name and extent (min lon, min lat, max lon, max lat) in
#: WGS-84/CGCS2000 degrees, keyed by the 2-digit GB/T 2260 prefix. Rounded outward to
#: 0.1° from public outlines and padded by about 0.3° (a border county's file reaches a
#: little over the line). Used after import to refuse boundaries that land elsewhere — a
#: wrong or missing CRS puts a county hundreds of kilometres off (issue 18); it is a
#: sanity check, not a border: 46 (海南) includes the South China Sea islands.
PROVINCES: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "11": ("北京", (115.1, 39.1, 117.8, 41.4)),
    "12": ("天津", (116.4, 38.3, 118.4, 40.6)),
    "13": ("河北", (113.1, 35.7, 120.2, 43.0)),
    "14": ("山西", (109.9, 34.3, 114.9, 41.1)),
    "15": ("内蒙古", (96.8, 37.1, 126.4, 53.7)),
    "21": ("辽宁", (118.5, 38.4, 126.1, 43.8)),
    "22": ("吉林", (121.3, 40.5, 131.6, 46.6)),
    "23": ("黑龙江", (120.8, 43.1, 135.4, 53.9)),
    "31": ("上海", (120.5, 30.4, 122.3, 32.2)),
    "32": ("江苏", (116.0, 30.4, 122.2, 35.5)),
    "33": ("浙江", (117.7, 26.7, 123.5, 31.5)),
    "34": ("安徽", (114.5, 29.1, 120.0, 35.0)),
    "35": ("福建", (115.5, 23.2, 120.9, 28.6)),
    "36": ("江西", (113.3, 24.2, 118.8, 30.4)),
    "37": ("山东", (114.5, 34.1, 123.0, 38.7)),
    "41": ("河南", (110.1, 31.1, 116.9, 36.7)),
    "42": ("湖北", (108.1, 28.8, 116.4, 33.6)),
    "43": ("湖南", (108.5, 24.3, 114.6, 30.4)),
    "44": ("广东", (109.3, 20.0, 117.6, 25.8)),
    "45": ("广西", (104.2, 20.6, 112.4, 26.7)),
    "46": ("海南", (108.3, 3.2, 117.9, 20.5)),
    "50": ("重庆", (105.0, 27.8, 110.5, 32.5)),
    "51": ("四川", (97.0, 25.8, 108.8, 34.6)),
    "52": ("贵州", (103.3, 24.3, 109.9, 29.5)),
    "53": ("云南", (97.2, 20.8, 106.5, 29.6)),
    "54": ("西藏", (78.1, 26.5, 99.4, 36.8)),
    "61": ("陕西", (105.2, 31.4, 111.6, 39.9)),
    "62": ("甘肃", (92.0, 32.3, 109.0, 43.1)),
    "63": ("青海", (89.1, 31.3, 103.4, 39.5)),
    "64": ("宁夏", (104.0, 35.0, 107.9, 39.7)),
    "65": ("新疆", (73.2, 34.0, 96.7, 49.5)),
    "71": ("台湾", (118.0, 21.6, 122.4, 26.7)),
    "81": ("香港", (113.6, 21.9, 114.7, 22.8)),
    "82": ("澳门", (113.3, 21.9, 113.9, 22.4)),
}
#: The whole country, padded the same way (the box the GCJ-02 offset uses is wider).
CHINA_EXTENT: tuple[float, float, float, float] = (73.2, 3.2, 135.4, 53.9)


def province_of(code: str) -> tuple[str, str, tuple[float, float, float, float]]:
    """``(prefix, name, extent)`` of the province a valid code lies in (see PROVINCES)."""
    validate_code(code)
    name, extent = PROVINCES[code[:2]]
    return code[:2], name, extent


LEVEL_ZH: dict[str, str] = {"county": "县", "township": "乡镇", "village": "村", "grid": "网格"}


def _fail(code: object, zh: str, en: str) -> CodeError:
    return CodeError(f"编码 {code!r} 无效：{zh}", f"code {code!r} is invalid: {en}")


def validate_code(code: str, level: Level | None = None) -> str:
    """Check ``code`` against the rules and return it unchanged.

    ``level`` (optional) demands a level. Raises :class:`CodeError` saying which part is
    wrong: non-digits, a length that is no level, an unknown province, a zero township,
    a village number outside 001–399, grid number 000.
    """
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        raise _fail(code, "只能由数字组成（文本，保留前导零）", "must be a string of digits (keep leading zeros)")
    found = _LEVEL_BY_LENGTH.get(len(code))
    if found is None:
        raise _fail(
            code,
            f"长度 {len(code)} 不对应任何层级（县 6、乡镇 9、村 12、网格 15 位）",
            f"length {len(code)} is no level (county 6, township 9, village 12, grid 15 digits)",
        )
    if level is not None and found != level:
        raise _fail(
            code,
            f"应为{LEVEL_ZH[level]}编码（{LENGTHS[level]} 位），实际为{LEVEL_ZH[found]}编码",
            f"expected a {level} code ({LENGTHS[level]} digits), got a {found} code",
        )
    if code[:2] not in PROVINCES:
        raise _fail(code, f"省级代码 {code[:2]} 不存在（GB/T 2260）", f"province {code[:2]} does not exist (GB/T 2260)")
    if code[2:6] == "0000" or code[4:6] == "00":
        raise _fail(code, "县级代码不能以 00 结尾", "the county part must not end in 00")
    if len(code) >= 9 and code[6:9] == "000":
        raise _fail(code, "乡镇代码不能为 000", "the township part must not be 000")
    if len(code) >= 12 and not (1 <= int(code[9:12]) <= 399):
        raise _fail(
            code,
            f"村级代码 {code[9:12]} 应在 001–199（社区）或 200–399（村）之间",
            f"village part {code[9:12]} must be 001–199 (community) or 200–399 (village)",
        )
    if len(code) == 15 and code[12:15] == "000":
        raise _fail(code, "网格编号不能为 000", "the grid number must not be 000")
    return code


def is_valid_code(code: object, level: Level | None = None) -> bool:
    """True when :func:`validate_code` would accept ``code``."""
    try:
        validate_code(code, level)  # type: ignore[arg-type]
    except CodeError:
        return False
    return True


def level_of(code: str) -> Level:
    """The level of a valid code (``'county'`` … ``'grid'``); raises CodeError otherwise."""
    validate_code(code)
    return _LEVEL_BY_LENGTH[len(code)]


def parent_of(code: str) -> str | None:
    """The parent's code (the code minus its last 3 digits), or None for a county."""
    validate_code(code)
    return code[:-3] if len(code) > 6 else None


def ancestors(code: str) -> dict[str, str]:
    """``{level: code}`` for the code and every level above it."""
    validate_code(code)
    return {lvl: code[: LENGTHS[lvl]] for lvl in LEVELS if LENGTHS[lvl] <= len(code)}


def area_at(code: str, level: Level) -> str | None:
    """The code of the area at ``level`` that holds ``code`` (its prefix of that level's
    length), or None when ``code`` is above that level. Not validated: for codes already
    checked, on hot paths (a scope test, a database name)."""
    n = LENGTHS[level]
    return code[:n] if len(code) >= n else None


def county_of(code: str) -> str:
    """The county of a code (its first 6 digits)."""
    return code[: LENGTHS["county"]]


def township_of(code: str) -> str | None:
    """The township of a code, or None for a county code."""
    return area_at(code, "township")


def village_kind(code: str) -> Literal["community", "village"]:
    """``'community'`` (居委会/社区, 001–199) or ``'village'`` (村委会/村, 200–399).

    ``code`` is a village or grid code (a grid inherits its village's kind).
    """
    validate_code(code)
    if len(code) < 12:
        raise _fail(code, "只有村级或网格编码才有村/社区类型", "only village and grid codes have a village kind")
    return "community" if int(code[9:12]) <= 199 else "village"


def township_kind(code: str) -> Literal["subdistrict", "town", "township"]:
    """``'subdistrict'`` (街道, 001–099), ``'town'`` (镇, 100–199) or ``'township'`` (乡)."""
    validate_code(code)
    if len(code) < 9:
        raise _fail(code, "县级编码没有乡镇类型", "a county code has no township kind")
    n = int(code[6:9])
    return "subdistrict" if n < 100 else "town" if n < 200 else "township"


def is_within(code: str, prefix: str) -> bool:
    """True when ``code`` is ``prefix`` itself or lies in its subtree.

    ``prefix`` must be a valid code of any level; ``code`` too.
    """
    validate_code(code)
    validate_code(prefix)
    return code.startswith(prefix)


def is_parent_of(parent: str, child: str) -> bool:
    """True when ``parent`` is exactly one level above ``child`` and its prefix."""
    validate_code(parent)
    validate_code(child)
    return len(child) == len(parent) + 3 and child.startswith(parent)


def prefix_range(prefix: str) -> tuple[str, str]:
    """Half-open string range ``[start, end)`` that holds every code under ``prefix``.

    ``start = prefix`` and ``end`` = prefix with its last digit incremented, carrying like
    an odometer (``'339901'`` → ``('339901', '339902')``, ``'339909'`` →
    ``('339909', '339910')``), so ``end`` is still a digit string. For CouchDB keys such as
    ``area:<code>`` use ``startkey='area:'+start`` and an ``endkey`` of ``'area:'+end``
    with ``inclusive_end=false``; in SQL ``code >= start AND code < end``.
    The prefix must be a valid code of some level.
    """
    validate_code(prefix)
    digits = list(prefix)
    i = len(digits) - 1
    while i >= 0 and digits[i] == "9":
        digits[i] = "0"
        i -= 1
    if i < 0:  # all nines: nothing sorts after it among digit strings of this length
        return prefix, prefix + "\ufff0"
    digits[i] = str(int(digits[i]) + 1)
    return prefix, "".join(digits)
