"""The orphan sweeper, on both stores: unreferenced objects past the grace period go, except the
originals of photos nothing names (unclaimed), which are kept and can be copied out."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from server import db
from server.photos import rules, sweeper
from server.photos.recovery import MANIFEST, export_unclaimed
from server.photos.sweeper import sweep_orphans
from server.s3store import S3Store
from server.storage import DirectoryStore, PhotoStore
from tests.factories import await_photos, make_version, make_world
from tests.photo_corpus import make_phone_jpeg
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY
from tests.test_photos_api import DEFINITION

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SHA = "ab" + "0" * 62


@pytest.fixture(params=["directory", "s3"])
async def store(request, tmp_path: Path):
    if request.param == "directory":
        photo_store: PhotoStore = DirectoryStore(tmp_path / "photos")
    else:
        server = request.getfixturevalue("s3_server")
        photo_store = S3Store(
            server.endpoint, ACCESS_KEY, SECRET_KEY, f"sweep-{uuid.uuid4().hex[:12]}", secure=False, region=REGION
        )
    await photo_store.start()
    yield photo_store
    await photo_store.close()


async def insert_inspection(conn) -> tuple[uuid.UUID, uuid.UUID]:
    """A draft inspection of a world's own: its id and its inspector's."""
    world = await make_world(conn)
    version_id = await make_version(conn, DEFINITION)
    inspection_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision, body_hash,
                                    document) VALUES ($1, $2, $3, $4, 'draft', 1, '\\x00', '{}')""",
        inspection_id,
        world.stations["A"],
        version_id,
        world.users["inspector_a"],
    )
    return inspection_id, world.users["inspector_a"]


async def insert_photo_row(conn, keys: rules.Keys, photo_id: uuid.UUID) -> None:
    inspection_id, inspector_id = await insert_inspection(conn)
    await conn.execute(
        """INSERT INTO photos (id, inspection_id, item_key, uploaded_by, sha256, phash, size_bytes, format, width,
                               height, original_key, display_key, thumb_key)
           VALUES ($1, $2, 'lockup', $3, $4, 0, 1, 'jpeg', 1, 1, $5, $6, $7)""",
        photo_id,
        inspection_id,
        inspector_id,
        bytes.fromhex(SHA),
        *keys.all(),
    )


async def put_all(store: PhotoStore, keys: rules.Keys) -> None:
    for key in keys.all():
        await store.put(key, b"x", "application/octet-stream")


async def listing(store: PhotoStore) -> set[str]:
    return {key for prefix in rules.PREFIXES async for key in store.list_keys(prefix)}


async def test_the_sweeper_deletes_old_orphans_and_keeps_referenced_young_foreign_and_unclaimed_objects(
    conn, store: PhotoStore, monkeypatch: pytest.MonkeyPatch
):
    # A small batch makes the sweep cross batch boundaries, as it does over a real bucket.
    monkeypatch.setattr(sweeper, "BATCH", 2)
    old = NOW - timedelta(hours=3)
    stored_id = uuid.uuid4()
    referenced = rules.object_keys(stored_id, SHA, old)
    # The same photo id from a second attempt that lost the race: its objects are orphans.
    lost_race = rules.object_keys(stored_id, SHA, old)
    # A photo id no row holds: its renditions go (they are made again from an original), its original
    # is unclaimed and stays, as the only copy of a photo whose inspection a restore may have lost.
    orphan = rules.object_keys(uuid.uuid4(), SHA, old)
    in_flight = rules.object_keys(uuid.uuid4(), SHA, NOW - timedelta(minutes=5))
    for keys in (referenced, lost_race, orphan, in_flight):
        await put_all(store, keys)
    foreign = "thumb/notes/readme.txt"
    await store.put(foreign, b"operator's file", "text/plain")
    await insert_photo_row(conn, referenced, stored_id)

    dry = await sweep_orphans(conn, store, now=NOW, dry_run=True)
    assert (dry.checked, dry.deleted, dry.kept, dry.unclaimed, dry.dry_run) == (13, 5, 8, 1, True)
    assert dry.partial == 0
    assert len(await listing(store)) == 13

    report = await sweep_orphans(conn, store, now=NOW)
    assert (report.checked, report.deleted, report.kept, report.unclaimed) == (13, 5, 8, 1)
    assert await listing(store) == {*referenced.all(), *in_flight.all(), foreign, orphan.original}

    # Once the upload in flight is past the grace period without a row, it is an orphan too.
    later = await sweep_orphans(conn, store, now=NOW + timedelta(hours=2))
    assert (later.deleted, later.kept, later.unclaimed) == (2, 6, 2)
    assert await listing(store) == {*referenced.all(), foreign, orphan.original, in_flight.original}

    # Unclaimed originals go only when asked, and only those whose upload began long enough ago.
    purge = await sweep_orphans(conn, store, now=NOW + timedelta(hours=2), unclaimed_older_than=timedelta(hours=4))
    assert (purge.deleted, purge.kept, purge.unclaimed) == (1, 5, 1)
    assert await listing(store) == {*referenced.all(), foreign, in_flight.original}


async def test_the_sweeper_keeps_the_objects_of_a_photo_an_inspection_still_waits_for(conn, store: PhotoStore):
    """As a database restored from a backup leaves a photo received after it: its objects in the store,
    no row, and its inspection, sent again by the phone, naming it. The objects may be all that is left."""
    old = NOW - timedelta(hours=3)
    awaited_id = uuid.uuid4()
    awaited = rules.object_keys(awaited_id, SHA, old)
    orphan = rules.object_keys(uuid.uuid4(), SHA, old)
    await put_all(store, awaited)
    await put_all(store, orphan)
    inspection_id, _ = await insert_inspection(conn)
    await await_photos(conn, inspection_id, "lockup", [awaited_id])

    report = await sweep_orphans(conn, store, now=NOW)
    assert (report.checked, report.deleted, report.kept, report.unclaimed) == (6, 2, 4, 1)
    assert await listing(store) == {*awaited.all(), orphan.original}

    # Once the inspection no longer names the photo (its inspector removed it), its renditions are
    # orphans too, and its original is unclaimed.
    await conn.execute("UPDATE answers SET photo_ids = '{}' WHERE inspection_id = $1", inspection_id)
    await conn.execute("UPDATE inspections SET photos_missing = 0 WHERE id = $1", inspection_id)
    report = await sweep_orphans(conn, store, now=NOW)
    assert (report.deleted, report.kept, report.unclaimed) == (2, 2, 2)
    assert await listing(store) == {awaited.original, orphan.original}


async def test_unclaimed_originals_are_copied_out_byte_for_byte_with_what_their_exif_says(
    conn, store: PhotoStore, tmp_path: Path
):
    """What an officer gets back of photos whose inspections a restore lost: each unclaimed original
    as a file, and a manifest saying when its upload began and when and where it was taken."""
    old = NOW - timedelta(days=2)
    taken = datetime(2026, 11, 25, 9, 14, tzinfo=timezone(timedelta(hours=5)))
    photo = make_phone_jpeg(64, 48, gps=(31.5204, 74.3587), taken_at=taken, seed=5)
    lost_id = uuid.uuid4()
    lost = rules.object_keys(lost_id, SHA, old)
    await put_all(store, lost)
    await store.put(lost.original, photo, "image/jpeg")
    # An earlier attempt of the same photo, whose bytes are no image: copied too, under its own name.
    earlier = rules.object_keys(lost_id, SHA, old - timedelta(minutes=1))
    await store.put(earlier.original, b"not an image", "image/jpeg")
    # Not unclaimed: a stored photo and a failed attempt of it, and an upload still inside its grace.
    stored_id = uuid.uuid4()
    referenced, failed = rules.object_keys(stored_id, SHA, old), rules.object_keys(stored_id, SHA, old)
    await put_all(store, referenced)
    await put_all(store, failed)
    await insert_photo_row(conn, referenced, stored_id)
    await store.put(rules.object_keys(uuid.uuid4(), SHA, NOW - timedelta(minutes=5)).original, b"x", "image/jpeg")
    before = await listing(store)
    out = tmp_path / "unclaimed"

    dry = await export_unclaimed(conn, store, out, older_than=timedelta(hours=1), now=NOW, dry_run=True)
    assert (dry.found, dry.written) == (2, 0) and not out.exists()

    report = await export_unclaimed(conn, store, out, older_than=timedelta(hours=1), now=NOW)
    assert (report.found, report.written) == (2, 2)
    jpeg, other = (f"{keys.original.rsplit('/', 1)[-1]}.{ext}" for keys, ext in ((lost, "jpg"), (earlier, "bin")))
    assert {p.name for p in out.iterdir()} == {jpeg, other, MANIFEST}
    assert (out / jpeg).read_bytes() == photo and (out / other).read_bytes() == b"not an image"
    with (out / MANIFEST).open(newline="") as manifest:
        rows = list(csv.DictReader(manifest))
    # In upload order: the earlier attempt first.
    assert [r["file"] for r in rows] == [other, jpeg]
    first, second = rows
    assert {k: first[k] for k in ("photo_id", "format", "exif_taken_at", "exif_lat")} == {
        "photo_id": str(lost_id),
        "format": "",
        "exif_taken_at": "",
        "exif_lat": "",
    }
    assert second["photo_id"] == str(lost_id) and second["object_key"] == lost.original
    assert second["sha256"] == hashlib.sha256(photo).hexdigest() and int(second["bytes"]) == len(photo)
    assert (second["format"], second["exif_taken_at"]) == ("jpeg", "2026-11-25T04:14:00Z")
    assert abs(float(second["exif_lat"]) - 31.5204) < 1e-4 and abs(float(second["exif_lon"]) - 74.3587) < 1e-4
    assert datetime.fromisoformat(second["upload_began_utc"]) == old
    # The store is untouched, and a second run writes nothing new.
    assert await listing(store) == before
    again = await export_unclaimed(conn, store, out, older_than=timedelta(hours=1), now=NOW)
    assert (again.found, again.written) == (2, 0)


async def test_the_sweep_photos_command_reports_what_it_would_delete(database_url: str, tmp_path: Path):
    store = DirectoryStore(tmp_path / "var" / "photos")
    await store.start()
    orphan = rules.object_keys(uuid.uuid4(), SHA, datetime.now(UTC) - timedelta(days=1))
    await put_all(store, orphan)
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    for key in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        env.pop(key, None)

    def muaina(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "sweep-photos", *args], env=env, capture_output=True, text=True, timeout=60
        )

    dry = await asyncio.to_thread(muaina, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: checked 3 object(s), would delete 2, kept 1" in dry.stdout
    assert "kept 1 unclaimed original(s)" in dry.stdout
    assert len(await listing(store)) == 3
    refused = await asyncio.to_thread(muaina, "--older-than-minutes", "1")
    assert refused.returncode == 2 and len(await listing(store)) == 3
    # A slow store's uploads take longer: three objects at up to S3_TIMEOUT_SECONDS each.
    env["S3_TIMEOUT_SECONDS"] = "600"
    slow = await asyncio.to_thread(muaina, "--older-than-minutes", "20")
    assert slow.returncode == 2 and "at least 32" in slow.stderr and len(await listing(store)) == 3
    del env["S3_TIMEOUT_SECONDS"]
    done = await asyncio.to_thread(muaina)
    assert done.returncode == 0 and "deleted 2" in done.stdout, done.stderr
    assert await listing(store) == {orphan.original}
    assert (await asyncio.to_thread(muaina, "--unclaimed-older-than-days", "0")).returncode == 2
    younger = await asyncio.to_thread(muaina, "--unclaimed-older-than-days", "2")
    assert younger.returncode == 0 and "deleted 0" in younger.stdout, younger.stderr
    purged = await asyncio.to_thread(muaina, "--unclaimed-older-than-days", "1")
    assert purged.returncode == 0 and "deleted 1" in purged.stdout, purged.stderr
    assert await listing(store) == set()


async def test_the_recover_photos_command_stores_awaited_photos_and_names_those_it_cannot(
    database_url: str, tmp_path: Path
):
    """The command's own path (store, process pool, report, exit status): an awaited photo whose
    object is no image is found, would be stored in a dry run, and is then named as not recovered."""
    store = DirectoryStore(tmp_path / "var" / "photos")
    await store.start()
    photo_id = uuid.uuid4()
    await store.put(rules.object_keys(photo_id, SHA, datetime.now(UTC)).original, b"not an image", "image/jpeg")
    conn = await db.connect(database_url)
    try:
        inspection_id, _ = await insert_inspection(conn)
        await await_photos(conn, inspection_id, "fd_staffed", [photo_id])
    finally:
        await conn.close()
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    for key in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        env.pop(key, None)

    def muaina(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "recover-photos", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # And a photo nothing names, whose original is copied out with --unclaimed-to.
    unclaimed = rules.object_keys(uuid.uuid4(), SHA, datetime.now(UTC) - timedelta(days=1)).original
    await store.put(unclaimed, b"unclaimed bytes", "image/jpeg")
    out = tmp_path / "unclaimed"

    dry = await asyncio.to_thread(muaina, "--dry-run", "--unclaimed-to", str(out))
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 1 photo(s) awaited by inspections, 1 found in the store, would store 1" in dry.stdout
    assert f"dry run: 1 unclaimed original(s) would be copied to {out}" in dry.stdout and not out.exists()
    done = await asyncio.to_thread(muaina, "--unclaimed-to", str(out))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "stored 0" in done.stdout and f"not recovered: {photo_id}: " in done.stderr
    assert f"1 unclaimed original(s) in {out} (1 new), listed in unclaimed-photos.csv" in done.stdout
    assert (out / f"{unclaimed.rsplit('/', 1)[-1]}.bin").read_bytes() == b"unclaimed bytes"


# A child process that stores one photo and is killed with SIGKILL in the middle of the write: after
# the temporary file is written and before the rename, as a crash or an OOM kill would catch it.
KILLED_WRITE = """
import asyncio, os, signal, sys
from server.storage import DirectoryStore
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
asyncio.run(DirectoryStore(sys.argv[1]).put(sys.argv[2], b"x" * 200_000, "image/jpeg"))
"""


def killed_write(root: Path, key: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITE, str(root), key], timeout=60, cwd=Path(__file__).parents[1]
    )
    assert done.returncode == -9, "the writer was meant to die mid-write"


async def test_a_write_killed_midway_leaves_a_temporary_file_the_sweep_removes_after_the_grace_period(
    conn, tmp_path: Path
):
    store = DirectoryStore(tmp_path / "photos")
    await store.start()
    orphan = rules.object_keys(uuid.uuid4(), SHA, datetime.now(UTC) - timedelta(days=1))
    await store.put(orphan.original, b"whole", "image/jpeg")
    # A key may end in ".tmp" too; only the store's own dot-named temporary files are partial writes.
    foreign = "thumb/notes/list.tmp"
    await store.put(foreign, b"operator's file", "text/plain")
    await asyncio.to_thread(killed_write, tmp_path / "photos", orphan.display)

    [partial] = [p for p in (tmp_path / "photos").rglob("*") if p.is_file() and p.name.startswith(".")]
    assert partial.parent == (tmp_path / "photos" / orphan.display).parent and partial.stat().st_size == 200_000
    assert orphan.display not in await listing(store), "a partial write is never an object"

    # Inside the grace period the file may still be a write in progress: it stays.
    young = await sweep_orphans(conn, store)
    assert (young.deleted, young.unclaimed, young.partial) == (0, 1, 0) and partial.exists()

    later = datetime.now(UTC) + timedelta(hours=2)
    dry = await sweep_orphans(conn, store, now=later, dry_run=True)
    assert dry.partial == 1 and partial.exists()
    report = await sweep_orphans(conn, store, now=later)
    assert report.partial == 1 and not partial.exists()
    assert {p.name for p in (tmp_path / "photos").rglob("*") if p.is_file()} == {
        "list.tmp",
        orphan.original.rsplit("/", 1)[-1],
    }
    assert await store.get(foreign) == b"operator's file"


async def test_the_s3_store_has_no_partial_writes_to_remove(s3_server):
    # Each object goes up as one PUT, which S3 keeps whole or not at all: no upload is left incomplete.
    store = S3Store(
        s3_server.endpoint, ACCESS_KEY, SECRET_KEY, f"partial-{uuid.uuid4().hex[:12]}", secure=False, region=REGION
    )
    await store.start()
    try:
        body = os.urandom(6 * 1024 * 1024)  # more than minio-py's 5 MiB default part
        await store.put("originals/big.jpg", body, "image/jpeg")
        # A multipart upload's ETag ends in "-<parts>"; one PUT's is the body's MD5.
        assert (await store.stat("originals/big.jpg")).etag == hashlib.md5(body).hexdigest()
        assert await store.remove_partial_writes(datetime.now(UTC) + timedelta(days=1)) == 0
    finally:
        await store.close()
