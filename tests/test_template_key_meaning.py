"""An item key keeps meaning the same question in every version of its template (server/templates/meaning.py).

Dashboards, corrective actions and exports join versions by item key, so a draft that gives a published
key to another question is refused at that item, while rewording, re-weighting or a new scale maximum
are revisions of the same question and publish.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.review_fixtures import DEFINITION, Ctx, make_ctx


def revised(change) -> dict[str, Any]:
    defn = copy.deepcopy(DEFINITION)
    change({item["key"]: item for section in defn["sections"] for item in section["items"]})
    return defn


def toilets(items: dict[str, Any]) -> None:
    # The audit's case: v1's "Clean" scale becomes a yes/no about the toilets under the same key.
    items["f_clean"].clear()
    items["f_clean"].update({"key": "f_clean", "type": "yes_no", "label": {"en": "Toilets working", "ur": "بیت الخلا"}})


def new_token_options(items: dict[str, Any]) -> None:
    items["f_token"]["options"] = [
        {"key": "queue", "label": {"en": "Queue", "ur": "قطار"}, "points": 1},
        {"key": "none", "label": {"en": "None", "ur": "کوئی نہیں"}, "points": 0},
    ]


async def save(ctx: Ctx, defn: dict[str, Any]):
    return await ctx.client.put(f"/api/v1/templates/{ctx.template_id}/draft", await ctx.token("admin"), json=defn)


async def publish(ctx: Ctx):
    return await ctx.client.post(f"/api/v1/templates/{ctx.template_id}/publish", await ctx.token("admin"))


async def versions(ctx: Ctx) -> list[int]:
    listed = await ctx.client.get(f"/api/v1/templates/{ctx.template_id}/versions", await ctx.token("admin"))
    return [v["version"] for v in listed.json()]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (toilets, "sections[0].items[1].type", "'f_clean' is a scale item in version 1"),
        (new_token_options, "sections[0].items[2].options", "none of these options is an option of 'f_token'"),
    ],
)
async def test_a_draft_giving_a_published_key_to_another_question_is_refused_at_that_item(client, change, field, words):
    ctx = await make_ctx(client)
    before = (await ctx.client.get(f"/api/v1/templates/{ctx.template_id}", await ctx.token("admin"))).json()["draft"]
    refused = await save(ctx, revised(change))
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert problem["field"] == field
    assert words in problem["message"] and "new key" in problem["message"], problem
    # Nothing was stored: the draft is still version 1's, so there is nothing to publish.
    after = (await ctx.client.get(f"/api/v1/templates/{ctx.template_id}", await ctx.token("admin"))).json()
    assert after["draft"] == before and after["draft_status"] == "published"


async def test_publishing_a_draft_saved_before_the_rule_is_refused_and_publishes_nothing(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    try:  # a draft stored before this rule existed (or by the import), as it is in the database
        await conn.execute(
            "UPDATE templates SET draft = $2 WHERE id = $1",
            ctx.template_id,
            {**revised(toilets), "grade_bands": [{"grade": "A", "min": 90}, {"grade": "D", "min": 0}]},
        )
    finally:
        await conn.close()
    refused = await publish(ctx)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[1].type"]
    assert await versions(ctx) == [1]


async def test_a_key_removed_in_one_version_still_names_its_question_in_the_next(client):
    ctx = await make_ctx(client)
    without = copy.deepcopy(DEFINITION)
    del without["sections"][0]["items"][1]  # f_clean leaves in version 2
    assert (await save(ctx, without)).status_code == 200
    assert (await publish(ctx)).status_code == 201
    refused = await save(ctx, revised(toilets))  # and comes back in version 3 as a yes/no
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[1].type"]
    assert await versions(ctx) == [2, 1]


def reworded(items: dict[str, Any]) -> None:
    items["f_clean"]["label"] = {"en": "Clean and tidy", "ur": "صاف ستھرا"}
    items["f_clean"]["max"] = 10  # a finer scale for the same question
    items["f_token"]["options"][0]["points"] = 3  # re-weighted
    items["f_token"]["options"][1] = {"key": "refused", "label": {"en": "Refused", "ur": "انکار"}, "points": 0}
    items["f_staffed"]["critical"] = True
    items["l_water"]["label"] = {"en": "Clean drinking water", "ur": "صاف پانی"}


async def test_revisions_of_the_same_question_publish(client):
    ctx = await make_ctx(client)
    saved = await save(ctx, revised(reworded))
    assert saved.status_code == 200, saved.text
    published = await publish(ctx)
    assert published.status_code == 201, published.text
    assert sorted(published.json()["changes"]["items_changed"]) == ["f_clean", "f_staffed", "f_token", "l_water"]


async def test_a_new_question_under_a_new_key_publishes(client):
    def renamed(items: dict[str, Any]) -> None:
        toilets(items)
        items["f_clean"]["key"] = "f_toilets"

    ctx = await make_ctx(client)
    assert (await save(ctx, revised(renamed))).status_code == 200
    published = await publish(ctx)
    assert published.status_code == 201, published.text
    assert published.json()["changes"]["items_added"] == ["f_toilets"]
    assert published.json()["changes"]["items_removed"] == ["f_clean"]


async def test_versions_published_before_the_rule_are_not_judged_again(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    try:  # version 2, published before this rule, already turned f_clean into a yes/no
        await conn.execute(
            """INSERT INTO template_versions (template_id, version, definition)
               SELECT template_id, 2, $2 FROM template_versions WHERE id = $1""",
            ctx.version_id,
            {**revised(toilets), "grade_bands": [{"grade": "A", "min": 90}, {"grade": "D", "min": 0}]},
        )
    finally:
        await conn.close()

    # Version 3 keeps version 2's question; going back to version 1's scale would change it again.
    def kept(items: dict[str, Any]) -> None:
        toilets(items)
        items["f_clean"]["label"] = {"en": "All toilets working", "ur": "سب بیت الخلا"}

    assert (await save(ctx, revised(kept))).status_code == 200
    assert (await publish(ctx)).status_code == 201
    back = await save(ctx, DEFINITION)
    assert back.status_code == 422, back.text
    assert "is a yes_no item in version 3" in back.json()["errors"][0]["message"]
    assert await versions(ctx) == [3, 2, 1]


async def test_a_file_imported_over_the_draft_is_judged_as_a_saved_draft_is(client):
    """Importing a template file into an existing template replaces its draft: a file that gives a
    published key to another question is refused at that item, and the draft stays as it was."""
    ctx = await make_ctx(client)
    admin = await ctx.token("admin")
    before = (await ctx.client.get(f"/api/v1/templates/{ctx.template_id}", admin)).json()["draft"]
    refused = await ctx.client.post(f"/api/v1/templates/{ctx.template_id}/import", admin, json=revised(toilets))
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["sections[0].items[1].type"]
    assert (await ctx.client.get(f"/api/v1/templates/{ctx.template_id}", admin)).json()["draft"] == before
    # A revision of the same questions imports as before.
    reworded = await ctx.client.post(
        f"/api/v1/templates/{ctx.template_id}/import",
        admin,
        json=revised(lambda items: items["f_clean"]["label"].update(en="Clean and tidy")),
    )
    assert reworded.status_code == 200, reworded.text
