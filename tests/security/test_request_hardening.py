"""Who the client is behind a proxy, authentication before arguments, the users cursor."""

from __future__ import annotations

import base64

import pytest
from factories import PASSWORD

from server import audit
from server.api import encode_cursor


def basic(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture
def accounts_app(site):  # type: ignore[no-untyped-def]
    site.provision()
    return site.app("synchronous")


# -- FENGQIAO_TRUSTED_PROXIES ---------------------------------------------------------------------

NGINX = {"REMOTE_ADDR": "10.0.0.5"}  # the proxy's own address, as the server sees it


def lookup(client, forwarded_for: str) -> int:  # type: ignore[no-untyped-def]
    # a malformed tracking code: answered 404 after the per-address limit, without a database read
    return client.get("/api/track/AAAAAAAAAA", headers={"X-Forwarded-For": forwarded_for},
                      environ_base=NGINX).status_code


def test_behind_one_trusted_proxy_the_forwarded_address_is_the_client(make_app):  # type: ignore[no-untyped-def]
    client = make_app("synchronous", FENGQIAO_TRUSTED_PROXIES=1, FENGQIAO_TRACK_RATE_MAX=1).test_client()
    assert lookup(client, "203.0.113.7") == 404
    assert lookup(client, "203.0.113.8") == 404   # another client: its own budget
    assert lookup(client, "203.0.113.7") == 429   # the same client again
    # what a client writes in front of the proxy's entry is not believed
    assert lookup(client, "198.51.100.1, 203.0.113.8") == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make_app):  # type: ignore[no-untyped-def]
    client = make_app("synchronous", FENGQIAO_TRACK_RATE_MAX=1).test_client()
    assert lookup(client, "203.0.113.7") == 404
    assert lookup(client, "203.0.113.8") == 429   # both are the proxy's address 10.0.0.5


@pytest.mark.parametrize(("proxies", "seen"), [(1, "203.0.113.7"), (0, "10.0.0.5")])
def test_the_audit_log_records_the_client_address(make_app, proxies: int, seen: str):  # type: ignore[no-untyped-def]
    app = make_app("synchronous", FENGQIAO_TRUSTED_PROXIES=proxies)
    r = app.test_client().post("/api/auth/login", json={"username": "nobody", "password": "Wrong0password"},
                               headers={"X-Forwarded-For": "203.0.113.7"}, environ_base=NGINX)
    assert r.status_code == 401
    with app.app_context():
        records, _ = audit.query(action="login_failed")
    assert [r["remote_addr"] for r in records] == [seen]


# -- authentication before arguments -----------------------------------------------------------------

def test_an_anonymous_invalid_body_gets_401_without_field_details(accounts_app):  # type: ignore[no-untyped-def]
    client = accounts_app.test_client()
    r = client.post("/api/cases", json={"area_code": 5, "parties": "x"})
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"
    assert r.get_json()["errors"] in ({}, None) and "area_code" not in r.get_data(as_text=True)
    r = client.post("/api/users", json={"username": 1})
    assert r.status_code == 401 and "username" not in r.get_data(as_text=True)
    assert client.get("/api/users?limit=0").status_code == 401      # query arguments too
    assert client.get("/api/audit?since=yesterday").status_code == 401
    # signed in, the same body gets its field details
    r = client.post("/api/cases", json={"area_code": 5, "parties": "x"}, headers=basic("mia"))
    assert r.status_code == 422 and "area_code" in r.get_json()["errors"]


def test_public_endpoints_stay_public(accounts_app):  # type: ignore[no-untyped-def]
    client = accounts_app.test_client()
    r = client.post("/api/auth/login", json={"username": 1})
    assert r.status_code == 422 and "username" in r.get_json()["errors"]   # login validates its form
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/track/AAAAAAAAAA").status_code == 404
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/no-such-thing").status_code == 404


# -- /api/users cursor ----------------------------------------------------------------------------

def test_a_crafted_users_cursor_is_refused_and_lists_no_sessions(accounts_app):  # type: ignore[no-untyped-def]
    client = accounts_app.test_client()
    assert client.post("/api/auth/login", json={"username": "root", "password": PASSWORD}).status_code == 200
    for position in ("session:", "session:0", "", "user", {"startkey": "session:"}, 7, ["user:a"]):
        r = client.get(f"/api/users?cursor={encode_cursor(position)}", headers=basic("root"))
        assert r.status_code == 422, position
        body = r.get_json()
        assert "cursor" in body["errors"] and body["message_zh"] and body["message_en"]
    r = client.get(f"/api/users?cursor={encode_cursor('user:mia')}", headers=basic("root"))
    assert r.status_code == 200
    assert [u["username"] for u in r.get_json()["items"]] == ["mia", "noah", "rex", "root"]
    assert all(set(u) >= {"username", "role"} for u in r.get_json()["items"])
