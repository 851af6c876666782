"""Templates and documents for the inspection and bundle tests: rows go in through SQL, as factories do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from server.app import create_app
from tests.factories import ApiClient, make_world

TEXT = {"en": "Label", "ur": "لیبل"}

DEFINITION: dict[str, Any] = {
    "title": {"en": "SIPS station inspection", "ur": "معائنہ"},
    "sections": [
        {
            "key": "front_desk",
            "title": TEXT,
            "weight": 2,
            "items": [
                {"key": "fd_staffed", "type": "yes_no", "label": TEXT, "required": True, "min_photos": 1},
                {"key": "fd_wait", "type": "number", "label": TEXT, "min": 0, "max": 15, "required": True},
                {"key": "fd_clean", "type": "scale", "label": TEXT, "max": 5},
                {
                    "key": "fd_token",
                    "type": "choice",
                    "label": TEXT,
                    "options": [{"key": "yes", "label": TEXT, "points": 2}, {"key": "no", "label": TEXT, "points": 0}],
                },
                {
                    "key": "fd_why",
                    "type": "text",
                    "label": TEXT,
                    "required": True,
                    "visible_if": {"item": "fd_staffed", "in": ["no"]},
                },
            ],
        },
        {
            "key": "lockup",
            "title": TEXT,
            "items": [
                {"key": "lk_diary", "type": "yes_no", "label": TEXT, "required": True, "critical": True},
            ],
        },
    ],
}


async def publish(
    conn,
    definition: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    kinds: list[str] | None = None,
    version: int = 1,
    template_id: uuid.UUID | None = None,
):
    """A template row (unless given) and one published version; returns (template_id, version_id)."""
    definition = definition or DEFINITION
    if template_id is None:
        template_id = await conn.fetchval(
            "INSERT INTO templates (key, title_en, title_ur) VALUES ($1, 'T', 'ٹ') RETURNING id",
            key or f"t_{uuid.uuid4().hex[:8]}",
        )
    version_id = await conn.fetchval(
        """INSERT INTO template_versions (template_id, version, definition, kinds)
           VALUES ($1, $2, $3::text::jsonb, $4) RETURNING id""",
        template_id,
        version,
        msgspec.json.encode(definition).decode(),
        kinds,
    )
    return template_id, version_id


def document(
    station_id,
    version_id,
    *,
    base: int = 0,
    status: str = "draft",
    answers: dict | None = None,
    location: dict | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "station_id": str(station_id),
        "template_version_id": str(version_id),
        "base_revision": base,
        "status": status,
        # Begun a little before it is sent, after any visit the test planned (an hour's grace): one
        # begun days before a visit was planned does not answer it (open_assignment_sql).
        "started_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
        "finished_at": None,
        "location": location if location is not None else {"lat": 31.5, "lon": 74.35, "accuracy_m": 12},
        "answers": answers if answers is not None else {"fd_wait": {"value": 7}},
        **extra,
    }


def complete_answers(photo: uuid.UUID | None = None) -> dict[str, Any]:
    """Answers that pass submit validation for DEFINITION."""
    return {
        "fd_staffed": {"value": "yes", "note": "two officers", "photos": [str(photo or uuid.uuid4())]},
        "fd_wait": {"value": 7},
        "fd_clean": {"value": 4},
        "fd_token": {"value": "no"},
        "lk_diary": {"value": "yes"},
    }


class Ctx:
    """A world (tests.factories.make_world), one published template, and signed-in tokens."""

    def __init__(self, client, world, template_id, version_id, tokens):
        self.client, self.world, self.template_id, self.version_id, self.tokens = (
            client,
            world,
            template_id,
            version_id,
            tokens,
        )

    def doc(self, station: str = "A", **kw: Any) -> dict[str, Any]:
        return document(self.world.stations[station], self.version_id, **kw)

    async def put(self, inspection_id, body, user: str = "inspector_a"):
        return await self.client.put(f"/api/v1/inspections/{inspection_id}", self.tokens[user], json=body)


async def make_ctx(client, *users: str) -> Ctx:
    conn = await client.db()
    try:
        world = await make_world(conn)
        template_id, version_id = await publish(conn)
    finally:
        await conn.close()
    tokens = {u: await client.login(u) for u in (users or ("inspector_a",))}
    return Ctx(client, world, template_id, version_id, tokens)


@asynccontextmanager
async def concurrent_client(settings, executor) -> AsyncIterator[ApiClient]:
    """The app in the test's own event loop, so requests sent together really run together.

    Litestar's AsyncTestClient finishes each request through a blocking portal before the next one
    starts, which makes asyncio.gather over it sequential. Here the ASGI lifespan is driven by hand
    and httpx calls the app directly, so gathered requests interleave at every await.
    """
    app = create_app(settings, executor=executor, run_migrations=False)
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield ApiClient(http, settings.database_url)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan


def hold_first_readers(monkeypatch, parties: int) -> list[str]:
    """Make the first `parties` PUTs all read the inspection's state before any of them writes.

    Returns a log of the writes attempted ("insert:won", "insert:lost", "lock", "update:won"), so a test can
    show the race it set up really happened.
    """
    from server.inspections import queries

    gate = asyncio.Barrier(parties)
    readers = 0
    log: list[str] = []
    load_state, load_state_as, insert, update, lock = (
        queries.load_state,
        queries.load_state_as,
        queries.insert_inspection,
        queries.update_inspection,
        queries.lock_inspection,
    )

    def held(read):
        # A PUT's first read of the state is load_state_as (with the session check); later ones load_state.
        async def held_read(*args):
            nonlocal readers
            state = await read(*args)
            readers += 1
            if readers <= parties:
                await gate.wait()
            return state

        return held_read

    async def logged_insert(conn, w):
        row = await insert(conn, w)
        log.append("insert:" + ("won" if row else "lost"))
        return row

    async def logged_update(conn, inspection_id, base, w):
        row = await update(conn, inspection_id, base, w)
        log.append("update:" + ("won" if row else "lost"))
        return row

    async def logged_lock(conn, inspection_id):
        log.append("lock")
        return await lock(conn, inspection_id)

    monkeypatch.setattr(queries, "load_state", held(load_state))
    monkeypatch.setattr(queries, "load_state_as", held(load_state_as))
    monkeypatch.setattr(queries, "lock_inspection", logged_lock)
    monkeypatch.setattr(queries, "insert_inspection", logged_insert)
    monkeypatch.setattr(queries, "update_inspection", logged_update)
    return log
