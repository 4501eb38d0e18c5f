"""``/api/docs``: Swagger UI for the OpenAPI document, served from ``node_modules``.

No CDN: the files come from the pinned ``swagger-ui-dist`` package, through a whitelist
(only the names below are served, whatever the URL says).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
VENDOR = {
    "swagger-ui.css": ("swagger-ui-dist/swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": ("swagger-ui-dist/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui-standalone-preset.js": ("swagger-ui-dist/swagger-ui-standalone-preset.js",
                                        "text/javascript"),
    "favicon-32x32.png": ("swagger-ui-dist/favicon-32x32.png", "image/png"),
    "init.js": (None, "text/javascript"),
}

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>fengqiao 枫桥 API</title>
<link rel="stylesheet" href="/api/docs/vendor/swagger-ui.css">
<link rel="icon" href="/api/docs/vendor/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/api/docs/vendor/swagger-ui-bundle.js"></script>
<script src="/api/docs/vendor/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/vendor/init.js"></script>
</body></html>
"""

# A separate file rather than an inline script, so a strict Content-Security-Policy
# (script-src 'self') can be used.
INIT = """window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "BaseLayout",
  withCredentials: true});
"""


@bp.get("")
@bp.get("/")
def page() -> Response:
    return Response(PAGE, mimetype="text/html")


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    entry = VENDOR.get(name)
    if entry is None:
        abort(404)
    path, mime = entry
    if path is None:
        return Response(INIT, mimetype=mime)
    response = send_file(NODE_MODULES / path, mimetype=mime, max_age=86400)
    return response
