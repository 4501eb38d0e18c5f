"""The one place where errors become HTTP answers.

Every error answer has the same JSON body: ``code`` (stable, English, for programs),
``message_zh`` and ``message_en`` (for people) and ``errors`` (field → messages, for
forms). Never an HTML page, never a stack trace to the client: unexpected exceptions are
logged with their traceback and answered with a generic 500 body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from schemas.errors import FieldError, flatten_errors
from sync.errors import CouchError, CouchUnreachable, SyncError

log = logging.getLogger("fengqiao.errors")

# Chinese texts for the HTTP errors werkzeug raises on its own (routing, methods, bodies).
_HTTP_ZH = {
    400: "请求格式不正确",
    401: "需要登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    409: "数据冲突",
    412: "数据已被他人修改，请刷新后重试",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "数据校验未通过",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


class ApiError(Exception):
    """An error the API answers deliberately: status, code and both messages."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str,
                 errors: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message_en)
        self.headers = dict(headers or {})
        self.status = status
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.errors = errors or {}


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
    if not isinstance(messages, Mapping) or not messages:
        return {}
    if set(messages) <= set(_LOCATIONS):
        merged: dict[str, Any] = {}
        for part in messages.values():
            if isinstance(part, Mapping):
                merged.update(part)
        messages = merged
    return field_errors(flatten_errors(messages))


def error_response(status: int, code: str, message_zh: str, message_en: str,
                   errors: dict[str, Any] | None = None) -> Response:
    response = jsonify(
        {"code": code, "message_zh": message_zh, "message_en": message_en, "errors": errors or {}}
    )
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message_zh, exc.message_en, exc.errors)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        # flask-smorest puts marshmallow's field messages under data["messages"].
        errors = _flat_messages(data.get("messages")) if isinstance(data, dict) else {}
        code = (exc.name or "error").lower().replace(" ", "_")
        zh = _HTTP_ZH.get(status, exc.name or "错误")
        response = error_response(status, code, zh, exc.description or exc.name or "", errors)
        for header, value in (exc.get_headers() or []):
            if header.lower() not in ("content-type", "content-length"):
                response.headers[header] = value
        return response

    @app.errorhandler(CouchUnreachable)
    def _unreachable(exc: CouchUnreachable) -> Response:
        log.error("%s", exc.message_en)
        return error_response(503, "couchdb_unreachable", "数据库暂时无法连接，请稍后再试",
                              "the database cannot be reached, try again later")

    @app.errorhandler(CouchError)
    def _couch_error(exc: CouchError) -> Response:
        if exc.status in (404, 409, 412):
            return error_response(exc.status, exc.error, _HTTP_ZH[exc.status], exc.reason)
        log.error("CouchDB error: %s", exc.message_en)
        return error_response(502, "couchdb_error", "数据库返回错误", "the database answered with an error")

    @app.errorhandler(SyncError)
    def _sync_error(exc: SyncError) -> Response:
        log.error("%s", exc.message_en)
        return error_response(503, "sync_error", exc.message_zh, exc.message_en)

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        # Only a hostile body nests deep enough to exhaust Python's stack while parsing.
        log.warning("request refused: nested too deeply")
        return error_response(400, "bad_request", "请求内容嵌套过深", "request body nested too deeply")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal_error", _HTTP_ZH[500], "internal server error")
