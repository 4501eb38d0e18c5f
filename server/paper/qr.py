"""The QR code on every document: the public tracking page of the case.

Drawn as SVG (vector: sharp at any print resolution, a few KB) by segno, a pure-Python
encoder; error correction level M survives a crease or a stamp over a corner.
"""

from __future__ import annotations

import io


def track_url(base: str, code: str) -> str:
    """The tracking page of ``code`` under the server's public address ``base``."""
    return f"{base.rstrip('/')}/track/{code}"


def qr_svg(url: str) -> str:
    """An SVG QR code of ``url`` (no quiet zone: the template leaves the margin)."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", border=0, xmldecl=False)
    return out.getvalue().decode("utf-8")
