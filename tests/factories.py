"""Small builders for test data and a signed-in API client. Rows go in through SQL; there is no ORM."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from argon2 import PasswordHasher

from server import db

PASSWORD = "correct-horse-42"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    """The test users' password hash: argon2id, as the server's, at the lowest cost argon2 allows. A
    check follows the cost written in the hash, so each of the suite's thousands of sign-ins takes a
    tenth of a millisecond instead of 150 ms of both cores; hashes the server makes (hash_password, as an
    admin's reset or a password change makes them) keep the full profile, and their tests use it."""
    return PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)


class ApiClient:
    """Wraps Litestar's AsyncTestClient with sign-in helpers. `as_(token)` returns auth headers."""

    def __init__(self, test_client: Any, database_url: str):
        self.http = test_client
        self.database_url = database_url
        self.tokens: dict[str, str] = {}

    async def login(self, username: str, password: str = PASSWORD) -> str:
        response = await self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        self.tokens[username] = token
        return token

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **(self.auth(token) if token else {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, token, **kwargs)

    async def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, token, **kwargs)

    async def put(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, token, **kwargs)

    async def patch(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, token, **kwargs)

    async def delete(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, token, **kwargs)

    async def db(self):
        return await db.connect(self.database_url)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """The rows of one query, on a connection of its own (closed before returning)."""
        conn = await self.db()
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


@dataclass
class World:
    """Two regions (A and B), each with a district and stations, and a user of every role in each."""

    regions: dict[str, uuid.UUID] = field(default_factory=dict)
    districts: dict[str, uuid.UUID] = field(default_factory=dict)
    stations: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)


async def make_region(conn, code: str, name: str | None = None) -> uuid.UUID:
    return await conn.fetchval(
        "INSERT INTO regions (code, name_en, name_ur) VALUES ($1, $2, $3) RETURNING id", code, name or code, "ریجن"
    )


async def make_district(conn, region_id: uuid.UUID, code: str, name: str | None = None) -> uuid.UUID:
    return await conn.fetchval(
        "INSERT INTO districts (code, name_en, name_ur, region_id) VALUES ($1, $2, $3, $4) RETURNING id",
        code,
        name or code,
        "ضلع",
        region_id,
    )


async def make_station(
    conn, district_id: uuid.UUID, code: str, lat: float = 31.52, lon: float = 74.35, kind: str = "police_station"
) -> uuid.UUID:
    return await conn.fetchval(
        """INSERT INTO stations (code, name_en, name_ur, district_id, lat, lon, kind)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        code,
        f"PS {code}",
        f"تھانہ {code}",
        district_id,
        lat,
        lon,
        kind,
    )


async def make_user(
    conn,
    username: str,
    role: str,
    *,
    region_ids: list[uuid.UUID] | None = None,
    district_ids: list[uuid.UUID] | None = None,
    active: bool = True,
) -> uuid.UUID:
    return await conn.fetchval(
        """INSERT INTO users (username, display_name, password_hash, role, region_ids, district_ids, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        username,
        username.replace(".", " ").title(),
        _password_hash(),
        role,
        region_ids or [],
        district_ids or [],
        active,
    )


async def make_world(conn) -> World:
    """admin; reviewer_a / reviewer_b scoped by region; inspector_a / inspector_b scoped by district."""
    w = World()
    for r in ("A", "B"):
        w.regions[r] = await make_region(conn, f"R{r}", f"Region {r}")
        w.districts[r] = await make_district(conn, w.regions[r], f"D{r}", f"District {r}")
        w.stations[r] = await make_station(conn, w.districts[r], f"S{r}1", lat=31.5 if r == "A" else 30.2)
        w.stations[r + "2"] = await make_station(conn, w.districts[r], f"S{r}2", lat=31.6 if r == "A" else 30.3)
        w.users[f"reviewer_{r.lower()}"] = await make_user(
            conn, f"reviewer_{r.lower()}", "reviewer", region_ids=[w.regions[r]]
        )
        w.users[f"inspector_{r.lower()}"] = await make_user(
            conn, f"inspector_{r.lower()}", "inspector", district_ids=[w.districts[r]]
        )
    w.users["admin"] = await make_user(conn, "admin", "admin")
    return w


async def make_version(conn, definition: Any = None) -> uuid.UUID:
    """A template of its own and its version 1 with `definition` (empty by default), written directly."""
    template_id = await conn.fetchval(
        "INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'ٹ') RETURNING id"
    )
    return await conn.fetchval(
        "INSERT INTO template_versions (template_id, version, definition) VALUES ($1, 1, $2) RETURNING id",
        template_id,
        {} if definition is None else definition,
    )


def query_params(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, name, schema) of every query parameter of every GET route without path parameters in
    an OpenAPI document; an optional parameter's schema is its type's (it is documented as oneOf
    [its type, null])."""
    found = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for param in get.get("parameters", []):
            if param["in"] == "query":
                schema = param.get("schema", {})
                typed = next((s for s in [schema, *schema.get("oneOf", [])] if s.get("type") not in (None, "null")), {})
                found.append((path, param["name"], typed))
    return found


async def await_photos(conn: Any, inspection_id: uuid.UUID, item_key: str, photo_ids: list[uuid.UUID]) -> None:
    """The inspection's answer to `item_key` names these photos, and no row holds them yet: as a phone
    that sent the inspection again after a database restore leaves it."""
    await conn.execute(
        "INSERT INTO answers (inspection_id, item_key, section_key, photo_ids) VALUES ($1, $2, 's', $3)",
        inspection_id,
        item_key,
        photo_ids,
    )
    await conn.execute("UPDATE inspections SET photos_missing = $2 WHERE id = $1", inspection_id, len(photo_ids))
