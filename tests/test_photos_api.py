"""The photo API against real PostgreSQL and both photo stores (a directory, and S3 protocol on moto).

Inspections are inserted with SQL: these tests are about photos, and the rows an inspection sync
writes are all the photo API reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from server.app import create_app
from server.audit.queries import AUDIT_LOCK_ID
from server.errors import Unavailable
from server.photos import rules
from server.photos.pipeline import REUSE_MAX_DISTANCE, hamming
from server.photos.recovery import recover_photos
from server.photos.sweeper import sweep_orphans
from tests.conftest import asgi_call, make_settings, s3_overrides
from tests.factories import ApiClient, World, await_photos, make_version, make_world
from tests.photo_corpus import make_phone_jpeg, oversized_jpeg
from tests.s3server import S3Server

TEXT = {"en": "Item", "ur": "آئٹم"}
DEFINITION = {
    "title": {"en": "Test inspection", "ur": "معائنہ"},
    "sections": [
        {
            "key": "front",
            "title": TEXT,
            "items": [
                {"key": "fd_staffed", "type": "yes_no", "label": TEXT, "min_photos": 1},
                {"key": "lockup", "type": "photo", "label": TEXT},
            ],
        }
    ],
}


@dataclass
class Env:
    api: ApiClient
    world: World
    version_id: uuid.UUID
    inspector_a: str

    @property
    def app(self) -> Any:
        return self.api.http.app

    async def token(self, username: str) -> str:
        return self.api.tokens.get(username) or await self.api.login(username)


async def make_inspection(
    api: ApiClient, env_world: World, version_id: uuid.UUID, *, station: str = "A", inspector: str = "inspector_a"
) -> uuid.UUID:
    """A stored draft inspection, as a sync leaves it, for tests that are only about its photos."""
    inspection_id = uuid.uuid4()
    conn = await api.db()
    try:
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document)
               VALUES ($1, $2, $3, $4, 'draft', 1, '\\x00', '{"answers": {}}')""",
            inspection_id,
            env_world.stations[station],
            version_id,
            env_world.users[inspector],
        )
    finally:
        await conn.close()
    return inspection_id


async def make_env(api: ApiClient) -> Env:
    conn = await api.db()
    try:
        world = await make_world(conn)
        version_id = await make_version(conn, DEFINITION)
    finally:
        await conn.close()
    return Env(api=api, world=world, version_id=version_id, inspector_a=await api.login("inspector_a"))


async def upload(
    env: Env,
    data: bytes,
    *,
    photo_id: uuid.UUID | None = None,
    inspection_id: uuid.UUID,
    item_key: str = "fd_staffed",
    token: str | None = None,
    **params: Any,
):
    return await env.api.put(
        f"/api/v1/photos/{photo_id or uuid.uuid4()}",
        token or env.inspector_a,
        content=data,
        params={"inspection_id": str(inspection_id), "item_key": item_key, **params},
        headers={"Content-Type": "image/jpeg"},
    )


async def stored_objects(env: Env) -> list[str]:
    store = env.app.state.store
    return [key for prefix in rules.PREFIXES async for key in store.list_keys(prefix)]


async def rows(env: Env, sql: str, *args: Any) -> list[Any]:
    conn = await env.api.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return img.size


def assert_no_metadata(data: bytes) -> None:
    assert b"Exif" not in data and b"GPS" not in data and b"Muaina" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
        assert "exif" not in img.info and "icc_profile" not in img.info and "comment" not in img.info


@pytest.fixture
async def env(any_client: ApiClient) -> Env:
    return await make_env(any_client)


@pytest.fixture
async def denv(client: ApiClient) -> Env:
    """The directory store only: for behaviour that does not depend on the store."""
    return await make_env(client)


@pytest.fixture
async def small_limit_env(database_url: str, tmp_path: Path, executor) -> AsyncIterator[Env]:
    settings = make_settings(database_url, tmp_path / "var", max_photo_bytes=64 * 1024)
    async with AsyncTestClient(
        create_app(settings, executor=executor, run_migrations=False), raise_server_exceptions=False
    ) as http:
        yield await make_env(ApiClient(http, database_url))


async def asgi_put(env: Env, path: str, query: str, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """PUT straight through ASGI: the status, the body, and how many body chunks the app read.

    httpx's test transport cannot stream a body and runs one request at a time, so the streaming
    and concurrency tests speak ASGI themselves. Chunks go without Content-Length.
    """
    consumed = 0
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        if consumed == len(chunks):
            return {"type": "http.disconnect"}
        consumed += 1
        return {"type": "http.request", "body": chunks[consumed - 1], "more_body": consumed < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver.local"), (b"authorization", f"Bearer {env.inspector_a}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    # The app lives on the test client's own event loop (where the pool is), in another thread;
    # each call from a thread of ours runs there as a task of its own, so calls overlap for real.
    await asyncio.to_thread(env.api.http.blocking_portal.call, env.app, scope, receive, send)
    return status, bytes(body), consumed


async def concurrent_upload(
    env: Env, data: bytes, *, inspection_id: uuid.UUID, photo_id: uuid.UUID | None = None
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await asgi_put(
        env, f"/api/v1/photos/{photo_id or uuid.uuid4()}", f"inspection_id={inspection_id}&item_key=fd_staffed", [data]
    )
    return status, json.loads(body)


# The core round trip, on both stores -------------------------------------------------------------

PHOTO_GPS = (31.5206, 74.3590, 214.0)
SHOT_AT = datetime(2026, 11, 27, 9, 15, tzinfo=timezone(timedelta(hours=5)))


async def test_an_upload_keeps_the_original_untouched_and_serves_metadata_free_renditions(env: Env):
    data = make_phone_jpeg(2000, 1500, gps=PHOTO_GPS, taken_at=SHOT_AT, seed=1)
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    response = await upload(
        env,
        data,
        photo_id=photo_id,
        inspection_id=inspection_id,
        taken_at="2026-11-27T04:16:30Z",
        lat="31.52",
        lon="74.36",
        accuracy_m="8",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == str(photo_id) and body["width"] == 2000 and body["height"] == 1500
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    # The headline values come from EXIF; what the phone reported stays apart as its own evidence.
    assert (body["taken_at"], body["taken_at_source"]) == ("2026-11-27T04:15:00Z", "exif")
    assert body["gps"] == {"lat": pytest.approx(31.5206, abs=1e-5), "lon": pytest.approx(74.359, abs=1e-5)}
    assert body["evidence"]["device"] == {
        "taken_at": "2026-11-27T04:16:30Z",
        "lat": 31.52,
        "lon": 74.36,
        "accuracy_m": 8.0,
    }
    assert body["evidence"]["exif"]["taken_at"] == "2026-11-27T04:15:00Z"
    # Station A is at 31.5, 74.35: the photo's EXIF position is about 2.4 km from it.
    assert 2300 < body["evidence"]["distance_m"] < 2500
    assert body["reused_in"] == []

    token = env.inspector_a
    thumb = await env.api.get(f"/api/v1/photos/{photo_id}/thumb", token)
    display = await env.api.get(f"/api/v1/photos/{photo_id}/display", token)
    for response, kind, limit in ((thumb, "thumb", 320), (display, "display", 1600)):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, max-age=86400, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == f'inline; filename="{photo_id}-{kind}.jpg"'
        assert max(jpeg_size(response.content)) == limit
        assert_no_metadata(response.content)

    original = await env.api.get(f"/api/v1/photos/{photo_id}/original", token)
    assert original.status_code == 200 and original.content == data
    assert original.headers["content-type"] == "application/octet-stream"
    assert original.headers["content-disposition"] == f'attachment; filename="{photo_id}.jpg"'
    assert original.headers["x-content-type-options"] == "nosniff"
    await env.api.get(f"/api/v1/photos/{photo_id}/original", token)
    audited = await rows(
        env, "SELECT actor FROM audit_log WHERE action = 'photo.original' AND entity_id = $1", str(photo_id)
    )
    assert [r["actor"] for r in audited] == ["inspector_a", "inspector_a"]

    metadata = await env.api.get(f"/api/v1/photos/{photo_id}", token)
    assert metadata.status_code == 200 and metadata.json() == body
    assert len(await stored_objects(env)) == 3


async def test_a_replayed_upload_answers_200_with_the_same_reply_and_rewrites_nothing(env: Env):
    data = make_phone_jpeg(640, 480, seed=2)
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    first = await upload(env, data, photo_id=photo_id, inspection_id=inspection_id)
    objects = await stored_objects(env)
    etags = [await env.app.state.store.stat(key) for key in objects]
    again = await upload(env, data, photo_id=photo_id, inspection_id=inspection_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert [await env.app.state.store.stat(key) for key in objects] == etags
    assert await stored_objects(env) == objects
    assert len(await rows(env, "SELECT 1 FROM photos")) == 1
    assert len(await rows(env, "SELECT 1 FROM audit_log WHERE action = 'photo.upload'")) == 1


async def test_other_bytes_under_a_stored_photo_id_conflict_and_change_nothing(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    first = await upload(denv, make_phone_jpeg(640, 480, seed=3), photo_id=photo_id, inspection_id=inspection_id)
    other = await upload(denv, make_phone_jpeg(640, 480, seed=4), photo_id=photo_id, inspection_id=inspection_id)
    assert (first.status_code, other.status_code) == (201, 409)
    assert other.headers["content-type"] == "application/problem+json"
    stored = await rows(denv, "SELECT encode(sha256, 'hex') AS sha FROM photos")
    assert [r["sha"] for r in stored] == [first.json()["sha256"]]
    assert len(await stored_objects(denv)) == 3


@pytest.mark.parametrize(
    ("other_inspection", "other_item", "fields"),
    [
        (True, False, ["inspection_id"]),
        (False, True, ["item_key"]),
        (True, True, ["inspection_id", "item_key"]),
    ],
)
async def test_the_same_photo_id_and_bytes_under_another_inspection_or_item_conflict_naming_the_field(
    denv: Env, other_inspection: bool, other_item: bool, fields: list[str]
):
    # The phone binds a photo id to its inspection and item when the picture is taken and never
    # changes either, so a replay that names others is a client bug: answering 200 would tell it
    # the photo is stored where it asked while the row says otherwise.
    data = make_phone_jpeg(320, 240, seed=5)
    first_inspection = await make_inspection(denv.api, denv.world, denv.version_id)
    second_inspection = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    first = await upload(denv, data, photo_id=photo_id, inspection_id=first_inspection, item_key="fd_staffed")
    assert first.status_code == 201
    replay = await upload(
        denv,
        data,
        photo_id=photo_id,
        inspection_id=second_inspection if other_inspection else first_inspection,
        item_key="lockup" if other_item else "fd_staffed",
    )
    assert replay.status_code == 409, replay.text
    assert replay.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in replay.json()["errors"]] == fields
    stored = await rows(denv, "SELECT inspection_id, item_key FROM photos")
    assert [(r["inspection_id"], r["item_key"]) for r in stored] == [(first_inspection, "fd_staffed")]
    assert len(await rows(denv, "SELECT 1 FROM audit_log WHERE action = 'photo.upload'")) == 1
    assert len(await stored_objects(denv)) == 3
    # Everything the same again is still the plain replay.
    again = await upload(denv, data, photo_id=photo_id, inspection_id=first_inspection, item_key="fd_staffed")
    assert (again.status_code, again.json()) == (200, first.json())


async def test_simultaneous_identical_uploads_make_one_photo_and_leave_no_extra_objects(denv: Env):
    data = make_phone_jpeg(800, 600, seed=6)
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    replies = await asyncio.gather(
        *(concurrent_upload(denv, data, photo_id=photo_id, inspection_id=inspection_id) for _ in range(4))
    )
    statuses = sorted(status for status, _ in replies)
    assert statuses == [200, 200, 200, 201]
    assert len({json.dumps(body, sort_keys=True) for _, body in replies}) == 1
    assert len(await rows(denv, "SELECT 1 FROM photos")) == 1
    # Each attempt wrote its own objects; the ones that lost the insert deleted theirs.
    stored = await rows(denv, "SELECT original_key, display_key, thumb_key FROM photos")
    assert sorted(await stored_objects(denv)) == sorted(stored[0].values())


# Size, roles, scope and parameters -------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(small_limit_env: Env):
    env = small_limit_env
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    response = await upload(env, oversized_jpeg(64 * 1024), inspection_id=inspection_id)
    assert response.status_code == 413 and response.json()["status"] == 413

    # No Content-Length: the limit is enforced on the bytes as they stream in, and reading stops
    # at the first chunk past it. httpx's test transport cannot stream, so this speaks ASGI itself.
    status, _, consumed = await asgi_put(
        env,
        f"/api/v1/photos/{uuid.uuid4()}",
        f"inspection_id={inspection_id}&item_key=fd_staffed",
        [b"\xff" * 8192] * 20,
    )
    assert (status, consumed) == (413, 9)
    small = await upload(env, make_phone_jpeg(320, 240, quality=70), inspection_id=inspection_id)
    assert small.status_code == 201
    assert len(await rows(env, "SELECT 1 FROM photos")) == 1


async def test_only_the_inspections_own_inspector_may_upload(denv: Env):
    data = make_phone_jpeg(320, 240, seed=7)
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    others = {"inspector_b": 404, "reviewer_a": 403, "admin": 403}
    for username, status in others.items():
        response = await upload(denv, data, inspection_id=inspection_id, token=await denv.token(username))
        assert response.status_code == status, username
    # Same district, another inspector's inspection: not theirs to add evidence to.
    conn = await denv.api.db()
    try:
        from tests.factories import make_user

        await make_user(conn, "inspector_a2", "inspector", district_ids=[denv.world.districts["A"]])
    finally:
        await conn.close()
    response = await upload(denv, data, inspection_id=inspection_id, token=await denv.token("inspector_a2"))
    assert response.status_code == 404
    anonymous = await denv.api.put(
        f"/api/v1/photos/{uuid.uuid4()}",
        None,
        content=data,
        params={"inspection_id": str(inspection_id), "item_key": "fd_staffed"},
    )
    assert anonymous.status_code == 401
    assert await rows(denv, "SELECT 1 FROM photos") == [] and await stored_objects(denv) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"item_key": "no_such_item"}, "item_key"),
        ({"lat": "31.5"}, "lon"),
        ({"lat": "95", "lon": "74"}, "lat"),
        ({"accuracy_m": "-3"}, "accuracy_m"),
        ({"taken_at": "2026-11-27T09:15:00"}, "taken_at"),
        ({"taken_at": "yesterday"}, "taken_at"),
        # Python cannot convert this one to UTC (year 0), and asyncpg stores the other two as
        # -infinity / infinity, which come back without a zone and break every later reply.
        ({"taken_at": "0001-01-01T00:00:00+14:00"}, "taken_at"),
        ({"taken_at": "0001-01-01T00:00:00Z"}, "taken_at"),
        ({"taken_at": "9999-12-31T23:59:59.999999Z"}, "taken_at"),
    ],
)
async def test_bad_upload_parameters_are_422_naming_the_field(denv: Env, params: dict[str, str], field: str):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    response = await upload(denv, make_phone_jpeg(64, 48), inspection_id=inspection_id, **params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await rows(denv, "SELECT 1 FROM photos") == []


async def test_a_phone_clock_reset_to_1970_is_kept_as_device_evidence(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    response = await upload(denv, make_phone_jpeg(64, 48), inspection_id=inspection_id, taken_at="1970-01-01T00:00:00Z")
    assert response.status_code == 201, response.text
    assert (response.json()["taken_at"], response.json()["taken_at_source"]) == ("1970-01-01T00:00:00Z", "device")


async def test_an_unknown_inspection_is_404(denv: Env):
    response = await upload(denv, make_phone_jpeg(64, 48), inspection_id=uuid.uuid4())
    assert response.status_code == 404


async def test_readers_outside_the_inspections_scope_get_404_for_every_photo_route(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    assert (
        await upload(denv, make_phone_jpeg(320, 240, seed=8), photo_id=photo_id, inspection_id=inspection_id)
    ).status_code == 201
    paths = [f"/api/v1/photos/{photo_id}{suffix}" for suffix in ("", "/thumb", "/display", "/original")]
    for username, status in (("reviewer_b", 404), ("inspector_b", 404), ("reviewer_a", 200), ("admin", 200)):
        token = await denv.token(username)
        for path in paths:
            assert (await denv.api.get(path, token)).status_code == status, (username, path)
    for path in paths:
        assert (await denv.api.get(path)).status_code == 401
    audited = await rows(denv, "SELECT actor FROM audit_log WHERE action = 'photo.original' ORDER BY seq")
    assert [r["actor"] for r in audited] == ["reviewer_a", "admin"]
    assert (await denv.api.get(f"/api/v1/photos/{uuid.uuid4()}", denv.inspector_a)).status_code == 404


# HEAD and revalidation of the read routes ----------------------------------------------------------

READ_ROUTES = ("thumb", "display", "original")
# What a HEAD must repeat from its GET, and what a 304 must repeat from its 200 (RFC 9110 §9.3.2, §15.4.5).
GET_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "cache-control",
    "etag",
    "x-content-type-options",
)


async def stored_photo(env: Env, seed: int) -> uuid.UUID:
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    response = await upload(env, make_phone_jpeg(640, 480, seed=seed), photo_id=photo_id, inspection_id=inspection_id)
    assert response.status_code == 201, response.text
    return photo_id


async def original_audits(env: Env, photo_id: uuid.UUID) -> int:
    found = await rows(env, "SELECT 1 FROM audit_log WHERE action = 'photo.original' AND entity_id = $1", str(photo_id))
    return len(found)


async def test_head_on_each_photo_read_route_answers_the_get_headers_and_no_body(env: Env):
    photo_id = await stored_photo(env, seed=61)
    auth = {"Authorization": f"Bearer {env.inspector_a}"}
    tags = set()
    for kind in READ_ROUTES:
        path = f"/api/v1/photos/{photo_id}/{kind}"
        get_status, get_headers, body = await asgi_call(env.api, "GET", path, auth)
        head_status, head_headers, head_body = await asgi_call(env.api, "HEAD", path, auth)
        assert (get_status, head_status) == (200, 200), kind
        assert body and head_body == b"", kind
        assert {h: head_headers.get(h) for h in GET_HEADERS} == {h: get_headers.get(h) for h in GET_HEADERS}, kind
        assert int(get_headers["content-length"]) == len(body)
        # A strong validator: quoted, no W/ prefix.
        assert get_headers["etag"].startswith('"') and get_headers["etag"].endswith('"'), kind
        tags.add(get_headers["etag"])
    assert len(tags) == len(READ_ROUTES)
    # The renditions stay private to the signed-in reader; the original is never stored by a cache.
    assert get_headers["cache-control"] == "private, no-store"


async def test_the_etag_of_a_rendition_is_stable_and_differs_between_photos(denv: Env):
    first, second = await stored_photo(denv, seed=62), await stored_photo(denv, seed=63)
    for kind in READ_ROUTES:
        tags = [
            (await denv.api.get(f"/api/v1/photos/{photo}/{kind}", denv.inspector_a)).headers["etag"]
            for photo in (first, first, second)
        ]
        assert tags[0] == tags[1] != tags[2], kind


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_matching_if_none_match_is_304_with_the_validators_and_no_body(denv: Env, method: str):
    photo_id = await stored_photo(denv, seed=64)
    auth = {"Authorization": f"Bearer {denv.inspector_a}"}
    for kind in READ_ROUTES:
        path = f"/api/v1/photos/{photo_id}/{kind}"
        _, fresh, _ = await asgi_call(denv.api, "GET", path, auth)
        tag = fresh["etag"]
        for condition in (tag, f"W/{tag}", f'"something-else", {tag}', "*"):
            status, headers, body = await asgi_call(denv.api, method, path, {**auth, "If-None-Match": condition})
            assert (status, body) == (304, b""), (kind, condition)
            assert (headers["etag"], headers["cache-control"]) == (tag, fresh["cache-control"]), kind
            assert headers.get("vary") == fresh.get("vary"), kind
        if kind != "original":
            # Kept by the browser only for the same Authorization: not served to whoever signs in next.
            assert fresh["vary"] == "Authorization", kind
        status, _, body = await asgi_call(denv.api, method, path, {**auth, "If-None-Match": '"something-else"'})
        assert status == 200 and (body == b"") == (method == "HEAD"), kind


async def test_head_and_revalidation_keep_the_scope_rules_of_get(denv: Env):
    photo_id = await stored_photo(denv, seed=65)
    own = {"Authorization": f"Bearer {denv.inspector_a}"}
    for kind in READ_ROUTES:
        path = f"/api/v1/photos/{photo_id}/{kind}"
        _, fresh, _ = await asgi_call(denv.api, "GET", path, own)
        # A reader outside the scope gets 404 even with the right ETag: a 304 would confirm the photo.
        for username in ("reviewer_b", "inspector_b"):
            other = {"Authorization": f"Bearer {await denv.token(username)}"}
            for method in ("GET", "HEAD"):
                for condition in ({}, {"If-None-Match": fresh["etag"]}):
                    status, _, _ = await asgi_call(denv.api, method, path, {**other, **condition})
                    assert status == 404, (username, method, kind, condition)
        for method in ("HEAD", "GET"):
            assert (await asgi_call(denv.api, method, path, {"If-None-Match": fresh["etag"]}))[0] == 401
        unknown = f"/api/v1/photos/{uuid.uuid4()}/{kind}"
        assert (await asgi_call(denv.api, "HEAD", unknown, own))[0] == 404


async def test_only_a_get_that_sends_the_original_is_audited_not_head_or_304(denv: Env):
    photo_id = await stored_photo(denv, seed=66)
    auth = {"Authorization": f"Bearer {denv.inspector_a}"}
    path = f"/api/v1/photos/{photo_id}/original"
    status, headers, body = await asgi_call(denv.api, "GET", path, auth)
    assert status == 200 and body and await original_audits(denv, photo_id) == 1
    assert (await asgi_call(denv.api, "HEAD", path, auth))[0] == 200
    assert (await asgi_call(denv.api, "GET", path, {**auth, "If-None-Match": headers["etag"]}))[0] == 304
    assert (await asgi_call(denv.api, "HEAD", path, {**auth, "If-None-Match": headers["etag"]}))[0] == 304
    assert await original_audits(denv, photo_id) == 1


async def test_head_on_a_rendition_missing_from_the_store_is_404_like_get(denv: Env):
    photo_id = await stored_photo(denv, seed=67)
    [row] = await rows(denv, "SELECT thumb_key FROM photos WHERE id = $1", photo_id)
    await denv.app.state.store.delete(row["thumb_key"])
    auth = {"Authorization": f"Bearer {denv.inspector_a}"}
    path = f"/api/v1/photos/{photo_id}/thumb"
    assert [(await asgi_call(denv.api, method, path, auth))[0] for method in ("GET", "HEAD")] == [404, 404]


async def test_device_evidence_is_the_headline_when_the_file_has_none(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    # A photo resized on the phone has lost its EXIF; only what the phone reported remains.
    data = make_phone_jpeg(320, 240, seed=9)
    response = await upload(
        denv,
        data,
        inspection_id=inspection_id,
        taken_at="2026-11-27T14:15:00+05:00",
        lat="31.5",
        lon="74.35",
        accuracy_m="12.5",
    )
    body = response.json()
    assert (body["taken_at"], body["taken_at_source"]) == ("2026-11-27T09:15:00Z", "device")
    assert (body["gps"], body["gps_source"]) == ({"lat": 31.5, "lon": 74.35}, "device")
    assert body["evidence"]["exif"] == {"taken_at": None, "lat": None, "lon": None}
    assert body["evidence"]["distance_m"] == 0.0


# photos_missing ------------------------------------------------------------------------------------


async def test_the_inspection_stops_missing_photos_when_every_referenced_photo_has_arrived(denv: Env):
    first, second = uuid.uuid4(), uuid.uuid4()
    inspection_id = uuid.uuid4()
    # Synced the way the phone does it: the inspection first, naming its photos, then the photos.
    synced = await denv.api.put(
        f"/api/v1/inspections/{inspection_id}",
        denv.inspector_a,
        json={
            "station_id": str(denv.world.stations["A"]),
            "template_version_id": str(denv.version_id),
            "base_revision": 0,
            "status": "draft",
            "started_at": "2026-11-27T09:00:00Z",
            "finished_at": None,
            "location": {"lat": 31.5, "lon": 74.35, "accuracy_m": 10},
            "answers": {"fd_staffed": {"value": "yes", "photos": [str(first)]}, "lockup": {"photos": [str(second)]}},
        },
    )
    assert synced.status_code == 201, synced.text

    async def missing() -> tuple[int, set[str]]:
        [row] = await rows(denv, "SELECT photos_missing FROM inspections WHERE id = $1", inspection_id)
        reply = await denv.api.get(f"/api/v1/inspections/{inspection_id}", denv.inspector_a)
        return row[0], set(reply.json()["missing_photos"])

    assert await missing() == (2, {str(first), str(second)})
    assert (
        await upload(denv, make_phone_jpeg(320, 240, seed=10), photo_id=first, inspection_id=inspection_id)
    ).status_code == 201
    assert await missing() == (1, {str(second)})
    # A photo the document does not refer to changes nothing (a draft may still come to name it).
    assert (await upload(denv, make_phone_jpeg(320, 240, seed=11), inspection_id=inspection_id)).status_code == 201
    assert await missing() == (1, {str(second)})
    # Approved, it is final: it takes only the photos it names, and resends.
    await rows(denv, "UPDATE inspections SET status = 'approved' WHERE id = $1 RETURNING id", inspection_id)
    count = (await rows(denv, "SELECT count(*) FROM photos WHERE inspection_id = $1", inspection_id))[0][0]
    refused = await upload(denv, make_phone_jpeg(320, 240, seed=13), inspection_id=inspection_id)
    assert refused.status_code == 409, refused.text
    assert (await rows(denv, "SELECT count(*) FROM photos WHERE inspection_id = $1", inspection_id))[0][0] == count
    resent = await upload(denv, make_phone_jpeg(320, 240, seed=10), photo_id=first, inspection_id=inspection_id)
    assert resent.status_code == 200, resent.text
    named = await upload(
        denv, make_phone_jpeg(320, 240, seed=12), photo_id=second, inspection_id=inspection_id, item_key="lockup"
    )
    assert named.status_code == 201, named.text
    assert await missing() == (0, set())


async def test_a_photo_whose_inspection_is_approved_while_it_is_processed_is_refused_and_leaves_nothing(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    await rows(denv, "UPDATE inspections SET status = 'submitted' WHERE id = $1 RETURNING id", inspection_id)
    # The reviewer's approval holds the inspection's row while the upload, checked and processed
    # against a submitted inspection, comes to write its photo: it must wait, and then see the approval.
    reviewer = await denv.api.db()
    try:
        async with reviewer.transaction():
            await reviewer.execute("UPDATE inspections SET status = 'approved' WHERE id = $1", inspection_id)
            task = asyncio.create_task(
                concurrent_upload(denv, make_phone_jpeg(320, 240, seed=14), inspection_id=inspection_id)
            )
            for _ in range(1000):
                waiting = await reviewer.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'"""
                )
                if waiting or task.done():
                    break
                await asyncio.sleep(0.01)
            assert not task.done(), "the upload did not wait for the inspection's row"
        status, body = await task
    finally:
        await reviewer.close()
    assert status == 409, body
    assert "approved" in body["detail"]
    assert await rows(denv, "SELECT 1 FROM photos") == [] and await stored_objects(denv) == []


# Reuse across inspections ------------------------------------------------------------------------------


def reencoded(data: bytes, width: int, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        smaller = img.resize((width, width * img.height // img.width))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=quality)
    return out.getvalue()


async def name_every_photo(env: Env) -> None:
    """Have each inspection's answers name all its photos, as a sync would: only a photo the answers
    name raises the queue's reused flag (recounted by the trigger on answers, schema 0021)."""
    conn = await env.api.db()
    try:
        await conn.execute(
            """INSERT INTO answers (inspection_id, item_key, section_key, photo_ids)
               SELECT inspection_id, 'fd_staffed', 'front', array_agg(id) FROM photos GROUP BY inspection_id
               ON CONFLICT (inspection_id, item_key) DO UPDATE SET photo_ids = EXCLUDED.photo_ids"""
        )
    finally:
        await conn.close()


async def test_the_same_picture_in_another_inspection_is_listed_and_flags_both(denv: Env):
    original = make_phone_jpeg(1200, 900, seed=21)
    first_inspection = await make_inspection(denv.api, denv.world, denv.version_id, station="A")
    second_inspection = await make_inspection(denv.api, denv.world, denv.version_id, station="A2")
    first = await upload(denv, original, inspection_id=first_inspection)
    # A second shot of the same scene inside the same inspection is not reuse.
    same_inspection = await upload(denv, reencoded(original, 1000, 80), inspection_id=first_inspection)
    assert same_inspection.json()["reused_in"] == []
    unrelated = await upload(denv, make_phone_jpeg(1200, 900, seed=22), inspection_id=second_inspection)
    assert unrelated.json()["reused_in"] == []
    copy = await upload(denv, reencoded(original, 900, 70), inspection_id=second_inspection)
    assert copy.status_code == 201
    listed = copy.json()["reused_in"]
    assert {r["photo_id"] for r in listed} == {first.json()["id"], same_inspection.json()["id"]}
    assert {r["inspection_id"] for r in listed} == {str(first_inspection)}
    assert listed[0]["station_id"] == str(denv.world.stations["A"]) and listed[0]["station_code"] == "SA1"
    assert all(r["distance"] <= REUSE_MAX_DISTANCE and not r["same_bytes"] for r in listed)
    await name_every_photo(denv)
    flagged = await rows(denv, "SELECT id, reused_photos FROM inspections")
    assert {r["id"]: r["reused_photos"] for r in flagged} == {first_inspection: 2, second_inspection: 1}
    # The earlier photo now points back at the copy.
    back = await denv.api.get(f"/api/v1/photos/{first.json()['id']}", denv.inspector_a)
    assert [r["photo_id"] for r in back.json()["reused_in"]] == [copy.json()["id"]]


async def test_a_picture_uploaded_again_and_again_is_paired_with_its_first_copies_only(denv: Env, monkeypatch):
    """Each upload of a picture seen K times wrote 2K reuse rows and recounted K inspections under the
    lock every upload takes (1.45 M rows from 8 pictures in a soak): a photo is paired with the closest
    few, the first uploaded first, and still flagged."""
    from server.photos import queries as photo_queries

    monkeypatch.setattr(photo_queries, "MATCHES_KEPT", 2, raising=False)
    data = make_phone_jpeg(640, 480, seed=25)
    inspections = [await make_inspection(denv.api, denv.world, denv.version_id, station=s) for s in "A A2 A A2".split()]
    ids = []
    for inspection_id in inspections:
        sent = await upload(denv, data, inspection_id=inspection_id)
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    last = await denv.api.get(f"/api/v1/photos/{ids[-1]}", denv.inspector_a)
    assert {r["photo_id"] for r in last.json()["reused_in"]} == set(ids[:2])
    [paired] = await rows(denv, "SELECT count(*) AS n FROM photo_reuse WHERE photo_id = $1", uuid.UUID(ids[-1]))
    assert paired["n"] == 2
    await name_every_photo(denv)
    flagged = await rows(denv, "SELECT id, reused_photos FROM inspections")
    assert all(r["reused_photos"] == 1 for r in flagged), flagged


async def test_identical_bytes_in_another_region_are_counted_but_not_shown_out_of_scope(denv: Env):
    data = make_phone_jpeg(640, 480, seed=23)
    mine = await make_inspection(denv.api, denv.world, denv.version_id)
    theirs = await make_inspection(denv.api, denv.world, denv.version_id, station="B", inspector="inspector_b")
    await upload(denv, data, inspection_id=mine)
    copy = await upload(denv, data, inspection_id=theirs, token=await denv.token("inspector_b"))
    assert copy.status_code == 201
    assert copy.json()["reused_in"] == [] and copy.json()["reused_out_of_scope"] == 1
    admin_view = await denv.api.get(f"/api/v1/photos/{copy.json()['id']}", await denv.token("admin"))
    [entry] = admin_view.json()["reused_in"]
    assert entry["inspection_id"] == str(mine) and entry["same_bytes"] and entry["distance"] == 0
    assert admin_view.json()["reused_out_of_scope"] == 0


async def test_the_same_picture_uploaded_simultaneously_to_two_inspections_is_still_paired(denv: Env):
    data = make_phone_jpeg(640, 480, seed=24)
    inspections = [await make_inspection(denv.api, denv.world, denv.version_id, station=s) for s in ("A", "A2")]
    # Holding the audit chain's lock stops both uploads just before their commit, so both have
    # searched for copies before either is visible: only the reuse lock can order them.
    blocker = await denv.api.db()
    try:
        await blocker.execute("SELECT pg_advisory_lock($1)", AUDIT_LOCK_ID)
        tasks = [asyncio.create_task(concurrent_upload(denv, data, inspection_id=i)) for i in inspections]
        for _ in range(1000):
            waiting = await blocker.fetchval("""SELECT count(*) FROM pg_stat_activity
                                                 WHERE datname = current_database() AND wait_event_type = 'Lock'""")
            if waiting == 2 or all(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        await blocker.execute("SELECT pg_advisory_unlock($1)", AUDIT_LOCK_ID)
        replies = await asyncio.gather(*tasks)
    finally:
        await blocker.close()
    assert [status for status, _ in replies] == [201, 201]
    # Whichever committed second saw the first: the pair is recorded once each way.
    assert len(await rows(denv, "SELECT 1 FROM photo_reuse")) == 2
    for (_, reply), (_, other) in zip(replies, reversed(replies), strict=True):
        current = await denv.api.get(f"/api/v1/photos/{reply['id']}", denv.inspector_a)
        assert [r["photo_id"] for r in current.json()["reused_in"]] == [other["id"]]
    await name_every_photo(denv)
    assert [r[0] for r in await rows(denv, "SELECT reused_photos FROM inspections")] == [1, 1]


def flip_bits(value: int, bits: list[int]) -> int:
    unsigned = value & ((1 << 64) - 1)
    for bit in bits:
        unsigned ^= 1 << bit
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def test_band_probes_find_every_hash_within_the_reuse_distance():
    rnd = random.Random(5)
    for _ in range(300):
        value = rnd.getrandbits(64) - (1 << 63)
        other = flip_bits(value, rnd.sample(range(64), rnd.randint(0, REUSE_MAX_DISTANCE)))
        probes = rules.band_probes(value)
        assert any(band in probe for band, probe in zip(rules.band_values(other), probes, strict=True))
    assert [len(p) for p in rules.band_probes(0)] == [17, 17, 17, 17]


async def test_the_banded_reuse_query_finds_exactly_the_hashes_within_the_distance(conn):
    from server.photos import queries

    world = await make_world(conn)
    version_id = await make_version(conn, DEFINITION)
    here, elsewhere = uuid.uuid4(), uuid.uuid4()
    for inspection_id in (here, elsewhere):
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document) VALUES ($1, $2, $3, $4, 'draft', 1, '\\x00', '{}')""",
            inspection_id,
            world.stations["A"],
            version_id,
            world.users["inspector_a"],
        )
    base = -0x1234_5678_9ABC_DEF1
    # Six differing bits spread 2, 2, 1, 1 over the bands, so no band matches exactly.
    near = flip_bits(base, [63, 62, 47, 46, 31, 15])
    far = flip_bits(base, [63, 62, 47, 46, 31, 30, 15])
    same_bytes = flip_bits(base, list(range(0, 64, 2)))
    wanted = {}
    for name, phash, sha in (
        ("near", near, b"\x01"),
        ("far", far, b"\x02"),
        ("same_bytes", same_bytes, b"\x09"),
        ("here", base, b"\x03"),
    ):
        photo_id = uuid.uuid4()
        wanted[photo_id] = name
        await conn.execute(
            """INSERT INTO photos (id, inspection_id, item_key, uploaded_by, sha256, phash, size_bytes, format,
                                   width, height, original_key, display_key, thumb_key)
               VALUES ($1, $2, 'lockup', $3, $4, $5, 1, 'jpeg', 1, 1, $6, $6, $6)""",
            photo_id,
            here if name == "here" else elsewhere,
            world.users["inspector_a"],
            sha,
            phash,
            f"k/{photo_id}",
        )
    assert hamming(base, near) == 6 and hamming(base, far) == 7
    found = await queries.find_near_duplicates(
        conn,
        phash=base,
        mirrored=base,  # a picture its own mirror image: the distances are the plain hash's
        sha256=b"\x09",
        inspection_id=here,
        probes=rules.band_probes(base),
        max_distance=REUSE_MAX_DISTANCE,
    )
    assert sorted(wanted[r["id"]] for r in found) == ["near", "same_bytes"]
    # The search is index probes on the bands, not a scan of every photo.
    await conn.execute("SET enable_seqscan = off")
    plan = "\n".join(
        r[0]
        for r in await conn.fetch(
            "EXPLAIN SELECT id FROM photos WHERE phash_band0 = ANY($1::int[]) OR phash_band1 = ANY($2::int[])"
            " OR phash_band2 = ANY($3::int[]) OR phash_band3 = ANY($4::int[])",
            *rules.band_probes(base),
        )
    )
    assert all(f"photos_phash_band{i}_idx" in plan for i in range(4)), plan


def test_object_keys_parse_back_to_their_photo_and_time():
    photo_id = uuid.uuid4()
    now = datetime(2026, 11, 27, 9, 15, 42, tzinfo=UTC)
    keys = rules.object_keys(photo_id, "ab" + "0" * 62, now)
    assert keys.original.startswith("originals/ab/") and keys.display.endswith(".jpg")
    for key in keys.all():
        assert rules.parse_key(key) == (photo_id, now)
    assert rules.parse_key(f"originals/ab/{photo_id}.20261127T091542Z.00aa11bb.jpg") is None
    assert rules.parse_key(f"thumb/ab/{photo_id}.20261127T091542Z.00aa11bb") is None
    assert rules.parse_key("display/notes.txt") is None


# Failures of the store and of the database ------------------------------------------------------------


class FailingStore:
    """Wraps a real store; fails puts of chosen kinds, and optionally every delete, like an outage."""

    def __init__(self, inner: Any, fail_puts: tuple[str, ...], fail_deletes: bool = False):
        self.inner, self.fail_puts, self.fail_deletes = inner, fail_puts, fail_deletes

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if key.split("/", 1)[0] in self.fail_puts:
            raise Unavailable("photo store unavailable")
        await self.inner.put(key, data, content_type)

    async def delete(self, key: str) -> None:
        if self.fail_deletes:
            raise Unavailable("photo store unavailable")
        await self.inner.delete(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_store_failure_midway_is_503_and_deletes_the_objects_already_written(denv: Env):
    real = denv.app.state.store
    denv.app.state.store = FailingStore(real, fail_puts=("thumb",))
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    response = await upload(denv, make_phone_jpeg(640, 480, seed=31), inspection_id=inspection_id)
    assert response.status_code == 503 and response.json()["status"] == 503
    assert await rows(denv, "SELECT 1 FROM photos") == []
    denv.app.state.store = real
    assert await stored_objects(denv) == []


async def test_objects_left_by_a_store_outage_are_swept_and_the_stored_photos_are_not(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    kept = await upload(denv, make_phone_jpeg(320, 240, seed=32), inspection_id=inspection_id)
    real = denv.app.state.store
    # The store accepts the original, then goes away before the renditions and the cleanup.
    denv.app.state.store = FailingStore(real, fail_puts=("display", "thumb"), fail_deletes=True)
    photo, retried_id = make_phone_jpeg(320, 240, seed=33), uuid.uuid4()
    failed = await upload(denv, photo, photo_id=retried_id, inspection_id=inspection_id)
    assert failed.status_code == 503
    denv.app.state.store = real
    [orphan] = [k for k in await stored_objects(denv) if kept.json()["id"] not in k]
    assert orphan.startswith("originals/")
    conn = await denv.api.db()
    try:
        # Until the phone's retry stores the photo, the failed attempt's original is all the server
        # has of it: unclaimed, and kept whatever its age.
        unclaimed = await sweep_orphans(conn, real, now=datetime.now(UTC) + timedelta(hours=2))
        assert (unclaimed.deleted, unclaimed.kept, unclaimed.unclaimed) == (0, 4, 1)
        assert (await upload(denv, photo, photo_id=retried_id, inspection_id=inspection_id)).status_code == 201
        young = await sweep_orphans(conn, real)
        assert (young.deleted, young.kept) == (0, 7)
        report = await sweep_orphans(conn, real, now=datetime.now(UTC) + timedelta(hours=2))
    finally:
        await conn.close()
    assert (report.checked, report.deleted, report.kept, report.unclaimed) == (7, 1, 6, 0)
    assert len(await stored_objects(denv)) == 6 and orphan not in await stored_objects(denv)
    for photo_id in (kept.json()["id"], retried_id):
        assert (await denv.api.get(f"/api/v1/photos/{photo_id}/original", denv.inspector_a)).status_code == 200


async def test_a_database_failure_after_the_objects_are_stored_deletes_them(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    conn = await denv.api.db()
    try:
        await conn.execute("""
            CREATE FUNCTION refuse_photo() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'simulated failure' USING ERRCODE = 'XX000'; END; $$;
            CREATE TRIGGER refuse_photo BEFORE INSERT ON photos FOR EACH ROW EXECUTE FUNCTION refuse_photo();""")
    finally:
        await conn.close()
    response = await upload(denv, make_phone_jpeg(320, 240, seed=34), inspection_id=inspection_id)
    assert response.status_code == 500 and "simulated" not in response.text
    assert await rows(denv, "SELECT 1 FROM photos") == [] and await stored_objects(denv) == []


async def test_an_s3_outage_is_503_and_writes_no_photo_row(database_url: str, tmp_path: Path, executor):
    # A server of its own: stopping the session's shared one would break other tests.
    with S3Server() as s3:
        settings = make_settings(database_url, tmp_path / "var", **s3_overrides(s3))
        async with AsyncTestClient(
            create_app(settings, executor=executor, run_migrations=False), raise_server_exceptions=False
        ) as http:
            env = await make_env(ApiClient(http, database_url))
            inspection_id = await make_inspection(env.api, env.world, env.version_id)
            assert (
                await upload(env, make_phone_jpeg(320, 240, seed=35), inspection_id=inspection_id)
            ).status_code == 201
            s3.stop()
            photo_id = uuid.uuid4()
            response = await upload(
                env, make_phone_jpeg(320, 240, seed=36), photo_id=photo_id, inspection_id=inspection_id
            )
            assert response.status_code == 503 and response.json()["title"] == "Service unavailable"
            assert await rows(env, "SELECT 1 FROM photos WHERE id = $1", photo_id) == []
            assert len(await rows(env, "SELECT 1 FROM photos")) == 1
            assert (await env.api.get("/health")).status_code == 200
            assert (await env.api.get("/ready")).status_code == 503
            stored = (await rows(env, "SELECT id FROM photos"))[0]["id"]
            reading = await env.api.get(f"/api/v1/photos/{stored}/thumb", env.inspector_a)
            assert reading.status_code == 503


def test_the_reply_shape_is_a_plain_struct():
    # msgspec must be able to encode the reply without custom hooks (Litestar serialises it).
    row = {
        "id": uuid.uuid4(),
        "inspection_id": uuid.uuid4(),
        "item_key": "k",
        "sha256": b"\x00" * 32,
        "format": "jpeg",
        "size_bytes": 1,
        "width": 1,
        "height": 1,
        "exif_taken_at": "2026-11-27T09:15:00",
        "exif_lat": None,
        "exif_lon": None,
        "device_taken_at": None,
        "device_lat": None,
        "device_lon": None,
        "device_accuracy_m": None,
        "distance_m": None,
        "created_at": datetime.now(UTC),
    }
    encoded = json.loads(msgspec.json.encode(rules.photo_out(row, [], 0)))
    assert encoded["taken_at"] == "2026-11-27T09:15:00" and encoded["taken_at_source"] == "exif"
    assert encoded["gps"] is None and encoded["evidence"]["distance_m"] is None


@pytest.mark.parametrize(("radius", "far"), [(300, 1), (5000, 0)])
async def test_a_recovered_photo_is_judged_with_the_presence_radius_the_command_is_given(
    env: Env, executor, radius: int, far: int
):
    """recover-photos stores photos outside the server: their evidence is judged with the radius the
    command hands down (PRESENCE_RADIUS_M), not a default. The photo is about 2.4 km from station A."""
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    first = await upload(env, make_phone_jpeg(640, 480, gps=PHOTO_GPS, seed=43), inspection_id=inspection_id)
    assert first.status_code == 201, first.text
    photo_id = uuid.UUID(first.json()["id"])
    conn = await env.api.db()
    try:
        await conn.execute("DELETE FROM photo_reuse WHERE photo_id = $1 OR other_id = $1", photo_id)
        await conn.execute("DELETE FROM photos WHERE id = $1", photo_id)
        await await_photos(conn, inspection_id, "fd_staffed", [photo_id])
        await conn.execute("UPDATE inspections SET photos_far = NULL WHERE id = $1", inspection_id)
        report = await recover_photos(conn, env.app.state.store, executor, radius_m=radius)
        assert report.recovered == 1
        assert await conn.fetchval("SELECT photos_far FROM inspections WHERE id = $1", inspection_id) == far
    finally:
        await conn.close()


async def test_a_photo_whose_row_a_restore_lost_is_stored_again_from_its_original(env: Env, executor):
    """A database restored from a backup keeps neither the row of a photo received after the backup
    nor (once its phone sends the inspection again) anything but the inspection's answers naming it;
    the original object is still in the store, and recover-photos stores the photo again from it."""
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    data = make_phone_jpeg(640, 480, seed=41)
    first = await upload(env, data, inspection_id=inspection_id)
    assert first.status_code == 201, first.text
    photo_id, never_stored = uuid.UUID(first.json()["id"]), uuid.uuid4()
    store = env.app.state.store
    conn = await env.api.db()
    try:
        await conn.execute("DELETE FROM photo_reuse WHERE photo_id = $1 OR other_id = $1", photo_id)
        await conn.execute("DELETE FROM photos WHERE id = $1", photo_id)
        await await_photos(conn, inspection_id, "fd_staffed", [photo_id, never_stored])

        dry = await recover_photos(conn, store, executor, radius_m=300, dry_run=True)
        assert (dry.awaited, dry.found, dry.recovered, dry.failed) == (2, 1, 1, [])
        assert await conn.fetchval("SELECT count(*) FROM photos") == 0

        report = await recover_photos(conn, store, executor, radius_m=300)
        assert (report.awaited, report.found, report.recovered, report.failed) == (2, 1, 1, [])
        assert await conn.fetchval("SELECT photos_missing FROM inspections WHERE id = $1", inspection_id) == 1
        again = await recover_photos(conn, store, executor, radius_m=300)
        assert (again.awaited, again.found, again.recovered) == (1, 0, 0)
        audited = await conn.fetch("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq", str(photo_id))
        assert [r["action"] for r in audited] == ["photo.upload", "photo.recover"]
    finally:
        await conn.close()
    original = await env.api.get(f"/api/v1/photos/{photo_id}/original", env.inspector_a)
    assert original.status_code == 200 and original.content == data
    thumb = await env.api.get(f"/api/v1/photos/{photo_id}/thumb", env.inspector_a)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
