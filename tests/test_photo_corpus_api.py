"""Every hostile or odd file of tests/photo_corpus.py, sent through PUT /api/v1/photos/{id}.

Each one is either stored correctly or refused with the 4xx the corpus names, the server stays
healthy, and a refused upload leaves neither a row nor an object behind.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from server.app import create_app
from tests.conftest import make_settings
from tests.factories import ApiClient
from tests.photo_corpus import CASES, oversized_jpeg
from tests.test_photos_api import Env, assert_no_metadata, make_env, make_inspection, rows, stored_objects, upload

# Large enough for the corpus's 12 MP phone photo (about 3.5 MB), small enough that the over-size
# case does not have to build a 25 MB body.
LIMIT = 8 * 1024 * 1024


@pytest.fixture
async def corpus_env(database_url: str, tmp_path: Path, executor) -> AsyncIterator[Env]:
    settings = make_settings(database_url, tmp_path / "var", max_photo_bytes=LIMIT)
    async with AsyncTestClient(
        create_app(settings, executor=executor, run_migrations=False), raise_server_exceptions=False
    ) as http:
        yield await make_env(ApiClient(http, database_url))


async def test_every_corpus_file_is_stored_correctly_or_refused_with_its_4xx(corpus_env: Env):
    env = corpus_env
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    problems: list[str] = []
    accepted: dict[str, str] = {}
    sent: dict[str, bytes] = {}
    for case in CASES:
        data = oversized_jpeg(LIMIT) if case.name == "oversized_body" else case.build()
        photo_id = uuid.uuid4()
        response = await upload(env, data, photo_id=photo_id, inspection_id=inspection_id)
        if case.expect != "ok":
            body = response.json()
            if response.status_code != case.expect or body.get("status") != case.expect:
                problems.append(
                    f"{case.name}: expected {case.expect}, got {response.status_code} {response.text[:200]}"
                )
            elif case.expect == 422 and "body" not in [e["field"] for e in body.get("errors", [])]:
                problems.append(f"{case.name}: a 422 must name the field 'body': {body}")
            continue
        if response.status_code != 201:
            problems.append(f"{case.name}: expected 201, got {response.status_code} {response.text[:200]}")
            continue
        body = response.json()
        if ((body["width"], body["height"]), body["format"]) != (case.size, case.format):
            problems.append(f"{case.name}: stored as {body['width']}x{body['height']} {body['format']}")
        accepted[case.name] = str(photo_id)
        sent[case.name] = data
    assert problems == []

    # The server is still healthy, and only the accepted uploads left rows and objects.
    assert (await env.api.get("/health")).status_code == 200
    assert (await env.api.get("/ready")).status_code == 200
    stored = {str(r["id"]) for r in await rows(env, "SELECT id FROM photos")}
    assert stored == set(accepted.values())
    objects = await stored_objects(env)
    assert len(objects) == 3 * len(accepted)
    assert {key.rsplit("/", 1)[1].split(".", 1)[0] for key in objects} == stored

    # Whatever came in, what goes out is a clean JPEG of the right size, and the original is intact.
    for name in (
        "jpeg_gps",
        "jpeg_script_in_comment",
        "png_palette_transparent",
        "jpeg_orientation_6",
        "jpeg_then_zip",
    ):
        photo_id = accepted[name]
        case = next(c for c in CASES if c.name == name)
        thumb = (await env.api.get(f"/api/v1/photos/{photo_id}/thumb", env.inspector_a)).content
        assert_no_metadata(thumb)
        assert b"<script>" not in thumb and b"PK\x03\x04" not in thumb
        with Image.open(io.BytesIO(thumb)) as img:
            width, height = case.size
            # The rendition is turned the way a person sees the photo, as the original's size says.
            assert (img.width >= img.height) == (width >= height) and max(img.size) <= 320
        original = await env.api.get(f"/api/v1/photos/{photo_id}/original", env.inspector_a)
        assert original.content == sent[name]
        assert original.headers["content-disposition"].startswith("attachment;")
