"""A key that follows its English words in the builder takes the conditions naming it along.

A new item's key is proposed from its English label as the admin types, and keeps following the
label until the admin types a key by hand. Another item's "show when" condition names that key (and,
for a choice, its options' keys). Editing the label again after the condition was set used to leave
the condition naming a key that no longer existed: the draft was refused, or, worse, the condition
came to name another item that took the old key.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    add_item,
    field,
    fill_item,
    signed_in_laptop,
    wait_saved,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def text(en: str, ur: str) -> dict[str, str]:
    return {"en": en, "ur": ur}


ITEMS = [
    {"type": "yes_no", "label": text("Gate guarded", "گیٹ پر پہرہ")},
    {
        "type": "text",
        "label": text("Why not guarded", "پہرہ کیوں نہیں"),
        "visible_if": {"item": "gate_guarded", "in": ["no"]},
    },
    {
        "type": "choice",
        "label": text("Lighting", "روشنی"),
        "options": [
            {"label": text("Good", "اچھی"), "points": 1},
            {"label": text("Poor", "کمزور"), "points": 0},
        ],
    },
    {
        "type": "text",
        "label": text("What is broken", "کیا خراب ہے"),
        "visible_if": {"item": "lighting", "in": ["poor"]},
    },
]


def select_item(page, n: int) -> None:
    page.locator(".o-item .o-row").nth(n).click()
    page.wait_for_selector('#builder-editor [data-field="label.en"] input')


def test_conditions_follow_an_item_or_option_key_that_follows_its_words(admin_server, browser):
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("#new-template")
    page.fill('dialog [data-field="title.en"] input', "Night round")
    page.fill('dialog [data-field="title.ur"] input', "رات کا گشت")
    page.fill("#new-key", "night_round")
    page.click("dialog .btn-primary")
    page.wait_for_selector("#builder-title")
    template_id = page.evaluate("location.hash").split("/")[3]
    field(page, "title.en").fill("Outside")
    field(page, "title.ur").fill("باہر")
    for item in ITEMS:
        add_item(page)
        fill_item(page, item)
    wait_saved(page)

    # The words change after the conditions were set: the keys follow, and so do the conditions.
    select_item(page, 0)
    field(page, "label.en").fill("Main gate guarded")
    assert field(page, "key").input_value() == "main_gate_guarded"
    select_item(page, 2)
    field(page, "options[1].label.en").fill("Too dim")
    assert field(page, "options[1].key").input_value() == "too_dim"
    wait_saved(page)

    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    draft = admin_server.api("GET", f"/api/v1/templates/{template_id}", token).json()
    assert draft["draft"], draft
    items = [i for s in draft["draft"]["sections"] for i in s["items"]]
    assert [i["key"] for i in items] == ["main_gate_guarded", "why_not_guarded", "lighting", "what_is_broken"]
    assert items[1]["visible_if"] == {"item": "main_gate_guarded", "in": ["no"]}
    assert [o["key"] for o in items[2]["options"]] == ["good", "too_dim"]
    assert items[3]["visible_if"] == {"item": "lighting", "in": ["too_dim"]}

    # The condition editor shows the renamed item and answer as chosen.
    select_item(page, 3)
    assert field(page, "visible_if.item", "select").input_value() == "lighting"
    assert field(page, "visible_if.value.too_dim").is_checked()
    assert errors == []
    context.close()
