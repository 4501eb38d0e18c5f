"""Serving the browser apps' files: our static files, and vendor libraries from
``node_modules`` through a whitelist (tablets and county networks may have no internet,
so nothing comes from a CDN). Shared by the tablet app and the dashboards."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from flask import Response, abort, send_file

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
