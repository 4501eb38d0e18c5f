"""Which sender the settings choose: the log (development), Aliyun or Tencent SMS, beside
in-app delivery. Apart from ``senders`` because the providers build on its interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.errors import ConfigError

from .senders import ChannelRouter, InAppDelivery, LogSender, Sender, sms_templates


def sender_from_settings(settings: Mapping[str, Any]) -> ChannelRouter:
    """The sender the settings describe: SMS through ``FENGQIAO_SMS_PROVIDER`` (``log``,
    ``aliyun`` or ``tencent``), in-app notices marked delivered. Raises ConfigError for a
    provider name, keys or template list that cannot work."""
    provider = str(settings.get("FENGQIAO_SMS_PROVIDER") or "log")
    templates = sms_templates(settings.get("FENGQIAO_SMS_TEMPLATES"))
    sms: Sender
    if provider == "log":
        sms = LogSender()
    elif provider == "aliyun":
        from .aliyun import AliyunSms

        sms = AliyunSms(access_key_id=str(settings.get("FENGQIAO_SMS_KEY_ID") or ""),
                        access_key_secret=str(settings.get("FENGQIAO_SMS_KEY_SECRET") or ""),
                        sign_name=str(settings.get("FENGQIAO_SMS_SIGN_NAME") or ""),
                        templates=templates, endpoint=settings.get("FENGQIAO_SMS_ENDPOINT") or None)
    elif provider == "tencent":
        from .tencent import TencentSms

        sms = TencentSms(secret_id=str(settings.get("FENGQIAO_SMS_KEY_ID") or ""),
                         secret_key=str(settings.get("FENGQIAO_SMS_KEY_SECRET") or ""),
                         sdk_app_id=str(settings.get("FENGQIAO_SMS_APP_ID") or ""),
                         sign_name=str(settings.get("FENGQIAO_SMS_SIGN_NAME") or ""),
                         templates=templates, region=str(settings.get("FENGQIAO_SMS_REGION") or "ap-guangzhou"),
                         endpoint=settings.get("FENGQIAO_SMS_ENDPOINT") or None)
    else:
        raise ConfigError(f"短信服务商 FENGQIAO_SMS_PROVIDER 须为 log、aliyun 或 tencent，实际为 {provider!r}",
                          f"FENGQIAO_SMS_PROVIDER must be log, aliyun or tencent, got {provider!r}")
    return ChannelRouter({"sms": sms, "in_app": InAppDelivery()})
