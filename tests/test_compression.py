"""The app's files and the offline bundle go gzipped to a client that takes it; the rest of the API
does not (photos are JPEG already, exports stream, an inspection's write is on the hot path)."""

from __future__ import annotations

import uuid

from server.app import PWA_DIR
from tests.inspection_fixtures import complete_answers, make_ctx

GZIP = {"Accept-Encoding": "gzip"}


async def test_the_shell_and_the_bundle_are_gzipped_and_the_rest_of_the_api_is_not(client):
    script = await client.get("/js/outbox.js", headers=GZIP)
    assert script.status_code == 200
    assert script.headers["content-encoding"] == "gzip"
    assert script.content == (PWA_DIR / "js" / "outbox.js").read_bytes()  # httpx undid the gzip
    assert "accept-encoding" in script.headers.get("vary", "").lower()
    # Not to a client that did not ask for it.
    plain = await client.get("/js/outbox.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == script.content

    ctx = await make_ctx(client)
    token = ctx.tokens["inspector_a"]
    bundle = await client.get("/api/v1/sync/bundle", token, headers=GZIP)
    assert bundle.status_code == 200 and bundle.headers["content-encoding"] == "gzip"
    assert bundle.json()["cursor"]

    for _ in range(4):
        put = await ctx.put(uuid.uuid4(), ctx.doc(answers=complete_answers()))
        assert put.status_code == 201 and "content-encoding" not in put.headers
    listed = await client.get("/api/v1/inspections", token, headers=GZIP)
    assert listed.status_code == 200 and "content-encoding" not in listed.headers
    assert len(listed.content) > 1024, "large enough to be gzipped were it not left out"
