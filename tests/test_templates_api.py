"""The templates API: drafts validated in full, immutable published versions, archive, and who may do what."""

from __future__ import annotations

import copy

import asyncpg
import pytest

from server.demo.content import load_template


def text(en: str) -> dict:
    return {"en": en, "ur": "متن"}


def definition(**changes) -> dict:
    defn = {
        "title": text("Station check"),
        "sections": [
            {
                "key": "front",
                "title": text("Front desk"),
                "weight": 2,
                "items": [
                    {"key": "staffed", "type": "yes_no", "label": text("Desk staffed?"), "critical": True},
                    {"key": "wait", "type": "number", "label": text("Waiting minutes"), "min": 0, "max": 15},
                    {
                        "key": "why",
                        "type": "text",
                        "label": text("Why not?"),
                        "visible_if": {"item": "staffed", "in": ["no"]},
                    },
                ],
            },
            {
                "key": "records",
                "title": text("Records"),
                "items": [
                    {
                        "key": "fir",
                        "type": "choice",
                        "label": text("FIR register"),
                        "options": [
                            {"key": "good", "label": text("Good"), "points": 2},
                            {"key": "poor", "label": text("Poor"), "points": 0},
                        ],
                    },
                ],
            },
        ],
    }
    defn.update(changes)
    return defn


async def create(client, token, key="station_check") -> str:
    response = await client.post("/api/v1/templates", token, json={"key": key, "title": text("Station check")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def publish(client, token, template_id, defn) -> dict:
    saved = await client.put(f"/api/v1/templates/{template_id}/draft", token, json=defn)
    assert saved.status_code == 200, saved.text
    response = await client.post(f"/api/v1/templates/{template_id}/publish", token)
    assert response.status_code == 201, response.text
    return response.json()


async def test_publish_then_list_and_fetch_the_version(client, admin):
    template_id = await create(client, admin)
    published = await publish(client, admin, template_id, definition())
    assert published["version"] == 1
    assert published["changes"]["first_version"] is True
    assert published["changes"]["items_added"] == ["staffed", "wait", "why", "fir"]
    versions = (await client.get(f"/api/v1/templates/{template_id}/versions", admin)).json()
    assert [(v["id"], v["version"], v["sections"], v["items"]) for v in versions] == [(published["id"], 1, 2, 4)]
    fetched = (await client.get(f"/api/v1/templates/{template_id}/versions/1", admin)).json()
    assert {k: fetched[k] for k in ("id", "template_id", "version")} == {
        "id": published["id"],
        "template_id": template_id,
        "version": 1,
    }
    assert fetched["published_at"]
    # Defaults are written out, so a phone never has to know them; absent options stay absent.
    first = fetched["definition"]["sections"][0]["items"][0]
    assert first["weight"] == 1.0 and first["required"] is False and "options" not in first
    assert fetched["definition"]["grade_bands"][0] == {"grade": "A", "min": 90.0}
    by_id = (await client.get(f"/api/v1/template-versions/{published['id']}", admin)).json()
    assert by_id == fetched
    listed = (await client.get("/api/v1/templates", admin)).json()
    assert [(t["key"], t["latest_version"], t["draft_status"], t["archived"]) for t in listed] == [
        ("station_check", 1, "published", False)
    ]
    assert (await client.get(f"/api/v1/templates/{template_id}/versions/2", admin)).status_code == 404


async def test_publishing_an_unchanged_draft_again_is_refused_and_makes_no_version(client, admin):
    template_id = await create(client, admin)
    first = await publish(client, admin, template_id, definition())
    again = await client.post(f"/api/v1/templates/{template_id}/publish", admin)
    assert again.status_code == 409
    assert again.json()["id"] == first["id"] and again.json()["version"] == 1
    assert len((await client.get(f"/api/v1/templates/{template_id}/versions", admin)).json()) == 1


async def test_a_second_version_reports_what_changed(client, admin):
    template_id = await create(client, admin)
    await publish(client, admin, template_id, definition())
    changed = definition()
    changed["sections"][0]["items"][1]["max"] = 20  # wait: changed
    del changed["sections"][0]["items"][2]  # why: removed
    changed["sections"][1]["items"].append({"key": "roznamcha", "type": "yes_no", "label": text("Daily diary")})
    changed["title"] = text("Station check (2027)")
    detail = (await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=changed)).json()
    assert detail["draft_status"] == "unpublished"
    assert detail["draft_changes"]["items_added"] == ["roznamcha"]
    second = (await client.post(f"/api/v1/templates/{template_id}/publish", admin)).json()
    assert second["version"] == 2
    changes = second["changes"]
    assert (changes["items_added"], changes["items_removed"], changes["items_changed"]) == (
        ["roznamcha"],
        ["why"],
        ["wait"],
    )
    assert changes["settings_changed"] == ["title"] and changes["first_version"] is False
    template = (await client.get(f"/api/v1/templates/{template_id}", admin)).json()
    assert template["title"]["en"] == "Station check (2027)" and template["latest_version"] == 2
    old = (await client.get(f"/api/v1/templates/{template_id}/versions/1", admin)).json()
    assert old["definition"]["sections"][0]["items"][1]["max"] == 15


async def test_a_draft_with_many_mistakes_is_refused_with_every_one_listed(client, admin):
    template_id = await create(client, admin)
    bad = definition()
    front, records = bad["sections"]
    records["key"] = "front"  # duplicate section key
    records["items"].append(copy.deepcopy(front["items"][0]))  # duplicate item key "staffed"
    front["items"][0]["visible_if"] = {"item": "fir", "equals": "good"}  # refers to a later item
    front["items"][1]["min"] = 30  # min > max
    front["items"][2]["weight"] = 0  # weight <= 0
    records["items"][0]["options"] = []  # choice without options
    front["title"]["ur"] = ""  # missing Urdu text
    response = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields >= {
        "sections[1].key",
        "sections[1].items[1].key",
        "sections[0].items[0].visible_if.item",
        "sections[0].items[1].min",
        "sections[0].items[2].weight",
        "sections[1].items[0].options",
        "sections[0].title.ur",
    }
    template = (await client.get(f"/api/v1/templates/{template_id}", admin)).json()
    assert template["draft"] is None and template["draft_status"] == "none"


async def test_a_unit_is_given_in_both_languages_and_an_older_one_word_unit_is_still_read(client, admin):
    template_id = await create(client, admin)
    half = definition()
    half["sections"][0]["items"][1]["unit"] = {"en": "minutes", "ur": " "}
    refused = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=half)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[1].unit.ur"]
    for unit in ({"en": "minutes", "ur": "منٹ"}, "minutes"):
        ok = definition()
        ok["sections"][0]["items"][1]["unit"] = unit
        saved = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=ok)
        assert saved.status_code == 200, saved.text
        assert saved.json()["draft"]["sections"][0]["items"][1]["unit"] == unit
    # An admin page from before bilingual units turns {en, ur} into this text: refused, not stored.
    stale = definition()
    stale["sections"][0]["items"][1]["unit"] = "[object Object]"
    refused = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=stale)
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[1].unit"]
    on_a_scale = definition()
    on_a_scale["sections"][0]["items"][0]["unit"] = {"en": "minutes", "ur": "منٹ"}
    refused = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=on_a_scale)
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[0].unit"]


@pytest.mark.parametrize("condition", [{"equals": 10**400}, {"in": [3, -(10**400)]}])
async def test_a_condition_on_a_number_too_long_for_a_double_is_refused_naming_it(client, admin, condition):
    """JSON integers decode at any length; one a phone's JavaScript would read as Infinity is no answer."""
    template_id = await create(client, admin)
    bad = definition()
    bad["sections"][0]["items"][2]["visible_if"] = {"item": "wait", **condition}
    response = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=bad)
    assert response.status_code == 422, response.text
    [problem] = response.json()["errors"]
    assert problem["field"].startswith("sections[0].items[2].visible_if."), problem
    assert "must be a number" in problem["message"], problem
    assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["sections"][0]["items"][0].update(weight="heavy"), "sections[0].items[0].weight"),
        (lambda d: d["sections"][0]["items"][0].update(type="stars"), "sections[0].items[0].type"),
        (lambda d: d["sections"][1]["items"][0].update(colour="red"), "sections[1].items[0].colour"),
        (lambda d: d["sections"][1].pop("key"), "sections[1].key"),
    ],
)
async def test_a_draft_of_the_wrong_shape_names_the_field(client, admin, change, field):
    template_id = await create(client, admin)
    bad = definition()
    change(bad)
    response = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=bad)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_draft_that_is_not_json_is_a_400(client, admin):
    template_id = await create(client, admin)
    response = await client.put(
        f"/api/v1/templates/{template_id}/draft", admin, content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_a_published_version_cannot_be_changed_or_deleted_in_the_database(client, admin):
    template_id = await create(client, admin)
    published = await publish(client, admin, template_id, definition())
    conn = await client.db()
    try:
        with pytest.raises(asyncpg.PostgresError, match="not allowed"):
            await conn.execute("UPDATE template_versions SET definition = '{}' WHERE id = $1", published["id"])
        with pytest.raises(asyncpg.PostgresError, match="not allowed"):
            await conn.execute("DELETE FROM template_versions WHERE id = $1", published["id"])
        stored = await conn.fetchval("SELECT definition FROM template_versions WHERE id = $1", published["id"])
        audit = await conn.fetchrow("SELECT actor, data FROM audit_log WHERE action = 'template.publish'")
    finally:
        await conn.close()
    assert stored["title"]["en"] == "Station check"
    assert audit["actor"] == "admin" and audit["data"]["version"] == 1


async def test_a_saved_draft_is_audited_once_per_change(client, admin):
    template_id = await create(client, admin)
    edited = []
    for defn in (definition(), definition(), definition(title=text("Station check, revised"))):
        saved = await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=defn)
        assert saved.status_code == 200, saved.text
        edited.append(saved.json()["updated_at"])
    # An autosave of an unchanged draft is no edit: the template does not look freshly edited.
    assert edited[1] == edited[0] and edited[2] > edited[1]
    conn = await client.db()
    try:
        rows = await conn.fetch(
            "SELECT actor, data FROM audit_log WHERE action = 'template.draft' AND entity_id = $1 ORDER BY seq",
            template_id,
        )
    finally:
        await conn.close()
    assert [(r["actor"], r["data"]) for r in rows] == [("admin", {"sections": 2, "items": 4})] * 2


async def test_an_archived_template_takes_no_draft_or_version_until_unarchived(client, admin):
    template_id = await create(client, admin)
    await publish(client, admin, template_id, definition())
    archived = await client.post(f"/api/v1/templates/{template_id}/archive", admin)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    changed = definition(title=text("Changed"))
    assert (await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=changed)).status_code == 409
    assert (await client.post(f"/api/v1/templates/{template_id}/publish", admin)).status_code == 409
    assert [t["key"] for t in (await client.get("/api/v1/templates", admin, params={"archived": "false"})).json()] == []
    assert (await client.get(f"/api/v1/templates/{template_id}/versions/1", admin)).status_code == 200
    restored = await client.post(f"/api/v1/templates/{template_id}/unarchive", admin)
    assert restored.json()["archived"] is False
    assert (await client.put(f"/api/v1/templates/{template_id}/draft", admin, json=changed)).status_code == 200


async def test_other_users_see_only_published_templates_and_never_a_draft(client, admin):
    draft_only = await create(client, admin, "draft_only")
    published = await create(client, admin, "published_one")
    version = await publish(client, admin, published, definition())
    inspector = await client.login("inspector_a")
    assert [t["key"] for t in (await client.get("/api/v1/templates", inspector)).json()] == ["published_one"]
    assert (await client.get(f"/api/v1/templates/{draft_only}", inspector)).status_code == 404
    seen = (await client.get(f"/api/v1/templates/{published}", inspector)).json()
    assert seen["draft"] is None and seen["draft_changes"] is None
    assert (await client.get(f"/api/v1/template-versions/{version['id']}", inspector)).status_code == 200


async def test_the_demo_sips_template_goes_through_the_api_unchanged(client, admin):
    template_id = await create(client, admin, "sips_station")
    published = await publish(client, admin, template_id, load_template("sips"))
    fetched = (await client.get(f"/api/v1/template-versions/{published['id']}", admin)).json()
    assert fetched["kinds"] == ["police_station"]
    source_keys = [i["key"] for s in load_template("sips")["sections"] for i in s["items"]]
    assert [i["key"] for s in fetched["definition"]["sections"] for i in s["items"]] == source_keys


async def test_role_matrix_of_the_template_endpoints(client, admin):
    template_id = await create(client, admin)
    published = await publish(client, admin, template_id, definition())
    tokens = {None: None, "admin": admin}
    for username in ("reviewer_a", "inspector_a"):
        tokens[username] = await client.login(username)
    changed = definition(title=text("Role matrix"))
    endpoints = [
        ("GET", "/api/v1/templates", None, "read"),
        ("GET", f"/api/v1/templates/{template_id}", None, "read"),
        ("GET", f"/api/v1/templates/{template_id}/versions", None, "read"),
        ("GET", f"/api/v1/templates/{template_id}/versions/1", None, "read"),
        ("GET", f"/api/v1/template-versions/{published['id']}", None, "read"),
        ("POST", "/api/v1/templates", {"key": "another", "title": text("Another")}, "write"),
        ("PUT", f"/api/v1/templates/{template_id}/draft", changed, "write"),
        ("POST", f"/api/v1/templates/{template_id}/publish", None, "write"),
        ("POST", f"/api/v1/templates/{template_id}/archive", None, "write"),
        ("POST", f"/api/v1/templates/{template_id}/unarchive", None, "write"),
    ]
    wrong = []
    for method, path, body, kind in endpoints:
        for who, token in tokens.items():
            response = await client.request(method, path, token, **({"json": body} if body is not None else {}))
            want = {
                None: 401,
                "inspector_a": 200 if kind == "read" else 403,
                "reviewer_a": 200 if kind == "read" else 403,
                "admin": "2xx",
            }[who]
            ok = 200 <= response.status_code < 300 if want == "2xx" else response.status_code == want
            if not ok:
                wrong.append((method, path, who, response.status_code, want))
    assert wrong == []
