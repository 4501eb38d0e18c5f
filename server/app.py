"""The Flask application factory: settings, CouchDB client, blueprints, error handlers.

``create_app(config)`` is the one place where everything is wired; feature modules expose
a blueprint and/or an ``init_app(app)`` hook. The app never starts CouchDB itself: the CLI
does that (``sync.embedded``) and passes the URL in ``COUCHDB_URL``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from sync import gateway
from sync.couch import CouchClient
from sync.users import Authenticator, UserStore

from . import api, errors, headers, health, readmodel
from .config import ConfigError, load_settings, password_change_enforced
from .dashboard import bp as dashboard_bp
from .databases import topology_for
from .tablet import bp as tablet_bp
from .track import bp as track_bp

log = logging.getLogger("fengqiao.request")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests pass a mapping)."""
    settings = load_settings(config)
    if not settings["COUCHDB_URL"]:
        raise ConfigError(
            "未设置 COUCHDB_URL：请用 `fengqiao serve` 或 `fengqiao demo` 启动（会自动启动内置 CouchDB），"
            "或设置 COUCHDB_URL=http://admin:密码@127.0.0.1:5984/",
            "COUCHDB_URL is not set: start with `fengqiao serve` or `fengqiao demo` (they start the "
            "embedded CouchDB), or set COUCHDB_URL=http://admin:secret@127.0.0.1:5984/",
        )
    if settings["FENGQIAO_ENV"] == "production" and urlsplit(settings["COUCHDB_URL"]).password is None:
        raise ConfigError(
            "生产环境拒绝连接无管理员凭据的 CouchDB：请在 COUCHDB_URL 中提供用户名和密码",
            "production refuses a CouchDB without admin credentials: put them in COUCHDB_URL",
        )

    app = Flask("fengqiao", static_folder=None)
    if settings["FENGQIAO_TRUSTED_PROXIES"] > 0:
        # Behind nginx: the client's address and scheme come from the last N proxies'
        # X-Forwarded-For/-Proto, so per-address limits and the audit log see the client.
        n = settings["FENGQIAO_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["FENGQIAO_SECRET_KEY"]
    # Bodies beyond the limit are refused (413) before they are read; the sync gateway
    # sets its own, larger limit per request (photos travel inside push batches).
    app.config["MAX_CONTENT_LENGTH"] = settings["FENGQIAO_API_MAX_BODY_MB"] * 1024 * 1024
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # Chinese stays readable in every JSON answer
    logging.basicConfig(level=settings["FENGQIAO_LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per request is ours (below); httpx would add one per CouchDB call.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    client = CouchClient(settings["COUCHDB_URL"])
    app.extensions["couch"] = client

    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(tablet_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(track_bp)  # the public tracking page (no login)
    gateway.init_app(app, make_gateway(settings, client))
    api.init_app(app)
    readmodel.init_app(app)  # with FENGQIAO_STATS_FOLLOW=eager the follower starts now
    headers.init_app(app)
    _init_request_log(app)
    return app


def make_gateway(settings: Mapping[str, Any], client: CouchClient) -> gateway.Gateway:
    from schemas import validate_document
    from server.domain.refusals import event_refusals
    from sync.gridcheck import location_check

    topology = topology_for(settings)
    store = UserStore(client, topology.prefix, topology.county_code)
    return gateway.Gateway(
        client=client, topology=topology, users=store, auth=Authenticator(store),
        validate=validate_document, check_location=location_check(settings),
        check_event=event_refusals,
        audit=_audit_sync, max_body=settings["FENGQIAO_SYNC_MAX_BODY_MB"] * 1024 * 1024,
        force_password_change=password_change_enforced(settings),
    )


def _audit_sync(action: str, username: str, doc_id: str | None, detail: dict[str, Any]) -> None:
    """The gateway's audit records (failed sync logins, refused writes). A failure to
    write one is logged loudly but does not turn a refusal into a server error."""
    from . import audit

    try:
        audit.record(action, doc_id=doc_id, detail=detail, user=username)
    except Exception:
        log.exception("audit record %s for %s could not be written", action, username)


def _init_request_log(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):  # type: ignore[no-untyped-def]
        started = g.get("request_started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        user = g.get("username", "-")
        log.info("%s %s %s %.1fms user=%s", request.method, request.path,
                 response.status_code, elapsed_ms, user)
        return response
