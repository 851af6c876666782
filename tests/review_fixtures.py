"""Shared set-up for the review, actions and dashboard tests: a world, a template published through the
API, and inspections synced through the inspection API, as a phone would."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.factories import ApiClient, World, make_world

TEXT = {"en": "Item", "ur": "آئٹم"}

# Two weighted sections, two critical items, every scored type the overrides can touch, a text item
# (no score to override) and an item hidden unless the front desk is unstaffed.
DEFINITION: dict[str, Any] = {
    "title": {"en": "Review test inspection", "ur": "معائنہ"},
    "sections": [
        {
            "key": "front",
            "title": {"en": "Front", "ur": "سامنے"},
            "weight": 2,
            "items": [
                {
                    "key": "f_staffed",
                    "type": "yes_no",
                    "label": {"en": "Front desk staffed", "ur": "عملہ موجود"},
                    "required": True,
                },
                {"key": "f_clean", "type": "scale", "label": {"en": "Clean", "ur": "صفائی"}, "max": 5},
                {
                    "key": "f_token",
                    "type": "choice",
                    "label": {"en": "Token given", "ur": "ٹوکن"},
                    "options": [{"key": "yes", "label": TEXT, "points": 2}, {"key": "no", "label": TEXT, "points": 0}],
                },
                {
                    "key": "f_why",
                    "type": "yes_no",
                    "label": {"en": "Reason recorded", "ur": "وجہ"},
                    "visible_if": {"item": "f_staffed", "in": ["no"]},
                },
                {"key": "f_note", "type": "text", "label": {"en": "Remarks", "ur": "ریمارکس"}},
            ],
        },
        {
            "key": "lockup",
            "title": {"en": "Lock-up", "ur": "حوالات"},
            "items": [
                {
                    "key": "l_diary",
                    "type": "yes_no",
                    "label": {"en": "Detainees in the diary", "ur": "روزنامچہ"},
                    "required": True,
                    "critical": True,
                },
                {"key": "l_water", "type": "yes_no", "label": {"en": "Drinking water", "ur": "پانی"}, "critical": True},
            ],
        },
    ],
}

FAR = {"lat": 33.7, "lon": 73.0, "accuracy_m": 10}  # hundreds of kilometres from every test station


def answers(
    staffed: str = "yes",
    clean: int = 4,
    token: str = "yes",
    diary: str = "yes",
    water: str | None = "yes",
    why: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "f_staffed": {"value": staffed},
        "f_clean": {"value": clean},
        "f_token": {"value": token},
        "l_diary": {"value": diary},
    }
    if water is not None:
        out["l_water"] = {"value": water}
    if why is not None:
        out["f_why"] = {"value": why}
    return out


@dataclass
class Ctx:
    client: ApiClient
    world: World
    template_id: uuid.UUID
    version_id: uuid.UUID
    tokens: dict[str, str]

    async def token(self, user: str) -> str:
        # Signing in costs an argon2 hash check, so each user signs in only when a test needs them.
        if user not in self.tokens:
            self.tokens[user] = await self.client.login(user)
        return self.tokens[user]

    def station_location(self, station: str, inspection_id: uuid.UUID | None = None) -> dict[str, float]:
        # make_world puts region A's stations at lat 31.5/31.6 and B's at 30.2/30.3, all at lon 74.35.
        # A real fix lands a few metres off (3.3 m north): one exactly on the station's position is
        # flagged as set by hand (tests/test_location_exact.py). And it jitters: two visits with the very
        # same fix are flagged too (tests/test_location_repeated.py), so each inspection's differs from
        # the others' by a fraction of a millimetre, the same whenever that inspection is sent.
        lat = {"A": 31.5, "A2": 31.6, "B": 30.2, "B2": 30.3}[station]
        jitter = 0 if inspection_id is None else (inspection_id.int % 999 + 1) * 1e-9
        return {"lat": lat + 0.00003 + jitter, "lon": 74.35, "accuracy_m": 8}

    async def put(
        self,
        inspection_id: uuid.UUID,
        *,
        station: str = "A",
        user: str = "inspector_a",
        status: str = "submitted",
        base: int = 0,
        values: dict[str, Any] | None = None,
        location: dict[str, Any] | None = None,
        finished_at: str | None = None,
        started_at: str = "2026-11-27T09:00:00Z",
    ) -> dict[str, Any]:
        body = {
            "station_id": str(self.world.stations[station]),
            "template_version_id": str(self.version_id),
            "base_revision": base,
            "status": status,
            "started_at": started_at,
            "finished_at": finished_at,
            "location": location or self.station_location(station, inspection_id),
            "answers": values if values is not None else answers(),
        }
        response = await self.client.put(f"/api/v1/inspections/{inspection_id}", await self.token(user), json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def submit(self, station: str = "A", user: str = "inspector_a", **kw: Any) -> tuple[uuid.UUID, int]:
        """A new inspection submitted in one PUT; returns (id, revision)."""
        inspection_id = uuid.uuid4()
        reply = await self.put(inspection_id, station=station, user=user, **kw)
        return inspection_id, reply["revision"]

    async def review(
        self, inspection_id: uuid.UUID, decision: str, revision: int, user: str = "reviewer_a", **body: Any
    ):
        return await self.client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            await self.token(user),
            json={"decision": decision, "revision": revision, **body},
        )

    async def upload_photo(
        self, inspection_id: uuid.UUID, item_key: str = "f_staffed", user: str = "inspector_a", shade: int = 0
    ) -> uuid.UUID:
        """A small JPEG uploaded as a phone would, to an item of the user's inspection; returns its id."""
        out = io.BytesIO()
        Image.new("RGB", (96, 64), (200, 40 + shade % 200, 30)).save(out, "JPEG", quality=85)
        photo_id = uuid.uuid4()
        response = await self.client.put(
            f"/api/v1/photos/{photo_id}",
            await self.token(user),
            content=out.getvalue(),
            params={"inspection_id": str(inspection_id), "item_key": item_key},
            headers={"Content-Type": "image/jpeg"},
        )
        assert response.status_code == 201, response.text
        return photo_id

    async def get(self, path: str, user: str = "reviewer_a", **params: Any):
        return await self.client.get(path, await self.token(user), params=params)


async def make_ctx(client: ApiClient, definition: dict[str, Any] | None = None) -> Ctx:
    conn = await client.db()
    try:
        world = await make_world(conn)
    finally:
        await conn.close()
    admin = await client.login("admin")
    created = await client.post(
        "/api/v1/templates", admin, json={"key": "review_test", "title": {"en": "Review test", "ur": "جائزہ"}}
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    saved = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=definition or DEFINITION)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"/api/v1/templates/{template_id}/publish", admin)
    assert published.status_code == 201, published.text
    return Ctx(client, world, uuid.UUID(template_id), uuid.UUID(published.json()["id"]), {"admin": admin})
