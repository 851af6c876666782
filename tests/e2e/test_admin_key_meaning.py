"""An item key keeps its question across versions, in real Chromium: an admin who turns a published item
into another type of question under the same key is told at the item's type, in English and in Urdu,
that the new question needs a new key; publishing is refused meanwhile, and setting the type back saves.
"""

from __future__ import annotations

import json

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    _in_thread,
    field,
    signed_in_laptop,
    wait_invalid,
    wait_saved,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_published_key_given_another_type_is_refused_beside_the_item_in_english_and_urdu(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    sips = next(t for t in admin_server.api("GET", "/api/v1/templates", token).json() if t["key"] == "sips_station")
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(f"{admin_server.url}/#/admin/templates/{sips['id']}")
    page.wait_for_selector("#builder-title")
    wait_saved(page)

    page.locator(".o-row", has_text="Is the front desk staffed").click()
    field(page, "type", "select").select_option("text")  # fd_staffed, a yes/no in version 1
    wait_invalid(page)
    at_type = page.locator('#builder-editor [data-field="type"] .field-error')
    expect(at_type).to_be_visible()
    expect(at_type).to_contain_text("the key “fd_staffed” is a question of another type")
    expect(at_type).to_contain_text("give this new question a new key")
    expect(page.locator("#builder-problems li")).to_have_count(1)

    page.click("#publish")
    page.wait_for_selector("dialog[open]")
    expect(page.locator("dialog[open]")).to_contain_text("Fix the 1 problem listed above first")
    page.click("dialog[open] .dialog-actions button")
    versions = admin_server.api("GET", f"/api/v1/templates/{sips['id']}/versions", token).json()
    assert [v["version"] for v in versions] == [1]

    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    expect(at_type).to_contain_text("کلید “fd_staffed” ایک دوسری قسم کے سوال کی ہے")
    expect(at_type).to_contain_text("اس نئے سوال کو نئی کلید دیں")

    field(page, "type", "select").select_option("yes_no")
    wait_saved(page)
    expect(at_type).to_be_hidden()
    assert errors == []
    context.close()


def test_publishing_a_draft_that_came_in_unchecked_shows_the_refusal_at_the_item(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    sips = next(t for t in admin_server.api("GET", "/api/v1/templates", token).json() if t["key"] == "sips_station")
    # A draft saved before the rule existed (no route stores one now: the editor, the import and the
    # API all refuse it) turns fd_staffed into a text item: the refusal comes at publishing.
    draft = admin_server.api("GET", f"/api/v1/templates/{sips['id']}", token).json()["draft"]
    item = next(i for s in draft["sections"] for i in s["items"] if i["key"] == "fd_staffed")
    item["type"] = "text"
    imported = admin_server.api("POST", f"/api/v1/templates/{sips['id']}/import", token, json=draft)
    assert imported.status_code == 422, imported.text
    assert [e["field"] for e in imported.json()["errors"]] == [_field_of(draft, "fd_staffed") + ".type"]

    async def saved_before_the_rule() -> None:
        conn = await asyncpg.connect(admin_server.database_url)
        try:
            await conn.execute(
                "UPDATE templates SET draft = $2::text::jsonb WHERE id = $1::uuid", sips["id"], json.dumps(draft)
            )
        finally:
            await conn.close()

    _in_thread(saved_before_the_rule())
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(f"{admin_server.url}/#/admin/templates/{sips['id']}")
    page.wait_for_selector("#builder-title")
    wait_saved(page)
    page.click("#publish")
    page.wait_for_selector("#publish-changes")
    page.click("dialog[open] .btn-primary")
    page.wait_for_selector("dialog[open]")
    expect(page.locator("dialog[open]")).to_contain_text("Fix the 1 problem listed above first")
    page.click("dialog[open] .dialog-actions button")
    wait_invalid(page)
    expect(page.locator("#builder-problems li")).to_have_count(1)
    page.click("#builder-problems a")
    at_type = page.locator('#builder-editor [data-field="type"] .field-error')
    expect(at_type).to_contain_text("the key “fd_staffed” is a question of another type")
    versions = admin_server.api("GET", f"/api/v1/templates/{sips['id']}/versions", token).json()
    assert [v["version"] for v in versions] == [1]
    assert errors == []
    context.close()


def _field_of(definition: dict, key: str) -> str:
    """The field path of the item with this key, as the server names it."""
    for s, section in enumerate(definition["sections"]):
        for i, item in enumerate(section["items"]):
            if item["key"] == key:
                return f"sections[{s}].items[{i}]"
    raise KeyError(key)
