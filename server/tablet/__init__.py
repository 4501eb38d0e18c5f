"""The tablet app (PWA) for grid workers at ``/tablet/``: app shell, vendor files, labels.

Everything a tablet needs to run offline is served from here and cached by the service
worker on the first (online) visit: the HTML shell, our plain JS modules (no build step),
the vendored PouchDB and Leaflet files (read from ``node_modules`` through a whitelist:
tablets and the county network may have no internet, so no CDN), and ``vocab.json`` with
the zh/en labels of ``schemas.vocab`` so the tablet never keeps a second copy of them,
and ``states.json``, the state rules of ``server.domain.states`` (which actions a case's
state allows), so the tablet offers what the server will accept and nothing else.

The app's data does not go through this blueprint at all: PouchDB replicates with the
sync gateway (``/sync/<username>``).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Response

from server.assets import NODE_MODULES, app_blueprint, app_static_files, json_file, no_cache

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

# url name under /tablet/vendor/ → file under node_modules (pinned in package.json).
VENDOR: dict[str, str] = {
    "pouchdb.min.js": "pouchdb/dist/pouchdb.min.js",
    "pouchdb.find.min.js": "pouchdb/dist/pouchdb.find.min.js",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/images/marker-icon.png": "leaflet/dist/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png": "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png": "leaflet/dist/images/marker-shadow.png",
    "leaflet/images/layers.png": "leaflet/dist/images/layers.png",
    "leaflet/images/layers-2x.png": "leaflet/dist/images/layers-2x.png",
}
# Vendor files the app uses (pouchdb.find is whitelisted but not needed offline).
VENDOR_SHELL = [name for name in VENDOR if name != "pouchdb.find.min.js"]
# sw.js is served below, with the shell's version and file list filled in.
HIDDEN = {"sw.js"}
bp = app_blueprint("tablet", __name__, STATIC, vendor=VENDOR, hidden=HIDDEN, labels=lambda: vocab())


def _static_files() -> list[str]:
    return app_static_files(STATIC, HIDDEN)


def shell_urls() -> list[str]:
    """Every URL the service worker precaches: after these, the app runs offline."""
    return (["/tablet/", "/tablet/manifest.webmanifest", "/tablet/vocab.json", "/tablet/states.json"]
            + [f"/tablet/static/{name}" for name in _static_files()]
            + [f"/tablet/vendor/{name}" for name in VENDOR_SHELL])


@lru_cache(maxsize=1)
def shell_version() -> str:
    """A hash of every shell file: a new version makes a new service worker and cache."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    for name in VENDOR_SHELL:
        target = NODE_MODULES / VENDOR[name]
        digest.update(f"{name}:{target.stat().st_size if target.exists() else -1}".encode())
    digest.update(json.dumps(vocab(), sort_keys=True).encode())
    digest.update(json.dumps(states(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker() -> Response:
    text = (STATIC / "sw.js").read_text("utf-8")
    text = text.replace("__VERSION__", shell_version()).replace(
        "__SHELL__", json.dumps(shell_urls()))
    response = Response(text, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/tablet/"
    return no_cache(response)


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "枫桥 · 网格矛盾纠纷调处",
        "short_name": "枫桥网格",
        "description": "网格员矛盾纠纷登记与调处（可离线） / Grid dispute mediation, works offline",
        "lang": "zh-CN",
        "start_url": "/tablet/",
        "scope": "/tablet/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#8b1a1a",
        "icons": [
            {"src": "/tablet/static/icon.svg", "sizes": "any", "type": "image/svg+xml",
             "purpose": "any"},
            {"src": "/tablet/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/tablet/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }
    return no_cache(Response(json.dumps(body, ensure_ascii=False),
                           mimetype="application/manifest+json"))


@lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    """The code lists with zh/en labels, as the tablet and the dashboard show them (single
    source: ``schemas.vocab``, ``server.domain.policies``): the JavaScript has no label of
    its own, so a word changed in ``schemas.vocab`` changes on every screen."""
    from schemas import vocab as v
    from schemas.events import MAX_AGREEMENT_TERMS
    from schemas.fields import (
        MAX_ATTACHMENT_BYTES,
        MAX_ATTACHMENTS,
        MAX_DESCRIPTION,
        MAX_NAME,
        MAX_NOTE,
        MAX_TITLE,
    )
    from server.domain.policies import POLICY_LABELS
    from server.paper.content import AGREEMENT_OUTCOMES, CASE_DOCUMENTS

    def table(d: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
        return {code: {"zh": zh, "en": en} for code, (zh, en) in d.items()}

    return {
        "channels": table(v.CHANNELS), "categories": table(v.CATEGORIES),
        "party_roles": table(v.PARTY_ROLES), "resolution_levels": table(v.RESOLUTION_LEVELS),
        "case_levels": table(v.CASE_LEVELS), "mediation_outcomes": table(v.MEDIATION_OUTCOMES),
        "evaluations": table(v.EVALUATIONS), "risk_levels": table(v.RISK_LEVELS),
        "screening_rounds": table(v.SCREENING_ROUNDS), "event_kinds": table(v.EVENT_KINDS),
        "case_statuses": table(v.CASE_STATUSES), "open_case_statuses": list(v.OPEN_CASE_STATUSES),
        "risk_statuses": table(v.RISK_STATUSES), "risk_event_kinds": table(v.RISK_EVENT_KINDS), "legal_routes": table(v.LEGAL_ROUTES),
        "roles": table(v.ROLES), "terms": table(v.TERMS),
        "unit_types": table(v.UNIT_TYPES), "day_counts": table(v.DAY_COUNTS),
        "mediation_types": table(v.MEDIATION_TYPES), "review_levels": table(v.REVIEW_LEVELS),
        "todo_groups": table(v.TODO_GROUPS), "field_labels": table(v.FIELD_LABELS),
        "policies": table(POLICY_LABELS),
        # The printed documents' titles and which mediation outcomes make an agreement
        # (server.paper): the tablet shows the 人民调解协议书 for signing.
        "documents": table(CASE_DOCUMENTS), "agreement_outcomes": list(AGREEMENT_OUTCOMES),
        "limits": {"name": MAX_NAME, "title": MAX_TITLE, "description": MAX_DESCRIPTION,
                   "note": MAX_NOTE, "attachment_bytes": MAX_ATTACHMENT_BYTES,
                   "attachments": MAX_ATTACHMENTS, "agreement_terms": MAX_AGREEMENT_TERMS},
    }


def states() -> dict[str, Any]:
    """The state rules as the tablet applies them (single source: ``server.domain.states``)."""
    from server.domain.states import tablet_rules

    return tablet_rules()


@bp.get("/states.json")
def states_json() -> Response:
    return json_file(states())
