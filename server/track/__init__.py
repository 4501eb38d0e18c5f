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

from pathlib import Path

from flask import Response

from server.assets import app_blueprint, send_page
from server.tablet import vocab

STATIC = Path(__file__).resolve().parent / "static"
bp = app_blueprint("track", __name__, STATIC, labels=vocab)


@bp.get("/<code>")
def with_code(code: str) -> Response:
    """The same page; the script reads the code from the address (what the QR code holds)."""
    return send_page(STATIC)
