"""The app factory, /healthz and the JSON error contract."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.config import ConfigError
from sync.embedded import free_port


def basic(name: str) -> dict[str, str]:
    import base64

    from factories import PASSWORD

    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def test_healthz_tells_anyone_up_or_down_and_an_administrator_more(app, client, site):
    client.environ_base["REMOTE_ADDR"] = "10.2.3.4"  # from elsewhere (loopback sees more)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}  # anonymous: up or down, nothing else
    site.provision()
    for who, details in (("alice", False), ("root", True)):
        body = client.get("/healthz", headers=basic(who)).get_json()
        assert body["status"] == "ok" and ("couchdb" in body) is details
    body = client.get("/healthz", headers=basic("root")).get_json()
    assert body["couchdb"]["reachable"] is True and body["couchdb"]["version"]
    assert "url" not in body["couchdb"]  # no address, no user, even for an administrator


def test_healthz_with_unreachable_couchdb_is_503_without_url_or_user(make_app):
    # /healthz is unauthenticated: it says what is wrong, never where CouchDB is or as whom.
    port = free_port()
    app = make_app(COUCHDB_URL=f"http://admin:pw@127.0.0.1:{port}/")
    response = app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": "10.2.3.4"})
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "degraded"}
    # on this machine itself the operator learns why, still without address or user
    local = app.test_client().get("/healthz").get_json()
    assert local["couchdb"]["reachable"] is False and "无法连接" in local["couchdb"]["message_zh"]
    assert str(port) not in str(local) and "admin" not in str(local)
    text = response.get_data(as_text=True)
    assert str(port) not in text and "admin" not in text and "pw" not in text


def test_unknown_route_answers_json_in_both_languages(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.is_json
    body = response.get_json()
    assert body["code"] == "not_found"
    assert body["message_zh"] == "未找到"
    assert body["message_en"]
    assert body["errors"] == {}


def test_wrong_method_is_json_405(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"


def test_unexpected_exception_is_json_500_without_traceback(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # let the handler answer, as in production
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert response.get_json()["code"] == "internal_error"


def test_production_refuses_couchdb_without_admin_credentials(couch_url):
    with pytest.raises(ConfigError) as info:
        create_app({"COUCHDB_URL": "http://127.0.0.1:5984/", "FENGQIAO_ENV": "production",
                    "FENGQIAO_SECRET_KEY": "k"})
    assert "admin credentials" in info.value.message_en


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError) as info:
        create_app({"COUCHDB_URL": "http://a:b@127.0.0.1:5984/", "FENGQIAO_ENV": "production"})
    assert "FENGQIAO_SECRET_KEY" in info.value.message_en


def test_bad_county_code_is_a_config_error():
    with pytest.raises(ConfigError, match="6-digit"):
        create_app({"COUCHDB_URL": "http://127.0.0.1:5984/", "FENGQIAO_COUNTY": "12"})


def test_the_bare_address_opens_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/")
