"""Errors of the sync family: CouchDB answers, an unreachable server, the embedded server,
malformed sync requests, accounts, conflict resolutions.

Every error carries a message in Chinese and in English, because a person reads them
(an admin at a CLI, a mediator behind the API, a tablet's sync log). ``kind`` says what
an error means to whoever answers it; the HTTP status and the ``fengqiao`` exit code of
each kind are one table, in ``server/errors.py`` (the one translation to HTTP, also for
the sync gateway's CouchDB-shaped answers) and docs/architecture.md §8.1. A raise site may
name a narrower kind than its class (``SyncError(..., kind="config")``). The hierarchy::

    SyncError                       base of everything raised by sync/              failed
    ├── CouchUnreachable            no HTTP answer at all (refused, DNS, timeout)   unavailable
    ├── CouchError                  CouchDB answered with an error status   by status (below;
    │   │                           503: unavailable, any other: failed)
    │   ├── BadRequest              400                                             failed
    │   ├── Unauthorized            401 (COUCHDB_URL's credentials)                 config
    │   ├── Forbidden               403 (COUCHDB_URL's credentials)                 config
    │   ├── NotFound                404                                             not_found
    │   ├── Conflict                409 (document update conflict, or database exists)  conflict
    │   └── PreconditionFailed      412 (database exists, bad If-Match)             conflict
    ├── EmbeddedServerError         the embedded pouchdb-server did not start or stop  unavailable
    │                               (not installed: config)
    ├── BadBody                     a sync request that cannot be read (400)        malformed
    ├── NotAcceptable               a sync client that accepts only multipart (406) malformed
    ├── UserError                   an account or password that cannot be accepted  invalid
    │                               (names the field; an existing name: conflict)
    └── ConflictError               a conflict resolution that cannot be applied    conflict

``sync.users.UserError``, ``sync.conflicts.ConflictError``, ``sync.wire.BadBody`` and
``sync.gateway.NotAcceptable`` are these classes, imported where they are raised.

This module imports nothing else from the project.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class of sync errors; ``message_zh`` and ``message_en`` are for people."""

    kind: str = "failed"
    http_status: int | None = None  # only where the kind's status is not the answer

    def __init__(self, message_zh: str, message_en: str, *, kind: str | None = None) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en
        if kind is not None:
            self.kind = kind  # this raise site says more than its class


class CouchUnreachable(SyncError):
    """No HTTP answer from CouchDB; ``url`` has its credentials masked."""

    kind = "unavailable"

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            f"无法连接 CouchDB（{url}）：{detail}。请检查 COUCHDB_URL 或服务是否已启动。",
            f"cannot reach CouchDB at {url}: {detail}. Check COUCHDB_URL, or that the server runs.",
        )
        self.url = url
        self.detail = detail


class CouchError(SyncError):
    """CouchDB answered with an error; keeps its ``error`` and ``reason`` fields."""

    status: int = 500

    @property  # type: ignore[override]
    def kind(self) -> str:  # what CouchDB's status means for us
        return _KIND_BY_STATUS.get(self.status, "failed")

    def __init__(self, status: int, error: str, reason: str, method: str = "", path: str = ""):
        self.status = status
        self.error = error
        self.reason = reason
        self.method = method
        self.path = path
        where = f"{method} {path}".strip()
        super().__init__(
            f"CouchDB 返回错误 {status} {error}：{reason}（{where}）",
            f"CouchDB answered {status} {error}: {reason} ({where})",
        )


class BadRequest(CouchError):
    """400: CouchDB refused the request as malformed."""


class Unauthorized(CouchError):
    """401: missing or wrong credentials for CouchDB."""


class Forbidden(CouchError):
    """403: the credentials may not do this (or validate_doc_update refused)."""


class NotFound(CouchError):
    """404: no such database, document, revision or attachment."""


class Conflict(CouchError):
    """409: the document changed since the given revision."""


class PreconditionFailed(CouchError):
    """412: the database exists already, or a precondition did not hold."""


class EmbeddedServerError(SyncError):
    """The embedded pouchdb-server could not be started, reached or stopped."""

    kind = "unavailable"


class BadBody(SyncError):
    """A sync request the gateway refuses as malformed: answered 400 with both reasons."""

    kind = "malformed"


class NotAcceptable(SyncError):
    """A sync client that accepts documents only as multipart: the gateway answers JSON."""

    kind = "malformed"
    http_status = 406
    error_code = "not_acceptable"

    def __init__(self) -> None:
        super().__init__("同步网关只以 JSON 回答文档（不提供 multipart）",
                         "the sync gateway answers documents as JSON only (no multipart)")


class UserError(SyncError):
    """A user record or password that cannot be accepted; names the field."""

    kind = "invalid"

    def __init__(self, field: str, message_zh: str, message_en: str, *, kind: str | None = None) -> None:
        super().__init__(f"{field}：{message_zh}", f"{field}: {message_en}", kind=kind)
        self.field = field
        self.reason_zh, self.reason_en = message_zh, message_en  # without the field's name


class ConflictError(SyncError):
    """A conflict resolution that cannot be applied (record missing, already resolved,
    changed meanwhile; a revision that is not one of the conflict's: ``invalid``)."""

    kind = "conflict"


_KIND_BY_STATUS = {401: "config", 403: "config", 404: "not_found", 409: "conflict", 412: "conflict",
                   503: "unavailable"}

_BY_STATUS: dict[int, type[CouchError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
}


def couch_error(status: int, error: str, reason: str, method: str = "", path: str = "") -> CouchError:
    """The typed error for a CouchDB error answer."""
    cls = _BY_STATUS.get(status, CouchError)
    return cls(status, error, reason, method, path)
