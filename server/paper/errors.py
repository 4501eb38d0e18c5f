"""The errors of printing (a branch of ``server.errors.ServerError``, whose docstring draws
the whole tree and the table of kinds)::

    PaperError          a document could not be made: a font, a template, typesetting
    │                   config → 503 ``paper_failed`` / exit 3
    └── NotAvailable    the case has no such document (yet): not accepted, no agreement …
                        conflict → 409 ``not_available`` / exit 1
"""

from __future__ import annotations

from server.errors import ServerError


class PaperError(ServerError):
    """A document could not be produced; ``message_zh``/``message_en`` say why and what to do."""

    kind = "config"
    error_code = "paper_failed"


class NotAvailable(PaperError):
    """The case has no such document (yet): ``message_zh``/``message_en`` say what is missing."""

    kind = "conflict"
    error_code = "not_available"
