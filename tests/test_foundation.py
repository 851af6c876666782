"""Health, readiness, problem documents, body limits and security headers."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from litestar import Request

from server.errors import NotFound, Unavailable
from server.http import handle_unexpected, size_words
from tests.conftest import asgi_call
from tests.factories import make_world


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


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_a_nul_in_a_body_is_a_422_naming_the_field_however_the_body_is_labelled(client, conn, content_type):
    """Litestar decodes a route's JSON argument from any body; the NUL check must not depend on a label."""
    await make_world(conn)
    token = await client.login("admin")
    body = json.dumps({"code": "ZZ1", "name": {"en": "Region\u0000Z", "ur": "ریجن"}}).encode()
    headers = {"content-type": content_type} if content_type else {}
    response = await client.request("POST", "/api/v1/regions", token, content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "name.en", "message": "must not contain the NUL character (U+0000)"}]
    assert await conn.fetchval("SELECT count(*) FROM regions WHERE code = 'ZZ1'") == 0


async def test_a_body_with_a_nul_is_decoded_only_for_someone_signed_in(client, conn, monkeypatch):
    """Naming a NUL's field decodes the whole body: a made-up token must not buy that (a body of a
    million empty lists once held the event loop for half a minute)."""
    from server import http

    await make_world(conn)
    decoded: list[int] = []
    real = http.nul_problems
    monkeypatch.setattr(http, "nul_problems", lambda body: decoded.append(len(body)) or real(body))
    junk = b'["\\u0000",' + b"[]," * 300_000 + b"[]]"
    response = await client.request("POST", "/api/v1/regions", "made-up-token", content=junk)
    assert response.status_code == 401 and decoded == []
    token = await client.login("admin")
    response = await client.request("POST", "/api/v1/regions", token, content=junk)
    assert response.status_code == 422 and decoded == [len(junk)]
    assert response.json()["errors"][0]["field"] == "0"


async def test_oversized_json_body_is_refused_with_413(client):
    big = {"username": "x" * (3 * 1024 * 1024), "password": "y"}
    response = await client.post("/api/v1/auth/login", json=big)
    assert response.status_code == 413
    assert response.json()["status"] == 413
    # Said with the limit, at the body, as a handler's own 413 is (Litestar's said "Request Entity Too Large").
    limit = response.json()["max_bytes"]
    assert limit > 0 and f"larger than {size_words(limit)}" in response.json()["detail"]
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


def test_a_size_is_said_as_people_write_it():
    assert [size_words(n) for n in (32 << 20, 1 << 20, 3 << 10, 1500, 0)] == [
        "32 MiB",
        "1 MiB",
        "3 KiB",
        "1500 bytes",
        "0 bytes",
    ]


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


async def test_a_file_of_the_app_is_answered_304_when_the_client_holds_it_from_the_version_served(client):
    """Every file is sent no-cache, so a browser asks again each time: a copy of this version's is
    current (a version's files never change), and is told so without the file being sent again."""
    first = await client.get("/js/app.js")
    assert first.status_code == 200 and first.content
    tag, version = first.headers["etag"], first.headers["x-app-version"]
    assert tag == f'"{version}"' and first.headers["cache-control"] == "no-cache"
    again = await client.get("/js/app.js", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert (again.headers["etag"], again.headers["x-app-version"]) == (tag, version)
    assert "script-src 'self'" in again.headers["content-security-policy"]
    # A weak tag among others names it too, for the shell as for a module.
    assert (await client.get("/", headers={"If-None-Match": f'"0000000000000000", W/{tag}'})).status_code == 304
    # A copy of another version gets the file.
    other = await client.get("/js/app.js", headers={"If-None-Match": '"0000000000000000"'})
    assert other.status_code == 200 and other.content == first.content and other.headers["etag"] == tag
    # The API is no file of the app: its own tags (or none) apply; nor is a missing or private path.
    assert (await client.get("/health", headers={"If-None-Match": tag})).status_code == 200
    for path in ("/js/no-such-module.js", "/README.md"):
        assert (await client.get(path, headers={"If-None-Match": tag})).status_code == 404, path


async def test_api_answers_are_kept_by_no_cache_unless_the_route_says_how(client, conn):
    await make_world(conn)
    token = await client.login("inspector_a")
    for path, who in (("/api/v1/me", token), ("/api/v1/me", None), ("/api/v1/nothing-here", token)):
        assert (await client.get(path, who)).headers["cache-control"] == "no-store", path
    # A route that says how its answer may be kept is not overruled.
    bundle = await client.get("/api/v1/sync/bundle", token)
    assert bundle.status_code == 200 and bundle.headers["cache-control"] == "private, no-cache"
    # Files of the app itself may be cached (the service worker revalidates them).
    assert (await client.get("/")).headers.get("cache-control") != "no-store"


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
    # A probe's HEAD is told the same, with the length the problem document has.
    status, headers, body = await asgi_call(client, "HEAD", "/ready", {})
    assert (status, body) == (503, b"")
    assert int(headers["content-length"]) == len(response.content)
    assert headers["content-type"] == response.headers["content-type"]


async def _kill_the_request_waiting_on_an_uncommitted_region(client, started: threading.Event, killed: list) -> None:
    """Insert region RX without committing; once another backend waits for that row (the request
    creating RX too), terminate that backend: the request loses its connection in mid-query."""
    holder = await client.db()
    watcher = await client.db()
    try:
        async with holder.transaction():
            await holder.execute("INSERT INTO regions (code, name_en) VALUES ('RX', 'Held')")
            started.set()
            for _ in range(400):
                pid = await watcher.fetchval(
                    """SELECT pid FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1""",
                    holder.get_server_pid(),
                )
                if pid is not None:
                    killed.append(await watcher.fetchval("SELECT pg_terminate_backend($1)", pid))
                    break
                await asyncio.sleep(0.05)
            raise RuntimeError("roll the held region back")
    except RuntimeError:
        pass
    finally:
        await holder.close()
        await watcher.close()


async def test_a_connection_lost_in_the_middle_of_a_request_is_a_503_problem_not_a_500(client):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("admin")
    # The in-process client blocks this thread's event loop while the app answers, so the other
    # connection works from a thread with its own loop.
    started, killed = threading.Event(), []
    thread = threading.Thread(
        target=lambda: asyncio.run(_kill_the_request_waiting_on_an_uncommitted_region(client, started, killed)),
        daemon=True,
    )
    thread.start()
    assert started.wait(20)
    lost = await client.post("/api/v1/regions", token, json={"code": "RX", "name": {"en": "Region X", "ur": "ریجن"}})
    thread.join(30)
    assert killed == [True], "the request never waited for the held region"
    assert lost.status_code == 503, lost.text
    assert lost.headers["content-type"].startswith("application/problem+json")
    assert lost.headers["retry-after"]
    # The pool replaces the dead connection: the next request is answered.
    assert (await client.get("/api/v1/regions", token)).status_code == 200


def test_an_error_litestar_wraps_while_cleaning_up_a_dependency_is_answered_as_itself():
    # Litestar raises an ExceptionGroup when a dependency's cleanup raises a new exception (provide_conn
    # turning a failed release into Unavailable); the handler answers what is inside.
    request = Request(scope={"type": "http", "method": "GET", "path": "/api/v1/x", "headers": [], "app": None})
    wrapped = ExceptionGroup("Exceptions occurred during cleanup of dependencies", [Unavailable("gone")])
    answer = handle_unexpected(request, wrapped)
    assert answer.status_code == 503
    lost = ExceptionGroup("cleanup", [ConnectionResetError("reset by peer")])
    assert handle_unexpected(request, lost).status_code == 503
    refused = ExceptionGroup("cleanup", [NotFound("no such thing")])
    assert handle_unexpected(request, refused).status_code == 404


@pytest.mark.parametrize("path", ["/", "/index.html", "/sw.js", "/js/app.js", "/health", "/ready"])
async def test_head_on_what_a_monitor_probes_answers_its_get_headers_and_no_body(client, path):
    """A load balancer or uptime checker may probe with HEAD: a working server must not look broken
    (405), and a HEAD sends what its GET would announce, without the body (RFC 9110 §9.3.2)."""
    get_status, get_headers, body = await asgi_call(client, "GET", path, {})
    head_status, head_headers, head_body = await asgi_call(client, "HEAD", path, {})
    assert (get_status, head_status) == (200, 200)
    assert body and head_body == b""
    for name in ("content-type", "content-length", "cache-control", "etag", "x-app-version"):
        assert head_headers.get(name) == get_headers.get(name), name
    assert int(head_headers["content-length"]) == len(body)
