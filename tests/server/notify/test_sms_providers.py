"""The SMS adapters against local provider servers that check the documented signatures.

Each adapter's signing is first checked against the provider's own documented example
(Aliyun 签名机制: ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``; Tencent Signature v3:
``72e494ea…25168``), then every request the adapter sends is verified by the local server
(``providers.py``, written from the documents, not from ``server.notify``), which answers
in the documented success and error shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from providers import FakeAliyun, FakeTencent, aliyun_expected_signature, tencent_expected_signature

from server.config import ConfigError
from server.notify import aliyun, tencent
from server.notify.providers import sender_from_settings
from server.notify.senders import PermanentSendError, TransientSendError

TEMPLATES = {"case.accepted": "SMS_71390007", "case.closed": "SMS_71390008"}


def sms(n: int = 0, phone: str = "13700000000", template: str = "case.accepted") -> dict[str, Any]:
    return {"_id": f"notification:0b7a2f3e-1111-4222-8333-444455556677:e{n}:accepted:sms.x{n}",
            "channel": "sms", "recipient": phone, "template": template,
            "payload": {"tracking_code": "ABCDEFGHJK", "kind": "accepted"}}


# -- the documented examples ---------------------------------------------------------------

ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}


def test_aliyun_signature_matches_the_documented_example() -> None:
    assert aliyun.signature("testSecret", "GET", ALIYUN_DOC_PARAMS) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # and the test server's own verification agrees with the document too
    assert aliyun_expected_signature("testSecret", "GET", ALIYUN_DOC_PARAMS) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


TENCENT_DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_tencent_signature_matches_the_documented_example() -> None:
    canonical = tencent.canonical_request("cvm.tencentcloudapi.com", TENCENT_DOC_PAYLOAD)
    assert canonical.endswith("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    to_sign = tencent.string_to_sign(1551113065, "cvm", canonical)
    assert to_sign.splitlines() == ["TC3-HMAC-SHA256", "1551113065", "2019-02-25/cvm/tc3_request",
                                    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"]
    expected = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert tencent.signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", 1551113065, "cvm", to_sign) == expected
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    assert tencent_expected_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "POST", headers,
                                      ["content-type", "host"], TENCENT_DOC_PAYLOAD, "1551113065",
                                      "2019-02-25", "cvm") == expected


# -- against the local servers ---------------------------------------------------------------

@pytest.fixture
def fake_aliyun() -> Iterator[FakeAliyun]:
    server = FakeAliyun().start()
    yield server
    server.stop()


@pytest.fixture
def fake_tencent() -> Iterator[FakeTencent]:
    server = FakeTencent().start()
    yield server
    server.stop()


def aliyun_sender(server: FakeAliyun, **over: Any) -> aliyun.AliyunSms:
    args = {"access_key_id": server.key_id, "access_key_secret": server.secret, "sign_name": "某某县矛调中心",
            "templates": TEMPLATES, "endpoint": server.url, **over}
    return aliyun.AliyunSms(**args)


def tencent_sender(server: FakeTencent, **over: Any) -> tencent.TencentSms:
    args = {"secret_id": server.secret_id, "secret_key": server.secret_key, "sdk_app_id": server.app_id,
            "sign_name": "某某县矛调中心", "templates": {"case.accepted": "1110", "case.closed": "1111"},
            "endpoint": server.url, **over}
    return tencent.TencentSms(**args)


def test_aliyun_sends_with_a_signature_the_provider_accepts(fake_aliyun: FakeAliyun) -> None:
    sender = aliyun_sender(fake_aliyun)
    ids = [sender.send(sms(n)) for n in range(3)]
    assert all(i and i.startswith("9006197469364984^") for i in ids)
    assert fake_aliyun.accepted == {sms(n)["_id"]: 1 for n in range(3)} and fake_aliyun.refused == []


def test_aliyun_wrong_secret_is_refused_by_signature_and_fails_permanently(fake_aliyun: FakeAliyun) -> None:
    with pytest.raises(PermanentSendError, match="SignatureDoesNotMatch"):
        aliyun_sender(fake_aliyun, access_key_secret="wrong").send(sms())
    assert fake_aliyun.refused == ["SignatureDoesNotMatch"] and not fake_aliyun.accepted


def test_aliyun_error_codes_decide_retry(fake_aliyun: FakeAliyun) -> None:
    sender = aliyun_sender(fake_aliyun)
    with pytest.raises(PermanentSendError, match="isv.MOBILE_NUMBER_ILLEGAL"):
        sender.send(sms(phone="1370000abcd"))
    fake_aliyun.answer_code = "isv.BUSINESS_LIMIT_CONTROL"  # 流控: later may succeed
    with pytest.raises(TransientSendError, match="BUSINESS_LIMIT_CONTROL"):
        sender.send(sms())
    with pytest.raises(PermanentSendError, match="no SMS template"):
        sender.send(sms(template="case.followed_up"))


def test_tencent_sends_with_a_signature_the_provider_accepts(fake_tencent: FakeTencent) -> None:
    sender = tencent_sender(fake_tencent)
    serials = [sender.send(sms(n)) for n in range(2)]
    assert all(s and s.startswith("5000:") for s in serials)
    assert fake_tencent.accepted == {sms(n)["_id"]: 1 for n in range(2)} and fake_tencent.refused == []


def test_tencent_wrong_key_and_per_number_errors(fake_tencent: FakeTencent) -> None:
    with pytest.raises(PermanentSendError, match="AuthFailure.SignatureFailure"):
        tencent_sender(fake_tencent, secret_key="wrong").send(sms())
    fake_tencent.answer_code = "LimitExceeded.PhoneNumberThirtySecondLimit"
    with pytest.raises(TransientSendError):
        tencent_sender(fake_tencent).send(sms())
    fake_tencent.answer_code = "InvalidParameterValue.IncorrectPhoneNumber"
    with pytest.raises(PermanentSendError):
        tencent_sender(fake_tencent).send(sms())
    assert not fake_tencent.accepted


def test_unreachable_provider_is_transient() -> None:
    server = FakeAliyun().start()
    sender = aliyun_sender(server)
    server.stop()  # nothing listens on the port now
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.send(sms())


def test_sender_from_settings_routes_channels_and_refuses_bad_settings(fake_tencent: FakeTencent) -> None:
    router = sender_from_settings({
        "FENGQIAO_SMS_PROVIDER": "tencent", "FENGQIAO_SMS_KEY_ID": fake_tencent.secret_id,
        "FENGQIAO_SMS_KEY_SECRET": fake_tencent.secret_key, "FENGQIAO_SMS_APP_ID": fake_tencent.app_id,
        "FENGQIAO_SMS_SIGN_NAME": "某某县矛调中心", "FENGQIAO_SMS_TEMPLATES": "case.accepted=1110",
        "FENGQIAO_SMS_ENDPOINT": fake_tencent.url})
    router.send(sms())
    assert router.send({**sms(), "channel": "in_app", "recipient": "mia"}) is None
    assert sum(fake_tencent.accepted.values()) == 1
    with pytest.raises(PermanentSendError):
        router.send({**sms(), "channel": "wechat"})
    with pytest.raises(ConfigError):
        sender_from_settings({"FENGQIAO_SMS_PROVIDER": "carrier-pigeon"})
    with pytest.raises(ConfigError):
        sender_from_settings({"FENGQIAO_SMS_PROVIDER": "aliyun"})  # no keys
    with pytest.raises(ConfigError):
        sender_from_settings({"FENGQIAO_SMS_TEMPLATES": "case.accepted"})
