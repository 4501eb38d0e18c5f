"""Protective headers on every answer (等保 2.0: application security; PIPL: personal data).

* ``Content-Security-Policy``: our pages load scripts, styles, fonts and data only from this
  server (no inline script anywhere: every page's code is a file), images also from
  ``data:``/``blob:`` (photos shown from the tablet's own database), and may not be framed.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``).
* ``Cache-Control: no-store`` on every API and sync answer: they may carry parties' names,
  ID numbers and phones, and must not stay in a shared or browser cache. Static files
  (the apps' code, vendor libraries) keep their own caching.
* ``Strict-Transport-Security`` when the request came over TLS (directly, or through a
  trusted proxy that says so).
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Swagger UI writes <style> elements at run time; its page gets inline styles, never scripts.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
PRIVATE_PREFIXES = ("/api/", "/sync/", "/healthz")


def init_app(app: Flask) -> None:
    @app.after_request
    def _protect(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path.startswith("/api/docs") else CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(PRIVATE_PREFIXES) and not request.path.startswith("/api/docs"):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
