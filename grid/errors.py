"""Errors of the grid family: codes, boundary files, versions, coordinates.

Every error carries a message in Chinese and in English (a person reads them: an admin at
the CLI, a mediator behind the API) and, where it concerns an input file, a structured
location: ``file``, ``feature`` (the feature's 1-based number in the file, as a person
counts: "第 1 个要素" is the first; 1-based CSV line for point files: ``row``), the
feature's ``code`` and ``name`` when known (so a message names the feature the way the
county's GIS staff know it), and ``field``. Errors raised by shapely, pyproj or pyogrio are translated
into these at the boundary with ``raise ... from exc`` so the cause is kept.

One family; ``kind`` says what an error means to whoever answers it (the HTTP status and
the ``fengqiao`` exit code of each kind are one table, in ``server/errors.py`` and
docs/architecture.md §8.1: ``invalid`` 422 / exit 1, ``not_found`` 404 / 1, ``conflict``
409 / 1). A raise site may name a narrower kind (``kind="not_found"``). The hierarchy::

    GridError                       base of everything raised by grid/              invalid
    ├── CodeError                   a code breaks the GB/T 2260 + township/village/grid rules
    ├── InputError                  an input file cannot be used as given           invalid
    │   ├── FileReadError           missing, unreadable or unsupported file
    │   ├── UnknownCRS              no CRS, or one pyproj does not know
    │   ├── MissingColumn           a configured column is not in the file
    │   ├── BadCode                 a feature's code is empty or invalid (cause: CodeError)
    │   ├── BadGeometry             empty, missing or non-polygon geometry
    │   ├── EncodingError           text not UTF-8, an unknown --encoding, or garbled names
    │   └── BadPoint                a point row with a missing or non-numeric lon/lat
    ├── VersionError                no such boundary version (not_found), none active or a
    │                               refused change (conflict), a malformed version (invalid)
    └── CoordinateError             unknown coordinate system name for points       invalid

The ``fengqiao grid`` commands raise these; ``fengqiao`` (``server/cli.py``) prints the
message in both languages with the kind's exit code. ``grid`` imports nothing of ``server``.

This module imports nothing else from the project.
"""

from __future__ import annotations

from typing import Any


class GridError(Exception):
    """Base class of grid errors; ``message_zh`` and ``message_en`` are for people."""

    kind: str = "invalid"

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        file: str | None = None,
        feature: int | None = None,
        field: str | None = None,
        code: str | None = None,
        name: str | None = None,
        kind: str | None = None,
    ) -> None:
        if kind is not None:
            self.kind = kind  # this raise site says more than its class
        where_zh, where_en = _where(file, feature, field, code, name)
        self.message_zh = f"{where_zh}{message_zh}"
        self.message_en = f"{where_en}{message_en}"
        self.file = file
        self.feature = feature
        self.field = field
        self.code = code
        self.name = name
        super().__init__(f"{self.message_zh} / {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ``--json`` output and API error payloads)."""
        return {
            "error": type(self).__name__,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "file": self.file,
            "feature": self.feature,
            "field": self.field,
            "code": self.code,
            "name": self.name,
        }


def feature_label(number: int | None, code: str | None = None, name: str | None = None
                  ) -> tuple[str, str]:
    """How messages name a feature: "第 3 个要素（520381001 市中街道）" / "feature 3
    (520381001 市中街道)". ``number`` is 1-based; code and name are shown when known."""
    extra = " ".join(str(v) for v in (code, name) if v not in (None, ""))
    zh = f"第 {number} 个要素" if number is not None else "要素"
    en = f"feature {number}" if number is not None else "feature"
    if extra:
        zh += f"（{extra}）"
        en += f" ({extra})"
    return zh, en


def _where(file: str | None, feature: int | None, field: str | None, code: str | None = None,
           name: str | None = None) -> tuple[str, str]:
    parts_zh: list[str] = []
    parts_en: list[str] = []
    if file is not None:
        parts_zh.append(f"文件 {file}")
        parts_en.append(f"file {file}")
    if feature is not None or code is not None or name is not None:
        zh, en = feature_label(feature, code, name)
        parts_zh.append(zh)
        parts_en.append(en)
    if field is not None:
        parts_zh.append(f"字段 {field}")
        parts_en.append(f"field {field}")
    if not parts_zh:
        return "", ""
    return "，".join(parts_zh) + "：", ", ".join(parts_en) + ": "


class CodeError(GridError):
    """A code breaks the county/township/village/grid code rules."""


class InputError(GridError):
    """An input file (boundaries or points) cannot be used as given."""


class FileReadError(InputError):
    """The file is missing, unreadable, or not a format we read."""


class UnknownCRS(InputError):
    """The file declares no CRS, or one that pyproj does not know."""


class MissingColumn(InputError):
    """A configured column (code, name, lon, lat) is not in the file."""


class BadCode(InputError):
    """A feature's code is empty or invalid; ``__cause__`` is the CodeError."""


class BadGeometry(InputError):
    """A feature's geometry is missing, empty, or not a (multi)polygon."""


class EncodingError(InputError):
    """Text that is not UTF-8 with no encoding given, an unknown encoding, or names that
    decode to text unlikely for Chinese place names (mojibake)."""


class BadPoint(InputError):
    """A row of a points file has a missing or non-numeric coordinate."""


class VersionError(GridError):
    """No such boundary version, no active one, or a refused activation."""


class CoordinateError(GridError):
    """An unknown coordinate system name was given for points."""
