"""Shared fields: every field type the documents use, with messages in zh-CN and English.

Marshmallow's own fields are lenient in ways a sync gateway must not be (``Boolean``
accepts ``"yes"``, ``Float`` accepts ``"1.5"``, ``Integer`` accepts ``True``); these
subclasses accept JSON types only and carry bilingual messages (see ``schemas.errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.ids import (
    AREA_CODE_RE,
    ID_PATTERNS,
    REV_RE,
    USERNAME_RE,
    USERNAME_RULE,
    is_valid_tracking_code,
)
from schemas.privacy import id_number_problem, is_valid_phone

# ---- limits (one place) -------------------------------------------------------------
MAX_NAME = 50            # person names, unit names, area names
MAX_TITLE = 100
MAX_DESCRIPTION = 5000
MAX_NOTE = 2000
MAX_ADDRESS = 200
MAX_PARTIES = 20
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MAX_ATTACHMENT_NAME = 100
ALLOWED_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/pdf"}
)
# Device clocks reset to 1970 after a flat battery; refuse absurd times instead of storing them.
MIN_YEAR, MAX_YEAR = 2000, 2100

_BASE = {
    "required": bi("缺少必填字段", "Missing data for required field."),
    "null": bi("不能为 null", "Field may not be null."),
    "validator_failed": bi("取值不合法", "Invalid value."),
}


NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


class Text(fields.String):
    """A string with a length limit (and optionally a pattern). Blank strings are refused."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为字符串", "Not a valid string."),
        "invalid_utf8": bi("不是有效的 UTF-8 字符串", "Not a valid utf-8 string."),
        "blank": bi("不能为空", "Must not be blank."),
        "too_long": bi("长度不能超过 {max} 个字符", "Must be at most {max} characters long."),
        "pattern": bi("格式不正确", "Wrong format."),
    }

    def __init__(self, *, max_length: int = MAX_NOTE, min_length: int = 1,
                 pattern: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.pattern = re.compile(pattern) if pattern else None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text.strip()) < self.min_length:
            raise self.make_error("blank")
        if len(text) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise self.make_error("pattern")
        self.check(text)
        return text

    def check(self, text: str) -> None:
        """Hook for subclasses: raise ``self.make_error(...)`` if ``text`` is wrong."""

    # What the field accepts, as OpenAPI (JSON Schema) keywords: published from here by
    # ``server.api`` so the API's description says what its validation enforces.
    # ``check`` rules that JSON Schema cannot say (a check digit) are left to the 422.
    pattern_doc: str | None = None

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"maxLength": self.max_length, "minLength": self.min_length}
        pattern = self.pattern_doc or (self.pattern.pattern if self.pattern else None)
        # A blank text is refused: without a pattern, at least one character Python's
        # ``str.strip`` keeps (ECMA's \s lacks \x1c-\x1f and \x85, which it strips).
        out["pattern"] = f"^(?:{pattern.strip('^$')})$" if pattern else NOT_BLANK
        return out


class Choice(Text):
    """One code from a code list (``schemas.vocab``)."""

    default_error_messages = {
        "invalid_choice": bi("取值须为以下之一：{choices}", "Must be one of: {choices}."),
    }

    def __init__(self, choices: Mapping[str, Any] | list[str] | tuple[str, ...],
                 **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)
        self.choices = tuple(choices)
        # The code list itself when it has labels (forms show them: ``server.forms``).
        self.labels = choices if isinstance(choices, Mapping) else None
        self._set = frozenset(self.choices)

    def check(self, text: str) -> None:
        if text not in self._set:
            raise self.make_error("invalid_choice", choices=", ".join(self.choices))

    def openapi(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


class AreaCode(Text):
    """An area code: digits only, 6 (county), 9 (township), 12 (village) or 15 (grid)."""

    default_error_messages = {
        "pattern": bi("区划/网格编码须为 6、9、12 或 15 位数字",
                      "Area code must be 6, 9, 12 or 15 digits."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=15, pattern=AREA_CODE_RE, **kwargs)


class Username(Text):
    """A login name: the one rule of ``schemas.ids.USERNAME_RE`` (a lower-case letter, then
    2–31 lower-case letters, digits or ``_.-``)."""

    default_error_messages = {"pattern": bi(*USERNAME_RULE)}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, pattern=USERNAME_RE, **kwargs)


class DocRef(Text):
    """The id of another document of a given type (``case:<uuid>``)."""

    default_error_messages = {
        "bad_ref": bi("须为 {type}:… 格式的文档编号", "Must be a {type}:… document id."),
    }

    def __init__(self, doc_type: str, **kwargs: Any) -> None:
        super().__init__(max_length=300, **kwargs)
        self.doc_type = doc_type
        self.pattern_doc = ID_PATTERNS[doc_type].pattern

    def check(self, text: str) -> None:
        if not ID_PATTERNS[self.doc_type].match(text):
            raise self.make_error("bad_ref", type=self.doc_type)


class Rev(Text):
    """A CouchDB revision ``<n>-<hex>``."""

    default_error_messages = {
        "pattern": bi("修订号须为“数字-十六进制”格式", "Revision must look like <n>-<hex>."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, pattern=REV_RE.pattern.strip("^$"), **kwargs)


class IdNumber(Text):
    """An 18-character 居民身份证 number (birth date and MOD 11-2 check character)."""

    default_error_messages = {
        "format": bi("身份证号须为 17 位数字加 1 位数字或大写 X",
                     "ID number must be 17 digits followed by a digit or capital X."),
        "birth_date": bi("身份证号中的出生日期无效", "The birth date in the ID number is invalid."),
        "checksum": bi("身份证号校验位不正确，请核对", "ID number check digit is wrong; please re-check it."),
    }

    pattern_doc = r"\d{17}[\dX]"  # and a valid birth date and check character

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=18, **kwargs)

    def check(self, text: str) -> None:
        problem = id_number_problem(text)
        if problem:
            raise self.make_error(problem)


class Phone(Text):
    """Mainland mobile or landline number."""

    default_error_messages = {
        "phone": bi("电话号码格式不正确（手机 11 位，座机须带区号）",
                    "Not a valid phone number (11-digit mobile, or landline with area code)."),
    }

    pattern_doc = r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?"  # privacy.MOBILE_RE / LANDLINE_RE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=20, **kwargs)

    def check(self, text: str) -> None:
        if not is_valid_phone(text):
            raise self.make_error("phone")


class TrackingCode(Text):
    """The public 10-symbol tracking code (see ``schemas.ids.new_tracking_code``)."""

    default_error_messages = {
        "tracking": bi("查询码须为 10 位（不含 0/O/1/I/L），且校验位正确",
                       "Tracking code must be 10 symbols (no 0/O/1/I/L) with a valid check symbol."),
    }

    pattern_doc = r"[23456789A-HJKMNP-Z]{10}"  # and a valid check symbol (ids.TRACKING_ALPHABET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=10, **kwargs)

    def check(self, text: str) -> None:
        if not is_valid_tracking_code(text):
            raise self.make_error("tracking")


class Int(fields.Integer):
    """A JSON integer (not a bool, not a string) within optional bounds."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为整数", "Not a valid integer."),
        "too_large": bi("数值过大", "Number too large."),
        "min": bi("不能小于 {min}", "Must be at least {min}."),
        "max": bi("不能大于 {max}", "Must be at most {max}."),
    }

    def __init__(self, *, min: int | None = None, max: int | None = None, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        self.min, self.max = min, max

    def openapi(self) -> dict[str, Any]:
        return {k: v for k, v in (("minimum", self.min), ("maximum", self.max)) if v is not None}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if self.min is not None and value < self.min:
            raise self.make_error("min", min=self.min)
        if self.max is not None and value > self.max:
            raise self.make_error("max", max=self.max)
        return value


class Num(fields.Float):
    """A JSON number (int or float, finite) within optional bounds."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为数字", "Not a valid number."),
        "special": bi("不能为 NaN 或无穷大", "NaN and infinity are not permitted."),
        "too_large": bi("数值过大", "Number too large."),
        "range": bi("须在 {min} 到 {max} 之间", "Must be between {min} and {max}."),
    }

    def __init__(self, *, min: float | None = None, max: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)
        self.min, self.max = min, max

    def openapi(self) -> dict[str, Any]:
        return {k: v for k, v in (("minimum", self.min), ("maximum", self.max)) if v is not None}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        number = super()._deserialize(value, attr, data, **kwargs)
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise self.make_error("range", min=self.min, max=self.max)
        return number


class Bool(fields.Boolean):
    """A JSON true/false (no "yes", no 1)."""

    default_error_messages = {**_BASE, "invalid": bi("应为 true 或 false", "Must be true or false.")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# The years a time may have (MIN_YEAR–MAX_YEAR), as a pattern on the text.
YEAR_PATTERN = r"^(?:20\d\d|2100)-"


class Timestamp(fields.AwareDateTime):
    """ISO 8601 date-time *with* offset, as the device gave it (naive times are refused:
    a time without offset cannot be ordered against other devices' events)."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为 ISO 8601 时间，例如 2026-11-23T09:30:00+08:00",
                      "Not a valid ISO 8601 date-time, e.g. 2026-11-23T09:30:00+08:00."),
        "invalid_awareness": bi("时间须带时区偏移（如 +08:00）",
                                "Date-time must include a UTC offset (e.g. +08:00)."),
        "format": bi("时间格式不正确", "Date-time cannot be formatted."),
        "year": bi("时间年份须在 {min}–{max} 之间（请检查设备时钟）",
                   "Year must be between {min} and {max} (check the device clock)."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if not MIN_YEAR <= result.year <= MAX_YEAR:
            raise self.make_error("year", min=MIN_YEAR, max=MAX_YEAR)
        return result

    def openapi(self) -> dict[str, Any]:
        return {"pattern": YEAR_PATTERN}


class Day(fields.Date):
    """A calendar date ``YYYY-MM-DD`` (deadlines such as 化解时限)."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为日期 YYYY-MM-DD", "Not a valid date (YYYY-MM-DD)."),
        "format": bi("日期格式不正确", "Date cannot be formatted."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or len(value) != 10:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class List(fields.List):
    """A JSON array with a bounded number of items."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为数组", "Not a valid list."),
        "too_few": bi("至少需要 {min} 项", "Must have at least {min} item(s)."),
        "too_many": bi("最多 {max} 项", "Must have at most {max} items."),
        "duplicate": bi("不能有重复项", "Items must be unique."),
    }

    def __init__(self, inner: Any, *, min_items: int = 0, max_items: int = 100,
                 unique: bool = False, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.min_items, self.max_items, self.unique = min_items, max_items, unique

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"minItems": self.min_items, "maxItems": self.max_items}
        if self.unique:
            out["uniqueItems"] = True
        return out

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        if len(value) > self.max_items:  # before looking inside: cheap refusal of huge arrays
            raise self.make_error("too_many", max=self.max_items)
        result = super()._deserialize(value, attr, data, **kwargs)
        if len(result) < self.min_items:
            raise self.make_error("too_few", min=self.min_items)
        if self.unique and len({repr(v) for v in value}) != len(value):
            raise self.make_error("duplicate")
        return result


class Nested(fields.Nested):
    """A JSON object validated by another schema."""

    default_error_messages = {**_BASE, "type": bi("应为对象", "Must be an object.")}


class JsonObject(fields.Dict):
    """A free JSON object (notification payload) with a size limit on its JSON text."""

    default_error_messages = {
        **_BASE,
        "invalid": bi("应为对象", "Not a valid mapping type."),
        "too_big": bi("内容过大（不能超过 {max} 字节）", "Too large (at most {max} bytes)."),
    }

    def __init__(self, *, max_bytes: int = 4096, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if len(json.dumps(value, ensure_ascii=False).encode()) > self.max_bytes:
            raise self.make_error("too_big", max=self.max_bytes)
        return value


class Strict(Schema):
    """Base for every (sub)schema: unknown fields are an error, never silently kept."""

    error_messages = {
        "unknown": bi("未知字段（不予保存）", "Unknown field (unknown fields are rejected)."),
        "type": bi("应为对象", "Invalid input type: expected an object."),
    }


class LocationSchema(Strict):
    """A point as entered: lon/lat plus the CRS of the input (converted at the edge)."""

    lon = Num(required=True, min=73.0, max=136.0,
              error_messages={"range": bi("经度须在 73 到 136 之间（中国境内）",
                                          "Longitude must be between 73 and 136 (China).")})
    lat = Num(required=True, min=3.0, max=54.0,
              error_messages={"range": bi("纬度须在 3 到 54 之间（中国境内）",
                                          "Latitude must be between 3 and 54 (China).")})
    crs = Choice(vocab.CRS, required=True)


# ---- CouchDB meta fields -------------------------------------------------------------

_ATTACHMENT_KEYS = frozenset(
    {"content_type", "data", "length", "digest", "revpos", "stub", "follows", "encoding",
     "encoded_length"}
)


def _is_base64(data: str) -> bool:
    """Strict base64 (CouchDB refuses anything else, for the whole batch)."""
    import base64
    import binascii

    if len(data) > MAX_ATTACHMENT_BYTES * 2:
        return True  # too big anyway: reported as such, without decoding megabytes
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _b64_size(data: str) -> int:
    return len(data) * 3 // 4 - data[-2:].count("=") if data else 0


class Attachments(fields.Field):
    """CouchDB ``_attachments``: ≤ 5 per document, images or PDF, ≤ 2 MB each.

    Stubs (``{"stub": true, ...}``, an attachment already stored) are accepted as they are;
    an inline attachment needs ``data`` (base64) or ``length`` (multipart ``follows``), and
    the size check uses whichever is present.
    """

    default_error_messages = {
        **_BASE,
        "invalid": bi("附件应为对象（名称 → 附件）", "Attachments must be an object (name → attachment)."),
        "too_many": bi("附件最多 {max} 个", "At most {max} attachments per document."),
        "name": bi("附件名称须为 1–{max} 个字符", "Attachment name must be 1–{max} characters."),
        "entry": bi("附件描述应为对象", "Attachment entry must be an object."),
        "unknown": bi("未知字段（不予保存）", "Unknown field (unknown fields are rejected)."),
        "content_type": bi("附件类型只允许图片(JPEG/PNG/WebP/HEIC)或 PDF",
                           "Only images (JPEG/PNG/WebP/HEIC) and PDF are allowed."),
        "too_big": bi("附件不能超过 2 MB", "Attachment must be at most 2 MB."),
        "no_content": bi("附件缺少内容（data 或 length）", "Attachment has no content (data or length)."),
        "bad_data": bi("附件 data 应为 base64 字符串", "Attachment data must be a base64 string."),
        "bad_length": bi("附件 length 应为非负整数", "Attachment length must be a non-negative integer."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if len(value) > MAX_ATTACHMENTS:
            raise self.make_error("too_many", max=MAX_ATTACHMENTS)
        errors: dict[str, Any] = {}
        for name, att in value.items():
            problems = self._check_one(name, att)
            if problems:
                errors[name] = problems
        if errors:
            raise ValidationError(errors)
        return value

    def _msg(self, key: str, **kw: Any) -> list[str]:
        return [self.error_messages[key].format(**kw)]

    def _check_one(self, name: str, att: Any) -> dict[str, list[str]]:
        if not 1 <= len(name) <= MAX_ATTACHMENT_NAME:
            return {"_schema": self._msg("name", max=MAX_ATTACHMENT_NAME)}
        if not isinstance(att, dict):
            return {"_schema": self._msg("entry")}
        problems: dict[str, list[str]] = {}
        for key in att:
            if key not in _ATTACHMENT_KEYS:
                problems[key] = self._msg("unknown")
        ctype = att.get("content_type")
        stub = att.get("stub") is True
        if ctype is not None or not stub:
            if not isinstance(ctype, str) or ctype.split(";")[0].strip() not in ALLOWED_CONTENT_TYPES:
                problems["content_type"] = self._msg("content_type")
        length = att.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                                   or length < 0):
            problems["length"] = self._msg("bad_length")
        elif isinstance(length, int) and length > MAX_ATTACHMENT_BYTES:
            problems["length"] = self._msg("too_big")
        raw = att.get("data")
        if raw is not None:
            if not isinstance(raw, str) or not _is_base64(raw):
                problems["data"] = self._msg("bad_data")
            elif _b64_size(raw) > MAX_ATTACHMENT_BYTES:
                problems["data"] = self._msg("too_big")
        if not stub and raw is None and length is None:
            problems.setdefault("_schema", self._msg("no_content"))
        return problems


class RevisionsSchema(Strict):
    """CouchDB ``_revisions`` (sent by replication with ``new_edits=false``)."""

    start = Int(required=True, min=1)
    ids = List(Text(max_length=64, pattern=r"[0-9a-f]{1,64}"), required=True, min_items=1,
               max_items=1000)


class CouchMeta(Strict):
    """The CouchDB/PouchDB meta fields every document schema accepts."""

    meta_id = Text(data_key="_id", required=True, max_length=300)
    meta_rev = Rev(data_key="_rev")
    meta_revisions = Nested(RevisionsSchema, data_key="_revisions")
    meta_attachments = Attachments(data_key="_attachments")
    meta_deleted = Bool(data_key="_deleted")
    meta_conflicts = List(Rev(), data_key="_conflicts", max_items=1000)


class DocumentSchema(CouchMeta):
    """Base of every document: ``type``, ``schema_version`` and an id that matches the type.

    Subclasses set ``doc_type``; ``id_field`` names a field that must equal the id's suffix
    (``area:<code>`` ↔ ``code``).
    """

    doc_type: str = ""
    id_field: str | None = None
    version: int = 1

    type = Text(required=True, max_length=32)
    schema_version = Int(required=True, min=1)

    @validates_schema(skip_on_field_errors=False)
    def _check_identity(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if "type" in data and data["type"] != self.doc_type:
            errors["type"] = [bi(f"类型应为 {self.doc_type}", f"Type must be {self.doc_type}.")]
        if "schema_version" in data and data["schema_version"] != self.version:
            errors["schema_version"] = [bi(f"不支持的 schema_version（应为 {self.version}）",
                                           f"Unsupported schema_version (expected {self.version}).")]
        doc_id = data.get("meta_id")
        if isinstance(doc_id, str):
            match = ID_PATTERNS[self.doc_type].match(doc_id)
            if not match:
                errors["_id"] = [bi(f"文档编号须为 {self.doc_type}:… 且格式正确",
                                    f"Document id must be a well-formed {self.doc_type}:… id.")]
            elif self.id_field and self.id_field in data and data[self.id_field] != match.group(1):
                errors["_id"] = [bi(f"文档编号与 {self.id_field} 不一致",
                                    f"Document id does not match {self.id_field}.")]
        if errors:
            raise ValidationError(errors)


class ChildEventSchema(DocumentSchema):
    """What every append-only event of a case or a risk holds besides its parent reference
    (declared by the subclass as ``parent_field``: ``case_id`` or ``risk_id``)."""

    doc_type = ""
    kind_name = ""
    parent_field = ""
    parent_what: tuple[str, str] = ("", "")  # the parent, in the id-mismatch message (zh, en)

    kind = Text(required=True, max_length=32)
    at = Timestamp(required=True)
    actor = Username(required=True)
    area_code = AreaCode(required=True)
    received_at = Timestamp()
    note = Text(max_length=MAX_NOTE)

    @validates_schema(skip_on_field_errors=False)
    def _check_parent(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_parent_in_id(data, self.doc_type, self.parent_field, *self.parent_what)


def check_parent_in_id(data: dict[str, Any], doc_type: str, parent_field: str,
                       zh_what: str, en_what: str) -> None:
    """An event id names its parent (``event:<case uuid>:…``): the parent field must agree.

    Shared by case events (``case_id``) and risk events (``risk_id``).
    """
    doc_id, parent = data.get("meta_id"), data.get(parent_field)
    if isinstance(doc_id, str) and isinstance(parent, str):
        m = ID_PATTERNS[doc_type].match(doc_id)
        prefix = parent_field.removesuffix("_id")
        if m and parent != f"{prefix}:{m.group(1)}":
            raise ValidationError(bi(f"{parent_field} 与文档编号中的{zh_what}不一致",
                                     f"{parent_field} does not match the {en_what} in the document id."),
                                  parent_field)
