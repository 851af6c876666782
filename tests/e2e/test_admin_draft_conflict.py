"""Two admins on one template draft, in real Chromium: the one whose autosave comes second is told that
someone else changed the draft, autosaving stops, and nothing is lost whichever way they choose — their
version loaded (mine kept on this computer and offered back) or mine written over theirs, after which the
other admin is told in turn."""

from __future__ import annotations

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


def open_builder(server, browser, template_id: str):
    """One admin's laptop (its own browser profile) with the builder open on the template."""
    context, page, errors = signed_in_laptop(server, browser)
    page.goto(f"{server.url}/#/admin/templates/{template_id}")
    page.wait_for_selector("#builder-title")
    wait_saved(page)
    return context, page, errors


def two_admins(server, browser):
    token = server.login(ADMIN, ADMIN_PASSWORD)
    sips = next(t for t in server.api("GET", "/api/v1/templates", token).json() if t["key"] == "sips_station")
    one = open_builder(server, browser, sips["id"])
    two = open_builder(server, browser, sips["id"])
    return token, sips["id"], one, two


def server_draft(server, token: str, template_id: str) -> dict:
    return server.api("GET", f"/api/v1/templates/{template_id}", token).json()["draft"]


def wait_conflict(page) -> None:
    page.wait_for_selector('#save-state[data-state="conflict"]', timeout=15000)
    expect(page.locator("#builder-conflict [role=alert]")).to_contain_text("Someone else changed this draft")


def test_the_second_admin_is_told_and_loading_their_version_keeps_mine_to_restore(admin_server, browser):
    token, tid, (ctx1, one, errors1), (ctx2, two, errors2) = two_admins(admin_server, browser)
    field(one, "title.en").fill("Title by the first admin")
    wait_saved(one)
    # The second admin, still on the draft both opened, edits another field.
    field(two, "title.ur").fill("دوسرے منتظم کا عنوان")
    wait_conflict(two)
    draft = server_draft(admin_server, token, tid)
    assert draft["title"]["en"] == "Title by the first admin"
    assert draft["title"]["ur"] != "دوسرے منتظم کا عنوان"
    # Autosaving has stopped: more typing stays here and the first admin's draft stays on the server.
    field(two, "title.ur").fill("دوسرے منتظم کا عنوان، مزید")
    two.wait_for_timeout(2000)
    expect(two.locator("#save-state")).to_have_attribute("data-state", "conflict")
    assert server_draft(admin_server, token, tid) == draft

    two.click("#conflict-load")
    expect(field(two, "title.en")).to_have_value("Title by the first admin")
    expect(two.locator("#builder-conflict [role=alert]")).to_have_count(0)
    # Mine was not thrown away: it is offered back, and restoring it puts it on the server.
    expect(two.locator("#restore-local")).to_be_visible()
    two.wait_for_timeout(1000)
    assert server_draft(admin_server, token, tid) == draft
    two.click("#restore-local")
    expect(field(two, "title.ur")).to_have_value("دوسرے منتظم کا عنوان، مزید")
    wait_saved(two)
    assert server_draft(admin_server, token, tid)["title"]["ur"] == "دوسرے منتظم کا عنوان، مزید"
    assert errors1 == [] and errors2 == []
    ctx1.close()
    ctx2.close()


def test_overwriting_with_mine_saves_it_and_then_the_other_admin_is_told(admin_server, browser):
    token, tid, (ctx1, one, errors1), (ctx2, two, errors2) = two_admins(admin_server, browser)
    field(one, "title.en").fill("Written by the first admin")
    wait_saved(one)
    field(two, "title.en").fill("Written by the second admin")
    wait_conflict(two)
    assert server_draft(admin_server, token, tid)["title"]["en"] == "Written by the first admin"

    two.click("#conflict-overwrite")
    wait_saved(two)
    expect(two.locator("#builder-conflict [role=alert]")).to_have_count(0)
    assert server_draft(admin_server, token, tid)["title"]["en"] == "Written by the second admin"
    # The first admin's page still holds the older draft: its next edit is refused, not written over.
    field(one, "title.ur").fill("پہلے منتظم کی مزید تبدیلی")
    wait_conflict(one)
    assert server_draft(admin_server, token, tid)["title"]["en"] == "Written by the second admin"
    # The second admin keeps working normally.
    field(two, "title.en").fill("Written by the second admin, again")
    wait_saved(two)
    assert server_draft(admin_server, token, tid)["title"]["en"] == "Written by the second admin, again"
    assert errors1 == [] and errors2 == []
    ctx1.close()
    ctx2.close()


def test_the_warning_speaks_urdu_and_publishing_a_draft_changed_meanwhile_is_refused(admin_server, browser):
    token, tid, (ctx1, one, errors1), (ctx2, two, errors2) = two_admins(admin_server, browser)
    field(two, "title.en").fill("Ready to publish")
    wait_saved(two)
    two.click("#publish")
    two.wait_for_selector("dialog[open] #publish-changes")
    # While the second admin reads what will change, the first saves something else.
    one.reload()
    one.wait_for_selector("#builder-title")
    field(one, "title.en").fill("Changed while the other was publishing")
    wait_saved(one)
    two.click("dialog[open] .dialog-actions .btn-primary")
    # Told in a dialog; the draft the second admin never saw is not published.
    two.wait_for_selector("dialog[open]")
    expect(two.locator("dialog[open]")).to_contain_text("Someone else changed this draft")
    two.click("dialog[open] .dialog-actions button")
    wait_conflict(two)
    versions = admin_server.api("GET", f"/api/v1/templates/{tid}/versions", token).json()
    assert [v["version"] for v in versions] == [1]
    # The same warning in Urdu (the language switch keeps the choice waiting).
    two.click(".lang-toggle")
    two.locator("html[dir=rtl]").wait_for(state="attached")
    expect(two.locator("#builder-conflict [role=alert]")).to_contain_text("کسی اور نے یہ مسودہ بدل دیا ہے")
    expect(two.locator("#save-state")).to_have_attribute("data-state", "conflict")
    assert errors1 == [] and errors2 == []
    ctx1.close()
    ctx2.close()
