"""Security headers on every response, added as the response starts.

This is a `before_send` hook of the app, not a route middleware: Litestar runs route middleware only
for requests that matched a route, so the router's own 404 and 405 answers would go out bare. A
hook on `send` sees every response the app gives: routes, static PWA files, /sw.js, /schema, errors.

HSTS is sent only when the request itself arrived over TLS, as the ASGI scope's scheme says. The
app does not read X-Forwarded-Proto itself: uvicorn (run with proxy_headers) rewrites the scheme
from that header only for connections from FORWARDED_ALLOW_IPS (default 127.0.0.1 and ::1, a proxy on
the same host), so a client cannot talk its way into the header, and a TLS-terminating proxy on
another host must be named there.
"""

from __future__ import annotations

from typing import Any

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")


async def add_security_headers(message: dict[str, Any], scope: dict[str, Any]) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {bytes(k).lower() for k, _ in headers}
    # A route may set its own value (a download's stricter policy); it is kept, never duplicated.
    headers.extend(h for h in _HEADERS if h[0] not in present)
    if scope.get("scheme") == "https" and _HSTS[0] not in present:
        headers.append(_HSTS)
    # What the API answers is one person's view of police records: unless a route says how it may be
    # kept (the bundle, photo renditions), no cache keeps it, so nothing of it outlives a sign-out in a
    # shared browser's HTTP cache or in a proxy on the way.
    if _NO_STORE[0] not in present and scope.get("path", "").startswith("/api/"):
        headers.append(_NO_STORE)
    message["headers"] = headers
