"""Errors of the sync family: CouchDB answers, an unreachable server, the embedded server.

Every error carries a message in Chinese and in English, because a person reads them
(an admin at a CLI, a mediator behind the API). The hierarchy::

    SyncError                       base of everything raised by sync/
    ├── CouchUnreachable            no HTTP answer at all (refused, DNS, timeout)
    ├── CouchError                  CouchDB answered with an error status
    │   ├── BadRequest              400
    │   ├── Unauthorized            401
    │   ├── Forbidden               403
    │   ├── NotFound                404
    │   ├── Conflict                409 (document update conflict, or database exists)
    │   └── PreconditionFailed      412 (database exists, bad If-Match)
    └── EmbeddedServerError         the embedded pouchdb-server did not start or stop

This module imports nothing else from the project.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class of sync errors; ``message_zh`` and ``message_en`` are for people."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


class CouchUnreachable(SyncError):
    """No HTTP answer from CouchDB; ``url`` has its credentials masked."""

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
