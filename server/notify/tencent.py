"""Tencent Cloud SMS ``SendSms`` (API 3.0, version ``2021-01-11``), signed TC3-HMAC-SHA256.

Signature per Tencent Cloud's documented "Signature v3" (签名方法 v3,
www.tencentcloud.com/document/api/1021/34193; every API 3.0 product, SMS (product 382)
included, carries the same page):

1. ``CanonicalRequest = Method \\n "/" \\n "" (POST) \\n CanonicalHeaders \\n SignedHeaders
   \\n hex(SHA256(body))`` with ``CanonicalHeaders = "content-type:<ct>\\nhost:<host>\\n"``
   and ``SignedHeaders = "content-type;host"``;
2. ``StringToSign = "TC3-HMAC-SHA256" \\n timestamp \\n <UTC date>/<service>/tc3_request \\n
   hex(SHA256(CanonicalRequest))``;
3. ``SecretDate = HMAC_SHA256("TC3" + SecretKey, date)``, ``SecretService =
   HMAC_SHA256(SecretDate, service)``, ``SecretSigning = HMAC_SHA256(SecretService,
   "tc3_request")``, ``Signature = hex(HMAC_SHA256(SecretSigning, StringToSign))``;
4. ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=…,
   Signature=…``, with ``X-TC-Action``, ``X-TC-Timestamp``, ``X-TC-Version``, ``X-TC-Region``.

The documented example (CVM ``DescribeInstances``, timestamp 1551113065, key
``Gu5t9xGARNpq86cd98joQYCN3EXAMPLE``) signs to ``72e494ea…25168``; the tests check it.

Answer: ``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": …, …}], "RequestId": …}}``
or ``{"Response": {"Error": {"Code": …, "Message": …}, "RequestId": …}}`` (HTTP 200 both).
Idempotency: SendSms has no idempotency key; ``SessionContext`` (echoed in receipts)
carries the notification id, and the outbox is at-most-once (``delivery``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from server.errors import ConfigError

from .senders import (
    PermanentSendError,
    TransientSendError,
    http_call,
    provider_template,
    template_params,
)

ENDPOINT = "https://sms.tencentcloudapi.com/"
SERVICE = "sms"
API_VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"
# Error codes (or their prefixes) after which a later attempt can succeed.
TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded.PhoneNumberThirtySecondLimit",
                      "LimitExceeded.PhoneNumberOneHourLimit", "ResourceUnavailable.ServiceUnavailable")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def canonical_request(host: str, payload: bytes, *, content_type: str = CONTENT_TYPE) -> str:
    return "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", SIGNED_HEADERS,
                      hashlib.sha256(payload).hexdigest()])


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                      hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def signature(secret_key: str, timestamp: int, service: str, to_sign: str) -> str:
    """Step 3 of the module docstring: the derived key chain, then hex HMAC-SHA256."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int,
                  service: str = SERVICE) -> str:
    """The ``Authorization`` header of a POST of ``payload`` to ``host`` at ``timestamp``."""
    sig = signature(secret_key, timestamp, service,
                    string_to_sign(timestamp, service, canonical_request(host, payload)))
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={SIGNED_HEADERS}, Signature={sig}")


def e164(phone: str) -> str:
    """Tencent wants E.164 (``+86…``); a bare 11-digit mainland number gets ``+86``."""
    phone = phone.strip()
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSms:
    """Sends SMS through Tencent Cloud ``SendSms`` (SmsSdkAppId, approved sign name and
    templates: our template name → numeric TemplateId)."""

    def __init__(self, *, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str,
                 templates: Mapping[str, str], region: str = "ap-guangzhou",
                 endpoint: str | None = None, timeout: float = 10.0, clock: Any = None) -> None:
        if not (secret_id and secret_key and sdk_app_id and sign_name):
            raise ConfigError("腾讯云短信须配置密钥、应用与签名：FENGQIAO_SMS_KEY_ID、FENGQIAO_SMS_KEY_SECRET、"
                              "FENGQIAO_SMS_APP_ID、FENGQIAO_SMS_SIGN_NAME",
                              "Tencent SMS needs FENGQIAO_SMS_KEY_ID, FENGQIAO_SMS_KEY_SECRET, "
                              "FENGQIAO_SMS_APP_ID and FENGQIAO_SMS_SIGN_NAME")
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = dict(templates)
        self.region = region
        self.endpoint = endpoint or ENDPOINT
        self.host = urlsplit(self.endpoint).netloc
        self.clock = clock or (lambda: datetime.now(UTC))
        self.client = httpx.Client(timeout=timeout)

    def body(self, notification: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "PhoneNumberSet": [e164(str(notification["recipient"]))], "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name, "TemplateId": provider_template(self.templates, notification),
            "TemplateParamSet": template_params(notification), "SessionContext": str(notification["_id"]),
        }

    def send(self, notification: Mapping[str, Any]) -> str | None:
        payload = json.dumps(self.body(notification), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self.clock().timestamp())
        headers = {
            "Authorization": authorization(self.secret_id, self.secret_key, self.host, payload, timestamp),
            "Content-Type": CONTENT_TYPE, "Host": self.host, "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": API_VERSION, "X-TC-Region": self.region,
        }
        request = self.client.build_request("POST", self.endpoint, content=payload, headers=headers)
        response = http_call(self.client, request)
        try:
            answer = response.json()["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientSendError(f"腾讯云返回 HTTP {response.status_code}，没有 Response",
                                     f"Tencent answered HTTP {response.status_code} without a Response") from exc
        error = answer.get("Error")
        if error:
            self._raise(str(error.get("Code")), str(error.get("Message")), answer.get("RequestId"))
        statuses = answer.get("SendStatusSet") or []
        if not statuses:
            raise PermanentSendError(f"腾讯云没有返回 SendStatusSet（RequestId {answer.get('RequestId')}）",
                                     f"Tencent answered no SendStatusSet (RequestId {answer.get('RequestId')})")
        status = statuses[0]
        if status.get("Code") != "Ok":
            self._raise(str(status.get("Code")), str(status.get("Message")), answer.get("RequestId"))
        return str(status.get("SerialNo") or "") or None

    @staticmethod
    def _raise(code: str, message: str, request_id: Any) -> None:
        text = f"Tencent {code}: {message} (RequestId {request_id})"
        if code.startswith(TRANSIENT_PREFIXES):
            raise TransientSendError(f"腾讯云暂不能发送：{text}", text)
        raise PermanentSendError(f"腾讯云拒绝发送：{text}", text)

    def close(self) -> None:
        self.client.close()
