"""Typesetting: a template and its data → PDF bytes, with Typst.

Each render works in a fresh temporary folder (Typst reads files only below its root):
the packaged templates, overlaid by a county's own (``FENGQIAO_PAPER_TEMPLATES``: a file
there of the same name wins), ``data.json``, ``qr.svg`` and the photos. The main file is
generated here and is three lines: import the document's template, set the page up, call
it with the data — so a template never needs to know how it is called.

Only the bundled font is offered (``ignore_system_fonts``): a document must print the
same on every server, whatever fonts the machine happens to have.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import PaperError
from .fonts import font_dirs
from .qr import qr_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_files(override: str | Path | None = None) -> dict[str, Path]:
    """Template file name → path: the packaged ones, replaced by same-named files in
    ``override`` (and any extra ``.typ`` there, for a template to import)."""
    files = {p.name: p for p in sorted(TEMPLATES.glob("*.typ"))}
    if override:
        folder = Path(override)
        if not folder.is_dir():
            raise PaperError(f"文书模板目录不存在：{folder}（FENGQIAO_PAPER_TEMPLATES）",
                             f"template folder {folder} does not exist (FENGQIAO_PAPER_TEMPLATES)")
        files.update({p.name: p for p in sorted(folder.glob("*.typ"))})
    return files


def _main(template: str) -> str:
    module = template.removesuffix(".typ")
    return (f'#import "common.typ": setup\n#import "{template}" as {module}\n'
            f'#let data = json("data.json")\n#show: setup.with(data)\n#{module}.document(data)\n')


def render(template: str, data: Mapping[str, Any], *, qr_url: str | None = None,
           files: Iterable[tuple[str, bytes]] = (), override: str | Path | None = None) -> bytes:
    """The PDF of ``template`` (e.g. ``agreement.typ``) filled with ``data``.

    ``qr_url``: the address the QR code (``qr.svg``) points at; ``files``: extra files
    (photos) by name, written next to the data. Raises :class:`PaperError` when the
    template is missing or does not compile (the message quotes Typst's own).
    """
    import typst

    available = template_files(override)
    if template not in available:
        raise PaperError(f"没有文书模板 {template}", f"no document template {template}")
    with tempfile.TemporaryDirectory(prefix="fq-paper-") as tmp:
        root = Path(tmp)
        for name, path in available.items():
            shutil.copyfile(path, root / name)
        (root / "data.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        (root / "qr.svg").write_text(qr_svg(qr_url or "-"), "utf-8")
        photos = root / "files"
        photos.mkdir()
        for name, content in files:
            (photos / Path(name).name).write_bytes(content)
        (root / "main.typ").write_text(_main(template), "utf-8")
        try:
            return bytes(typst.compile(str(root / "main.typ"), root=str(root), font_paths=font_dirs(),
                                       ignore_system_fonts=True, format="pdf"))
        except Exception as exc:  # typst.TypstError, or a compile error of another kind
            raise PaperError(f"文书模板 {template} 排版失败：{exc}",
                             f"template {template} failed to typeset: {exc}") from exc
