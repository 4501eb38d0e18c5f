"""Dashboards for township mediators and county reviewers at ``/dashboard/``.

A static page (plain JS modules, no build step) that reads everything it shows from the
REST API with the signed-in user's session cookie: ``/api/stats`` for every number,
``/api/cases`` for the overdue and due-soon lists, ``/api/exports/*`` for downloads and
the grid map, and the risk register, reminders and conflict queue endpoints. The browser
formats numbers; it never computes a metric of its own.

Vendor files (chart.js, Leaflet) are read from ``node_modules`` through a whitelist, as
the tablet app does: county networks may have no internet, so no CDN.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, redirect, send_file, url_for

from server.assets import no_cache, send_static, send_vendor, static_files
from server.tablet import vocab

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

STATIC = Path(__file__).resolve().parent / "static"

# url name under /dashboard/vendor/ → file under node_modules (pinned in package.json).
VENDOR: dict[str, str] = {
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
}


def _static_files() -> list[str]:
    return static_files(STATIC, exclude={"index.html"})


@bp.get("")
def no_slash() -> Response:
    return redirect(url_for("dashboard.index"))  # type: ignore[return-value]


@bp.get("/")
def index() -> Response:
    return no_cache(send_file(STATIC / "index.html", mimetype="text/html", max_age=0))


@bp.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_static(STATIC, name, _static_files())


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    return send_vendor(VENDOR, name)


@bp.get("/forms.json")
def forms_json() -> Response:
    """The action forms, described from the schemas (``server.forms``)."""
    from server.forms import forms

    return no_cache(Response(json.dumps(forms(), ensure_ascii=False), mimetype="application/json"))


@bp.get("/vocab.json")
def vocab_json() -> Response:
    """The zh/en labels of the code lists: the tablet's ``vocab.json`` (one builder, single
    source ``schemas.vocab``)."""
    return no_cache(Response(json.dumps(vocab(), ensure_ascii=False), mimetype="application/json"))
