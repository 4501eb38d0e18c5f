"""Outbox notifications (``notification:<anything>``): SMS, in-app … to be sent.

A sender claims ``queued`` ones (``sending``, with ``claimed_by``/``claimed_at``) and
records the outcome (``server.notify.delivery``). A deterministic id (e.g.
``notification:<case uuid>:close:overdue:2026-11-23:u.mia``) makes queueing idempotent.
``read_at``: when the recipient marked an in-app notice read. ``message_zh``/``message_en``:
the words of the notice when it was queued (``server.notify.messages``), so a tablet shows
them offline; older notices may lack them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas import vocab
from schemas.errors import bi
from schemas.fields import (
    MAX_NOTE,
    AreaCode,
    Choice,
    DocRef,
    DocumentSchema,
    Int,
    JsonObject,
    Text,
    Timestamp,
)


class NotificationSchema(DocumentSchema):
    doc_type = "notification"

    area_code = AreaCode(required=True)
    channel = Choice(vocab.NOTIFICATION_CHANNELS, required=True)
    recipient = Text(required=True, max_length=100)  # username, or phone for SMS
    template = Text(required=True, max_length=64, pattern=r"[a-z0-9_.]{1,64}")
    payload = JsonObject(required=True, max_bytes=4096)
    status = Choice(vocab.NOTIFICATION_STATUSES, required=True)
    created_at = Timestamp(required=True)
    sent_at = Timestamp()
    attempts = Int(min=0, max=1000)
    last_error = Text(max_length=MAX_NOTE)
    next_attempt_at = Timestamp()  # a failed attempt waits until then (back-off)
    claimed_by = Text(max_length=100)  # the worker sending it now
    claimed_at = Timestamp()
    provider_id = Text(max_length=100)  # the SMS provider's message id (BizId, SerialNo)
    read_at = Timestamp()
    message_zh = Text(max_length=1000)
    message_en = Text(max_length=1000)
    case_id = DocRef("case")
    risk_id = DocRef("risk")

    @validates_schema(skip_on_field_errors=True)
    def _sent_needs_time(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["status"] == "sent" and "sent_at" not in data:
            raise ValidationError(bi("已发送的通知须有 sent_at", "A sent notification needs sent_at."),
                                  "sent_at")
