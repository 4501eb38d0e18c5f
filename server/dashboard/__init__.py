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

from pathlib import Path

from flask import Response

from server.assets import app_blueprint, json_file
from server.tablet import vocab

STATIC = Path(__file__).resolve().parent / "static"

# url name under /dashboard/vendor/ → file under node_modules (pinned in package.json).
VENDOR: dict[str, str] = {
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
}


bp = app_blueprint("dashboard", __name__, STATIC, vendor=VENDOR, labels=vocab)


@bp.get("/forms.json")
def forms_json() -> Response:
    """The action forms, described from the schemas (``server.forms``)."""
    from server.forms import forms

    return json_file(forms())
