"""Local stand-ins for the SMS providers: real HTTP servers on 127.0.0.1 that verify each
request's signature the way the provider documents it — written here from the documents,
independently of ``server.notify`` — and answer in the provider's documented shapes.

They count requests per message (Aliyun ``OutId``, Tencent ``SessionContext``) so tests can
assert that nothing was sent twice, and can be stopped and started again on the same
port (an outage).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


class FakeProvider:
    """Base: a threaded HTTP server, started and stopped by the test."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.server: ThreadingHTTPServer | None = None
        self.accepted: Counter[str] = Counter()  # message id → accepted requests
        self.refused: list[str] = []  # error codes answered
        self.answer_code: str | None = None  # force this error code for the next requests
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                provider.handle(self, b"")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.handle(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def reply(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError


def aliyun_encode(value: str) -> str:
    # "字符 A~Z、a~z、0~9 以及字符 -、_、.、~ 不编码 … 空格编码成 %20" (Aliyun 签名机制)
    return quote(value, safe="-_.~")


def aliyun_expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in sorted(params.items())
                         if k != "Signature")
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeAliyun(FakeProvider):
    """dysmsapi ``SendSms`` 2017-05-25, RPC style, signature v1 (HMAC-SHA1)."""

    def __init__(self, key_id: str = "LTAItestkey", secret: str = "aliyun-test-secret") -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret
        self.nonces: set[str] = set()

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        request_id = str(uuid.uuid4()).upper()
        params = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))

        def error(status: int, code: str, message: str) -> None:
            with self.lock:
                self.refused.append(code)
            self.reply(handler, status, {"RequestId": request_id, "HostId": "dysmsapi.aliyuncs.com",
                                         "Code": code, "Message": message})

        if params.get("AccessKeyId") != self.key_id:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return error(400, "InvalidParameter", "SignatureMethod/SignatureVersion")
        if params.get("Signature") != aliyun_expected_signature(self.secret, "GET", params):
            return error(400, "SignatureDoesNotMatch",
                         "Specified signature is not matched with our calculation.")
        with self.lock:
            if params["SignatureNonce"] in self.nonces:
                return error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self.nonces.add(params["SignatureNonce"])
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return error(400, "InvalidAction.NotFound", "Specified api is not found")
        if not params.get("PhoneNumbers", "").isdigit():
            return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        json.loads(params["TemplateParam"])
        if self.answer_code:
            return error(200, self.answer_code, "forced by the test")
        with self.lock:
            self.accepted[params.get("OutId", "")] += 1
        self.reply(handler, 200, {"Message": "OK", "RequestId": request_id, "Code": "OK",
                                  "BizId": f"9006197469364984^{len(self.nonces)}"})


def tc3_hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tencent_expected_signature(secret_key: str, method: str, headers: dict[str, str], signed: list[str],
                               payload: bytes, timestamp: str, date: str, service: str) -> str:
    canonical_headers = "".join(f"{h}:{headers[h].strip().lower()}\n" for h in signed)
    canonical = "\n".join([method, "/", "", canonical_headers, ";".join(signed),
                           hashlib.sha256(payload).hexdigest()])
    to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, f"{date}/{service}/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = tc3_hmac(tc3_hmac(tc3_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencent(FakeProvider):
    """SMS ``SendSms`` 2021-01-11, API 3.0, TC3-HMAC-SHA256."""

    def __init__(self, secret_id: str = "AKIDtestsecretid", secret_key: str = "tencent-test-key",
                 app_id: str = "1400000001") -> None:
        super().__init__()
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        request_id = str(uuid.uuid4())
        headers = {k.lower(): v for k, v in handler.headers.items()}

        def error(code: str, message: str) -> None:
            with self.lock:
                self.refused.append(code)
            self.reply(handler, 200, {"Response": {"Error": {"Code": code, "Message": message},
                                                   "RequestId": request_id}})

        auth = headers.get("authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            secret_id, date, service, term = parts["Credential"].split("/")
        except ValueError:
            return error("AuthFailure.InvalidAuthorization", "Authorization is invalid")
        if algorithm != "TC3-HMAC-SHA256" or term != "tc3_request" or service != "sms":
            return error("AuthFailure.InvalidAuthorization", "Credential scope")
        if secret_id != self.secret_id:
            return error("AuthFailure.SecretIdNotFound", "The SecretId is not found")
        timestamp = headers.get("x-tc-timestamp", "")
        if datetime.fromtimestamp(int(timestamp or 0), UTC).strftime("%Y-%m-%d") != date:
            return error("AuthFailure.InvalidAuthorization", "Credential date does not match X-TC-Timestamp")
        signed = parts["SignedHeaders"].split(";")
        if not {"content-type", "host"} <= set(signed):
            return error("AuthFailure.InvalidAuthorization", "SignedHeaders")
        expected = tencent_expected_signature(self.secret_key, handler.command, headers, signed, body,
                                              timestamp, date, service)
        if parts["Signature"] != expected:
            return error("AuthFailure.SignatureFailure",
                         "The provided credentials could not be validated. Please check your signature is correct.")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return error("InvalidAction", "The action or version is not valid")
        request = json.loads(body)
        if request.get("SmsSdkAppId") != self.app_id:
            return error("FailedOperation.MissingTemplateToModify", "SmsSdkAppId")
        phone = request["PhoneNumberSet"][0]
        if self.answer_code:
            code = self.answer_code
            with self.lock:
                self.refused.append(code)
            status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": request["SessionContext"],
                      "Code": code, "Message": "forced by the test", "IsoCode": "CN"}
        else:
            with self.lock:
                self.accepted[request.get("SessionContext", "")] += 1
            status = {"SerialNo": f"5000:{uuid.uuid4().int % 10**20}", "PhoneNumber": phone, "Fee": 1,
                      "SessionContext": request["SessionContext"], "Code": "Ok", "Message": "send success",
                      "IsoCode": "CN"}
        self.reply(handler, 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}})
