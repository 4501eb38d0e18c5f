"""Printed documents (文书) as PDF: 人民调解协议书, 受理/不予受理告知书, 回执, 答复意见书,
交办单, 督办函, 研判会议纪要 and the case's 卷宗.

How a document is made::

    content.py   the case (documents, events, projection) → plain data, labels and dates
                 already in Chinese; decides which documents a case has now
    sources.py   reads that from CouchDB (names of areas and people, photos)
    templates/   one Typst file a document (+ common.typ, the shared layout)
    typeset.py   template + data → PDF, with the bundled font only
    fonts.py     which font, and why it comes from npm

**Why Typst** (PyPI ``typst``: the typesetter compiled into the wheel, no system library,
nothing to download at run time). A template must be editable by a county's IT staff
without touching Python, and the result must be typeset properly in Chinese. The choices:

* HTML + WeasyPrint: familiar templates, but needs Pango/Cairo from the system and CSS
  paged media for page footers and page numbers; a second kind of machine dependency.
* reportlab / fpdf2 (pure Python): every layout is code (or a layout language of our own
  to maintain); CJK line breaking and punctuation rules are left to us.
* Typst: plain-text templates with data read from JSON (``data.json``), a real
  typesetter (Chinese line breaking and punctuation, justified text, tables that break
  across pages, page numbers, a table of contents for the 卷宗), embeds font subsets,
  and compiles a document in a few tens of milliseconds.

A county overrides any template by putting a file of the same name in the folder named
by ``FENGQIAO_PAPER_TEMPLATES`` (docs/paper.md). Every case document carries its
tracking code and a QR code of the public tracking page (``/track/<code>``).
"""

from __future__ import annotations

from .content import CASE_DOCUMENTS, DOSSIER, MINUTES, WITH_ID_NUMBERS, NotAvailable
from .errors import PaperError

__all__ = ["CASE_DOCUMENTS", "DOSSIER", "MINUTES", "WITH_ID_NUMBERS", "NotAvailable", "PaperError"]
