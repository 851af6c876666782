"""Templates beyond the builder's first draft, in real Chromium: a published version downloaded from
its versions page and uploaded again becomes a draft identical to it; the outline reorders by
keyboard and by dragging, and the server's draft follows; archiving makes the builder read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    signed_in_laptop,
    wait_saved,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def first_keys(server, token: str, template_id: str, n: int = 3) -> list[str]:
    draft = server.api("GET", f"/api/v1/templates/{template_id}", token).json()["draft"]
    return [i["key"] for i in draft["sections"][0]["items"][:n]]


def test_a_downloaded_version_imports_as_an_identical_draft_that_reorders_by_keyboard_and_drag(
    admin_server, browser, tmp_path: Path
):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    sips = next(t for t in admin_server.api("GET", "/api/v1/templates", token).json() if t["key"] == "sips_station")
    original = admin_server.api("GET", f"/api/v1/templates/{sips['id']}/versions/1", token).json()["definition"]

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("#template-list li[data-key=sips_station] a[href$='/versions']")
    with page.expect_download() as download:
        page.click("#versions [data-export='1']")
    assert download.value.suggested_filename == "sips_station-v1.json"
    saved = tmp_path / "sips.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text())["definition"] == original

    page.click("a[href='#/admin/templates']")
    page.click("#import-template")
    page.set_input_files("#import-file", str(saved))
    expect(page.locator("#import-key")).to_have_value("sips_station")
    page.click("dialog[open] .dialog-actions .btn-primary")
    # The key is taken here: the server says so at the key field, and a new key is accepted.
    expect(page.locator('dialog[open] [data-field="key"] .field-error')).to_contain_text(
        "Another template has this key"
    )
    page.fill("#import-key", "sips_copy")
    page.click("dialog[open] .dialog-actions .btn-primary")
    page.wait_for_selector("#builder-title")
    copy_id = page.evaluate("location.hash").split("/")[3]
    copy = admin_server.api("GET", f"/api/v1/templates/{copy_id}", token).json()
    assert copy["key"] == "sips_copy" and copy["draft"] == original
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    expect(page.locator(".o-item")).to_have_count(sum(len(s["items"]) for s in original["sections"]))

    # Alt+Down moves the focused row; the focus stays on it and the server's draft follows.
    a, b, c = first_keys(admin_server, token, copy_id)
    page.locator(".o-item .o-row").first.click()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#builder-announce")).to_contain_text("Moved to 1.2")
    assert page.evaluate("document.activeElement.closest('.o-item') === document.querySelectorAll('.o-item')[1]")
    wait_saved(page)
    assert first_keys(admin_server, token, copy_id) == [b, a, c]

    # Dragging the second row above the first puts the original order back.
    second = page.locator(".o-item").nth(1).locator(".o-line")
    first = page.locator(".o-item").nth(0).locator(".o-line")
    box = first.bounding_box()
    second.drag_to(first, target_position={"x": box["width"] / 2, "y": 4})
    expect(page.locator("#builder-announce")).to_contain_text("Moved to 1.1")
    wait_saved(page)
    assert first_keys(admin_server, token, copy_id) == [a, b, c]

    # Duplicate puts a copy under the row with a key of its own; delete asks first, then removes it.
    items = page.locator(".o-item")
    count = items.count()
    page.locator(".o-item .o-row").first.click()
    page.click(".o-tools [data-act=duplicate]")
    expect(items).to_have_count(count + 1)
    expect(page.locator('#builder-editor [data-field="key"] input')).to_have_value(f"{a}_copy")
    page.click(".o-tools [data-act=delete]")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(items).to_have_count(count)
    wait_saved(page)
    assert first_keys(admin_server, token, copy_id) == [a, b, c]

    # Archived: read-only in the builder, listed under Archived, and back again.
    page.click("#versions-link")
    page.click("#archive-toggle")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#archive-toggle")).to_have_text("Unarchive")
    page.click("a.btn-primary[href^='#/admin/templates/']")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "archived")
    assert page.locator(".pane-outline").evaluate("(el) => el.inert") is True
    assert admin_server.api("GET", f"/api/v1/templates/{copy_id}", token).json()["archived"] is True
    page.click("#versions-link")
    page.click("#archive-toggle")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#archive-toggle")).to_have_text("Archive")
    assert admin_server.api("GET", f"/api/v1/templates/{copy_id}", token).json()["archived"] is False
    assert errors == []
    context.close()


def test_a_file_that_is_not_a_muaina_template_file_is_refused_at_the_file_field(admin_server, browser, tmp_path: Path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "someone.else", "definition": {"title": {"en": "x", "ur": "y"}}}))
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("#import-template")
    page.set_input_files("#import-file", str(other))
    page.fill("#import-key", "other_file")
    page.click("dialog[open] .dialog-actions .btn-primary")
    at_file = page.locator('dialog[open] [data-field="file"] .field-error')
    expect(at_file).to_contain_text("format")
    assert page.locator("dialog[open]").count() == 1
    assert errors == []
    context.close()
