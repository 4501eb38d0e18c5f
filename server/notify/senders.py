"""The sender interface: one call delivers one notification, or says why it could not.

A sender returns the provider's id for the message (Aliyun ``BizId``, Tencent
``SerialNo``; None where there is none) or raises one of three errors, which decide what
the outbox does next (``server.notify.delivery``):

    SendError                 base; never raised itself (a ``server.errors.ServerError``)
    ├── TransientSendError    not sent, safe to try again later (connection refused,
    │                         HTTP 5xx, the provider's rate limit)            unavailable
    ├── PermanentSendError    not sent and never will be as it stands (bad signature or
    │                         key, unknown template, invalid number): failed at once  config
    └── UnknownOutcome        the request may have reached the provider (a read timeout
                              after sending): never retried — the outbox is at-most-once
                                                                              failed

Their messages (both languages, the provider's own words kept) are what an administrator
reads in the outbox (``last_error``). A settings problem found before anything is sent
(an unknown provider, missing keys, a malformed template list) is a
``server.errors.ConfigError``.

Any other exception from a sender counts as transient: a bug in a template or a dropped
connection before the request left is more often passing than not, and MAX_ATTEMPTS
bounds it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from server.errors import ConfigError, ServerError

log = logging.getLogger("fengqiao.notify")


class SendError(ServerError):
    """A notification was not delivered; subclasses say whether to try again."""


class TransientSendError(SendError):
    """Not sent; try again after a back-off."""

    kind = "unavailable"


class PermanentSendError(SendError):
    """Not sent, and trying again will not help."""

    kind = "config"


class UnknownOutcome(SendError):
    """The provider may or may not have taken the message; not retried (at-most-once)."""


class Sender(Protocol):
    """Delivers one notification; returns the provider's message id (or None)."""

    def send(self, notification: Mapping[str, Any]) -> str | None: ...


def digest(recipient: str) -> str:
    """A short stable digest of a recipient (for logs that must not show a phone number)."""
    import hashlib

    return hashlib.sha256(recipient.encode()).hexdigest()[:10]


class LogSender:
    """Logs each notification (no gateway): the development and demo sender."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log
        self.sent: list[str] = []

    def send(self, notification: Mapping[str, Any]) -> str | None:
        # The recipient may be a phone number: only its digest goes to the log.
        self.log.info("notification %s via %s to #%s: %s", notification["_id"], notification["channel"],
                      digest(str(notification["recipient"])), notification["template"])
        self.sent.append(notification["_id"])
        return None


class InAppDelivery:
    """In-app notices need no gateway: the document itself syncs to the recipient's
    tablet (scope ``u:<recipient>``) and shows on the workbench; marking it sent only
    records that it is out of the queue."""

    def send(self, notification: Mapping[str, Any]) -> str | None:
        return None


class ChannelRouter:
    """Picks the sender of a notification's channel; a channel without one fails
    permanently (a misconfiguration, not a passing fault)."""

    def __init__(self, senders: Mapping[str, Sender]) -> None:
        self.senders = dict(senders)

    def send(self, notification: Mapping[str, Any]) -> str | None:
        sender = self.senders.get(str(notification.get("channel")))
        if sender is None:
            raise PermanentSendError(f"未配置渠道 {notification.get('channel')!r} 的发送方式",
                                     f"no sender for channel {notification.get('channel')!r}")
        return sender.send(notification)


def sms_templates(spec: str | None) -> dict[str, str]:
    """``FENGQIAO_SMS_TEMPLATES`` (``case.accepted=SMS_1,case.closed=SMS_2``) as a dict.
    Raises ConfigError for an entry without ``=``."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"FENGQIAO_SMS_TEMPLATES：{part!r} 应为 模板=短信模板ID",
                              f"FENGQIAO_SMS_TEMPLATES: {part!r} is not template=provider_id")
        out[key.strip()] = value.strip()
    return out


def template_params(notification: Mapping[str, Any]) -> list[str]:
    """The values an SMS template fills, in order: the tracking code only. Every SMS
    template the county registers with its provider has one variable, the 查询码 (the
    party looks up everything else on the tracking page): a name, a matter or a unit in
    an SMS would pass through the provider and the carrier."""
    code = (notification.get("payload") or {}).get("tracking_code")
    if not code:
        raise PermanentSendError("短信缺少查询码", "SMS without a tracking code")
    return [str(code)]


def provider_template(templates: Mapping[str, str], notification: Mapping[str, Any]) -> str:
    """The provider's template id for our template name; PermanentSendError if none."""
    name = str(notification.get("template"))
    if name not in templates:
        raise PermanentSendError(f"未配置短信模板 {name}（FENGQIAO_SMS_TEMPLATES）",
                                 f"no SMS template configured for {name} (FENGQIAO_SMS_TEMPLATES)")
    return templates[name]


def http_call(client: Any, request: Any) -> Any:
    """Send one prepared ``httpx.Request``; map transport errors to the three outcomes.

    Before the request left (no connection, connect timeout, no free connection):
    transient. After it may have left (read timeout, dropped connection, a write that
    failed half-way): unknown, so never repeated. HTTP 5xx: transient (the provider says
    it did not take it); 429 likewise.
    """
    import httpx

    try:
        response = client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientSendError(f"无法连接短信服务商：{type(exc).__name__}: {exc}",
                                 f"provider unreachable: {type(exc).__name__}: {exc}") from exc
    except httpx.TransportError as exc:
        raise UnknownOutcome(f"已发出但无应答，结果未知：{type(exc).__name__}: {exc}",
                             f"no answer after sending: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSendError(f"短信服务商返回 HTTP {response.status_code}：{response.text[:300]}",
                                 f"provider HTTP {response.status_code}: {response.text[:300]}")
    return response
