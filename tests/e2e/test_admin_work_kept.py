"""The builder never loses an admin's work nor offers stale work over newer, in real Chromium: leaving
with an edit not yet on the server asks first; a copy already saved is not offered again over a newer draft;
a draft imported while edits were unsent is shown, not overwritten, and the edits are offered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    field,
    signed_in_laptop,
    wait_saved,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def open_sips(server, browser):
    token = server.login(ADMIN, ADMIN_PASSWORD)
    sips = next(t for t in server.api("GET", "/api/v1/templates", token).json() if t["key"] == "sips_station")
    context, page, errors = signed_in_laptop(server, browser)
    page.click("#template-list li[data-key=sips_station] a.row-link")
    page.wait_for_selector("#builder-title")
    return token, sips["id"], context, page, errors


def server_down(page) -> None:
    """The server answers every draft save with 503, as when it is down, until page.unroute("**/draft")."""
    page.route(
        "**/draft",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body='{"status":503,"title":"Unavailable"}'
        ),
    )


def server_title(server, token: str, template_id: str) -> str:
    return server.api("GET", f"/api/v1/templates/{template_id}", token).json()["draft"]["title"]["en"]


def test_leaving_with_an_edit_not_yet_on_the_server_asks_first_and_keeps_it(admin_server, browser):
    token, tid, context, page, errors = open_sips(admin_server, browser)
    # The server is out of reach: the edit exists only in this page.
    page.route("**/draft", lambda route: route.abort())
    field(page, "title.en").fill("Typed a moment before the reload")
    asked: list[str] = []

    def stay(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.evaluate("location.reload()")
    page.wait_for_timeout(1500)
    assert asked == ["beforeunload"]
    # The admin stayed: the words are still there, and go to the server once it is back.
    expect(field(page, "title.en")).to_have_value("Typed a moment before the reload")
    page.unroute("**/draft")
    field(page, "title.en").fill("Typed a moment before the reload!")
    wait_saved(page)
    assert server_title(admin_server, token, tid) == "Typed a moment before the reload!"
    # With everything on the server, leaving asks nothing.
    page.evaluate("location.reload()")
    page.wait_for_selector("#builder-title")
    assert asked == ["beforeunload"]
    assert errors == []
    context.close()


def test_a_saved_copy_is_not_offered_again_over_a_newer_draft(admin_server, browser):
    token, tid, context, page, errors = open_sips(admin_server, browser)
    field(page, "title.en").fill("Saved from this laptop")
    wait_saved(page)
    page.wait_for_timeout(600)  # past the local copy's debounce
    # Later the draft changes elsewhere (another admin, another computer).
    draft = admin_server.api("GET", f"/api/v1/templates/{tid}", token).json()["draft"]
    draft["title"]["en"] = "Changed on another computer"
    assert admin_server.api("PUT", f"/api/v1/templates/{tid}/draft", token, json=draft).status_code == 200
    page.reload()
    expect(page.locator("#builder-title")).to_have_text("Changed on another computer")
    page.wait_for_timeout(500)
    # Nothing here is unsaved: offering "changes never saved" would invite overwriting the newer draft.
    expect(page.locator("#restore-local")).to_have_count(0)
    assert errors == []
    context.close()


def test_a_draft_imported_while_edits_were_unsent_is_shown_not_overwritten(admin_server, browser, tmp_path: Path):
    token, tid, context, page, errors = open_sips(admin_server, browser)
    exported = admin_server.api("GET", f"/api/v1/templates/{tid}/versions/1/export", token).json()
    exported["definition"]["title"]["en"] = "Imported from a file"
    upload = tmp_path / "import.json"
    upload.write_text(json.dumps(exported))

    # An edit the server cannot take right now (it is down).
    server_down(page)
    field(page, "title.en").fill("Edited while the server was down")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "failed", timeout=15000)
    page.unroute("**/draft")

    # The admin imports a file into the draft instead; the builder opens on it.
    page.click("#versions-link")
    page.click("#import-into")
    page.set_input_files("#import-file", str(upload))
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#builder-title")).to_have_text("Imported from a file")
    expect(page.locator("#restore-local")).to_be_visible()
    page.wait_for_timeout(1500)
    assert server_title(admin_server, token, tid) == "Imported from a file"
    assert errors == []
    context.close()


def test_discarding_edits_kept_only_in_this_browser_asks_first(admin_server, browser):
    token, tid, context, page, errors = open_sips(admin_server, browser)
    server_down(page)
    field(page, "title.en").fill("Typed while the server was down")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "failed", timeout=15000)
    page.unroute("**/draft")
    page.on("dialog", lambda d: d.accept())  # leave the page (beforeunload)
    page.reload()
    page.wait_for_selector("#discard-local")

    page.click("#discard-local")
    asked = page.locator("dialog[open]")
    expect(asked).to_contain_text("cannot be brought back")
    asked.locator(".dialog-actions button").first.click()  # Cancel: nothing is lost
    expect(page.locator("#restore-local")).to_be_visible()

    page.click("#discard-local")
    page.locator("dialog[open] .dialog-actions .btn-primary").click()
    expect(page.locator("#restore-local")).to_have_count(0)
    page.reload()
    page.wait_for_selector("#builder-title")
    page.wait_for_timeout(500)
    expect(page.locator("#restore-local")).to_have_count(0)
    assert server_title(admin_server, token, tid) != "Typed while the server was down"
    assert errors == []
    context.close()


def test_removing_an_option_that_items_are_shown_for_asks_first_and_names_them(admin_server, browser):
    token, tid, context, page, errors = open_sips(admin_server, browser)
    page.locator(".o-row", has_text="How is a citizen's application acknowledged").first.click()
    options = page.locator("#builder-editor .option-row")
    expect(options).to_have_count(3)

    # "none" (option 3) is what "Why is no receipt given to applicants?" is shown for.
    options.nth(2).locator("button.tool-danger").click()
    asked = page.locator("dialog[open]")
    expect(asked).to_contain_text("Why is no receipt given to applicants?")
    asked.locator(".dialog-actions button").first.click()
    expect(options).to_have_count(3)

    # An option no condition names goes at once.
    options.nth(1).locator("button.tool-danger").click()
    expect(options).to_have_count(2)
    assert page.locator("dialog[open]").count() == 0
    assert errors == []
    context.close()


def test_opening_an_item_whose_unit_is_one_word_from_before_changes_nothing_until_it_is_edited(admin_server, browser):
    """Units became bilingual; a template written before has "minutes". Opening that item shows it
    as the English unit and leaves the draft alone (no save, no 'leave site?'); typing the Urdu
    makes it {en, ur}."""
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    made = admin_server.api(
        "POST", "/api/v1/templates", token, json={"key": "old_units", "title": {"en": "Old", "ur": "پرانا"}}
    )
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    label = {"en": "Waiting time", "ur": "انتظار کا وقت"}
    definition = {
        "title": {"en": "Old", "ur": "پرانا"},
        "sections": [
            {
                "key": "front",
                "title": {"en": "Front desk", "ur": "فرنٹ ڈیسک"},
                "items": [{"key": "wait", "type": "number", "min": 0, "max": 15, "unit": "minutes", "label": label}],
            }
        ],
    }
    assert admin_server.api("PUT", f"/api/v1/templates/{tid}/draft", token, json=definition).status_code == 200
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(f"{admin_server.url}/#/admin/templates/{tid}")
    page.wait_for_selector("#builder-title")
    page.locator(".o-row", has_text="Waiting time").first.click()
    expect(field(page, "unit.en")).to_have_value("minutes")
    expect(field(page, "unit.ur")).to_have_value("")
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")  # redraws and saves if anything changed
    page.wait_for_timeout(1500)
    draft = admin_server.api("GET", f"/api/v1/templates/{tid}", token).json()["draft"]
    assert draft["sections"][0]["items"][0]["unit"] == "minutes"
    assert page.get_attribute("#save-state", "data-state") == "saved"
    assert page.locator("#builder-problems li").count() == 0
    assert page.evaluate("import('/js/i18n.js').then((m) => m.setLang('en'))") is None
    page.locator(".o-row", has_text="Waiting time").first.click()
    field(page, "unit.ur").fill("منٹ")
    wait_saved(page)
    draft = admin_server.api("GET", f"/api/v1/templates/{tid}", token).json()["draft"]
    assert draft["sections"][0]["items"][0]["unit"] == {"en": "minutes", "ur": "منٹ"}
    assert errors == []
    context.close()


def test_an_edit_given_up_at_sign_out_is_not_shown_to_or_saved_as_the_next_admin(admin_server, browser):
    """On a shared laptop, admin A signs out and agrees that an unsent template change be deleted; admin B
    signs in in the same tab. The change lived on in the page's memory: B's builder showed it, and its
    retry sent it to the server under B's name. Signing out now starts the page again."""
    token, tid, context, page, errors = open_sips(admin_server, browser)
    before = server_title(admin_server, token, tid)
    admin_server.api(
        "POST",
        "/api/v1/users",
        token,
        json={"username": "admin.two", "display_name": "Admin Two", "password": "first-pass-123", "role": "admin"},
    )
    admin_server.choose_own_password("admin.two", "first-pass-123", "second-pass-456")
    server_down(page)
    field(page, "title.en").fill("A's title, never sent")
    page.wait_for_selector('#save-state[data-state="failed"]', timeout=15000)
    page.evaluate("window.__signedInAsA = true")

    page.goto(admin_server.url + "/#/settings")
    words = page.evaluate("async () => (await import('/js/i18n.js')).t('signout.button')")
    page.get_by_role("button", name=words).click()
    expect(page.locator("dialog[open]")).to_contain_text("template change")
    page.click("dialog[open] .btn-primary")
    page.wait_for_selector("input[name=username]")
    # A page started again: nothing of A's screens (nor their timers) is left in its memory.
    assert page.evaluate("window.__signedInAsA === undefined")

    page.unroute("**/draft")
    page.fill("input[name=username]", "admin.two")
    page.fill("input[name=password]", "second-pass-456")
    page.click("form.login button[type=submit]")
    page.click("#template-list li[data-key=sips_station] a.row-link")
    page.wait_for_selector("#builder-title")
    assert field(page, "title.en").input_value() == before
    assert server_title(admin_server, token, tid) == before
    assert errors == []
    context.close()
