"""The REST API for people (township mediators, county reviewers, admins): ``/api/…``.

flask-smorest builds the OpenAPI 3 document at ``/api/openapi.json``; ``/api/docs`` is an
interactive page served from the pinned ``swagger-ui-dist`` (no CDN: county networks may
have no internet). One blueprint per resource, each a module of this package.

What other modules use (import from ``server.api``)::

    ApiBlueprint                  flask-smorest Blueprint whose argument errors are OUR 422
    register_blueprint(app, blp)  add a blueprint to the app's API (after ``init_app``)
    current_user() / require_user(*roles) / login_required(*roles) / scoped(doc, write=)
    field_errors(problems) / validation_error(problems)   FieldErrors → 422 ApiError
    etag_response(body, etag) / check_if_match(etag)       ETag = revision; stale → 412
    encode_cursor(obj) / decode_cursor(text) / page(items, next_key)   cursor pagination

Errors: flask-smorest's own ``HTTPException`` handler is NOT installed (``FengqiaoApi``),
so ``server.errors`` answers every error with one body (``code``, ``message_zh``,
``message_en``, ``errors``). Request validation errors never become a bare
``HTTPException``: the argument parser raises ``ApiError(422, "validation_error", …)``
with ``errors`` = field path → list of ``{message_zh, message_en}``.

Pagination is by cursor, never skip/offset: a cursor is an opaque, URL-safe encoding of
where the previous page ended (a CouchDB ``startkey``/``_id`` or a Mango bookmark, or a
read-model key) and ``limit`` rows are read from there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

import flask_smorest
from flask import Flask, Response, current_app, jsonify, request
from webargs.flaskparser import FlaskParser

from schemas.api import ErrorSchema
from schemas.errors import FieldError, flatten_errors

from ..auth import current_user, login_required, require_user, scoped
from ..errors import ApiError, field_errors

__all__ = [
    "ApiBlueprint", "FengqiaoApi", "check_if_match", "current_user", "decode_cursor",
    "encode_cursor", "etag_response", "field_errors", "init_app", "login_required", "page",
    "register_blueprint", "require_user", "scoped", "validation_error",
]


class FengqiaoApi(flask_smorest.Api):
    """flask-smorest's Api without its error handler: ``server.errors`` is the one handler."""

    ERROR_SCHEMA = ErrorSchema  # documents our error body in the OpenAPI document

    def _register_error_handlers(self) -> None:
        return None


# -- validation errors ---------------------------------------------------------------------------

def validation_error(problems: Iterable[FieldError] | Mapping[str, Any]) -> ApiError:
    """A 422 ApiError from FieldErrors or marshmallow's nested messages."""
    if isinstance(problems, Mapping):
        problems = flatten_errors(problems)
    errors = field_errors(problems)
    fields_text = ", ".join(errors) or "-"
    return ApiError(422, "validation_error", f"数据校验未通过：{fields_text}",
                    f"validation failed: {fields_text}", errors)


class _Parser(FlaskParser):
    """webargs parser whose errors are our 422 body (field paths without the location)."""

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):  # type: ignore[no-untyped-def, override]
        messages = error.messages
        if isinstance(messages, Mapping) and len(messages) == 1:
            location, inner = next(iter(messages.items()))
            if location in ("json", "query", "querystring", "form", "headers", "files", "view_args"):
                messages = inner if isinstance(inner, Mapping) else {"_body": inner}
        raise validation_error(messages)


class ApiBlueprint(flask_smorest.Blueprint):
    """Use this instead of ``flask_smorest.Blueprint`` so bad input answers our 422."""

    ARGUMENTS_PARSER = _Parser()


# -- ETag / If-Match ---------------------------------------------------------------------------

def etag_response(body: Any, etag: str, status: int = 200) -> Response:
    """A JSON response carrying ``ETag: "<etag>"`` (the document's revision)."""
    response = jsonify(body)
    response.status_code = status
    response.set_etag(etag)
    return response


def created(body: Any, etag: str, location: str) -> Response:
    """201 with the new resource's ``ETag`` and ``Location``."""
    response = etag_response(body, etag, status=201)
    response.headers["Location"] = location
    return response


def check_if_match(current_etag: str | None) -> None:
    """412 when the request's ``If-Match`` names another revision than ``current_etag``.

    Without ``If-Match`` the write goes ahead (scripts, first writes); ``If-Match: *``
    only asks that the resource exists.
    """
    if_match = request.if_match
    if not if_match:
        return
    if if_match.star_tag and current_etag is not None:
        return
    if current_etag is None or not if_match.contains(current_etag):
        raise ApiError(412, "precondition_failed",
                       "数据已被他人修改，请刷新后重试（If-Match 与当前版本不一致）",
                       "the record changed since you read it (If-Match does not match "
                       "the current ETag); reload and try again")


# -- cursors -----------------------------------------------------------------------------------

def encode_cursor(position: Any) -> str:
    """An opaque URL-safe cursor for ``position`` (any JSON value: a key, an id, a bookmark)."""
    raw = json.dumps(position, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The position of a cursor from :func:`encode_cursor` (None for None); 422 if bad."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise validation_error([FieldError("cursor", "分页游标无效，请从第一页重新开始",
                                           "invalid cursor; start again from the first page")]) from None


def page(items: list[Any], next_position: Any = None) -> dict[str, Any]:
    """The JSON body of one page: ``items`` and ``next_cursor`` (None on the last page)."""
    return {"items": items,
            "next_cursor": None if next_position is None else encode_cursor(next_position)}


def keyset_rows(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], Any]:
    """Given ``limit + 1`` rows read from a cursor position, the page and the next
    position (the extra row's key, read inclusively next time), or None at the end.
    ``key`` maps a row to its position (e.g. ``lambda r: r["id"]``)."""
    if len(rows) > limit:
        return rows[:limit], key(rows[limit])
    return rows, None


# -- authentication before arguments ---------------------------------------------------------------

# What anyone may call: logging in and out, public case tracking, the API's documentation.
# Every other ``/api/`` endpoint needs a signed-in caller, and that is checked before
# flask-smorest parses the body or query (``@blp.arguments`` runs before the view), so an
# anonymous caller gets 401 and learns nothing of the fields. New endpoints are protected
# by default; roles are still checked by each view.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.logout"})
PUBLIC_BLUEPRINTS = frozenset({"tracking", "api-docs", "api_docs"})


def _authenticate_first() -> None:
    if not request.path.startswith("/api/") or request.endpoint is None:
        return  # not the API, or no such route (404/405 as before)
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in PUBLIC_BLUEPRINTS:
        return
    require_user()


# -- wiring --------------------------------------------------------------------------------------

def init_app(app: Flask) -> FengqiaoApi:
    """Create the app's API, its docs and every blueprint of this package."""
    app.config.setdefault("API_TITLE", "fengqiao 枫桥 API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "矛盾纠纷调处 REST API. Errors: {code, message_zh, message_en, errors}."},
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "fq_session"},
            "basic": {"type": "http", "scheme": "basic"},
        }},
        "security": [{"session": []}, {"basic": []}],
    })
    api = FengqiaoApi(app)
    api.ma_plugin.converter.add_attribute_function(_published_constraints)
    app.extensions["fq_api"] = api
    app.before_request(_authenticate_first)

    from . import docs

    app.register_blueprint(docs.bp)
    for module in _resource_modules():
        api.register_blueprint(module.blp)
    return api


def _published_constraints(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A field's own constraints (``openapi()`` of ``schemas.fields``) in the OpenAPI
    description: enums, patterns, lengths, ranges, item counts."""
    describe = getattr(field, "openapi", None)
    return describe() if callable(describe) else {}


def register_blueprint(app: Flask | None, blp: flask_smorest.Blueprint, **options: Any) -> None:
    """Add a resource blueprint to the app's API (after ``server.api.init_app``)."""
    app = app or current_app
    app.extensions["fq_api"].register_blueprint(blp, **options)


# Every resource module of the API. A missing one is an error at start-up, not a silently
# absent part of the API: an ImportError here means a broken install or a typo, and an
# API that quietly lacks /api/cases would pass its health check and fail its users.
RESOURCES = ("auth", "users", "cases", "audit", "stats", "case_list", "exports", "risks",
             "reminders", "conflicts", "tracking", "units", "todo", "paper", "notices", "reports")


def _resource_modules() -> list[Any]:
    import importlib

    return [importlib.import_module(f"{__name__}.{name}") for name in RESOURCES]
