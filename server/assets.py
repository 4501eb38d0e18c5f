"""Serving the browser apps' files: our static files, and vendor libraries from
``node_modules`` through a whitelist (tablets and county networks may have no internet,
so nothing comes from a CDN). Shared by the tablet app, the dashboards and the tracking
page: :func:`app_blueprint` gives each the same page, static, vendor and label routes."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, send_file, url_for

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"

MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png",
        ".svg": "image/svg+xml", ".html": "text/html", ".json": "application/json"}


def no_cache(response: Response) -> Response:
    """Revalidate every time: the service worker, not the HTTP cache, keeps files offline."""
    response.headers["Cache-Control"] = "no-cache"
    return response


def static_files(static_dir: Path, exclude: Collection[str] = ()) -> list[str]:
    """Every file under ``static_dir`` (relative, sorted), but those named in ``exclude``."""
    return sorted(p.relative_to(static_dir).as_posix() for p in static_dir.rglob("*")
                  if p.is_file() and p.name not in exclude)


def send_static(static_dir: Path, name: str, allowed: Collection[str]) -> Response:
    """One of our own files; 404 for anything not listed (no path tricks)."""
    if name not in allowed:
        abort(404)
    path = static_dir / name
    return no_cache(send_file(path, mimetype=MIME.get(path.suffix, "application/octet-stream"),
                              max_age=0))


def send_vendor(vendor: Mapping[str, str], name: str) -> Response:
    """A whitelisted file from ``node_modules``; 404 for anything else."""
    rel = vendor.get(name)
    if rel is None:
        abort(404)
    path = NODE_MODULES / rel
    if not path.is_file():
        abort(404, description=f"{rel} 不存在：请先运行 npm ci / run npm ci first")
    return no_cache(send_file(path, mimetype=MIME.get(path.suffix, "application/octet-stream"),
                              max_age=0))


def app_static_files(static_dir: Path, hidden: Collection[str] = ()) -> list[str]:
    """What an app serves under ``static/``: its files but the page and ``hidden`` (files
    served by a route of their own)."""
    return static_files(static_dir, exclude={"index.html", *hidden})


def send_page(static_dir: Path) -> Response:
    """The app's one HTML page (``index.html``), revalidated every time."""
    return no_cache(send_file(static_dir / "index.html", mimetype="text/html", max_age=0))


def json_file(data: Any) -> Response:
    """A generated JSON file of an app (labels, rules), revalidated every time."""
    return no_cache(Response(json.dumps(data, ensure_ascii=False), mimetype="application/json"))


def app_blueprint(name: str, import_name: str, static_dir: Path, *,
                  vendor: Mapping[str, str] | None = None, hidden: Collection[str] = (),
                  labels: Callable[[], Any] | None = None) -> Blueprint:
    """The blueprint of a browser app at ``/<name>/``: the page (and ``/<name>`` redirecting
    to it), ``static/`` (every file of ``static_dir`` but ``index.html`` and ``hidden``),
    ``vendor/`` (the whitelist ``vendor``) and ``vocab.json`` (``labels()``). The app adds
    its own routes to it."""
    bp = Blueprint(name, import_name, url_prefix=f"/{name}")
    bp.add_url_rule("", "no_slash", lambda: redirect(url_for(f"{name}.index")))
    bp.add_url_rule("/", "index", lambda: send_page(static_dir))
    bp.add_url_rule("/static/<path:path>", "static_file",
                    lambda path: send_static(static_dir, path, app_static_files(static_dir, hidden)))
    if vendor is not None:
        bp.add_url_rule("/vendor/<path:path>", "vendor", lambda path: send_vendor(vendor, path))
    if labels is not None:
        bp.add_url_rule("/vocab.json", "vocab_json", lambda: json_file(labels()))
    return bp
