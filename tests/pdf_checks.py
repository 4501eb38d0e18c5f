"""Reading back a generated PDF: its text, its fonts, its pixels.

* ``text(pdf)``: every page's text with all whitespace removed (Typst spaces Latin and
  digits from Chinese, and lines break anywhere, so comparisons ignore whitespace).
* ``missing_glyphs(pdf)``: characters of the text that the embedded font has no glyph for
  (they print as tofu boxes), and fonts that are not embedded at all.
* ``ink(pdf, page)``: the share of dark pixels of a rendered page, by band, so a blank
  page or a page whose text did not draw is caught.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from functools import lru_cache

import numpy as np
import pypdf
import pypdfium2


def text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def pages(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


@lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    from server.paper.fonts import font_files

    return frozenset(TTFont(font_files()["regular"]).getBestCmap())


def fonts(pdf: bytes) -> dict[str, bool]:
    """Base font name → embedded (has a FontFile) for every font the pages use."""
    found: dict[str, bool] = {}
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = (target.get("/FontDescriptor") or {})
            descriptor = descriptor.get_object() if hasattr(descriptor, "get_object") else descriptor
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font.get("/BaseFont"))] = embedded
    return found


def missing_glyphs(pdf: bytes) -> set[str]:
    """Characters the bundled font cannot draw, plus ``font:<name>`` for a font not embedded."""
    missing = {ch for ch in text(pdf) if ord(ch) not in _cmap()}
    missing |= {f"font:{name}" for name, embedded in fonts(pdf).items() if not embedded}
    return missing


def render(pdf: bytes, page: int = 0, scale: float = 1.0) -> np.ndarray:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[page].render(scale=scale, grayscale=True).to_numpy().squeeze()
    finally:
        document.close()


def ink(pdf: bytes, page: int = 0) -> list[float]:
    """Share of dark pixels in each tenth of the page, top to bottom."""
    pixels = render(pdf, page)
    bands = np.array_split(pixels < 128, 10, axis=0)
    return [float(b.mean()) for b in bands]


def tiny_png(width: int = 40, height: int = 30) -> bytes:
    """A small red-and-white striped PNG (a stand-in photo), written without Pillow."""
    rows = []
    for y in range(height):
        colour = b"\xcc\x22\x22" if (y // 5) % 2 == 0 else b"\xff\xff\xff"
        rows.append(b"\x00" + colour * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
