"""The font every document embeds: Noto Serif SC (思源宋体), Regular and Bold.

Why this font and why from npm: a printed 协议书 must look the same whichever server
made it, so the font is a pinned dependency of the project, not whatever the machine
has. Noto Serif SC covers 30,900 characters (GB 18030's common set and the rare
characters of many names) under the SIL Open Font License; the Google Fonts build
(``@expo-google-fonts/noto-serif-sc`` in package.json, TrueType outlines) installs
with ``npm ci`` like the other vendor files the server already reads from
``node_modules``. Typst embeds only the glyphs a document uses (a subset).
"""

from __future__ import annotations

from pathlib import Path

from server.assets import NODE_MODULES

from .errors import PaperError

PACKAGE = "@expo-google-fonts/noto-serif-sc"
FACES = {"regular": "400Regular/NotoSerifSC_400Regular.ttf", "bold": "700Bold/NotoSerifSC_700Bold.ttf"}
FAMILY = "Noto Serif SC"


def font_files() -> dict[str, Path]:
    """face → font file; :class:`PaperError` naming the fix when it is missing."""
    files = {face: NODE_MODULES / PACKAGE / rel for face, rel in FACES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise PaperError(f"缺少文书字体 {', '.join(missing)}：请先运行 npm ci",
                         f"the document font is missing ({', '.join(missing)}): run npm ci first")
    return files


def font_dirs() -> list[str]:
    return sorted({str(p.parent) for p in font_files().values()})

