"""The API framework: OpenAPI document, docs without CDN, one error body everywhere."""

from __future__ import annotations


def test_openapi_document_lists_the_api(api_app):  # type: ignore[no-untyped-def]
    spec = api_app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/auth/login" in spec["paths"]


def test_docs_page_uses_only_local_files(api_app):  # type: ignore[no-untyped-def]
    client = api_app.test_client()
    html = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/vendor/swagger-ui-bundle.js" in html
    assert "http" not in html and "//" not in html.replace("/api/docs/vendor/", "")
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "init.js"):
        assert client.get(f"/api/docs/vendor/{name}").status_code == 200
    assert client.get("/api/docs/vendor/package.json").status_code == 404
    assert client.get("/api/docs/vendor/../../package.json").status_code == 404


def test_validation_error_has_our_body(api_app):  # type: ignore[no-untyped-def]
    r = api_app.test_client().post("/api/auth/login", json={"username": "x"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_error"
    assert set(body) == {"code", "message_zh", "message_en", "errors"}
    assert body["errors"]["password"][0]["message_en"] == "Missing data for required field."


def test_unknown_route_and_bad_json_have_our_body(api_app):  # type: ignore[no-untyped-def]
    client = api_app.test_client()
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and set(r.get_json()) == {"code", "message_zh", "message_en", "errors"}
    r = client.post("/api/auth/login", data="{not json", content_type="application/json")
    assert r.status_code in (400, 422)
    assert set(r.get_json()) == {"code", "message_zh", "message_en", "errors"}
