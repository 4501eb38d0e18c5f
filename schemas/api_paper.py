"""Query arguments and answers of the printed documents (``/api/cases/<id>/documents``,
``/api/cases/<id>/dossier.pdf``, ``/api/reviews/<id>/minutes.pdf``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.fields import Choice, Strict, Text

# 三单三函: the reminder stages a 督办函 is written for (server.domain.reminders.STAGES).
SUPERVISION_STAGES = ("due_soon", "due", "overdue")


class DocumentArgsSchema(Strict):
    """Which document, when a case has several of a kind, and why it is printed."""

    event = Text(max_length=120, load_default=None, metadata={
        "description": "交办单/协议书：事件编号（默认最近一次）/ the assignment or mediation event (default: latest)"})
    stage = Choice(SUPERVISION_STAGES, load_default=None, metadata={
        "description": "督办函：临期提示 due_soon / 到期催办 due / 逾期问责 overdue (default: most urgent)"})
    reason = Text(min_length=2, max_length=200, load_default=None, metadata={
        "description": "打印原因（写入审计日志；默认为文书名称）/ why it is printed (audited; default: the title)"})


class DossierArgsSchema(Strict):
    reason = Text(min_length=2, max_length=200, load_default=None, metadata={
        "description": "打印原因（写入审计日志）/ why it is printed (audited)"})


class DocumentEntrySchema(Schema):
    kind = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    available = fields.Boolean()
    reason_zh = fields.String()
    reason_en = fields.String()
    url = fields.String()
    id_numbers = fields.Boolean()


class DocumentListSchema(Schema):
    case_id = fields.String()
    tracking_code = fields.String()
    documents = fields.List(fields.Nested(DocumentEntrySchema))
    dossier_url = fields.String()
