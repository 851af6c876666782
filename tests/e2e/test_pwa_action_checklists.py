"""An action of another checklist whose item has the same key, on the inspector's phone (real Chromium).

Item keys repeat across checklists (the builder names items item_1, item_2, ... in each), so an action
names its checklist (schema 0031). The phone showed a station's action on the card of every item with
its key, whichever checklist was being filled: the fire-safety form's question carried the lock-up
checklist's action. Another checklist's action is now shown whole atop the first section, as one whose
item this checklist lacks, and can still be verified there.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_pwa_support import live_pwa_server, open_station, phone_context, sign_in, watch_errors
from tests.e2e.test_reviewer_support import REVIEWER_PASSWORD, inspector_setup

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("action-checklists"))


def _another_checklist_with(pwa_server, item: dict) -> str:
    """A published checklist whose one item has `item`'s key but asks something else: its template id."""
    admin = pwa_server.login("admin", "admin-demo-2026")
    created = pwa_server.api(
        "POST", "/api/v1/templates", admin, json={"key": "fire_safety", "title": {"en": "Fire safety", "ur": "آگ"}}
    )
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    question = {"en": "Extinguisher charged", "ur": "آگ بجھانے کا آلہ"}
    definition = {
        "title": {"en": "Fire safety", "ur": "آگ سے حفاظت"},
        "sections": [
            {
                "key": "fire",
                "title": {"en": "Fire", "ur": "آگ"},
                "items": [{"key": item["key"], "type": "yes_no", "label": question, "critical": True}],
            }
        ],
    }
    saved = pwa_server.api("PUT", f"/api/v1/templates/{template_id}/draft", admin, json=definition)
    assert saved.status_code == 200, saved.text
    published = pwa_server.api("POST", f"/api/v1/templates/{template_id}/publish", admin)
    assert published.status_code == 201, published.text
    return template_id


def test_another_checklists_action_on_the_same_item_key_is_not_shown_on_this_checklists_item(pwa_server, browser):
    _, stations, version = inspector_setup(pwa_server)
    station = stations[0]
    s_idx, item = next(
        (n, i)
        for n, s in enumerate(version["definition"]["sections"])
        for i in s["items"]
        if n > 0 and i["type"] == "yes_no" and not i.get("visible_if")
    )
    fire = _another_checklist_with(pwa_server, item)
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    made = pwa_server.api(
        "POST",
        "/api/v1/actions",
        reviewer,
        json={
            "station_id": station["id"],
            "template_id": fire,
            "item_key": item["key"],
            "description": "Recharge the extinguisher",
            "due_date": "2099-01-01",
        },
    )
    assert made.status_code == 201, made.text
    action = made.json()

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    open_station(page, station)
    # The station has two checklists now: the main one is chosen.
    page.locator(".choice-col .btn-choice", has_text=version["definition"]["title"]["en"]).click()
    page.click("#begin")
    page.wait_for_selector(".section-title")
    # The main checklist's first section: the fire checklist's action is there whole, with "Seen fixed".
    whole = page.locator(f".action-callout[data-action='{action['id']}']")
    expect(whole).to_have_count(1)
    expect(whole).to_contain_text("Recharge the extinguisher")
    expect(whole.locator(".action-seen")).to_be_visible()
    # And the item with the same key here asks something else: no action on its card.
    page.goto(page.url.rsplit("/s/", 1)[0] + f"/s/{s_idx}")
    page.wait_for_selector(f"#item-{item['key']}")
    expect(page.locator(f"#item-{item['key']} .action-callout")).to_have_count(0)
    expect(page.locator(".callout-info li", has_text="Recharge the extinguisher")).to_have_count(0)
    assert errors == []
    context.close()
