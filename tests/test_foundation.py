"""Health, readiness, problem documents, body limits and security headers."""

from __future__ import annotations

import pytest


async def test_health_and_ready_answer_when_database_and_store_are_up(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_openapi_document_is_served_at_schema(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/auth/login" in paths and "/api/v1/users" in paths


async def test_unknown_fields_are_rejected_with_the_field_named(client):
    response = await client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "role": "admin"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"field": "role", "message": "Object contains unknown field `role`"}]


async def test_malformed_json_is_a_problem_document_not_a_crash(client):
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    body = response.json()
    assert body["status"] == response.status_code and body["title"]
    assert (await client.get("/health")).status_code == 200


async def test_oversized_json_body_is_refused_with_413(client):
    big = {"username": "x" * (3 * 1024 * 1024), "password": "y"}
    response = await client.post("/api/v1/auth/login", json=big)
    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_unknown_api_path_is_a_404_problem(client):
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["status"] == 404


@pytest.mark.parametrize("path", ["/health", "/api/v1/me", "/"])
async def test_every_response_carries_the_security_headers(client, path):
    response = await client.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers


async def test_hsts_is_sent_only_when_the_request_arrived_over_tls(client):
    # uvicorn turns a trusted proxy's X-Forwarded-Proto into the scope's scheme (tests/security/
    # test_headers.py checks that over a real socket); the app itself trusts only the scheme.
    response = await client.get("https://testserver.local/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    spoofed = await client.get("/health", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in spoofed.headers


async def test_ready_reports_a_broken_photo_store(client, tmp_path):
    store = client.http.app.state.store
    store.root = tmp_path / "file-not-dir"
    (tmp_path / "file-not-dir").write_text("x")
    response = await client.get("/ready")
    assert response.status_code == 503
    assert "photo store" in response.json()["detail"]
