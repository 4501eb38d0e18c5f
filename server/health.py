"""``GET /healthz``: is the server up, and can it reach CouchDB? (And ``/`` → dashboard.)

Anyone (a load balancer, systemd, a monitor) learns only up or down: ``{"status": "ok"}``
with 200, or ``"degraded"`` with 503. An administrator (HTTP Basic or session) also sees
CouchDB's vendor and version and, with the embedded CouchDB, what its supervisor recorded
(restarts, last exit, a short reason; read from the home because workers are other
processes) — never a CouchDB address or user.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect

from sync.embedded import read_supervisor_state
from sync.errors import CouchError, SyncError

from .config import EMBEDDED_COUCH

bp = Blueprint("health", __name__)

SUPERVISOR_FIELDS = ("state", "restarts", "last_exit", "last_restart_at", "reason", "updated_at")


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """The bare server address opens the dashboard (the tablet app lives at /tablet/)."""
    return redirect("/dashboard/")


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 with CouchDB's vendor and version, or 503 (``degraded``) while it cannot be used."""
    client = current_app.extensions["couch"]
    couch: dict[str, Any] = {"reachable": True}
    body: dict[str, Any] = {"status": "ok", "couchdb": couch}
    details = _caller_is_admin()
    if current_app.config.get(EMBEDDED_COUCH):
        state = read_supervisor_state(current_app.config["FENGQIAO_HOME"]) or {}
        couch["embedded"] = {k: state[k] for k in SUPERVISOR_FIELDS if k in state}
    try:
        info = client.info()
    except SyncError as exc:
        body["status"] = "degraded"
        couch["reachable"] = False
        if isinstance(exc, CouchError):  # it answered, with an error
            couch.update(message_zh=f"CouchDB 返回错误 {exc.status} {exc.error}",
                         message_en=f"CouchDB answered {exc.status} {exc.error}")
        else:
            couch.update(message_zh="无法连接 CouchDB", message_en="cannot reach CouchDB")
        return jsonify(body if details else {"status": "degraded"}), 503
    vendor = info.get("vendor", {})
    couch.update(version=info.get("version"), vendor=vendor.get("name", info.get("couchdb", "CouchDB")))
    return jsonify(body if details else {"status": "ok"})


def _caller_is_admin() -> bool:
    from .auth import current_user
    from .errors import ApiError

    try:
        user = current_user()
    except (ApiError, SyncError):  # wrong credentials, or the accounts cannot be read
        return False
    return user is not None and user.role == "admin"
