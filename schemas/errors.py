"""Validation errors that name the field and speak both zh-CN and English.

Marshmallow error messages are plain strings, formatted with ``str.format`` (``{min}``,
``{choices}``) before they reach us. To carry two languages through marshmallow untouched,
every message this package defines is *one* string: the Chinese text, a unit separator
(``\\x1f``), the English text. :func:`bi` builds such a string, :func:`split_message`
takes it apart again. A message without the separator (one we did not define, e.g. from a
marshmallow version that added a new key) still yields a usable Chinese text.

The errors of this package, one family (``kind`` says what the error means to whoever
answers it: the HTTP status and the CLI exit code of each kind are one table, in
``server/errors.py`` and docs/architecture.md §8.1)::

    SchemaError           base of everything raised by schemas/                  invalid
    └── DocumentInvalid   ``check_document``: a document has FieldErrors          invalid

    FieldError            one problem with one field (a value, not an exception)

Every error carries ``message_zh`` and ``message_en``: a person reads them (a grid
worker's refused record, a mediator's form, an admin's terminal).

This module imports nothing else from the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEP = "\x1f"


def bi(zh: str, en: str) -> str:
    """One marshmallow message in both languages (zh first); see the module docstring."""
    return f"{zh}{SEP}{en}"


def split_message(message: str) -> tuple[str, str]:
    """Return ``(zh, en)`` for a message built with :func:`bi` (or a plain English one)."""
    if SEP in message:
        zh, en = message.split(SEP, 1)
        return zh, en
    return f"数据不合法：{message}", message


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field.

    ``field`` is a dotted path into the document (``parties.0.id_number``); an empty string
    means the document as a whole.
    """

    field: str
    message_zh: str
    message_en: str

    def to_dict(self) -> dict[str, str]:
        """The JSON shape used in API error payloads and ``_bulk_docs`` reasons."""
        return {"field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}

    def __str__(self) -> str:
        where = self.field or "<document>"
        return f"{where}: {self.message_en} / {self.message_zh}"


class SchemaError(Exception):
    """Base class of schema errors; ``message_zh`` and ``message_en`` are for people."""

    kind: str = "invalid"

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


class DocumentInvalid(SchemaError):
    """A document failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("；".join(f"{e.field or '文档'}：{e.message_zh}" for e in errors) or "文档不合法",
                         "; ".join(f"{e.field or 'document'}: {e.message_en}" for e in errors)
                         or "invalid document")
        self.errors = errors


def flatten_errors(messages: Any, prefix: str = "") -> list[FieldError]:
    """Turn marshmallow's nested ``{field: [msg] | {index: {...}}}`` into FieldErrors.

    Marshmallow's schema-level key ``_schema`` becomes the parent path (the object itself).
    """
    out: list[FieldError] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(value, path))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_errors(item, prefix))
    else:
        zh, en = split_message(str(messages))
        out.append(FieldError(prefix, zh, en))
    return out
