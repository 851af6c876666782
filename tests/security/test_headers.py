"""Security headers on every kind of response, photos served safely, errors without stack traces, and
tokens and passwords kept out of the server's log.

Decisions these tests hold the app to (server/security.py says why):
- One strict Content-Security-Policy for everything: no inline script or style, no remote origin,
  frame-ancestors 'none'. The OpenAPI document is served as JSON only (/schema and
  /schema/openapi.json): Litestar's HTML viewers load their scripts from a CDN, which that policy
  blocks, and a policy relaxed for them would protect nothing.
- HSTS only when the request arrived over TLS. The app trusts the ASGI scheme alone; uvicorn sets it
  from X-Forwarded-Proto for proxies listed in FORWARDED_ALLOW_IPS (default 127.0.0.1).
- A token travels only in the Authorization header, never in a URL, so access logs cannot catch one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.demo.content import DEMO_PASSWORDS
from server.embedded import with_database
from tests.conftest import ROOT, LiveServer, clone_database, drop_database
from tests.factories import ApiClient, make_world
from tests.security.conftest import STACK_TRACE_MARKERS, Scene, assert_security_headers

PWA = ROOT / "pwa"


async def test_every_kind_of_response_carries_the_strict_security_headers(client: ApiClient):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    inspector = await client.login("inspector_a")
    static = ["/", "/index.html", "/sw.js", "/manifest.webmanifest", "/js/app.js", "/css/app.css"]
    requests = [
        *[("GET", path, None, {}) for path in static],
        ("GET", "/schema", None, {}),
        ("GET", "/schema/openapi.json", None, {}),
        ("GET", "/schema/nothing", None, {}),
        ("GET", "/health", None, {}),
        ("GET", "/ready", None, {}),
        ("GET", "/api/v1/me", inspector, {}),  # 200
        ("GET", "/api/v1/me", None, {}),  # 401
        ("GET", "/api/v1/users", inspector, {}),  # 403
        ("GET", f"/api/v1/inspections/{uuid.uuid4()}", inspector, {}),  # 404 from the handler
        ("GET", "/api/v1/no-such-route", inspector, {}),  # 404 from the router
        ("GET", "/no-such-file.js", None, {}),  # 404 from the static files
        ("DELETE", "/health", None, {}),  # 405
        ("POST", "/api/v1/auth/login", None, {"json": {"username": "x"}}),  # 422
        ("POST", "/api/v1/auth/login", None, {"content": b"{", "headers": {"Content-Type": "application/json"}}),
        ("PUT", f"/api/v1/inspections/{uuid.uuid4()}", inspector, {"content": b"x" * (3 * 1024 * 1024)}),  # 413
    ]
    seen: set[int] = set()
    for method, path, token, kwargs in requests:
        response = await client.request(method, path, token, **kwargs)
        seen.add(response.status_code)
        try:
            assert_security_headers(response.headers)
        except AssertionError as exc:
            raise AssertionError(f"{method} {path} ({response.status_code}): {exc}") from None
        assert "strict-transport-security" not in response.headers, (method, path)
        if response.status_code >= 400 and not path.startswith("/schema/"):
            assert response.headers["content-type"].startswith("application/problem+json"), (method, path)
    assert {200, 400, 401, 403, 404, 405, 413, 422} <= seen
    schema = await client.get("/schema")
    assert schema.json()["openapi"].startswith("3.")  # the document itself, not an HTML viewer
    assert "text/html" not in schema.headers["content-type"]


async def test_the_pwa_directory_serves_the_shell_and_not_the_developers_notes_and_tools(client: ApiClient):
    assert (PWA / "README.md").is_file() and (PWA / "tools" / "make_icons.py").is_file()
    for path in ["/README.md", "/tools/make_icons.py", "/tools/", "/js/../README.md", "/%2e%2e/README.md"]:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "Muaina" not in response.text and "import" not in response.text, path
    for path in ["/", "/index.html", "/js/app.js", "/manifest.webmanifest", "/icons/icon-192.png"]:
        assert (await client.get(path)).status_code == 200, path


async def test_hsts_is_sent_over_tls_only_and_never_on_a_client_claim(client: ApiClient):
    over_tls = await client.get("https://testserver.local/api/v1/me")
    assert over_tls.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    claimed = await client.get("/health", headers={"X-Forwarded-Proto": "https", "Forwarded": "proto=https"})
    assert "strict-transport-security" not in claimed.headers


def test_the_pwa_shell_needs_nothing_the_policy_forbids():
    html = (PWA / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html, flags=re.I), "inline style attribute"
    assert not re.search(r"<style\b", html, flags=re.I), "inline style element"
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html, flags=re.I), "remote origin"
    for source in PWA.rglob("*.js"):
        if "node_modules" in source.parts or "tools" in source.parts:
            continue
        text = source.read_text(encoding="utf-8")
        # A token is sent in the Authorization header only; no URL the app builds carries one.
        assert not re.search(r"[?&](access_)?token=", text), source
        assert "eval(" not in text and "new Function(" not in text, source


@pytest.mark.asyncio(loop_scope="module")
async def test_photos_are_served_as_inline_renditions_and_an_attachment_original_never_sniffed(scene: Scene):
    photo, token = scene.ids["A"]["photo_id"], scene.tokens["reviewer_a"]
    for kind, disposition in (("thumb", "inline"), ("display", "inline"), ("original", "attachment")):
        response = await scene.client.get(f"/api/v1/photos/{photo}/{kind}", token)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"].startswith(f'{disposition}; filename="{photo}')
        assert_security_headers(response.headers)
        expected = "application/octet-stream" if kind == "original" else "image/jpeg"
        assert response.headers["content-type"] == expected
        assert response.headers["cache-control"].startswith("private")


async def test_a_token_in_the_query_string_is_never_accepted(client: ApiClient):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("admin")
    assert (await client.get("/api/v1/me", token)).status_code == 200
    for name in ("token", "access_token", "auth", "authorization", "bearer"):
        for value in (token, f"Bearer {token}"):
            response = await client.get("/api/v1/me", params={name: value})
            assert response.status_code == 401, (name, response.text)
    cookie = await client.get("/api/v1/me", headers={"Cookie": f"token={token}; session={token}"})
    assert cookie.status_code == 401


async def test_an_unexpected_error_is_a_problem_document_with_no_trace_or_secret(
    client: ApiClient, monkeypatch, caplog: pytest.LogCaptureFixture
):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("inspector_a")
    from server.auth import routes

    async def broken(*_args: object) -> None:
        raise RuntimeError('File "/srv/muaina/server/secret.py", line 7: password=hunter2')

    monkeypatch.setattr(routes.queries, "get_user", broken)
    with caplog.at_level(logging.DEBUG):
        response = await client.get("/api/v1/me", token)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    rid = response.headers["x-request-id"]  # the reference a user quotes, nothing else of the error
    assert response.json() == {
        "title": "Internal server error",
        "status": 500,
        "detail": f"something went wrong on the server; it has been logged under the reference {rid}",
        "request_id": rid,
    }
    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS) and "hunter2" not in response.text
    assert_security_headers(response.headers)
    # The server keeps the trace for itself, and the caller's token is not part of it.
    assert "RuntimeError" in caplog.text and "/api/v1/me" in caplog.text
    assert token not in caplog.text


# The log of a real server at DEBUG ----------------------------------------------------------------


def test_a_debug_server_log_holds_no_token_and_no_password(pg_admin_url: str, demo_template_db: str, tmp_path: Path):
    name = asyncio.run(clone_database(pg_admin_url, demo_template_db))
    server = LiveServer(with_database(pg_admin_url, name), tmp_path / "live", env={"LOG_LEVEL": "DEBUG"})
    secrets: list[str] = []
    try:
        server.start()
        url = server.url
        wrong = "not-the-password-" + uuid.uuid4().hex[:8]
        secrets += [DEMO_PASSWORDS["admin"], DEMO_PASSWORDS["inspector"], wrong]
        with httpx.Client(base_url=url, timeout=30) as http:
            refused = http.post("/api/v1/auth/login", json={"username": "admin", "password": wrong})
            assert refused.status_code == 401
            admin = server.login("admin", DEMO_PASSWORDS["admin"])
            inspector = server.login("inspector.ali", DEMO_PASSWORDS["inspector"])
            secrets += [admin, inspector]
            auth = {"Authorization": f"Bearer {admin}"}
            new_password = "new-user-password-" + uuid.uuid4().hex[:8]
            secrets.append(new_password)
            assert (
                http.post(
                    "/api/v1/users",
                    headers=auth,
                    json={
                        "username": "log.check",
                        "display_name": "Log Check",
                        "password": new_password,
                        "role": "admin",
                    },
                ).status_code
                == 201
            )
            for method, path, token, body in [
                ("GET", "/api/v1/me", admin, None),
                ("GET", "/api/v1/users", inspector, None),
                ("GET", f"/api/v1/inspections/{uuid.uuid4()}", inspector, None),
                ("PUT", f"/api/v1/inspections/{uuid.uuid4()}", inspector, {"station_id": "x"}),
                ("POST", "/api/v1/auth/login", None, {"username": "admin", "password": wrong}),
                ("GET", "/api/v1/me", "not-a-real-token-" + uuid.uuid4().hex, None),
                ("GET", "/no-such-file", None, None),
            ]:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                assert http.request(method, path, headers=headers, json=body).status_code >= 200
            # A TLS-terminating proxy on this host (loopback is uvicorn's default trusted proxy) gets HSTS.
            proxied = http.get("/health", headers={"X-Forwarded-Proto": "https"})
            assert proxied.headers["strict-transport-security"].startswith("max-age=")
            assert http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {inspector}"}).status_code == 204
    finally:
        server.stop()
        asyncio.run(drop_database(pg_admin_url, name))
    log = server.log.read_text(encoding="utf-8", errors="replace")
    # The log was written at DEBUG and saw the requests, so its silence about secrets means something.
    assert "GET /api/v1/me" in log and "POST /api/v1/auth/login" in log and " DEBUG " in log
    leaked = [secret[:6] + "..." for secret in secrets if secret in log]
    assert not leaked, f"secrets in {server.log}: {leaked}"
    assert not re.search(r"(?i)authorization|bearer [A-Za-z0-9_-]{20}", log)


# Behind a reverse proxy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "seen_as"),
    [(None, "203.0.113.7"), ("10.0.0.0/8", "127.0.0.1")],
    ids=["the proxy on this machine is believed", "a client not listed is not"],
)
def test_the_client_address_comes_from_x_forwarded_for_only_through_a_listed_proxy(
    pg_admin_url: str, demo_template_db: str, tmp_path: Path, proxies: str | None, seen_as: str
):
    # What login throttling and the audit log take as the caller's address. The test connects from
    # 127.0.0.1: the default list trusts it as a proxy on the same machine; a list without it does not.
    env = {"FORWARDED_ALLOW_IPS": proxies} if proxies else {}
    name = asyncio.run(clone_database(pg_admin_url, demo_template_db))
    server = LiveServer(with_database(pg_admin_url, name), tmp_path / "live", env=env)
    if proxies is None:
        server.env.pop("FORWARDED_ALLOW_IPS", None)
    try:
        server.start()
        claim = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        refused = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"username": "admin", "password": "not-the-password"},
            headers=claim,
            timeout=30,
        )
        assert refused.status_code == 401
        # HTTPS, too, is believed only from a listed proxy.
        assert ("strict-transport-security" in refused.headers) == (proxies is None)

        async def logged_ip() -> str:
            conn = await asyncpg.connect(server.database_url)
            try:
                return await conn.fetchval(
                    "SELECT ip FROM audit_log WHERE action = 'auth.login_failed' ORDER BY seq DESC LIMIT 1"
                )
            finally:
                await conn.close()

        assert asyncio.run(logged_ip()) == seen_as
    finally:
        server.stop()
        asyncio.run(drop_database(pg_admin_url, name))
