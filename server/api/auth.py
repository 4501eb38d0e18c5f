"""``/api/auth``: log in (session cookie), log out, who am I."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from schemas.api import LoginSchema, MeSchema, PasswordChangeSchema
from sync.users import UserError, check_password_strength

from .. import audit
from ..auth import (
    COOKIE,
    authenticator,
    check_login,
    clear_session_cookie,
    current_user,
    end_session,
    require_user,
    session_timeout,
    set_session_cookie,
    start_session,
    user_store,
)
from ..config import password_change_enforced
from ..errors import ApiError
from . import ApiBlueprint

blp = ApiBlueprint("auth", __name__, url_prefix="/api/auth",
                   description="登录 / 退出 / 当前用户 — log in, log out, current user")


def _me(user: Any) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "area_codes": list(user.area_codes), "session_timeout": int(session_timeout()),
            "must_change_password": user.must_change_password and password_change_enforced(current_app.config)}


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
def login(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Check name and password; set the session cookie (HttpOnly, SameSite=Lax).

    401 wrong name or password (the same for unknown accounts) · 429 this address must wait
    (``Retry-After``) after repeated failures — see ``sync.logins``.
    """
    user = check_login(body["username"], body["password"], how="session")
    token, csrf = start_session(user)
    from flask import g

    g.api_user = user
    audit.record("login", doc_id=f"user:{user.username}", detail={"how": "session"})
    response = jsonify(_me(user))
    set_session_cookie(response, token, csrf)
    return response


@blp.post("/logout")
@blp.response(204)
def logout():  # type: ignore[no-untyped-def]
    """End the session (idempotent: also fine without one)."""
    user = current_user()
    end_session(request.cookies.get(COOKIE))
    if user is not None:
        audit.record("logout", doc_id=f"user:{user.username}")
    response = jsonify({})
    response.status_code = 204
    clear_session_cookie(response)
    return response


@blp.get("/me")
@blp.response(200, MeSchema)
def me():  # type: ignore[no-untyped-def]
    """The signed-in user (401 if none or the session expired)."""
    return _me(require_user())


@blp.post("/password")
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
def change_password(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Change one's own password (the current one is checked like a login: wrong ones
    count towards the lockout). Clears an administrator's "change at first login"."""
    user = require_user()
    check_login(user.username, body["current_password"], how="password_change")
    if body["new_password"] == body["current_password"]:
        raise ApiError(422, "validation_error", "新密码不能与当前密码相同",
                       "the new password must differ from the current one",
                       {"new_password": [{"message_zh": "新密码不能与当前密码相同", "message_en": "must differ from the current one"}]})
    try:
        check_password_strength(body["new_password"], user.username, user.display_name)
    except UserError as exc:
        raise ApiError(422, "validation_error", exc.message_zh, exc.message_en,
                       {"new_password": [{"message_zh": exc.message_zh, "message_en": exc.message_en}]}) from None
    user_store().set_password(user.username, body["new_password"])
    authenticator().forget(user.username)
    audit.record("password_changed", doc_id=f"user:{user.username}")
    response = jsonify({})
    response.status_code = 204
    return response
