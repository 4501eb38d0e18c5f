"""Aliyun SMS (短信服务, ``dysmsapi``) ``SendSms``: the RPC-style HTTP API, signature v1.

Signature per Aliyun's documented "签名机制" for the SMS API (RPC, ``SignatureMethod=HMAC-SHA1``,
``SignatureVersion=1.0``; help.aliyun.com/document_detail/101343, and Alibaba Cloud's
"Signature method" page for SMS, www.alibabacloud.com/help/en/sms/signature-method):

1. every parameter but ``Signature``, sorted by name, each name and value percent-encoded
   as RFC 3986 in UTF-8 (unreserved ``A-Z a-z 0-9 - _ . ~`` kept; space is ``%20``, never
   ``+``), joined as ``k=v`` with ``&`` — the canonicalized query string;
2. ``StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)``;
3. ``Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``.

The documented example (AccessKeyId ``testId``, secret ``testSecret``, nonce
``45e25e9b-…``, 2017-07-12T02:42:19Z) signs to ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``; the tests
check that vector and verify every request's signature independently.

API version ``2017-05-25`` (the mainland-China ``dysmsapi.aliyuncs.com`` endpoint). Answer:
``{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}``; anything but ``Code: OK``
is an error (HTTP 200 with e.g. ``isv.MOBILE_NUMBER_ILLEGAL``, or 4xx such as
``SignatureDoesNotMatch``).

Idempotency: SendSms has no idempotency key. ``OutId`` (an external id echoed in delivery
receipts, 回执) carries the notification id, so a receipt or the console can tell which
notification a message was; the outbox itself is at-most-once (``delivery``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from server.errors import ConfigError

from .senders import (
    PermanentSendError,
    TransientSendError,
    http_call,
    provider_template,
    template_params,
)

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"
# Codes after which trying again later can succeed (flow control, the provider's own fault).
TRANSIENT_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "isp.SYSTEM_ERROR",
                             "ServiceUnavailable", "InternalError"})


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's signature v1 wants it (``~`` kept, space ``%20``)."""
    return quote(str(value), safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
                    if k != "Signature")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """The Base64 HMAC-SHA1 signature of ``params`` (step 3 of the module docstring)."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    """Sends SMS through Aliyun ``SendSms`` with the account's approved sign name and
    templates (our template name → ``SMS_…`` code)."""

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str,
                 templates: Mapping[str, str], endpoint: str | None = None,
                 timeout: float = 10.0, clock: Any = None) -> None:
        if not (access_key_id and access_key_secret and sign_name):
            raise ConfigError("阿里云短信须配置密钥与签名：FENGQIAO_SMS_KEY_ID、FENGQIAO_SMS_KEY_SECRET、"
                              "FENGQIAO_SMS_SIGN_NAME",
                              "Aliyun SMS needs FENGQIAO_SMS_KEY_ID, FENGQIAO_SMS_KEY_SECRET and "
                              "FENGQIAO_SMS_SIGN_NAME")
        self.access_key_id = access_key_id
        self.secret = access_key_secret
        self.sign_name = sign_name
        self.templates = dict(templates)
        self.endpoint = endpoint or ENDPOINT
        self.clock = clock or (lambda: datetime.now(UTC))
        self.client = httpx.Client(timeout=timeout)

    def params(self, notification: Mapping[str, Any]) -> dict[str, str]:
        """Every request parameter but ``Signature``."""
        code = template_params(notification)[0]
        return {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON",
            "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION, "PhoneNumbers": str(notification["recipient"]),
            "SignName": self.sign_name, "TemplateCode": provider_template(self.templates, notification),
            "TemplateParam": json.dumps({"code": code}, ensure_ascii=False, separators=(",", ":")),
            "OutId": str(notification["_id"])[-256:],
        }

    def send(self, notification: Mapping[str, Any]) -> str | None:
        params = self.params(notification)
        # The query is written as it was signed (RFC 3986), as the documented example URL is.
        query = f"Signature={percent_encode(signature(self.secret, 'GET', params))}&{canonicalized_query(params)}"
        request = self.client.build_request("GET", f"{self.endpoint}?{query}")
        response = http_call(self.client, request)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientSendError(f"阿里云返回 HTTP {response.status_code}，没有 JSON",
                                     f"Aliyun answered HTTP {response.status_code} without JSON") from exc
        code = str(body.get("Code"))
        if code == "OK":
            return str(body.get("BizId") or "") or None
        message = f"Aliyun {code}: {body.get('Message')} (RequestId {body.get('RequestId')})"
        if code in TRANSIENT_CODES:
            raise TransientSendError(f"阿里云暂不能发送：{message}", message)
        raise PermanentSendError(f"阿里云拒绝发送：{message}", message)

    def close(self) -> None:
        self.client.close()
