"""The one error of printing: a document could not be made (font, template, typesetting)."""

from __future__ import annotations


class PaperError(Exception):
    """A document could not be produced; ``message_zh``/``message_en`` say why and what to do."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh, self.message_en = message_zh, message_en
