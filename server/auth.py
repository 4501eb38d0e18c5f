"""Who is calling the REST API: session cookies for people, HTTP Basic for scripts.

Both check the same accounts as the sync gateway (``sync.users``: the users database and
its argon2 ``Authenticator``). What this module adds for people:

* **Sessions** live in the users database as ``session:<sha256 of the token>`` documents
  (never the token itself), so any gateway process can serve any request and a logout
  holds everywhere. The cookie (``fq_session``) is HttpOnly, SameSite=Lax and, with
  ``FENGQIAO_ENV=production``, Secure. A session ends after ``FENGQIAO_SESSION_TIMEOUT``
  seconds (default 1800) without a request.
* **Password checks** follow the one rule of ``sync.logins``, the same for sync: a wrong
  password is answered at once; repeated failures from one address (for one account, or
  for all) make that address wait, progressively (429 with ``Retry-After``); nobody can
  lock anybody else out, and the answers never tell whether an account exists.

Helpers for views: :func:`current_user`, :func:`login_required` (optionally with roles),
:func:`scoped` (the one scope rule of ``sync.scope``, answering 403/404).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, request

from sync.errors import Conflict, NotFound
from sync.logins import LoginGuard
from sync.scope import may_write_key, scope_key, sees
from sync.users import Authenticator, User, UserStore, user_from_doc

from .clock import now  # re-exported: views import auth.now
from .config import password_change_enforced
from .errors import ApiError

COOKIE = "fq_session"
CSRF_COOKIE = "fq_csrf"
DEFAULT_SESSION_TIMEOUT = 30 * 60
# Writing last_seen on every request would make every read a write; a session's
# inactivity clock is refreshed at most this often (seconds).
TOUCH_EVERY = 60

F = TypeVar("F", bound=Callable[..., Any])


# -- clock and settings ---------------------------------------------------------------------

def session_timeout() -> float:
    return float(current_app.config.get("FENGQIAO_SESSION_TIMEOUT", DEFAULT_SESSION_TIMEOUT))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# -- where accounts live -----------------------------------------------------------------------

def user_store() -> UserStore:
    return current_app.extensions["sync_gateway"].users


def authenticator() -> Authenticator:
    return current_app.extensions["sync_gateway"].auth


# -- errors ----------------------------------------------------------------------------------

def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "需要登录：请先登录或提供用户名和密码",
                    "authentication required: log in or send HTTP Basic credentials")


def forbidden(zh: str = "无权执行此操作", en: str = "you may not do this") -> ApiError:
    return ApiError(403, "forbidden", zh, en)


def not_found(what_zh: str = "记录", what_en: str = "record") -> ApiError:
    return ApiError(404, "not_found", f"未找到该{what_zh}", f"{what_en} not found")


# -- login with lockout -------------------------------------------------------------------------

def login_guard() -> LoginGuard:
    return current_app.extensions["sync_gateway"].logins


def check_login(username: str, password: str, *, how: str) -> User:
    """Verify credentials under the one rule of ``sync.logins`` (progressive delays per
    address and per account-and-address; nobody can lock anybody else out); audit the
    outcome.

    Raises ApiError 429 (``Retry-After``: this address must wait) or 401 (wrong name or
    password, answered at once). The answers are the same whether the account exists.
    """
    from . import audit

    outcome = login_guard().check(username, password, request.remote_addr or "-", now())
    if outcome.ok:
        assert outcome.user is not None
        return outcome.user
    zh, en = outcome.message()
    user = username[:64] or "-"
    if outcome.status == 429:
        audit.record("login_throttled", doc_id=f"user:{user}", detail={"how": how}, user=user)
        raise ApiError(429, "too_many_attempts", zh, en, headers={"Retry-After": str(outcome.retry_after)})
    audit.record("login_failed", doc_id=f"user:{user}" if username else None, detail={"how": how}, user=user)
    raise ApiError(401, "bad_credentials", zh, en)


# -- sessions ----------------------------------------------------------------------------------

def _session_id(token: str) -> str:
    return "session:" + hashlib.sha256(token.encode()).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> tuple[str, str]:
    """Store a new session for ``user``; returns the cookie token and its CSRF token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = _iso(now())
    user_store().db.put({"_id": _session_id(token), "type": "session", "username": user.username,
                         "created_at": at, "last_seen": at, "csrf_hash": _digest(csrf),
                         "remote_addr": request.remote_addr, "user_agent": request.user_agent.string[:200]})
    return token, csrf


def end_session(token: str | None) -> None:
    if not token:
        return
    db = user_store().db
    doc = db.get_or_none(_session_id(token))
    if doc is not None:
        try:
            db.delete_doc(doc["_id"], doc["_rev"])
        except (Conflict, NotFound):
            pass


def end_sessions_of(username: str) -> None:
    """Log ``username`` out everywhere (deactivation, password reset)."""
    db = user_store().db
    found = db.find({"type": "session", "username": username}, fields=["_id", "_rev"], limit=1000)
    gone = [{"_id": d["_id"], "_rev": d["_rev"], "_deleted": True} for d in found["docs"]]
    if gone:
        db.bulk_docs(gone)


def set_session_cookie(response: Any, token: str, csrf: str) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie the page's script reads and sends
    back as ``X-CSRF-Token`` (another site can neither read it nor set the header)."""
    secure = current_app.config.get("FENGQIAO_ENV") == "production"
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", path="/", secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", path="/", secure=secure)


def clear_session_cookie(response: Any) -> None:
    secure = current_app.config.get("FENGQIAO_ENV") == "production"
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="Strict", secure=secure)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_csrf(session: Mapping[str, Any]) -> None:
    """A state change made with the session cookie must come from our own pages: the
    ``Origin`` (or, without one, the ``Referer``) names this server, and the request
    carries the session's CSRF token in ``X-CSRF-Token``. Basic-auth callers (scripts,
    tablets) send no cookie and are not concerned."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is not None and urlsplit(source).netloc != request.host:
        raise forbidden("跨站请求被拒绝：请从本系统页面操作", "cross-site request refused")
    given = request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf_hash")
    if not given or not isinstance(expected, str) or not hmac.compare_digest(_digest(given), expected):
        raise ApiError(403, "csrf_failed", "页面已过期或请求来源不明，请刷新页面后重试",
                       "missing or wrong CSRF token; reload the page and try again")


def _user_of_session(token: str) -> User | None:
    db = user_store().db
    session = db.get_or_none(_session_id(token))
    if session is None:
        return None
    last = _parse(session.get("last_seen"))
    at = now()
    if last is None or (at - last).total_seconds() > session_timeout():
        end_session(token)
        g.session_expired = True
        return None
    doc = user_store().get(session["username"])
    if doc is None or not doc.get("active", True):
        end_session(token)
        return None
    g.session_doc = session
    if (at - last).total_seconds() >= min(TOUCH_EVERY, session_timeout() / 4):
        session["last_seen"] = _iso(at)
        try:
            db.put(session)
        except Conflict:
            pass  # another request touched it at the same moment: fine
    return user_from_doc(doc)


def _basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "bad_credentials", "认证信息格式不正确", "malformed Authorization header") from None
    name, sep, password = raw.partition(":")
    if not sep:
        raise ApiError(401, "bad_credentials", "认证信息格式不正确", "malformed Authorization header")
    return name, password


# -- what views use ------------------------------------------------------------------------------

def current_user() -> User | None:
    """The caller (HTTP Basic first, then the session cookie), or None if anonymous.

    Resolved once per request. Wrong Basic credentials raise 401 (counted towards the
    lockout); an expired or unknown session counts as anonymous.
    """
    if "api_user" in g:
        return g.api_user
    user: User | None = None
    creds = _basic_credentials()
    if creds is not None:
        user = check_login(*creds, how="basic")
        g.auth_method = "basic"
    else:
        token = request.cookies.get(COOKIE)
        if token:
            user = _user_of_session(token)
            g.auth_method = "session"
            if user is not None and request.method in UNSAFE_METHODS:
                check_csrf(g.session_doc)
    g.api_user = user
    if user is not None:
        g.username = user.username  # for the request log
    return user


# What a user whose password must change may still do.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.me", "auth.logout", "auth.change_password"})
# The only endpoints a unit officer (承办单位人员) reaches: its unit's cases, the case
# page of one of them, its own feedback (``server.units``). Every other endpoint refuses
# the role, so no area-wide list, statistic or export can reach it by accident.
UNIT_OFFICER_ENDPOINTS = PASSWORD_CHANGE_ENDPOINTS | frozenset({
    "units.list_units", "units.unit_cases", "cases.get_case", "cases.add_event", "todo.my_todo",
    "cases.attachment", "notices.list_notices", "notices.mark_read",
})


def require_user(*roles: str) -> User:
    """The caller, or ApiError 401 (anonymous) / 403 (role not in ``roles``, or an initial
    password still to be changed)."""
    user = current_user()
    if user is None:
        if g.get("session_expired"):
            raise ApiError(401, "session_expired", "登录已超时（30 分钟无操作），请重新登录",
                           "session expired after inactivity; log in again")
        raise unauthorized()
    if user.must_change_password and password_change_enforced(current_app.config) \
            and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        raise ApiError(403, "password_change_required", "请先修改管理员设置的初始密码",
                       "change the password an administrator set before anything else")
    if user.role == "unit_officer" and request.endpoint not in UNIT_OFFICER_ENDPOINTS:
        raise forbidden("承办单位人员只能查看和反馈交办给本单位的案件",
                        "a unit officer sees and reports on its unit's assigned cases only")
    if roles and user.role not in roles:
        raise forbidden(f"此操作仅限：{', '.join(roles)}", f"only for roles: {', '.join(roles)}")
    return user


def login_required(*roles: str) -> Callable[[F], F]:
    """Decorator: the view runs only for a signed-in user (with one of ``roles``, if given).

    Usage: ``@login_required()`` or ``@login_required("county_reviewer", "admin")``.
    """
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_user(*roles)
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def scoped(doc: Mapping[str, Any], *, write: bool = False, user: User | None = None) -> Mapping[str, Any]:
    """Check ``doc`` against the one scope rule (``sync.scope``); returns ``doc``.

    Not visible → 404 (existence is not leaked); visible but not writable (``write``)
    → 403. Unauthenticated → 401.
    """
    user = user or require_user()
    key = scope_key(doc)
    if not sees(user, key):
        raise not_found()
    if write and not may_write_key(user, key):
        raise forbidden("该记录不在您可修改的范围内", "this record is outside the area you may change")
    return doc
