"""A photo upload and a submission of the same inspector do not deadlock each other (server.photos.service
_insert, queries.lock_inspections).

The upload of a photo to inspection B that copies one of inspection A locks B (its counters) and A (A's
reused_photos). The first submission of A locks A and, when B overlaps its visit, B (B's overlaps_other,
the trigger of schema 0022). Each holding the row the other wants next, PostgreSQL killed one of them and
the phone had to send it again. Both must now go through, with every flag right once both have committed.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from server.inspections import queries as inspection_queries
from tests.inspection_fixtures import concurrent_client
from tests.review_fixtures import Ctx, answers, make_ctx

# A day ago at 09:00 UTC: inside the 30 days a phone's clock is believed about.
DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def at(minutes: float) -> str:
    return (DAY + timedelta(minutes=minutes)).isoformat()


def picture() -> bytes:
    out = io.BytesIO()
    img = Image.new("RGB", (160, 120), (200, 60, 30))
    for x in range(0, 160, 16):
        img.paste((20, 90 + x, 160), (x, 0, x + 8, 120))
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def put_inspection(
    ctx: Ctx, inspection_id: uuid.UUID, station: str, photo_id: uuid.UUID, *, status: str, base: int, start: float
):
    body = {
        "station_id": str(ctx.world.stations[station]),
        "template_version_id": str(ctx.version_id),
        "base_revision": base,
        "status": status,
        "started_at": at(start),
        "finished_at": at(start + 30),
        "location": ctx.station_location(station),
        "answers": {**answers(), "f_staffed": {"value": "yes", "photos": [str(photo_id)]}},
    }
    return await ctx.client.put(f"/api/v1/inspections/{inspection_id}", await ctx.token("inspector_a"), json=body)


async def put_photo(ctx: Ctx, inspection_id: uuid.UUID, photo_id: uuid.UUID, data: bytes):
    return await ctx.client.put(
        f"/api/v1/photos/{photo_id}",
        await ctx.token("inspector_a"),
        content=data,
        params={"inspection_id": str(inspection_id), "item_key": "f_staffed"},
        headers={"Content-Type": "image/jpeg"},
    )


class Pair:
    """Inspection A, a draft whose answer names photo pa (stored), about to be submitted for the first
    time; inspection B, submitted at another station over the same hours, whose answer names photo pb
    (not yet stored), a copy of pa. `a_first` says which of the two has the lower id: the order the
    rows are locked in must not matter."""

    def __init__(self, ctx: Ctx, a_first: bool):
        low, high = sorted((uuid.uuid4(), uuid.uuid4()))
        self.ctx = ctx
        self.a, self.b = (low, high) if a_first else (high, low)
        self.pa, self.pb = uuid.uuid4(), uuid.uuid4()
        self.data = picture()

    async def prepare(self) -> None:
        created = await put_inspection(self.ctx, self.a, "A", self.pa, status="draft", base=0, start=0)
        assert created.status_code == 201, created.text
        assert (await put_photo(self.ctx, self.a, self.pa, self.data)).status_code == 201
        created = await put_inspection(self.ctx, self.b, "A2", self.pb, status="submitted", base=0, start=10)
        assert created.status_code == 201, created.text
        # A was a draft when B came: B overlaps nothing yet, and no photo is reused yet.
        assert await self.flags() == {self.a: (None, 0), self.b: (False, 0)}

    def submit_a(self) -> Awaitable[Any]:
        return put_inspection(self.ctx, self.a, "A", self.pa, status="submitted", base=1, start=0)

    def upload_pb(self) -> Awaitable[Any]:
        return put_photo(self.ctx, self.b, self.pb, self.data)

    async def flags(self) -> dict[uuid.UUID, tuple[bool | None, int]]:
        conn = await self.ctx.client.db()
        try:
            rows = await conn.fetch(
                "SELECT id, overlaps_other, reused_photos FROM inspections WHERE id = ANY($1::uuid[])",
                [self.a, self.b],
            )
        finally:
            await conn.close()
        return {r["id"]: (r["overlaps_other"], r["reused_photos"]) for r in rows}

    async def check_both_went_through(self, submitted, uploaded) -> None:
        assert submitted.status_code == 200, submitted.text
        assert uploaded.status_code == 201, uploaded.text
        # Each visit overlaps the other; each names a photo the other holds a copy of.
        assert await self.flags() == {self.a: (True, 1), self.b: (True, 1)}
        reuse = (await self.ctx.client.get(f"/api/v1/photos/{self.pb}", await self.ctx.token("inspector_a"))).json()
        assert [r["photo_id"] for r in reuse["reused_in"]] == [str(self.pa)]


async def waiting_for_locks(ctx: Ctx, count: int, *tasks: asyncio.Task) -> None:
    """Until `count` backends of this database wait for a lock; none of the requests may have finished
    meanwhile (then the interleaving the test is about did not happen)."""
    conn = await ctx.client.db()
    try:
        for _ in range(1000):
            finished = [t.result() for t in tasks if t.done()]
            assert not finished, f"a request finished before the others came: {finished[0].text}"
            waiting = await conn.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'"""
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise AssertionError(f"{count} lock waits never came")


@pytest.mark.parametrize("a_first", [True, False], ids=["a_locked_first", "b_locked_first"])
async def test_an_upload_that_holds_its_inspection_and_a_submission_marking_it_both_go_through(
    settings, executor, a_first
):
    """The upload gets in first and stops on a photo row a third session holds; meanwhile the submission
    of A starts. Before the fix the upload held B and was about to want A, and the submission held A and
    wanted B for the overlap flag."""
    async with concurrent_client(settings, executor) as client:
        pair = Pair(await make_ctx(client), a_first)
        await pair.prepare()
        blocker = await client.db()
        try:
            async with blocker.transaction():
                # The upload's reuse row refers to pa: its key check waits here, after the upload has
                # locked what it locks before writing.
                await blocker.execute("SELECT 1 FROM photos WHERE id = $1 FOR UPDATE", pair.pa)
                upload = asyncio.create_task(pair.upload_pb())
                await waiting_for_locks(pair.ctx, 1, upload)
                submit = asyncio.create_task(pair.submit_a())
                await waiting_for_locks(pair.ctx, 2, upload, submit)
            async with asyncio.timeout(60):
                uploaded, submitted = await asyncio.gather(upload, submit)
        finally:
            await blocker.close()
        await pair.check_both_went_through(submitted, uploaded)


@pytest.mark.parametrize("a_first", [True, False], ids=["a_locked_first", "b_locked_first"])
async def test_a_submission_that_holds_its_inspection_and_an_upload_copying_its_photo_both_go_through(
    settings, executor, monkeypatch, a_first
):
    """The submission of A has locked A and not yet written it when the upload to B starts. Before the
    fix the upload locked B and waited for A, and the submission, going on, wanted B."""
    locked = asyncio.Event()
    go_on = asyncio.Event()
    real_update = inspection_queries.update_inspection

    async def update_after_the_upload(conn, *args, **kwargs):
        locked.set()
        await go_on.wait()
        return await real_update(conn, *args, **kwargs)

    async with concurrent_client(settings, executor) as client:
        pair = Pair(await make_ctx(client), a_first)
        await pair.prepare()
        monkeypatch.setattr(inspection_queries, "update_inspection", update_after_the_upload)
        submit = asyncio.create_task(pair.submit_a())
        async with asyncio.timeout(30):
            await locked.wait()
        upload = asyncio.create_task(pair.upload_pb())
        # The upload waits for A, which the submission holds.
        await waiting_for_locks(pair.ctx, 1, upload, submit)
        go_on.set()
        async with asyncio.timeout(60):
            uploaded, submitted = await asyncio.gather(upload, submit)
        await pair.check_both_went_through(submitted, uploaded)


async def test_an_upload_whose_inspection_stays_busy_waits_in_line_on_its_last_try(settings, executor, monkeypatch):
    """An upload lets go and waits while its inspection's row is held elsewhere, and tries again; a writer
    that takes the row again before each retry would win every time. The last try waits in line for the
    row instead (here the only try): the upload goes through when the row is let go, never a 503."""
    from server.photos import service

    monkeypatch.setattr(service, "LOCK_ATTEMPTS", 1)
    async with concurrent_client(settings, executor) as client:
        ctx = await make_ctx(client)
        pair = Pair(ctx, a_first=True)
        await pair.prepare()
        holder = await client.db()
        try:
            held = holder.transaction()
            await held.start()
            await holder.execute("SELECT 1 FROM inspections WHERE id = $1 FOR NO KEY UPDATE", pair.b)
            upload = asyncio.create_task(pair.upload_pb())
            await waiting_for_locks(ctx, 1, upload)
            await held.commit()
        finally:
            await holder.close()
        uploaded = await upload
        assert uploaded.status_code == 201, uploaded.text
