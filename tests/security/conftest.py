"""Fixtures of the security tests: the app in-process on a fresh copy of the demo database, driven
from a plain (synchronous) test thread, as schemathesis's ASGI transport expects."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.embedded import with_database
from server.workers import HealingProcessPool
from tests.conftest import clone_database, drop_database, make_settings
from tests.factories import ApiClient, World, make_district, make_station, make_user, make_world
from tests.review_fixtures import DEFINITION, answers

# What a leaked Python stack trace looks like in a response body.
STACK_TRACE_MARKERS = ("Traceback", 'File "', '.py"', "site-packages")


def assert_security_headers(headers: Mapping[str, str]) -> None:
    """The headers every response carries, whatever answered it (a route, the static files, an error)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    csp = lowered.get("content-security-policy", "")
    assert csp, "no Content-Security-Policy"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    # No remote origin may be trusted: every source is 'self', 'none', or a local scheme.
    assert not re.search(r"https?:|//|\*", csp), csp
    assert "frame-ancestors 'none'" in csp, csp
    assert "script-src 'self'" in csp and "object-src 'none'" in csp, csp
    assert lowered.get("x-content-type-options") == "nosniff", lowered.get("x-content-type-options")
    assert lowered.get("referrer-policy") == "no-referrer", lowered.get("referrer-policy")


@pytest.fixture
def asgi_app(
    pg_admin_url: str, demo_template_db: str, tmp_path: Path, executor: HealingProcessPool
) -> Iterator[Litestar]:
    """The app on its own copy of the seeded demo database; its lifespan is run by whoever calls it first."""
    from schemathesis.python import asgi

    name = asyncio.run(clone_database(pg_admin_url, demo_template_db))
    settings = make_settings(with_database(pg_admin_url, name), tmp_path / "var")
    app = create_app(settings, executor=executor, run_migrations=False)
    try:
        yield app
    finally:
        # schemathesis keeps an app's lifespan running until told otherwise; end it so the pool
        # closes before the database is dropped.
        asgi.shutdown_lifespans()
        asyncio.run(drop_database(pg_admin_url, name))


# A two-region world with one of every object, for the access matrix and the scope tests ----------


@dataclass
class Scene:
    """make_world's regions A and B, filled through the API with one of every object per region.

    `ids[R]` maps each path parameter name of the API (`station_id`, `photo_id`, ...) to region R's
    object of that kind; `extra` holds the objects that write cells consume (a template to publish,
    inspections to review), so no cell depends on another cell having run before it.
    """

    client: ApiClient
    world: World
    tokens: dict[str, str]
    ids: dict[str, dict[str, str]]
    extra: dict[str, str] = field(default_factory=dict)

    def token(self, user: str | None) -> str | None:
        return self.tokens[user] if user else None

    def region_ids(self, region: str) -> set[str]:
        """Every id that belongs to region R alone (templates and versions are province-wide)."""
        own = {v for k, v in self.ids[region].items() if k not in ("template_id", "version_id", "version")}
        own |= {v for k, v in self.extra.items() if k.endswith("_" + region)}
        lower = region.lower()
        own |= {str(self.world.users[f"inspector_{lower}"]), str(self.world.users[f"reviewer_{lower}"])}
        own |= {str(self.world.stations[region + "2"])}
        return own

    def district_ids(self, region: str) -> set[str]:
        """Every id of region R's first district alone: the region's own id is shared with its other
        districts (an inspector there may read the region it works in)."""
        return self.region_ids(region) - {self.ids[region]["region_id"]}


# inspector_a2 works in a second district of region A: the other district of the same region.
SCENE_PASSWORD_USERS = ("admin", "reviewer_a", "reviewer_b", "inspector_a", "inspector_b", "inspector_a2")


def tiny_jpeg(seed: int) -> bytes:
    from tests.photo_corpus import make_phone_jpeg

    return make_phone_jpeg(320, 240, seed=seed)


async def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in statuses, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else None


async def build_scene(client: ApiClient) -> Scene:
    conn = await client.db()
    try:
        world = await make_world(conn)
        # A third station in region A for the write cells that need one with no open assignment.
        spare_station = str(await make_station(conn, world.districts["A"], "SA3"))
        second_district = await make_district(conn, world.regions["A"], "DA2", "District A2")
        await make_station(conn, second_district, "SA2X")
        await make_user(conn, "inspector_a2", "inspector", district_ids=[second_district])
        circles = {
            r: str(
                await conn.fetchval(
                    "INSERT INTO circles (code, name_en, name_ur, district_id) VALUES ($1, $2, 'سرکل', $3) RETURNING id",
                    f"C{r}",
                    f"Circle {r}",
                    world.districts[r],
                )
            )
            for r in ("A", "B")
        }
    finally:
        await conn.close()
    tokens = {u: await client.login(u) for u in SCENE_PASSWORD_USERS}
    admin = tokens["admin"]
    scene = Scene(client, world, tokens, {"A": {}, "B": {}}, {"station_A3": spare_station})

    async def template(key: str, publish: bool = True) -> tuple[str, str | None]:
        created = await _ok(
            await client.post("/api/v1/templates", admin, json={"key": key, "title": {"en": key, "ur": "سانچہ"}}), 201
        )
        await _ok(await client.put(f"/api/v1/templates/{created['id']}/draft", admin, json=DEFINITION), 200)
        if not publish:
            return created["id"], None
        published = await _ok(await client.post(f"/api/v1/templates/{created['id']}/publish", admin), 201)
        return created["id"], published["id"]

    template_id, version_id = await template("matrix_main")
    schedule_template, _ = await template("matrix_schedules")
    scene.extra["template_to_publish"], _ = await template("matrix_unpublished", publish=False)
    scene.extra["template_to_archive"], _ = await template("matrix_archive")

    for r in ("A", "B"):
        lower = r.lower()
        inspector, reviewer = tokens[f"inspector_{lower}"], tokens[f"reviewer_{lower}"]
        station = str(world.stations[r])
        location = {"lat": 31.5 if r == "A" else 30.2, "lon": 74.35, "accuracy_m": 8}
        inspections = {}
        for name in ("main", "by_reviewer", "by_admin"):
            inspection_id = str(uuid.uuid4())
            body = {
                "station_id": station,
                "template_version_id": version_id,
                "base_revision": 0,
                "status": "submitted",
                "started_at": "2026-11-27T09:00:00Z",
                "location": location,
                "answers": answers(),
            }
            reply = await _ok(await client.put(f"/api/v1/inspections/{inspection_id}", inspector, json=body), 201)
            inspections[name] = inspection_id
            scene.extra[f"revision_{name}_{r}"] = str(reply["revision"])
        scene.extra[f"inspection_by_reviewer_{r}"] = inspections["by_reviewer"]
        scene.extra[f"inspection_by_admin_{r}"] = inspections["by_admin"]
        photo_id = str(uuid.uuid4())
        await _ok(
            await client.put(
                f"/api/v1/photos/{photo_id}",
                inspector,
                content=tiny_jpeg(1 if r == "A" else 2),
                params={"inspection_id": inspections["main"], "item_key": "f_staffed"},
                headers={"Content-Type": "image/jpeg"},
            ),
            201,
        )
        action = await _ok(
            await client.post(
                "/api/v1/actions",
                reviewer,
                json={
                    "station_id": station,
                    "description": f"Repair the lock-up door ({r})",
                    # A month ahead: an action's due date may not be in the past.
                    "due_date": (date.today() + timedelta(days=30)).isoformat(),
                    "inspection_id": inspections["main"],
                    "item_key": "l_water",
                },
            ),
            201,
        )
        assignment = await _ok(
            await client.post(
                "/api/v1/assignments",
                admin,
                json={
                    "station_id": station,
                    "template_id": template_id,
                    "inspector_id": str(world.users[f"inspector_{lower}"]),
                    "due_date": "2026-12-31",
                },
            ),
            201,
        )
        schedule = await _ok(
            await client.post(
                "/api/v1/schedules",
                admin,
                json={
                    "station_id": str(world.stations[r + "2"]),
                    "template_id": schedule_template,
                    "inspector_id": str(world.users[f"inspector_{lower}"]),
                    "frequency": "monthly",
                    "next_due": "2026-12-15",
                },
            ),
            201,
        )
        scene.ids[r] = {
            "user_id": str(world.users[f"inspector_{lower}"]),
            "region_id": str(world.regions[r]),
            "district_id": str(world.districts[r]),
            "circle_id": circles[r],
            "station_id": station,
            "template_id": template_id,
            "version": "1",
            "version_id": version_id,
            "inspection_id": inspections["main"],
            "photo_id": photo_id,
            "action_id": action["id"],
            "assignment_id": assignment["id"],
            "schedule_id": schedule["id"],
            "inspector_id": scene_user(world, r),
        }
    scene.extra["schedule_template"] = schedule_template
    return scene


def scene_user(world: World, region: str) -> str:
    return str(world.users[f"inspector_{region.lower()}"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(
    pg_admin_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory, executor: HealingProcessPool
) -> AsyncIterator[Scene]:
    """One scene per test module, on its own database: building it takes seconds, and the tests that
    share it read it or write only objects made for their own cells. Tests using it run in the
    module's event loop (`pytest.mark.asyncio(loop_scope="module")`)."""
    name = await clone_database(pg_admin_url, template_db)
    url = with_database(pg_admin_url, name)
    app = create_app(
        make_settings(url, tmp_path_factory.mktemp("scene") / "var"), executor=executor, run_migrations=False
    )
    try:
        async with AsyncTestClient(app, raise_server_exceptions=False) as http:
            yield await build_scene(ApiClient(http, url))
    finally:
        await drop_database(pg_admin_url, name)
