"""Resumable photo uploads (server/photos/resumable.py): a photo sent in parts over a link that drops, each
part kept as it arrives, stored exactly as a PUT stores it once whole; against real PostgreSQL and both
photo stores."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.photos.sweeper import UPLOAD_MAX_DAYS, sweep_orphans
from tests.factories import ApiClient
from tests.photo_corpus import make_phone_jpeg
from tests.test_photos_api import Env, make_env, make_inspection, rows, stored_objects, upload

PART = 64 * 1024


@pytest.fixture
async def env(any_client: ApiClient) -> Env:
    return await make_env(any_client)


@pytest.fixture
async def denv(client: ApiClient) -> Env:
    """The directory store only: for behaviour that does not depend on the store."""
    return await make_env(client)


def base(photo_id: uuid.UUID) -> str:
    return f"/api/v1/photos/{photo_id}/upload"


async def begin(
    env: Env, photo_id: uuid.UUID, inspection_id: uuid.UUID, data: bytes, token: str | None = None, **extra
):
    params = {
        "inspection_id": str(inspection_id),
        "item_key": "fd_staffed",
        "size": str(len(data)),
        "sha256": hashlib.sha256(data).hexdigest(),
        "taken_at": "2026-11-30T09:00:00+05:00",
        "lat": "31.5001",
        "lon": "74.35",
        "accuracy_m": "6",
        "source": "camera",
        **extra,
    }
    # A field given as None is left out, as a client that does not send it.
    params = {k: v for k, v in params.items() if v is not None}
    return await env.api.post(base(photo_id), token or env.inspector_a, params=params)


async def send(env: Env, photo_id: uuid.UUID, offset: int, part: bytes, token: str | None = None):
    return await env.api.patch(
        base(photo_id),
        token or env.inspector_a,
        params={"offset": str(offset)},
        content=part,
        headers={"Content-Type": "application/octet-stream"},
    )


async def test_a_photo_sent_in_parts_is_stored_as_the_put_stores_it(env: Env):
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    data = make_phone_jpeg(width=1600, height=1200, seed=3)
    photo_id = uuid.uuid4()
    declared = await begin(env, photo_id, inspection_id, data)
    assert declared.status_code == 201, declared.text
    assert declared.json() == {"photo_id": str(photo_id), "size": len(data), "received": 0, "photo": None}
    offset = 0
    while offset < len(data):
        part = data[offset : offset + PART]
        reply = await send(env, photo_id, offset, part)
        offset += len(part)
        if offset < len(data):
            assert reply.status_code == 200 and reply.json()["received"] == offset, reply.text
    assert reply.status_code == 201, reply.text
    photo = reply.json()["photo"]
    assert photo["id"] == str(photo_id) and photo["sha256"] == hashlib.sha256(data).hexdigest()
    assert photo["source"] == "camera" and photo["size_bytes"] == len(data)
    original = await env.api.get(f"/api/v1/photos/{photo_id}/original", env.inspector_a)
    assert original.content == data
    # The parts are gone; the objects are the photo's three.
    assert await rows(env, "SELECT * FROM photo_uploads") == []
    assert await rows(env, "SELECT * FROM photo_upload_parts") == []
    assert len(await stored_objects(env)) == 3
    # Asked again (the last reply was lost): the photo.
    again = await env.api.get(base(photo_id), env.inspector_a)
    assert again.status_code == 200 and again.json()["photo"]["id"] == str(photo_id)
    assert (await send(env, photo_id, 0, data[:PART])).json()["photo"]["id"] == str(photo_id)


async def test_after_a_drop_the_phone_asks_what_arrived_and_goes_on_from_there(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=1200, height=900, seed=4)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    await send(denv, photo_id, 0, data[:PART])
    # The phone lost the reply of the second part, which did arrive, and sends it again.
    await send(denv, photo_id, PART, data[PART : 2 * PART])
    stale = await send(denv, photo_id, PART, data[PART : 2 * PART])
    assert stale.status_code == 409 and stale.json()["received"] == 2 * PART
    assert stale.json()["errors"][0]["field"] == "offset"
    state = (await denv.api.get(base(photo_id), denv.inspector_a)).json()
    assert state == {"photo_id": str(photo_id), "size": len(data), "received": 2 * PART, "photo": None}
    # Declared again with the same details (a restarted phone): what has arrived, nothing lost.
    redeclared = await begin(denv, photo_id, inspection_id, data)
    assert redeclared.status_code == 200 and redeclared.json()["received"] == 2 * PART
    done = await send(denv, photo_id, 2 * PART, data[2 * PART :])
    assert done.status_code == 201, done.text
    original = await denv.api.get(f"/api/v1/photos/{photo_id}/original", denv.inspector_a)
    assert original.content == data


async def test_bytes_that_are_not_the_declared_photo_are_refused_and_the_upload_discarded(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=800, height=600, seed=5)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    tampered = data[:-10] + b"\x00" * 10
    refused = await send(denv, photo_id, 0, tampered)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "sha256"
    assert await rows(denv, "SELECT * FROM photo_uploads") == []
    assert await rows(denv, "SELECT * FROM photos") == []
    assert await stored_objects(denv) == []


async def test_a_part_that_is_not_an_image_is_refused_with_the_puts_answer(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = b"<html><script>alert(1)</script></html>" * 50
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    refused = await send(denv, photo_id, 0, data)
    assert refused.status_code == 415, refused.text
    assert await rows(denv, "SELECT * FROM photo_uploads") == []
    assert (await denv.api.get("/health")).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": "0"}, "size"),
        ({"size": str(26 * 1024 * 1024)}, "size"),
        ({"sha256": "zz" * 32}, "sha256"),
        ({"item_key": "no_such_item"}, "item_key"),
    ],
)
async def test_a_bad_declaration_is_refused_naming_the_field_and_keeps_nothing(
    denv: Env, params: dict[str, str], field: str
):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    reply = await begin(denv, uuid.uuid4(), inspection_id, b"x" * 100, **params)
    assert reply.status_code in (413, 422), reply.text
    assert field in reply.text
    assert await rows(denv, "SELECT * FROM photo_uploads") == []


async def test_a_part_past_the_size_or_empty_is_422_naming_the_body(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, b"x" * 100)
    for part in (b"x" * 101, b""):
        reply = await send(denv, photo_id, 0, part)
        assert reply.status_code == 422 and reply.json()["errors"][0]["field"] == "body", reply.text
    assert (await denv.api.get(base(photo_id), denv.inspector_a)).json()["received"] == 0


async def test_an_upload_under_way_is_its_inspectors_only(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=640, height=480, seed=6)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    other = await denv.token("inspector_b")
    reviewer = await denv.token("reviewer_a")
    assert (await denv.api.get(base(photo_id), other)).status_code == 404
    assert (await send(denv, photo_id, 0, data, token=other)).status_code == 404
    assert (await denv.api.get(base(photo_id), reviewer)).status_code == 403
    # Declaring it for their own inspection under the same id: someone else's, so as if none.
    theirs = await make_inspection(denv.api, denv.world, denv.version_id, station="B", inspector="inspector_b")
    assert (await begin(denv, photo_id, theirs, data, token=other)).status_code == 404
    assert (await denv.api.get(base(photo_id), denv.inspector_a)).json()["received"] == 0


async def test_an_inspection_approved_before_the_last_part_takes_no_photo(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=640, height=480, seed=7)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    await send(denv, photo_id, 0, data[:100])
    conn = await denv.api.db()
    try:
        await conn.execute("UPDATE inspections SET status = 'approved' WHERE id = $1", inspection_id)
    finally:
        await conn.close()
    refused = await send(denv, photo_id, 100, data[100:])
    assert refused.status_code == 409, refused.text
    assert await rows(denv, "SELECT * FROM photos") == []
    assert await rows(denv, "SELECT * FROM photo_uploads") == []


async def test_simultaneous_last_parts_store_one_photo(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=1200, height=900, seed=8)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, data)
    await send(denv, photo_id, 0, data[:-10])
    replies = await asyncio.gather(*(send(denv, photo_id, len(data) - 10, data[-10:]) for _ in range(3)))
    statuses = sorted(r.status_code for r in replies)
    # One part appends and stores; the others arrive after it and find the photo (200) or its offset moved
    # on (409 with received = size): the phone then asks, and finds the photo.
    assert statuses.count(201) == 1, [r.text for r in replies]
    assert all(s in (200, 201, 409) for s in statuses)
    assert len(await rows(denv, "SELECT * FROM photos")) == 1
    assert len(await stored_objects(denv)) == 3
    assert (await denv.api.get(base(photo_id), denv.inspector_a)).json()["photo"]["id"] == str(photo_id)


async def test_the_sweeper_gives_up_uploads_begun_over_a_week_ago_even_if_parts_still_arrive(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    idle, fresh = uuid.uuid4(), uuid.uuid4()
    for photo_id in (idle, fresh):
        await begin(denv, photo_id, inspection_id, b"x" * 100)
        await send(denv, photo_id, 0, b"x" * 10)
    conn = await denv.api.db()
    try:
        await conn.execute(
            # Begun over a week ago; a part came a moment ago (touched now): given up all the same.
            "UPDATE photo_uploads SET created_at = $2 WHERE photo_id = $1",
            idle,
            datetime.now(UTC) - timedelta(days=UPLOAD_MAX_DAYS, minutes=1),
        )
        report = await sweep_orphans(conn, denv.app.state.store, dry_run=True)
        assert report.stale_uploads == 1
        report = await sweep_orphans(conn, denv.app.state.store)
        assert report.stale_uploads == 1
        left = await conn.fetch("SELECT photo_id FROM photo_uploads")
        parts = await conn.fetchval("SELECT count(*) FROM photo_upload_parts")
    finally:
        await conn.close()
    assert [r["photo_id"] for r in left] == [fresh] and parts == 1


async def test_a_photo_put_whole_meanwhile_answers_the_declaration(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=640, height=480, seed=9)
    photo_id = uuid.uuid4()
    stored = await upload(denv, data, photo_id=photo_id, inspection_id=inspection_id)
    assert stored.status_code == 201
    reply: Any = await begin(denv, photo_id, inspection_id, data)
    assert reply.status_code == 200 and reply.json()["photo"]["id"] == str(photo_id)
    assert reply.json()["received"] == reply.json()["size"] == len(data)


async def test_other_bytes_declared_under_a_stored_photos_id_are_refused_as_the_put_refuses_them(denv: Env):
    """They were answered 200 with the stored photo, so a phone would take its other picture as kept."""
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    first = make_phone_jpeg(width=640, height=480, seed=21)
    other = make_phone_jpeg(width=800, height=600, seed=22)
    photo_id = uuid.uuid4()
    assert (await upload(denv, first, photo_id=photo_id, inspection_id=inspection_id)).status_code == 201
    assert (await upload(denv, other, photo_id=photo_id, inspection_id=inspection_id)).status_code == 409
    declared = await begin(denv, photo_id, inspection_id, other)
    assert declared.status_code == 409, declared.text
    assert [e["field"] for e in declared.json()["errors"]] == ["sha256"]
    # Without a digest, another size says as much.
    unsaid = await begin(denv, photo_id, inspection_id, other, sha256=None)
    assert unsaid.status_code == 409, unsaid.text
    assert [e["field"] for e in unsaid.json()["errors"]] == ["size"]
    assert await rows(denv, "SELECT 1 FROM photo_uploads") == []


async def test_a_stored_photo_declared_for_another_item_names_the_item_as_the_put_does(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    data = make_phone_jpeg(width=640, height=480, seed=23)
    photo_id = uuid.uuid4()
    assert (await upload(denv, data, photo_id=photo_id, inspection_id=inspection_id)).status_code == 201
    put_again = await upload(denv, data, photo_id=photo_id, inspection_id=inspection_id, item_key="lockup")
    declared = await begin(denv, photo_id, inspection_id, data, item_key="lockup")
    assert put_again.status_code == declared.status_code == 409, declared.text
    assert [e["field"] for e in declared.json()["errors"]] == [e["field"] for e in put_again.json()["errors"]]
    assert [e["field"] for e in declared.json()["errors"]] == ["item_key"]


async def test_an_inspectors_uploads_under_way_hold_at_most_four_photos_worth_and_the_oldest_make_room(denv: Env):
    """A stolen phone declaring photo after photo of the largest size, never finishing one, cannot fill the
    database's disk: declaring past four photos' worth lets go of the least recently touched (they are
    copies of what a phone holds), and never refuses the inspector."""
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    limit = denv.app.state.settings.max_photo_bytes
    ids = [uuid.uuid4() for _ in range(6)]
    for photo_id in ids:
        reply = await begin(denv, photo_id, inspection_id, b"", size=str(limit), sha256="00" * 32)
        assert reply.status_code == 201, reply.text
    held = await rows(denv, "SELECT photo_id FROM photo_uploads")
    assert {r["photo_id"] for r in held} == set(ids[2:])
    # Ten at once: still at most four photos' worth.
    more = [uuid.uuid4() for _ in range(10)]
    replies = await asyncio.gather(
        *(begin(denv, photo_id, inspection_id, b"", size=str(limit), sha256="00" * 32) for photo_id in more)
    )
    assert all(r.status_code == 201 for r in replies), [r.text for r in replies]
    total = await rows(denv, "SELECT coalesce(sum(size), 0) AS s FROM photo_uploads")
    assert total[0]["s"] <= 4 * limit
    # Another inspector's are theirs: untouched by these.
    other = await denv.token("inspector_b")
    theirs = await make_inspection(denv.api, denv.world, denv.version_id, station="B", inspector="inspector_b")
    kept = uuid.uuid4()
    assert (await begin(denv, kept, theirs, b"x" * 10, token=other)).status_code == 201
    for photo_id in [uuid.uuid4() for _ in range(5)]:
        await begin(denv, photo_id, inspection_id, b"", size=str(limit), sha256="00" * 32)
    assert (await denv.api.get(base(kept), other)).json()["received"] == 0


async def test_a_part_for_an_inspection_approved_meanwhile_is_refused_and_the_upload_goes(denv: Env):
    inspection_id = await make_inspection(denv.api, denv.world, denv.version_id)
    photo_id = uuid.uuid4()
    await begin(denv, photo_id, inspection_id, b"x" * 1000)
    conn = await denv.api.db()
    try:
        await conn.execute("UPDATE inspections SET status = 'approved' WHERE id = $1", inspection_id)
    finally:
        await conn.close()
    refused = await send(denv, photo_id, 0, b"x" * 999)
    assert refused.status_code == 409, refused.text
    assert await rows(denv, "SELECT * FROM photo_uploads") == []
