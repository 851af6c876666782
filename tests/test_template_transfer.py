"""Template export and import (server/template_transfer): a published version leaves as a JSON file and
comes back as a draft that publishes to the identical definition; a bad file is refused whole."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from server.demo.content import DEMO_PASSWORDS
from tests.factories import make_world

T = "/api/v1/templates"


def text(en: str, ur: str = "اردو") -> dict[str, str]:
    return {"en": en, "ur": ur}


# Every item type, a visible_if, a critical item, help text, a unit and grade bands of its own.
DEFINITION: dict[str, Any] = {
    "title": text("Transfer test", "منتقلی کی جانچ"),
    "grade_bands": [{"grade": "Good", "min": 80}, {"grade": "Poor", "min": 0}],
    "kinds": ["police_station"],
    "sections": [
        {
            "key": "front",
            "title": text("Front"),
            "weight": 2,
            "items": [
                {
                    "key": "staffed",
                    "type": "yes_no",
                    "label": text("Staffed?"),
                    "critical": True,
                    "min_photos": 1,
                    "help": text("Look at the desk.", "ڈیسک دیکھیں۔"),
                },
                {
                    "key": "why",
                    "type": "text",
                    "label": text("Why not?"),
                    "visible_if": {"item": "staffed", "in": ["no"]},
                },
                {"key": "clean", "type": "scale", "label": text("Clean"), "max": 5},
                {"key": "wait", "type": "number", "label": text("Wait"), "min": 0, "max": 15, "unit": "minutes"},
            ],
        },
        {
            "key": "back",
            "title": text("Back"),
            "items": [
                {
                    "key": "token",
                    "type": "choice",
                    "label": text("Token"),
                    "options": [
                        {"key": "yes", "label": text("Yes"), "points": 2},
                        {"key": "no", "label": text("No"), "points": 0},
                    ],
                },
                {
                    "key": "media",
                    "type": "multi_choice",
                    "label": text("Media"),
                    "weight": 0.5,
                    "options": [
                        {"key": "poster", "label": text("Poster"), "points": 1},
                        {"key": "screen", "label": text("Screen"), "points": 1.5},
                    ],
                },
                {"key": "seen", "type": "date", "label": text("Last visit")},
                {"key": "photo", "type": "photo", "label": text("Front photo"), "min_photos": 2, "required": True},
            ],
        },
    ],
}


async def _published(client, token: str, key: str, definition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = await client.post(f"{T}/", token, json={"key": key, "title": definition["title"]})
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    saved = await client.put(f"{T}/{template_id}/draft", token, json=definition)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"{T}/{template_id}/publish", token)
    assert published.status_code == 201, published.text
    version = await client.get(f"{T}/{template_id}/versions/{published.json()['version']}", token)
    return template_id, version.json()


async def _template_count(client) -> int:
    conn = await client.db()
    try:
        return await conn.fetchval("SELECT count(*) FROM templates")
    finally:
        await conn.close()


async def test_a_published_version_exported_and_imported_publishes_an_identical_definition(client):
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    token = await client.login("admin")
    template_id, original = await _published(client, token, "transfer_source", DEFINITION)

    exported = await client.get(f"{T}/{template_id}/versions/1/export", token)
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="transfer_source-v1.json"'
    document = exported.json()
    assert document["format"] == "muaina.template" and document["key"] == "transfer_source"
    assert document["definition"] == original["definition"]

    imported = await client.post(
        f"{T}/import",
        token,
        params={"key": "transfer_copy"},
        content=exported.content,
        headers={"Content-Type": "application/json"},
    )
    assert imported.status_code == 201, imported.text
    copy_id = imported.json()["id"]
    assert imported.json()["key"] == "transfer_copy" and imported.json()["latest_version"] is None
    assert imported.json()["draft"] == original["definition"]
    published = await client.post(f"{T}/{copy_id}/publish", token)
    assert published.status_code == 201, published.text
    again = await client.get(f"{T}/{copy_id}/versions/1", token)
    assert again.json()["definition"] == original["definition"]


async def test_the_demo_template_survives_the_round_trip_into_its_own_draft(demo_client):
    token = await demo_client.login("admin", DEMO_PASSWORDS["admin"])
    sips = next(t for t in (await demo_client.get(f"{T}/", token)).json() if t["key"] == "sips_station")
    exported = await demo_client.get(f"{T}/{sips['id']}/versions/{sips['latest_version']}/export", token)
    original = exported.json()["definition"]
    assert sum(len(s["items"]) for s in original["sections"]) >= 60

    imported = await demo_client.post(
        f"{T}/{sips['id']}/import", token, content=exported.content, headers={"Content-Type": "application/json"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["draft"] == original
    # Nothing differs from the published version, so there is nothing new to publish.
    assert imported.json()["draft_status"] == "published"
    assert (await demo_client.post(f"{T}/{sips['id']}/publish", token)).status_code == 409


async def test_a_bare_definition_imports_under_the_key_given_in_the_query(client):
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    token = await client.login("admin")
    response = await client.post(f"{T}/import", token, params={"key": "bare_one"}, json=DEFINITION)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == DEFINITION["title"]
    assert response.json()["draft_status"] == "unpublished"
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'template.import'") == 1
    finally:
        await conn.close()


async def test_a_file_saved_again_by_notepad_with_a_byte_order_mark_imports(client):
    """Windows Notepad saves UTF-8 with a byte-order mark, which JSON does not allow: it was refused as
    "not JSON (byte 0)"."""
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    token = await client.login("admin")
    body = "\ufeff".encode() + json.dumps(DEFINITION, ensure_ascii=False).encode()
    response = await client.post(
        f"{T}/import", token, params={"key": "notepad_copy"}, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == DEFINITION["title"]


def _without_options() -> dict[str, Any]:
    broken = copy.deepcopy(DEFINITION)
    del broken["sections"][1]["items"][0]["options"]
    broken["sections"][0]["items"][0]["label"]["ur"] = ""
    return broken


@pytest.mark.parametrize(
    ("body", "params", "status", "fields"),
    [
        (b"{not json", {"key": "k_one"}, 400, []),
        (b"[1, 2]", {"key": "k_one"}, 422, ["body"]),
        (b'{"format": "something.else", "definition": {}}', {"key": "k_one"}, 422, ["format"]),
        ("bad-file-key", {}, 422, ["key"]),
        (None, {"key": "k_one"}, 422, ["sections[0].items[0].label.ur", "sections[1].items[0].options"]),
        ("ok", {}, 422, ["key"]),
        ("ok", {"key": "Not A Key"}, 422, ["key"]),
        ("ok", {"key": "taken"}, 422, ["key"]),
    ],
    ids=["not-json", "not-an-object", "wrong-format", "bad-file-key", "rules-broken", "no-key", "bad-key", "key-taken"],
)
async def test_a_file_that_cannot_be_imported_is_refused_whole_with_its_problems(client, body, params, status, fields):
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    token = await client.login("admin")
    await _published(client, token, "taken", DEFINITION)
    before = await _template_count(client)
    if body is None:
        body = json.dumps(_without_options()).encode()
    elif body == "ok":
        body = json.dumps(DEFINITION).encode()
    elif body == "bad-file-key":
        body = json.dumps({"format": "muaina.template", "key": "Bad Key", "definition": DEFINITION}).encode()
    response = await client.post(
        f"{T}/import", token, params=params, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert sorted(e["field"] for e in response.json().get("errors", [])) == sorted(fields)
    assert await _template_count(client) == before


async def test_a_key_given_with_the_import_replaces_an_unusable_one_in_the_file(client):
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    token = await client.login("admin")
    body = json.dumps({"format": "muaina.template", "key": "Station Check!", "definition": DEFINITION}).encode()
    response = await client.post(
        f"{T}/import",
        token,
        params={"key": "station_check"},
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["key"] == "station_check"


async def test_only_admins_export_and_import_templates(client):
    conn = await client.db()
    await make_world(conn)
    await conn.close()
    admin = await client.login("admin")
    template_id, _ = await _published(client, admin, "guarded", DEFINITION)
    reviewer = await client.login("reviewer_a")
    assert (await client.get(f"{T}/{template_id}/versions/1/export", reviewer)).status_code == 403
    assert (await client.post(f"{T}/import", reviewer, params={"key": "nope"}, json=DEFINITION)).status_code == 403
    assert (await client.post(f"{T}/{template_id}/import", reviewer, json=DEFINITION)).status_code == 403
    assert (await client.get(f"{T}/{template_id}/versions/1/export")).status_code == 401
