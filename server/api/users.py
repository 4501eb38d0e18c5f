"""``/api/users`` (admins): list, create, change role/areas, deactivate, reset password.

Accounts are the sync accounts (``sync.users``): created with ``provision`` so their
township databases, replications and public profile exist at once. Every change is
audited; deactivation and password resets end the user's sessions and forget their
cached Basic credentials.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from schemas.api import (
    PageSchema,
    PasswordResetSchema,
    UserCreateSchema,
    UserListArgsSchema,
    UserOutSchema,
    UserUpdateSchema,
)
from schemas.errors import FieldError
from schemas.ids import ID_PATTERNS
from sync.errors import Conflict
from sync.topology import init_databases
from sync.users import User, check_password_strength, provision, validate_user

from .. import audit
from ..auth import (
    authenticator,
    end_sessions_of,
    login_guard,
    now,
    require_user,
    user_from_doc,
    user_store,
)
from ..errors import ApiError
from . import (
    ApiBlueprint,
    check_if_match,
    decode_cursor,
    etag_response,
    keyset_rows,
    page,
    validation_error,
)

blp = ApiBlueprint("users", __name__, url_prefix="/api/users",
                   description="用户管理（管理员）— user administration (admins)")


def _out(doc: dict[str, Any]) -> dict[str, Any]:
    delays = login_guard().delays(doc["username"], now())
    out = {k: doc.get(k) for k in ("username", "display_name", "role", "area_codes", "active", "unit_id")
           if k != "unit_id" or doc.get(k)}
    # Addresses that must wait before trying this account again (``sync.logins``).
    out["login_delays"] = [{"address": d.address, "failures": d.failures, "until": d.until.isoformat()}
                           for d in delays]
    out["must_change_password"] = bool(doc.get("must_change_password"))
    if doc.get("phone"):
        out["phone"] = doc["phone"]
    return out


def _admin() -> User:
    return require_user("admin")


def _get(username: str, admin: User) -> dict[str, Any]:
    doc = user_store().get(username) if username else None
    if doc is None or not any(c.startswith(admin.county_code) for c in doc.get("area_codes", [])):
        raise ApiError(404, "not_found", "未找到该用户", "user not found")
    return doc


def _publish(user: User) -> None:
    """Put the public profile where the user's sync scope is (as ``provision`` does)."""
    client = current_app.extensions["couch"]
    topology = current_app.extensions["sync_gateway"].topology
    if user.township_code is not None:
        topology = topology.with_townships([user.township_code])
        init_databases(client, topology)
        backing = client.db(topology.township_db(user.township_code))
    else:
        backing = client.db(topology.county_db())
    profile = user.public_profile()
    current = backing.get_or_none(profile["_id"])
    if current is not None:
        profile["_rev"] = current["_rev"]
    backing.put(profile)


def _save(doc: dict[str, Any]) -> dict[str, Any]:
    try:
        user_store().db.save(doc)
    except Conflict:
        raise ApiError(412, "precondition_failed", "用户已被他人修改，请刷新后重试",
                       "the user changed meanwhile; reload and try again") from None
    authenticator().forget(doc["username"])
    _publish(user_from_doc(doc))
    return doc


def _start_of(cursor: str | None) -> str:
    """Where a page starts: a cursor must name a ``user:`` document (a crafted one could
    otherwise start the listing at the ``session:`` documents of the same database)."""
    position = decode_cursor(cursor)
    if position is None:
        return "user:"
    if not (isinstance(position, str) and ID_PATTERNS["user"].match(position)):
        raise validation_error([FieldError("cursor", "分页游标无效，请从第一页重新开始",
                                           "invalid cursor; start again from the first page")])
    return position


@blp.get("")
@blp.arguments(UserListArgsSchema, location="query")
@blp.response(200, PageSchema)
def list_users(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Accounts of the county by username (cursor pagination; ``role`` filter)."""
    _admin()
    start = _start_of(args["cursor"])
    limit, role = args["limit"], args["role"]
    matches: list[dict[str, Any]] = []
    while len(matches) <= limit:  # a role filter may need several reads of limit+1 rows
        rows = user_store().db.all_docs(startkey=start, endkey="user:\ufff0", include_docs=True,
                                        limit=limit + 1)["rows"]
        chunk, following = keyset_rows(rows, limit, lambda r: r["id"])
        for row in chunk:
            if not row["id"].startswith("user:") or row["doc"].get("type") != "user":
                continue  # only accounts, whatever else the database holds
            if role is None or row["doc"].get("role") == role:
                matches.append(row)
                if len(matches) > limit:
                    break
        if following is None:
            break
        start = following
    items = [_out(r["doc"]) for r in matches[:limit]]
    next_key = matches[limit]["id"] if len(matches) > limit else None
    audit.record("user_list", detail={"role": args["role"], "count": len(items)})
    return page(items, next_key)


@blp.post("")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserOutSchema)
def create_user(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Create an account. The password (≥ 10 characters of three classes, not common, not
    containing the name) is the administrator's: the user changes it at first login."""
    admin = _admin()
    store = user_store()
    if body.get("unit_id"):
        from .. import units

        units.get_unit(body["unit_id"])  # 404 for a unit that does not exist
    # A UserError (weak password, bad areas: 422; the name exists: 409) is answered by server.errors.
    provision(current_app.extensions["couch"], current_app.extensions["sync_gateway"].topology,
              store, body["username"], body["role"], body["area_codes"], body["password"],
              display_name=body.get("display_name", ""), phone=body.get("phone"), must_change=True,
              unit_id=body.get("unit_id"))
    doc = store.get(body["username"])
    audit.record("user_created", doc_id=f"user:{body['username']}",
                 detail={"role": body["role"], "area_codes": body["area_codes"], "by": admin.username})
    return etag_response(_out(doc), doc["_rev"], status=201)


@blp.get("/<username>")
@blp.response(200, UserOutSchema)
def get_user(username: str):  # type: ignore[no-untyped-def]
    doc = _get(username, _admin())
    return etag_response(_out(doc), doc["_rev"])


@blp.patch("/<username>")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserOutSchema)
def update_user(changes: dict[str, Any], username: str):  # type: ignore[no-untyped-def]
    """Change role, areas, display name or active flag (``If-Match``: 412 when stale)."""
    admin = _admin()
    doc = _get(username, admin)
    check_if_match(doc["_rev"])
    if not changes:
        raise ApiError(422, "validation_error", "没有要修改的字段", "nothing to change")
    if changes.get("active") is False and username == admin.username:
        raise ApiError(409, "self_deactivation", "不能停用自己的账号", "you cannot deactivate your own account")
    role = changes.get("role", doc["role"])
    codes = changes.get("area_codes", doc["area_codes"])
    doc["area_codes"] = list(validate_user(username, role, codes, admin.county_code))
    doc["role"] = role
    for name in ("display_name", "active"):
        if name in changes:
            doc[name] = changes[name]
    _save(doc)
    if doc.get("active") is False:
        end_sessions_of(username)
    audit.record("user_deactivated" if changes.get("active") is False else "user_updated",
                 doc_id=f"user:{username}", detail={"changes": changes})
    return etag_response(_out(doc), doc["_rev"])


@blp.post("/<username>/deactivate")
@blp.response(200, UserOutSchema)
def deactivate_user(username: str):  # type: ignore[no-untyped-def]
    """Deactivate an account: no login, no sync; its sessions end at once."""
    admin = _admin()
    doc = _get(username, admin)
    check_if_match(doc["_rev"])
    if username == admin.username:
        raise ApiError(409, "self_deactivation", "不能停用自己的账号", "you cannot deactivate your own account")
    doc["active"] = False
    _save(doc)
    end_sessions_of(username)
    audit.record("user_deactivated", doc_id=f"user:{username}")
    return etag_response(_out(doc), doc["_rev"])


@blp.post("/<username>/password")
@blp.arguments(PasswordResetSchema)
@blp.response(200, UserOutSchema)
def reset_password(body: dict[str, Any], username: str):  # type: ignore[no-untyped-def]
    """Set a new password (to be changed at first login) and lift login delays; the
    user's sessions end."""
    admin = _admin()
    doc = _get(username, admin)
    check_password_strength(body["password"], username, doc.get("display_name", ""))
    store = user_store()
    provision(current_app.extensions["couch"], current_app.extensions["sync_gateway"].topology,
              store, username, doc["role"], doc["area_codes"], body["password"],
              display_name=doc.get("display_name", ""), phone=doc.get("phone"), replace=True,
              must_change=True)
    fresh = store.get(username)
    if doc.get("active") is False:  # provision re-creates the record active; keep it off
        fresh["active"] = False
        _save(fresh)
    authenticator().forget(username)
    login_guard().lift(username)
    end_sessions_of(username)
    audit.record("user_password_reset", doc_id=f"user:{username}")
    return etag_response(_out(fresh), fresh["_rev"])


@blp.post("/<username>/unlock")
@blp.response(200, UserOutSchema)
def lift_login_delays(username: str):  # type: ignore[no-untyped-def]
    """Lift the delays failed logins put on this account (every address), e.g. after the
    owner mistyped on a new device; recorded in the audit log."""
    admin = _admin()
    doc = _get(username, admin)
    lifted = login_guard().lift(username)
    audit.record("login_delays_lifted", doc_id=f"user:{username}", detail={"addresses": lifted})
    return etag_response(_out(doc), doc["_rev"])
