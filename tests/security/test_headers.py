"""Protective headers on every page and answer (server/headers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(make_app):  # type: ignore[no-untyped-def]
    return make_app("synchronous").test_client()


@pytest.mark.parametrize("path", ["/dashboard/", "/tablet/", "/api/docs", "/api/auth/me", "/sync/alice/",
                                  "/healthz", "/api/openapi.json"])
def test_every_answer_carries_the_protective_headers(client, path):  # type: ignore[no-untyped-def]
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP here


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/cases", "/sync/alice/", "/healthz"])
def test_answers_that_may_carry_personal_data_are_never_stored(client, path):  # type: ignore[no-untyped-def]
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script(client):  # type: ignore[no-untyped-def]
    for path in ("/dashboard/", "/tablet/", "/api/docs"):
        html = client.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            assert chunk.lstrip().startswith(("src=", 'type="module" src=')), (path, chunk[:80])
        assert " onclick=" not in html and " onload=" not in html


def test_hsts_over_tls(client):  # type: ignore[no-untyped-def]
    r = client.get("/dashboard/", base_url="https://localhost")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
