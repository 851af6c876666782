"""A stored original is served, and `muaina verify-photos` passes it, only while its bytes are the
upload whose SHA-256 the photo's row recorded; on both photo stores (a directory, and S3 on moto)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import pytest

from server.photos.integrity import Finding, verify_originals
from tests.conftest import ROOT
from tests.photo_corpus import make_phone_jpeg
from tests.test_photos_api import Env, make_env, make_inspection, rows, upload


@pytest.fixture
async def env(any_client) -> Env:
    return await make_env(any_client)


async def stored_photo(env: Env, seed: int) -> tuple[uuid.UUID, uuid.UUID, bytes, str]:
    """An uploaded photo: (its id, its inspection, the bytes sent, its original's key)."""
    data = make_phone_jpeg(640, 480, seed=seed)
    inspection_id = await make_inspection(env.api, env.world, env.version_id)
    photo_id = uuid.uuid4()
    response = await upload(env, data, photo_id=photo_id, inspection_id=inspection_id)
    assert response.status_code == 201, response.text
    [row] = await rows(env, "SELECT original_key FROM photos WHERE id = $1", photo_id)
    return photo_id, inspection_id, data, row["original_key"]


async def audit_rows(env: Env, action: str, photo_id: uuid.UUID) -> list:
    return await rows(
        env,
        "SELECT actor, data FROM audit_log WHERE action = $1 AND entity_id = $2 ORDER BY seq",
        action,
        str(photo_id),
    )


@pytest.mark.parametrize("replacement", ["smaller", "larger"])
async def test_an_original_replaced_in_the_store_is_refused_with_both_fingerprints_and_audited(env: Env, replacement):
    photo_id, inspection_id, data, key = await stored_photo(env, seed=41)
    path = f"/api/v1/photos/{photo_id}/original"
    genuine = await env.api.get(path, env.inspector_a)
    assert genuine.status_code == 200 and genuine.content == data
    # Someone with access to the store swaps the file: same key, other bytes.
    other = data[: len(data) // 2] if replacement == "smaller" else data + b"\x00" * 4096
    await env.app.state.store.put(key, other, "application/octet-stream")

    refused = await env.api.get(path, env.inspector_a)

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    recorded = hashlib.sha256(data).hexdigest()
    # A larger file is known to be another one by its size alone, and is never read into memory.
    stored = hashlib.sha256(other).hexdigest() if replacement == "smaller" else None
    assert problem["title"] == "Stored original failed its integrity check"
    assert (problem["photo_id"], problem["recorded_sha256"], problem["stored_sha256"]) == (
        str(photo_id),
        recorded,
        stored,
    )
    assert (problem["recorded_size"], problem["stored_size"]) == (len(data), len(other))
    assert other not in refused.content
    [failed] = await audit_rows(env, "photo.integrity_failed", photo_id)
    assert failed["actor"] == "inspector_a"
    assert failed["data"] == {
        "inspection_id": str(inspection_id),
        "key": key,
        "recorded_sha256": recorded,
        "stored_sha256": stored,
        "recorded_size": len(data),
        "stored_size": len(other),
    }
    # Only the genuine download is recorded as the original leaving the server.
    assert len(await audit_rows(env, "photo.original", photo_id)) == 1


async def test_an_original_put_back_as_it_was_is_served_again(env: Env):
    photo_id, _, data, key = await stored_photo(env, seed=42)
    store = env.app.state.store
    await store.put(key, b"not the photo", "application/octet-stream")
    assert (await env.api.get(f"/api/v1/photos/{photo_id}/original", env.inspector_a)).status_code == 409
    await store.put(key, data, "application/octet-stream")
    served = await env.api.get(f"/api/v1/photos/{photo_id}/original", env.inspector_a)
    assert served.status_code == 200 and served.content == data


async def test_verification_walks_every_original_a_page_at_a_time_and_names_each_bad_one(env: Env):
    photos = [await stored_photo(env, seed=50 + n) for n in range(5)]
    store = env.app.state.store
    (replaced, replaced_inspection, _, replaced_key), (lost, lost_inspection, _, lost_key) = photos[1], photos[3]
    await store.put(replaced_key, b"swapped", "application/octet-stream")
    await store.delete(lost_key)
    found: list[Finding] = []
    conn = await env.api.db()
    try:
        # A page of 2 rows makes the walk cross page boundaries: nothing skipped, nothing read twice.
        report = await verify_originals(conn, store, found.append, page=2, parallel=2)
    finally:
        await conn.close()
    assert (report.checked, report.mismatched, report.missing) == (5, 1, 1)
    by_photo = {f.photo_id: f for f in found}
    assert by_photo.keys() == {replaced, lost}
    assert (by_photo[replaced].problem, by_photo[replaced].inspection_id) == ("mismatch", replaced_inspection)
    assert by_photo[replaced].mismatch.stored_sha256 == hashlib.sha256(b"swapped").hexdigest()
    assert (by_photo[lost].problem, by_photo[lost].inspection_id, by_photo[lost].key) == (
        "missing",
        lost_inspection,
        lost_key,
    )


def _verify_photos(env: Env) -> subprocess.CompletedProcess:
    settings = env.app.state.settings
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DATABASE_"))}
    environ.update({"LOG_LEVEL": "WARNING", "DATABASE_URL": env.api.database_url, "DATA_DIR": str(settings.data_dir)})
    if settings.s3_endpoint:
        environ.update(
            {
                "S3_ENDPOINT": settings.s3_endpoint,
                "S3_ACCESS_KEY": settings.s3_access_key,
                "S3_SECRET_KEY": settings.s3_secret_key,
                "S3_BUCKET": settings.s3_bucket,
                "S3_REGION": settings.s3_region or "",
            }
        )
    return subprocess.run(
        [sys.executable, "-m", "server", "verify-photos"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_verify_photos_exits_1_naming_the_replaced_and_the_missing_originals_with_their_inspections(env: Env):
    intact, _, _, _ = await stored_photo(env, seed=60)
    replaced, replaced_inspection, data, replaced_key = await stored_photo(env, seed=61)
    lost, lost_inspection, _, lost_key = await stored_photo(env, seed=62)

    clean = _verify_photos(env)
    assert clean.returncode == 0, clean.stderr
    assert "all 3 stored original(s) match their recorded SHA-256" in clean.stdout

    store = env.app.state.store
    await store.put(replaced_key, b"swapped", "application/octet-stream")
    await store.delete(lost_key)
    done = _verify_photos(env)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    [mismatch] = [line for line in lines if line.startswith("mismatch:")]
    [missing] = [line for line in lines if line.startswith("missing:")]
    assert f"photo {replaced} of inspection {replaced_inspection}" in mismatch
    assert hashlib.sha256(b"swapped").hexdigest() in mismatch and hashlib.sha256(data).hexdigest() in mismatch
    assert f"photo {lost} of inspection {lost_inspection}" in missing and lost_key in missing
    assert str(intact) not in done.stdout
    assert "1 original(s) differ from their recorded SHA-256 and 1 are missing, of 3 checked" in done.stderr
