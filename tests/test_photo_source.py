"""Where the phone got a photo (`source=camera|gallery` on the upload): stored, answered in every reply,
audited, and refused by name when it is anything else. A phone that does not say keeps working."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from tests.photo_corpus import make_phone_jpeg
from tests.test_photos_api import Env, make_env, make_inspection, rows, upload


@pytest.fixture
async def env(client) -> Env:
    return await make_env(client)


async def test_a_camera_shot_and_a_gallery_pick_say_where_they_came_from_in_every_reply(env: Env):
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    reviewer = await env.token("reviewer_a")
    for seed, source in ((1, "camera"), (2, "gallery")):
        photo_id = uuid.uuid4()
        created = await upload(
            env, make_phone_jpeg(64, 48, seed=seed), photo_id=photo_id, inspection_id=inspection_id, source=source
        )
        assert created.status_code == 201, created.text
        assert created.json()["source"] == source
        # What the reviewer reads, and the replay a phone gets when it sends the photo again.
        read = await env.api.get(f"/api/v1/photos/{photo_id}", reviewer)
        assert read.status_code == 200, read.text
        assert read.json()["source"] == source
        again = await upload(
            env, make_phone_jpeg(64, 48, seed=seed), photo_id=photo_id, inspection_id=inspection_id, source=source
        )
        assert (again.status_code, again.json()["source"]) == (200, source)
        assert await rows(env, "SELECT source FROM photos WHERE id = $1", photo_id) == [(source,)]
        [entry] = await rows(
            env, "SELECT data FROM audit_log WHERE action = 'photo.upload' AND entity_id = $1", str(photo_id)
        )
        data = entry["data"] if isinstance(entry["data"], dict) else json.loads(entry["data"])
        assert data["source"] == source


async def test_a_phone_that_does_not_say_where_the_photo_came_from_still_uploads_it_as_unknown(env: Env):
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    response = await upload(env, make_phone_jpeg(64, 48), photo_id=photo_id, inspection_id=inspection_id)
    assert response.status_code == 201, response.text
    assert response.json()["source"] is None
    assert await rows(env, "SELECT source FROM photos WHERE id = $1", photo_id) == [(None,)]


@pytest.mark.parametrize("value", ["Camera", "screenshot", "gallery ", "x" * 200])
async def test_an_unknown_source_is_422_naming_source_and_stores_nothing(env: Env, value: str):
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    response = await upload(env, make_phone_jpeg(64, 48), inspection_id=inspection_id, source=value)
    assert response.status_code == 422, response.text
    assert "source" in [e["field"] for e in response.json()["errors"]]
    assert await rows(env, "SELECT 1 FROM photos") == []


async def test_the_database_refuses_a_source_other_than_camera_or_gallery(env: Env):
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    assert (
        await upload(env, make_phone_jpeg(64, 48), photo_id=photo_id, inspection_id=inspection_id)
    ).status_code == 201
    conn = await env.api.db()
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE photos SET source = 'screenshot' WHERE id = $1", photo_id)
    finally:
        await conn.close()
