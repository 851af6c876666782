"""Fixtures of the crash, outage and load tests: live servers on fresh demo databases, and the demo's facts.

The reliability tests talk to a real `python -m server serve` process over loopback (tests.conftest
LiveServer), because what they prove (a SIGKILL loses nothing, a database restart is survived) only
means something for a real process with real sockets. Starting one costs a second or two, so each
test starts what it needs and no more.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.demo.content import DEMO_PASSWORDS
from server.embedded import with_database
from tests.conftest import LiveServer, clone_database, drop_database

SOAK = os.environ.get("MUAINA_SOAK", "").lower() in {"1", "true", "yes"}
INSPECTOR = ("inspector.ali", DEMO_PASSWORDS["inspector"])
REVIEWER = ("rpo.lahore", DEMO_PASSWORDS["reviewer"])
ADMIN = ("admin", DEMO_PASSWORDS["admin"])
SIPS_KEY = "sips_station"


# The long forms run under `make soak` (MUAINA_SOAK=1); otherwise they do not apply. A skip marker
# rather than a skip in the test body, so a skipped soak test does not build its fixtures first.
soak_only = pytest.mark.skipif(not SOAK, reason="soak not requested (set MUAINA_SOAK=1, as `make soak` does)")


@dataclass(frozen=True)
class Demo:
    """What an inspector's phone holds after the first bundle: the SIPS template and the stations."""

    version_id: str
    definition: dict[str, Any]
    stations: list[dict[str, Any]]


async def fetch_demo(http: httpx.AsyncClient, token: str) -> Demo:
    response = await http.get("/api/v1/sync/bundle", headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    bundle = response.json()
    template = next(t for t in bundle["templates"] if t["key"] == SIPS_KEY)
    kinds = template["definition"].get("kinds")
    stations = [s for s in bundle["stations"] if not kinds or s["kind"] in kinds]
    assert stations, "the demo inspector has no station the SIPS template applies to"
    return Demo(version_id=template["id"], definition=template["definition"], stations=stations)


async def login(http: httpx.AsyncClient, who: tuple[str, str]) -> str:
    response = await http.post("/api/v1/auth/login", json={"username": who[0], "password": who[1]})
    response.raise_for_status()
    return response.json()["token"]


@pytest.fixture
async def start_live(pg_admin_url: str, demo_template_db: str, tmp_path: Path) -> AsyncIterator[Any]:
    """`await start_live(env={...}, database_url=None)`: a live server on a fresh copy of the demo database.

    Without `database_url` the server gets its own clone of the seeded demo database on the
    session's PostgreSQL. Everything started is stopped, and every clone dropped, at teardown.
    """
    servers: list[LiveServer] = []
    clones: list[str] = []

    async def start(env: dict[str, str] | None = None, database_url: str | None = None) -> LiveServer:
        if database_url is None:
            name = await clone_database(pg_admin_url, demo_template_db)
            clones.append(name)
            database_url = with_database(pg_admin_url, name)
        server = LiveServer(database_url, tmp_path / f"live{len(servers)}", env=env)
        servers.append(server)
        return await asyncio.to_thread(server.start, 90)

    yield start
    for server in servers:
        await asyncio.to_thread(server.stop)
    for name in clones:
        await drop_database(pg_admin_url, name)
