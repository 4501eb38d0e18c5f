"""Cookie-authenticated state changes come only from our own pages (CSRF)."""

from __future__ import annotations

import base64

import pytest
from factories import PASSWORD
from testenv import login


@pytest.fixture
def app(site):  # type: ignore[no-untyped-def]
    site.provision()
    return site.app("synchronous")


def active(app, name: str) -> bool:  # type: ignore[no-untyped-def]
    return app.extensions["sync_gateway"].users.get(name)["active"]


def test_a_form_post_from_another_site_is_refused(app):  # type: ignore[no-untyped-def]
    admin = app.test_client()
    assert admin.post("/api/auth/login", json={"username": "root", "password": PASSWORD}).status_code == 200
    # the browser sends the cookie, but another site cannot read or send the CSRF token
    r = admin.post("/api/users/bob/deactivate", data={"x": "1"},
                   headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.get_json()["message_zh"] and r.get_json()["message_en"]
    r = admin.post("/api/users/bob/deactivate", json={}, headers={"Origin": "http://evil.example",
                                                                  "X-CSRF-Token": "guess"})
    assert r.status_code == 403
    r = admin.post("/api/users/bob/deactivate", json={})  # same site, no token
    assert r.status_code == 403 and r.get_json()["code"] == "csrf_failed"
    assert active(app, "bob")


def test_our_pages_with_the_token_and_basic_auth_scripts_work(app):  # type: ignore[no-untyped-def]
    admin = app.test_client()
    assert login(admin, "root", PASSWORD).status_code == 200
    r = admin.post("/api/users/bob/deactivate", json={}, headers={"Origin": "http://localhost"})
    assert r.status_code == 200, r.get_json()
    assert not active(app, "bob")
    script = app.test_client()
    basic = "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    r = script.post("/api/users/carol/deactivate", json={}, headers={"Authorization": basic,
                                                                     "Origin": "http://evil.example"})
    assert r.status_code == 200, r.get_json()


def test_reads_need_no_token(app):  # type: ignore[no-untyped-def]
    admin = app.test_client()
    admin.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
    assert admin.get("/api/auth/me").status_code == 200
