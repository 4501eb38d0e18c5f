"""The public tracking page at ``/track/`` (no login): a citizen enters or scans the
tracking code from their receipt and sees the status, dates and deadlines of their matter
in plain Chinese, in large type, and leaves the one evaluation after closure.

A static page (one HTML file, one plain JS module, one stylesheet; no inline script or
style, so it runs under the strict CSP of ``server.headers``) over the existing public JSON
API ``/api/track/<code>`` (rate-limited there). ``/track/<code>`` and ``/track/?code=`` are
the same page with the code filled in: the QR code on every printed document points at
``/track/<code>``. Labels come from ``/track/vocab.json`` (``schemas.vocab``, the tablet's
own builder), so the page keeps no copy of a status or rating word.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, redirect, send_file, url_for

from server.assets import no_cache, send_static, static_files
from server.tablet import vocab

bp = Blueprint("track", __name__, url_prefix="/track")

STATIC = Path(__file__).resolve().parent / "static"


def _page() -> Response:
    return no_cache(send_file(STATIC / "index.html", mimetype="text/html", max_age=0))


@bp.get("")
def no_slash() -> Response:
    return redirect(url_for("track.index"))  # type: ignore[return-value]


@bp.get("/")
def index() -> Response:
    return _page()


@bp.get("/<code>")
def with_code(code: str) -> Response:
    """The same page; the script reads the code from the address (what the QR code holds)."""
    return _page()


@bp.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_static(STATIC, name, static_files(STATIC, exclude={"index.html"}))


@bp.get("/vocab.json")
def vocab_json() -> Response:
    return no_cache(Response(json.dumps(vocab(), ensure_ascii=False), mimetype="application/json"))
