"""``/api/auth``: log in (session cookie), log out, who am I."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from schemas.api import LoginSchema, MeSchema

from .. import audit
from ..auth import (
    COOKIE,
    check_login,
    clear_session_cookie,
    current_user,
    end_session,
    require_user,
    session_timeout,
    set_session_cookie,
    start_session,
)
from . import ApiBlueprint

blp = ApiBlueprint("auth", __name__, url_prefix="/api/auth",
                   description="登录 / 退出 / 当前用户 — log in, log out, current user")


def _me(user: Any) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "area_codes": list(user.area_codes), "session_timeout": int(session_timeout())}


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
def login(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Check name and password; set the session cookie (HttpOnly, SameSite=Lax).

    401 wrong name or password · 423 locked after 5 failures (15 minutes) · 429 too many
    attempts from this address.
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
