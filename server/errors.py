"""The server's errors, and the one place where every error family becomes an answer.

Four packages, four families, each with one root and its tree drawn in its own errors
module: ``schemas.errors.SchemaError``, ``grid.errors.GridError``, ``sync.errors.SyncError``
and, here, ``ServerError``. Every error carries ``message_zh`` and ``message_en`` (a person
reads them) and a ``kind``, which says what it means to whoever answers it. One table,
:data:`KINDS`, turns a kind into an HTTP answer and a ``fengqiao`` exit code
(docs/architecture.md §8.1)::

    kind         meaning                                                 HTTP  code              exit
    malformed    a request that cannot be read (syntax, argument types)  400   bad_request       1
    invalid      what a person gave cannot be accepted (value, field,    422   validation_error  1
                 file, document, password, period)
    not_found    what was named does not exist (or is not visible)       404   not_found         1
    conflict     not in this state: exists already, changed meanwhile,   409   conflict          1
                 already done, not yet possible
    config       this installation's configuration cannot work (a        503   misconfigured     3
                 setting, a template, a font, CouchDB's credentials)
    unavailable  something needed cannot be reached or used now          503   unavailable       4
                 (CouchDB, the embedded server, the read model's file)
    failed       an operation failed on the way (a dependency answered   500   internal_error    5
                 an error, a bug): logged with its traceback

Exit code 2 stays click's: the command line itself is wrong (unknown option, a value of the
wrong type). Exit 1 is also a check's verdict (``grid check``, ``audit verify``,
``check-deploy``). A class may name its own ``code`` (``error_code``) or HTTP status
(``http_status``); a raise site may name a narrower kind than its class (``kind=``).

The server's tree::

    ServerError                     base of everything raised by server/            failed
    ├── ApiError                    an answer the API gives deliberately: status, code, both
    │                               messages, field errors, headers       kind from its status
    ├── ConfigError                 (server.errors) a setting that cannot work     config
    ├── ReadModelError              (server.readmodel.store) the statistics file cannot be
    │                               opened (another process holds it)              unavailable
    ├── AuditChainError             (server.audit) an audit record could not be appended
    │                                                                              unavailable
    ├── BackupError                 (server.backup) a backup or restore problem    failed; each
    │                               raise site names its kind (not empty: conflict, …)
    ├── PaperError                  (server.paper.errors) a document could not be made: font,
    │   │                           template, typesetting           config, code paper_failed
    │   └── NotAvailable            the case has no such document (yet)
    │                                                           conflict, code not_available
    ├── PeriodError                 (server.reports.periods) not ``YYYY-MM`` / ``YYYYQn``
    │                                                                              invalid
    ├── SendError                   (server.notify.senders) a notification not delivered  failed
    │   ├── TransientSendError      not sent, try again later                      unavailable
    │   ├── PermanentSendError      not sent, and will not be as configured        config
    │   └── UnknownOutcome          may have been sent: never retried              failed
    └── BenchError                  (server.bench.errors) a benchmark could not run: failed;
        │                           Node or the driver missing: config, the gateway did
        │                           not start: unavailable, bad parameters: invalid
        ├── PouchFailed             the PouchDB driver answered with PouchDB's error  failed
        └── SessionFailed           one simulated sync session of ``bench load``     failed

``server/domain`` (pure, imports only ``schemas``) raises no errors of its own.

HTTP (:func:`init_app`): every error answer has the same JSON body: ``code`` (stable,
English, for programs), ``message_zh`` and ``message_en`` (for people) and ``errors`` (field
→ messages, for forms). Never an HTML page, never a stack trace to the client: unexpected
exceptions are logged with their traceback and answered with a generic 500 body. Under
``/sync/`` (the sync gateway) the same answers take CouchDB's shape, ``{"error", "reason":
"中文 / English"}``, because the client is PouchDB.

CLI (:func:`cli_answer`, used by ``server.cli.FengqiaoGroup`` for every ``fengqiao``
command, ``grid``'s included): ``错误：…`` / ``Error: …`` on stderr and the kind's exit code,
never a traceback for bad input or configuration.

This module imports no Flask at import time: ``server.config`` and ``server.cli`` import it,
and ``fengqiao --help`` must stay light (``tests/server/test_cli_imports.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grid.errors import GridError
from sync.errors import CouchError, CouchUnreachable, SyncError

if TYPE_CHECKING:
    from flask import Flask, Response

    from schemas.errors import FieldError

log = logging.getLogger("fengqiao.errors")

# Chinese texts for the HTTP errors werkzeug raises on its own (routing, methods, bodies).
_HTTP_ZH = {
    400: "请求格式不正确",
    401: "需要登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    406: "不支持的响应格式",
    409: "数据冲突",
    412: "数据已被他人修改，请刷新后重试",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "数据校验未通过",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误",
    502: "数据库返回错误",
    503: "服务暂不可用",
}


@dataclass(frozen=True)
class Kind:
    """What a kind of error becomes: HTTP status, default ``code``, ``fengqiao`` exit code."""

    status: int
    code: str
    exit_code: int
    meaning: str


EXIT_REFUSED, EXIT_USAGE, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_FAILED = 1, 2, 3, 4, 5

KINDS: dict[str, Kind] = {
    "malformed": Kind(400, "bad_request", EXIT_REFUSED, "a request that cannot be read"),
    "invalid": Kind(422, "validation_error", EXIT_REFUSED, "what a person gave cannot be accepted"),
    "not_found": Kind(404, "not_found", EXIT_REFUSED, "what was named does not exist"),
    "conflict": Kind(409, "conflict", EXIT_REFUSED, "not in this state"),
    "config": Kind(503, "misconfigured", EXIT_CONFIG, "the installation's configuration cannot work"),
    "unavailable": Kind(503, "unavailable", EXIT_UNAVAILABLE, "something needed cannot be reached now"),
    "failed": Kind(500, "internal_error", EXIT_FAILED, "an operation failed on the way"),
}


class ServerError(Exception):
    """Base class of server errors; ``message_zh`` and ``message_en`` are for people.

    ``kind`` (a key of :data:`KINDS`) decides the HTTP status and the exit code; a class
    may name its own HTTP ``code`` (``error_code``) and status (``http_status``)."""

    kind: str = "failed"
    error_code: str | None = None
    http_status: int | None = None

    def __init__(self, message_zh: str, message_en: str, *, kind: str | None = None) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en
        if kind is not None:
            self.kind = kind  # this raise site says more than its class


class ConfigError(ServerError):
    """A setting has a value that cannot work; ``message_zh``/``message_en`` say which."""

    kind = "config"


class ApiError(ServerError):
    """An error the API answers deliberately: status, code and both messages."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str,
                 errors: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message_zh, message_en)
        self.headers = dict(headers or {})
        self.status = status
        self.code = code
        self.errors = errors or {}

    @property  # type: ignore[override]
    def kind(self) -> str:  # for a command that meets one (the paper CLI uses the case service)
        return _KIND_BY_STATUS.get(self.status) or ("invalid" if self.status < 500 else "failed")


_KIND_BY_STATUS = {400: "malformed", 404: "not_found", 409: "conflict", 412: "conflict",
                   422: "invalid", 503: "unavailable"}


def families() -> tuple[type[Exception], ...]:
    """The roots of the four families; an exception of none of them is unexpected.
    (``schemas`` is imported here, not above: its package loads marshmallow.)"""
    from schemas.errors import SchemaError

    return SchemaError, GridError, SyncError, ServerError


def kind_of(exc: BaseException) -> Kind | None:
    """The table row of one of our errors; None for anything else."""
    if not isinstance(exc, families()):
        return None
    return KINDS.get(getattr(exc, "kind", "failed"), KINDS["failed"])


# -- HTTP ----------------------------------------------------------------------------------------

@dataclass
class Answer:
    """One error answer, before it is given a shape (the API's JSON or CouchDB's)."""

    status: int
    code: str
    message_zh: str
    message_en: str
    errors: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    couch_body: dict[str, Any] | None = None  # CouchDB's own body, passed through to PouchDB


# Where webargs says a bad value was found; the field path is what a person needs.
_LOCATIONS = ("json", "query", "form", "headers", "files", "path", "cookies")


def field_errors(problems: Iterable[FieldError]) -> dict[str, list[dict[str, str]]]:
    """FieldErrors → the ``errors`` member of an error body (field → messages)."""
    out: dict[str, list[dict[str, str]]] = {}
    for p in problems:
        out.setdefault(p.field or "_document", []).append(
            {"message_zh": p.message_zh, "message_en": p.message_en})
    return out


def _flat_messages(messages: Any) -> dict[str, list[dict[str, str]]]:
    from schemas.errors import flatten_errors

    if not isinstance(messages, Mapping) or not messages:
        return {}
    if set(messages) <= set(_LOCATIONS):
        merged: dict[str, Any] = {}
        for part in messages.values():
            if isinstance(part, Mapping):
                merged.update(part)
        messages = merged
    return field_errors(flatten_errors(messages))


def answer_for(exc: Exception, *, sync: bool = False) -> Answer:
    """The HTTP answer to one error of the four families (``kind_of(exc)`` is not None);
    ``sync``: for the sync gateway, whose client is PouchDB."""
    from schemas.errors import DocumentInvalid
    from sync.errors import UserError

    if isinstance(exc, ApiError):
        return Answer(exc.status, exc.code, exc.message_zh, exc.message_en, exc.errors, exc.headers)
    if isinstance(exc, CouchUnreachable):
        log.error("%s", exc.message_en)
        if sync:
            return Answer(503, "service_unavailable", "数据库暂时无法连接", "database unreachable")
        return Answer(503, "couchdb_unreachable", "数据库暂时无法连接，请稍后再试",
                      "the database cannot be reached, try again later")
    if isinstance(exc, CouchError):
        # CouchDB's own answer where the caller can act on it (PouchDB also on a 400).
        if exc.status in ((400, 404, 409, 412) if sync else (404, 409, 412)):
            return Answer(exc.status, exc.error, _HTTP_ZH[exc.status], exc.reason,
                          couch_body={"error": exc.error, "reason": exc.reason})
        log.error("CouchDB error%s: %s", " in gateway" if sync else "", exc.message_en)
        return Answer(502, "bad_gateway" if sync else "couchdb_error", _HTTP_ZH[502],
                      "the database answered with an error")
    kind = kind_of(exc) or KINDS["failed"]
    status = getattr(exc, "http_status", None) or kind.status
    code = getattr(exc, "error_code", None) or kind.code
    zh, en = exc.message_zh, exc.message_en  # type: ignore[attr-defined]
    errors: dict[str, Any] = {}
    if isinstance(exc, DocumentInvalid):
        errors = field_errors(exc.errors)
        zh, en = f"{_HTTP_ZH[422]}：{', '.join(errors) or '-'}", f"validation failed: {', '.join(errors) or '-'}"
    elif isinstance(exc, UserError):
        zh, en = exc.reason_zh, exc.reason_en
        errors = {exc.field: [{"message_zh": zh, "message_en": en}]}
    elif isinstance(exc, GridError) and exc.field:
        errors = {exc.field: [{"message_zh": zh, "message_en": en}]}
    if status >= 500:
        # The person sees the message; the operator needs to know it happened (and, for an
        # unexplained failure, where).
        log.error("%s: %s", type(exc).__name__, en, exc_info=exc if kind.code == "internal_error" else None)
    return Answer(status, code, zh, en, errors)


def error_response(status: int, code: str, message_zh: str, message_en: str,
                   errors: dict[str, Any] | None = None) -> Response:
    from flask import jsonify

    response = jsonify(
        {"code": code, "message_zh": message_zh, "message_en": message_en, "errors": errors or {}}
    )
    response.status_code = status
    return response


def _sync_request() -> bool:
    """Is this a request to the sync gateway (answered in CouchDB's shape)?"""
    from flask import request

    return request.blueprint == "sync"


def _render(answer: Answer) -> Response:
    if _sync_request():
        from sync.wire import couch_error, couch_json

        if answer.couch_body is not None:
            response = couch_json(answer.couch_body, answer.status)
        else:
            response = couch_error(answer.status, answer.code, answer.message_zh, answer.message_en)
    else:
        response = error_response(answer.status, answer.code, answer.message_zh, answer.message_en,
                                  answer.errors)
    response.headers.update(answer.headers)
    return response


def init_app(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

    def _family(exc: Exception) -> Response:
        return _render(answer_for(exc, sync=_sync_request()))

    for root in families():
        app.register_error_handler(root, _family)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        # flask-smorest puts marshmallow's field messages under data["messages"].
        errors = _flat_messages(data.get("messages")) if isinstance(data, dict) else {}
        code = (exc.name or "error").lower().replace(" ", "_")
        zh = _HTTP_ZH.get(status, exc.name or "错误")
        en = exc.description or exc.name or ""
        if isinstance(exc, RequestEntityTooLarge) and _sync_request():
            from flask import request

            limit = request.max_content_length or 0
            size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
            code, zh, en = "too_large", f"请求内容过大（上限 {size}）", f"request body too large (limit {size})"
        response = _render(Answer(status, code, zh, en, errors))
        for header, value in (exc.get_headers() or []):
            if header.lower() not in ("content-type", "content-length"):
                response.headers[header] = value
        return response

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        # Only a hostile body nests deep enough to exhaust Python's stack while parsing.
        log.warning("request refused: nested too deeply")
        return _render(Answer(400, "bad_request", "请求内容嵌套过深", "request body nested too deeply"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return _render(Answer(500, "internal_error", _HTTP_ZH[500], "internal server error"))


# -- CLI -----------------------------------------------------------------------------------------

def cli_answer(exc: BaseException) -> tuple[int, str] | None:
    """``(exit code, message)`` for an error a ``fengqiao`` command let through; None for
    one that is not ours (a bug: its traceback is what a report needs)."""
    kind = kind_of(exc)
    if kind is not None:
        zh, en = exc.message_zh, exc.message_en  # type: ignore[attr-defined]
        if kind.exit_code == EXIT_FAILED:
            log.debug("command failed", exc_info=exc)
        return kind.exit_code, f"错误：{zh}\nError: {en}"
    if isinstance(exc, OSError) and exc.filename is not None:
        # A file a person named cannot be read or written: input, not a bug.
        reason = exc.strerror or type(exc).__name__
        return EXIT_REFUSED, f"错误：无法读写 {exc.filename}：{reason}\nError: cannot use {exc.filename}: {reason}"
    return None
