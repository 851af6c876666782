"""The object store goes away during uploads (DESIGN §9): clean 503s, nothing half-stored, retries succeed.

A live server stores photos in a bucket on an S3 server of this test's own (moto, tests/s3server.py),
which the test takes away in the two ways a real MinIO goes away:

1. hung (`pause()`, SIGSTOP): the port still accepts connections but nothing answers, and nothing
   is lost. Uploads must answer 503 within a bound instead of hanging; once the store answers
   again the phone's retries succeed.
2. gone (`stop()`): connections are refused. Uploads answer 503 at once and /ready says the store is
   not answering. moto then comes back empty (a real MinIO keeps its data): the bucket must be made
   again by the app itself, without a restart, and the retries succeed.

After each outage: no photo row without its three objects, every original byte-identical to what
was sent, and the orphan sweeper (no grace period) leaves zero unreferenced objects and deletes
nothing a row refers to.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx

from server import db
from server.photos import rules as photo_rules
from server.photos.sweeper import sweep_orphans
from server.s3store import S3Store
from tests.photo_corpus import make_phone_jpeg
from tests.reliability.conftest import INSPECTOR, fetch_demo, login
from tests.reliability.outbox_client import Outbox, PhotoEntry, Record, document, photo_slots
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

# How long an upload may take to say 503 while the store hangs; the live server's store deadline is
# set below it (S3_TIMEOUT_SECONDS), as an operator would set it to what the store normally needs.
STORE_TIMEOUT = 3
HUNG_BOUND = STORE_TIMEOUT * 2 + 2.0
# With the store gone, connections are refused: the answer must come at once.
GONE_BOUND = 3.0


async def upload_once(http: httpx.AsyncClient, token: str, photo: PhotoEntry) -> tuple[httpx.Response, float]:
    method, path, kwargs = photo.request()
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers")}
    started = time.monotonic()
    response = await http.request(method, path, headers=headers, timeout=120, **kwargs)
    return response, time.monotonic() - started


def assert_problem_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503 and "store" in body["detail"], body


async def store_listing(store: S3Store) -> set[str]:
    return {key for prefix in photo_rules.PREFIXES async for key in store.list_keys(prefix)}


async def check_store_matches_rows(
    database_url: str,
    store: S3Store,
    photos: dict[uuid.UUID, PhotoEntry],
    http: httpx.AsyncClient,
    token: str,
    forgotten: set[uuid.UUID] = frozenset(),
) -> dict[str, int]:
    """No row without objects, originals intact, and after the sweeper no object without a row.

    `forgotten`: photos whose objects the test's S3 server lost when it restarted; their rows exist
    and their objects do not, which is moto's doing, not the app's.
    """
    conn = await db.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, sha256, original_key, display_key, thumb_key FROM photos")
        referenced = {
            key
            for row in rows
            if row["id"] not in forgotten
            for key in (row["original_key"], row["display_key"], row["thumb_key"])
        }
        before = await store_listing(store)
        report = await sweep_orphans(conn, store, older_than=timedelta(0))
        after = await store_listing(store)
    finally:
        await conn.close()
    assert {r["id"] for r in rows} == set(photos) | forgotten, "a row exists for an upload never acknowledged"
    assert referenced <= before, f"photo rows refer to missing objects: {sorted(referenced - before)[:5]}"
    assert referenced <= after, "the sweeper deleted an object a photo row refers to"
    assert after == referenced, f"orphaned objects remain: {sorted(after - referenced)[:5]}"
    for photo_id, photo in photos.items():
        response = await http.get(f"/api/v1/photos/{photo_id}/original", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert hashlib.sha256(response.content).hexdigest() == photo.sha256
    return {"objects": len(after), "orphans swept": report.deleted}


async def test_photo_uploads_fail_cleanly_while_the_store_is_hung_or_gone_and_succeed_after(start_live, artifacts):
    s3 = S3Server()
    await asyncio.to_thread(s3.start)
    bucket = f"outage-{uuid.uuid4().hex[:10]}"
    try:
        server = await start_live(
            env={
                "S3_ENDPOINT": s3.endpoint,
                "S3_ACCESS_KEY": ACCESS_KEY,
                "S3_SECRET_KEY": SECRET_KEY,
                "S3_BUCKET": bucket,
                "S3_REGION": REGION,
                "S3_TIMEOUT_SECONDS": str(STORE_TIMEOUT),
            }
        )
        # The test's own view of the bucket, for listing and sweeping.
        store = S3Store(s3.endpoint, ACCESS_KEY, SECRET_KEY, bucket, secure=False, region=REGION)
        figures = await run_outages(server, s3, store)
        await store.close()
    finally:
        await asyncio.to_thread(s3.stop)
    text = "\n".join(f"{k}: {v}" for k, v in figures.items())
    print("\nobject store outage\n" + text)
    (artifacts / "store-outage.txt").write_text(text + "\n")


async def run_outages(server: Any, s3: S3Server, store: S3Store) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        token = await login(http, INSPECTOR)
        demo = await fetch_demo(http, token)
        inspection_id = uuid.uuid4()
        slots = photo_slots(demo.definition)
        jpegs = await asyncio.to_thread(lambda: [make_phone_jpeg(640, 480, seed=900 + i) for i in range(9)])
        photos = [
            PhotoEntry(ref=uuid.uuid4(), inspection_id=inspection_id, item_key=slots[i % len(slots)], data=jpeg)
            for i, jpeg in enumerate(jpegs)
        ]
        refs: dict[str, Any] = {}
        for p in photos:
            refs.setdefault(p.item_key, {"photos": []})["photos"].append(str(p.ref))
        station = demo.stations[0]
        created = await http.put(
            f"/api/v1/inspections/{inspection_id}",
            headers={"Authorization": f"Bearer {token}"},
            json=document(station["id"], demo.version_id, refs),
        )
        assert created.status_code == 201, created.text
        record = Record()
        outbox = Outbox(http, token, record, rng=random.Random(7), patience=90)
        stored: dict[uuid.UUID, PhotoEntry] = {}

        # Before: the store works.
        for photo in photos[:2]:
            await outbox.send(photo)
            stored[photo.ref] = photo

        # 1. Hung store: every upload answers 503 within the bound, and nothing is stored.
        hung = photos[2:5]
        s3.pause()
        try:
            results = await asyncio.gather(*(upload_once(http, token, p) for p in hung))
            ready_hung = await http.get("/ready", timeout=30)
        finally:
            s3.resume()
        hung_seconds = [round(seconds, 2) for _, seconds in results]
        for response, _ in results:
            assert_problem_503(response)
        assert max(hung_seconds) < HUNG_BOUND, f"uploads to a hung store took {hung_seconds} s"
        assert ready_hung.status_code == 503
        # The phone's retries succeed once the store answers again.
        for photo in hung:
            await outbox.send(photo)
            stored[photo.ref] = photo
        after_hung = await check_store_matches_rows(server.database_url, store, stored, http, token)

        # 2. Store gone: refused at once, /ready says so; moto comes back empty and the app copes.
        gone = photos[5:8]
        await asyncio.to_thread(s3.stop)
        results = await asyncio.gather(*(upload_once(http, token, p) for p in gone))
        ready_gone = await http.get("/ready", timeout=30)
        gone_seconds = [round(seconds, 2) for _, seconds in results]
        for response, _ in results:
            assert_problem_503(response)
        assert max(gone_seconds) < GONE_BOUND, f"uploads to a stopped store took {gone_seconds} s"
        assert ready_gone.status_code == 503 and "photo store" in ready_gone.json()["detail"]
        await asyncio.to_thread(s3.start)
        # moto forgot the bucket and every object stored before (a real MinIO would not); those rows
        # stay, and the final check sets them aside.
        forgotten = set(stored)
        stored.clear()
        for photo in [*gone, photos[8]]:
            await outbox.send(photo)
            stored[photo.ref] = photo
        assert (await http.get("/ready", timeout=30)).status_code == 200
        after_gone = await check_store_matches_rows(server.database_url, store, stored, http, token, forgotten)
    return {
        "uploads while hung, seconds to 503": hung_seconds,
        "uploads while gone, seconds to 503": gone_seconds,
        "acknowledged uploads checked": len(record.acks),
        "upload attempts": record.attempts,
        "statuses seen by the outbox": dict(record.statuses),
        "after the hung store": after_hung,
        "after the store came back empty": after_gone,
    }
