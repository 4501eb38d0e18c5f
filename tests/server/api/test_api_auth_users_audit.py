"""Logins (lockout, session expiry, cookie flags), user administration, the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import COUNTY, GRID_A, PASSWORD
from testenv import login

from server.audit import audit_db_name


class Clock:
    """A settable clock for ``FENGQIAO_CLOCK``."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_app(shared_site, clock):  # type: ignore[no-untyped-def]
    return shared_site.app("api", FENGQIAO_CLOCK=clock, FENGQIAO_SESSION_TIMEOUT=1800)


def _new_account(as_user, role: str = "grid_worker", areas: list[str] | None = None) -> str:  # type: ignore[no-untyped-def]
    name = f"u{uuid.uuid4().hex[:8]}"
    r = as_user("root").post("/api/users", json={"username": name, "password": PASSWORD, "role": role,
                                                 "area_codes": areas or [GRID_A]})
    assert r.status_code == 201, r.get_json()
    return name


def _login(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return login(client, name, password)


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(api_app, as_user):  # type: ignore[no-untyped-def]
    name = _new_account(as_user)
    client = api_app.test_client()
    r = _login(client, name)
    assert r.status_code == 200 and r.get_json()["role"] == "grid_worker"
    cookie = r.headers["Set-Cookie"]
    assert "fq_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development; production adds it
    assert client.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_production_refuses_couchdb_without_credentials_and_cookie_is_secure(
        shared_site, couch_url):  # type: ignore[no-untyped-def]
    from server.config import ConfigError
    from sync.couch import split_credentials

    # The same server without credentials (the embedded one never has any; COUCHDB_URL may).
    bare_url, _ = split_credentials(couch_url)
    with pytest.raises(ConfigError):
        shared_site.app("api", FENGQIAO_ENV="production", COUCHDB_URL=bare_url)
    app = shared_site.app("api")
    app.config["FENGQIAO_ENV"] = "production"  # as if started with credentials
    r = _login(app.test_client(), "alice")
    assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]


def test_failures_delay_the_guessing_address_progressively_never_the_owner(
        clocked_app, as_user, clock, couch, shared_site):  # type: ignore[no-untyped-def]
    name = _new_account(as_user)
    guesser = clocked_app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    for _ in range(5):
        r = _login(guesser, name, "Wrong0password")
        assert r.status_code == 401 and r.get_json()["code"] == "bad_credentials"
    r = _login(guesser, name)  # even the right password waits, from this address
    assert r.status_code == 429 and r.get_json()["code"] == "too_many_attempts"
    assert int(r.headers["Retry-After"]) == 30
    # the owner, from their own device, is not held back: nobody can lock anybody out
    owner = clocked_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    assert _login(owner, name).status_code == 200
    # administrators (of this process: the delays are kept in memory) see the delay, and it
    # grows with each further failure
    root = clocked_app.test_client()
    login(root, "root", PASSWORD)
    delays = root.get(f"/api/users/{name}").get_json()["login_delays"]
    assert [(d["address"], d["failures"]) for d in delays] == [("10.9.9.9", 5)]
    clock.advance(seconds=31)
    assert _login(guesser, name, "Wrong0password").status_code == 401
    assert int(_login(guesser, name).headers["Retry-After"]) == 60
    # an unknown name gets exactly the same answers
    for _ in range(5):
        assert _login(guesser, "nosuchuser", "Wrong0password").status_code == 401
    assert _login(guesser, "nosuchuser", "Wrong0password").status_code == 429
    # an administrator lifts the delays; the audit log has each step
    assert root.post(f"/api/users/{name}/unlock").status_code == 200
    assert _login(guesser, name).status_code == 200
    actions = [r["doc"]["action"] for r in couch.db(audit_db_name(shared_site.prefix, COUNTY)).all_docs(
        include_docs=True, startkey="audit:", endkey="audit:\ufff0")["rows"]
        if r["doc"].get("doc_id") == f"user:{name}"]
    assert {"login_failed", "login_throttled", "login_delays_lifted"} <= set(actions)


def test_failures_below_five_are_forgotten_after_a_success(clocked_app, as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    name = _new_account(as_user)
    client = clocked_app.test_client()
    for _ in range(4):
        _login(client, name, "Wrong0password")
    assert _login(client, name).status_code == 200
    for _ in range(4):
        _login(client, name, "Wrong0password")
    assert _login(client, name).status_code == 200


def test_session_expires_after_30_minutes_without_requests(clocked_app, clock):  # type: ignore[no-untyped-def]
    client = clocked_app.test_client()
    assert _login(client, "mia").status_code == 200
    clock.advance(minutes=29)
    assert client.get("/api/auth/me").status_code == 200  # activity refreshes the clock
    clock.advance(minutes=29)
    assert client.get("/api/auth/me").status_code == 200
    clock.advance(minutes=30, seconds=1)
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and r.get_json()["code"] == "session_expired"
    assert client.get("/api/auth/me").status_code == 401


def test_short_timeout_from_settings(shared_site, clock):  # type: ignore[no-untyped-def]
    app = shared_site.app("api", FENGQIAO_CLOCK=clock, FENGQIAO_SESSION_TIMEOUT=60)
    client = app.test_client()
    _login(client, "noah")
    clock.advance(seconds=61)
    assert client.get("/api/auth/me").status_code == 401


def test_admin_manages_users(api_app, as_user, couch, shared_site):  # type: ignore[no-untyped-def]
    root = as_user("root")
    weak = root.post("/api/users", json={"username": "weakling", "password": "short", "role": "grid_worker",
                                         "area_codes": [GRID_A]})
    assert weak.status_code == 422 and "password" in weak.get_json()["errors"]
    wrong_area = root.post("/api/users", json={"username": "faraway", "password": PASSWORD,
                                               "role": "township_mediator", "area_codes": ["110101001"]})
    assert wrong_area.status_code == 422 and "area_codes" in wrong_area.get_json()["errors"]
    users_db = couch.db(shared_site.topology.users_db())
    assert users_db.get_or_none("user:weakling") is None and users_db.get_or_none("user:faraway") is None
    name = _new_account(as_user)
    assert root.post("/api/users", json={"username": name, "password": PASSWORD, "role": "grid_worker",
                                         "area_codes": [GRID_A]}).status_code == 409

    etag = root.get(f"/api/users/{name}").headers["ETag"]
    r = root.patch(f"/api/users/{name}", json={"role": "township_mediator", "area_codes": ["339901002"]},
                   headers={"If-Match": etag})
    assert r.status_code == 200 and r.get_json()["role"] == "township_mediator"
    assert root.patch(f"/api/users/{name}", json={"display_name": "x"}, headers={"If-Match": etag}).status_code == 412
    profile = couch.db(shared_site.topology.township_db("339901002")).get(f"user:{name}")
    assert profile["role"] == "township_mediator" and "password_hash" not in profile

    client = api_app.test_client()
    assert _login(client, name).status_code == 200
    assert root.post(f"/api/users/{name}/deactivate").status_code == 200
    assert client.get("/api/auth/me").status_code == 401  # session ended at once
    assert _login(api_app.test_client(), name).status_code == 401
    assert root.post(f"/api/users/{name}/password", json={"password": "abc"}).status_code == 422
    assert root.post(f"/api/users/{name}/password", json={"password": "Maple.Bridge-9"}).status_code == 200
    assert root.patch(f"/api/users/{name}", json={"active": True}).status_code == 200
    assert _login(api_app.test_client(), name, "Maple.Bridge-9").status_code == 200
    assert root.post("/api/users/root/deactivate").status_code == 409


def test_user_list_pages_with_a_cursor(as_user):  # type: ignore[no-untyped-def]
    root = as_user("root")
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        url = "/api/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = root.get(url).get_json()
        assert len(body["items"]) <= 2
        seen += [u["username"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) and {"alice", "root", "rex"} <= set(seen)
    mediators = root.get("/api/users?role=township_mediator&limit=1").get_json()
    assert [u["role"] for u in mediators["items"]] == ["township_mediator"]
    assert root.get("/api/users?cursor=%%%").status_code == 422
    assert root.get("/api/users?limit=0").status_code == 422


def _audit(as_user, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = as_user("root").get(f"/api/audit?{query}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_reads_changes_and_logins_are_audited(api_app, as_user):  # type: ignore[no-untyped-def]
    mia = as_user("mia")
    case_id = mia.post("/api/cases", json={
        "area_code": GRID_A, "channel": "letter", "category": "other", "description": "噪音扰民",
        "parties": [{"role": "applicant", "name": "孙七"}]}).get_json()["case"]["_id"]
    mia.get(f"/api/cases/{case_id}", headers={"User-Agent": "audit-test/1.0"})
    as_user("rex").get(f"/api/cases/{case_id}")
    as_user("mia").post(f"/api/cases/{case_id}/events", json={"kind": "accepted"})
    reads = _audit(as_user, doc_id=case_id, action="case_read")
    assert [r["user"] for r in reads] == ["rex", "mia"]  # newest first
    assert reads[1]["user_agent"] == "audit-test/1.0" and reads[1]["remote_addr"] == "127.0.0.1"
    assert reads[1]["role"] == "township_mediator" and reads[1]["path"] == f"/api/cases/{case_id}"
    assert [r["action"] for r in _audit(as_user, doc_id=case_id, action="case_created")] == ["case_created"]
    events = _audit(as_user, user="mia", action="event_created")
    assert events[0]["detail"] == {"case_id": case_id, "kind": "accepted"}
    _login(api_app.test_client(), "mia", "Wrong0password")
    failed = _audit(as_user, user="mia", action="login_failed")
    assert failed and failed[0]["doc_id"] == "user:mia"
    # cursor pagination, newest first, no record twice
    first = as_user("root").get(f"/api/audit?doc_id={case_id}&limit=2").get_json()
    second = as_user("root").get(f"/api/audit?doc_id={case_id}&limit=2&cursor={first['next_cursor']}").get_json()
    ids = [r["_id"] for r in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
    # a period filter
    assert _audit(as_user, doc_id=case_id, until="2000-01-01T00:00:00%2B08:00") == []
