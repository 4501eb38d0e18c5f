"""Passwords per MLPS 2.0 (等保 2.0) level 3, and an administrator's password is changed at
first login before anything else — API and sync alike."""

from __future__ import annotations

import base64

import pytest
from factories import GRID_A, PASSWORD
from testenv import login


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture
def app(site):  # type: ignore[no-untyped-def]
    app = site.app("synchronous", FENGQIAO_PASSWORD_CHANGE="always")
    site.provision()
    return app


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def create(admin, name: str, password: str):  # type: ignore[no-untyped-def]
    return admin.post("/api/users", json={"username": name, "password": password, "role": "grid_worker",
                                          "area_codes": [GRID_A]}, headers=basic("root", PASSWORD))


@pytest.mark.parametrize("password", ["password1", "Fengqiao1", "wang.wei1234", "Wang.Wei-2026",
                                      "Passw0rd2026", "short1A!", "alllowercase2026", "Fengqiao2026",
                                      "Qwerty123456"])
def test_weak_passwords_are_refused_with_the_rule(admin, password):  # type: ignore[no-untyped-def]
    r = create(admin, "wang.wei", password)
    assert r.status_code == 422, (password, r.get_json())
    body = r.get_json()
    assert "password" in body["errors"] and body["message_zh"] and body["message_en"]


def test_an_administrators_password_must_be_changed_before_anything_else(app, admin):  # type: ignore[no-untyped-def]
    initial = "Tea-Field#2031"
    assert create(admin, "wang.wei", initial).status_code == 201
    user = app.test_client()
    assert login(user, "wang.wei", initial).get_json()["must_change_password"] is True
    assert user.get("/api/auth/me").status_code == 200
    blocked = user.get("/api/cases")
    assert blocked.status_code == 403 and blocked.get_json()["code"] == "password_change_required"
    sync = app.test_client().get("/sync/wang.wei/", headers=basic("wang.wei", initial))
    assert sync.status_code == 403 and "初始密码" in sync.get_json()["reason"]

    wrong = user.post("/api/auth/password", json={"current_password": "nope-Nope-1", "new_password": "Ridge-Walk#77"})
    assert wrong.status_code == 401
    weak = user.post("/api/auth/password", json={"current_password": initial, "new_password": "password1"})
    assert weak.status_code == 422 and "new_password" in weak.get_json()["errors"]
    same = user.post("/api/auth/password", json={"current_password": initial, "new_password": initial})
    assert same.status_code == 422
    assert user.post("/api/auth/password", json={"current_password": initial,
                                                 "new_password": "Ridge-Walk#77"}).status_code == 204
    assert user.get("/api/auth/me").get_json()["must_change_password"] is False
    assert user.get("/api/cases").status_code == 200
    assert app.test_client().get("/sync/wang.wei/", headers=basic("wang.wei", "Ridge-Walk#77")).status_code == 200
    assert app.test_client().get("/sync/wang.wei/", headers=basic("wang.wei", initial)).status_code == 401


def test_a_reset_password_must_be_changed_too_and_the_demo_forces_nothing(app, admin):  # type: ignore[no-untyped-def]
    r = admin.post("/api/users/alice/password", json={"password": "Hill-Road#2032"}, headers=basic("root", PASSWORD))
    assert r.status_code == 200
    alice = app.test_client()
    assert login(alice, "alice", "Hill-Road#2032").get_json()["must_change_password"] is True
    # accounts provisioned without an administrator's choice (the demo's, the tests') are free
    bob = app.test_client()
    assert login(bob, "bob", PASSWORD).get_json()["must_change_password"] is False


def test_in_development_nothing_is_forced(site):  # type: ignore[no-untyped-def]
    app = site.app("synchronous")
    site.provision()
    assert create(app.test_client(), "li.na", "Tea-Field#2031").status_code == 201
    user = app.test_client()
    assert login(user, "li.na", "Tea-Field#2031").get_json()["must_change_password"] is False
    assert user.get("/api/cases").status_code == 200
