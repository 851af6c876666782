"""Two admins on one template draft: a save or a publication made from a draft that someone else has
since replaced is refused (412, with the current draft) and overwrites nothing; without the header,
saving and publishing behave as they always did."""

from __future__ import annotations

import asyncio

import pytest

from tests.test_templates_api import create, definition, text

PROBLEM = "application/problem+json"


def draft_url(template_id: str) -> str:
    return f"/api/v1/templates/{template_id}/draft"


async def detail(client, token, template_id: str) -> dict:
    response = await client.get(f"/api/v1/templates/{template_id}", token)
    assert response.status_code == 200, response.text
    return response.json()


async def save(client, token, template_id: str, defn: dict, **headers: str):
    names = {"if_match": "If-Match", "if_none_match": "If-None-Match"}
    return await client.put(draft_url(template_id), token, json=defn, headers={names[k]: v for k, v in headers.items()})


async def draft_audits(client, template_id: str) -> int:
    conn = await client.db()
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'template.draft' AND entity_id = $1", template_id
        )
    finally:
        await conn.close()


async def test_a_second_save_from_the_same_draft_is_refused_with_the_current_draft_and_overwrites_nothing(
    client, admin
):
    template_id = await create(client, admin)
    base = (await save(client, admin, template_id, definition())).json()
    assert base["draft_etag"].startswith('"') and base["draft_etag"].endswith('"')
    # Two tabs opened that draft; the first one's autosave lands.
    first = await save(
        client, admin, template_id, definition(title=text("Edited in tab one")), if_match=base["draft_etag"]
    )
    assert first.status_code == 200, first.text
    assert first.json()["draft_etag"] != base["draft_etag"]
    # The second one, still edited from the old draft, is told and stores nothing.
    second = await save(
        client, admin, template_id, definition(title=text("Edited in tab two")), if_match=base["draft_etag"]
    )
    assert second.status_code == 412, second.text
    assert second.headers["content-type"].startswith(PROBLEM)
    problem = second.json()
    assert problem["status"] == 412 and problem["title"] == "Precondition failed" and problem["detail"]
    assert problem["draft"] == first.json()["draft"] and problem["draft_etag"] == first.json()["draft_etag"]
    now = await detail(client, admin, template_id)
    assert now["draft"]["title"]["en"] == "Edited in tab one" and now["draft_etag"] == first.json()["draft_etag"]
    assert await draft_audits(client, template_id) == 2
    # Having seen the other draft, the second tab may choose to overwrite it.
    chosen = await save(
        client, admin, template_id, definition(title=text("Edited in tab two")), if_match=problem["draft_etag"]
    )
    assert chosen.status_code == 200 and chosen.json()["draft"]["title"]["en"] == "Edited in tab two"


async def test_simultaneous_saves_from_one_draft_store_exactly_one(client, admin):
    template_id = await create(client, admin)
    tag = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    answers = await asyncio.gather(
        *(save(client, admin, template_id, definition(title=text(f"Tab {n}")), if_match=tag) for n in range(8))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [412] * 7
    winner = next(a for a in answers if a.status_code == 200).json()
    assert (await detail(client, admin, template_id))["draft"] == winner["draft"]
    assert all(a.json()["draft"] == winner["draft"] for a in answers if a.status_code == 412)
    assert await draft_audits(client, template_id) == 2


async def test_a_save_without_a_condition_behaves_as_before(client, admin):
    template_id = await create(client, admin)
    await save(client, admin, template_id, definition(title=text("One")))
    later = await save(client, admin, template_id, definition(title=text("Two")))
    assert later.status_code == 200 and later.json()["draft"]["title"]["en"] == "Two"


async def test_the_first_draft_is_claimed_once_with_if_none_match(client, admin):
    template_id = await create(client, admin)
    assert (await detail(client, admin, template_id))["draft_etag"] is None
    first = await save(client, admin, template_id, definition(title=text("First")), if_none_match="*")
    assert first.status_code == 200, first.text
    second = await save(client, admin, template_id, definition(title=text("Second")), if_none_match="*")
    assert second.status_code == 412
    assert second.json()["draft"]["title"]["en"] == "First"
    # If-Match names a draft, so with no draft at all it cannot hold.
    other = await create(client, admin, "other_check")
    assert (await save(client, admin, other, definition(), if_match="*")).status_code == 412
    assert (await detail(client, admin, other))["draft"] is None


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("{tag}", 200),
        ("{bare}", 200),
        ('"0000", {tag}', 200),
        ("*", 200),
        ("W/{tag}", 412),
        ('"0000"', 412),
    ],
)
async def test_if_match_compares_tags_strongly(client, admin, header, status):
    template_id = await create(client, admin)
    tag = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    value = header.format(tag=tag, bare=tag.strip('"'))
    response = await save(client, admin, template_id, definition(title=text("Changed")), if_match=value)
    assert response.status_code == status, response.text


async def test_a_save_equal_to_the_current_draft_succeeds_whatever_the_tag(client, admin):
    # A save whose reply was lost is sent again with the old tag: it is no conflict with itself.
    template_id = await create(client, admin)
    tag = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    stored = await save(client, admin, template_id, definition(title=text("Sent twice")), if_match=tag)
    again = await save(client, admin, template_id, definition(title=text("Sent twice")), if_match=tag)
    assert again.status_code == 200 and again.json()["draft_etag"] == stored.json()["draft_etag"]
    assert await draft_audits(client, template_id) == 2


async def test_the_tag_follows_the_draft_and_only_admins_see_it(client, admin):
    template_id = await create(client, admin)
    one = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    assert (await save(client, admin, template_id, definition())).json()["draft_etag"] == one
    assert (await detail(client, admin, template_id))["draft_etag"] == one
    assert (await save(client, admin, template_id, definition(title=text("Other")))).json()["draft_etag"] != one
    assert (await client.post(f"/api/v1/templates/{template_id}/publish", admin)).status_code == 201
    inspector = await client.login("inspector_a")
    assert (await detail(client, inspector, template_id))["draft_etag"] is None


async def test_an_archived_template_is_still_a_409_whatever_the_tag(client, admin):
    template_id = await create(client, admin)
    tag = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    await client.post(f"/api/v1/templates/{template_id}/archive", admin)
    assert (await save(client, admin, template_id, definition(title=text("X")), if_match=tag)).status_code == 409


async def test_publishing_a_draft_changed_since_it_was_shown_is_refused_and_publishes_nothing(client, admin):
    template_id = await create(client, admin)
    shown = (await save(client, admin, template_id, definition())).json()["draft_etag"]
    # Another admin saves while this one reads the changes in the publish dialog.
    theirs = (await save(client, admin, template_id, definition(title=text("Theirs")))).json()
    publish = f"/api/v1/templates/{template_id}/publish"
    refused = await client.post(publish, admin, headers={"If-Match": shown})
    assert refused.status_code == 412
    assert refused.json()["draft"] == theirs["draft"] and refused.json()["draft_etag"] == theirs["draft_etag"]
    assert (await client.get(f"/api/v1/templates/{template_id}/versions", admin)).json() == []
    # With the tag of the draft on the server it is published; without any tag, as before.
    published = await client.post(publish, admin, headers={"If-Match": theirs["draft_etag"]})
    assert published.status_code == 201 and published.json()["version"] == 1
    await save(client, admin, template_id, definition(title=text("Third")))
    assert (await client.post(publish, admin)).status_code == 201


async def test_the_openapi_document_names_the_412_of_both_routes(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "412" in paths["/api/v1/templates/{template_id}/draft"]["put"]["responses"]
    assert "412" in paths["/api/v1/templates/{template_id}/publish"]["post"]["responses"]
