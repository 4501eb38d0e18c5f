"""``GET /healthz``: is the server up, and can it reach CouchDB? (And ``/`` → dashboard.)"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect

from sync.errors import SyncError

bp = Blueprint("health", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """The bare server address opens the dashboard (the tablet app lives at /tablet/)."""
    return redirect("/dashboard/")


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 with CouchDB's vendor and version, or 503 naming the (masked) URL tried."""
    client = current_app.extensions["couch"]
    body = {"status": "ok", "couchdb": {"url": client.masked_url, "reachable": True}}
    try:
        info = client.info()
    except SyncError as exc:
        body["status"] = "degraded"
        body["couchdb"].update(reachable=False, message_zh=exc.message_zh, message_en=exc.message_en)
        return jsonify(body), 503
    vendor = info.get("vendor", {})
    body["couchdb"].update(
        version=info.get("version"), vendor=vendor.get("name", info.get("couchdb", "CouchDB"))
    )
    return jsonify(body)
