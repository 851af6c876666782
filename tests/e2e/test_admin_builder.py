"""The template builder end to end: an admin builds a template from nothing in real Chromium, meets a
validation problem at its field, fixes it, previews the form in Urdu and publishes; the inspector's
next bundle carries that version and the inspector's phone renders the form exactly as previewed.

Screenshots of the builder (English and Urdu, 1280×800 and 360×640) go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import snapshot
from tests.e2e.test_admin_support import (
    INSPECTOR,
    INSPECTOR_PASSWORD,
    PHONE,
    add_item,
    field,
    fill_item,
    sign_in,
    signed_in_laptop,
    wait_invalid,
    wait_saved,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def text(en: str, ur: str) -> dict[str, str]:
    return {"en": en, "ur": ur}


SECTION = text("Lock-up", "حوالات")
# Every item type, a critical item with help and a photo minimum, and a condition. Keys are what the
# builder proposes from the English words; the scale's Urdu label is left out on purpose at first.
ITEMS: list[dict[str, Any]] = [
    {
        "key": "detainees_all_in_the_diary",
        "type": "yes_no",
        "required": True,
        "critical": True,
        "min_photos": 1,
        "label": text("Detainees all in the diary?", "کیا تمام زیرِ حراست افراد روزنامچے میں درج ہیں؟"),
        "help": text("Count the people in the lock-up.", "حوالات میں موجود افراد گنیں۔"),
    },
    {
        "key": "who_is_not_in_the_diary",
        "type": "text",
        "label": text("Who is not in the diary?", "روزنامچے میں کون درج نہیں؟"),
        "visible_if": {"item": "detainees_all_in_the_diary", "in": ["no"]},
    },
    {"key": "cleanliness_of_the_lock_up", "type": "scale", "max": 5, "label": text("Cleanliness of the lock-up", "")},
    {
        "key": "held_over_24_hours",
        "type": "number",
        "min": 0,
        "max": 0,
        "unit": text("persons", "افراد"),
        "label": text("Held over 24 hours", "24 گھنٹے سے زائد زیرِ حراست"),
    },
    {
        "key": "separate_cell_for_women",
        "type": "choice",
        "label": text("Separate cell for women", "خواتین کے لیے الگ حوالات"),
        "options": [
            {"key": "yes", "label": text("Yes", "ہاں"), "points": 2},
            {"key": "no", "label": text("No", "نہیں"), "points": 0},
        ],
    },
    {
        "key": "facilities_present",
        "type": "multi_choice",
        "label": text("Facilities present", "موجود سہولیات"),
        "options": [
            {"key": "drinking_water", "label": text("Drinking water", "پینے کا پانی"), "points": 1},
            {"key": "light_and_air", "label": text("Light and air", "روشنی اور ہوا"), "points": 1},
            {"key": "washroom", "label": text("Washroom", "غسل خانہ"), "points": 1},
        ],
    },
    {"key": "last_magistrate_visit", "type": "date", "label": text("Last magistrate visit", "مجسٹریٹ کا آخری دورہ")},
    {
        "key": "lock_up_register_photo",
        "type": "photo",
        "min_photos": 1,
        "label": text("Lock-up register photo", "حوالات رجسٹر کی تصویر"),
    },
]
SCALE_UR = "حوالات کی صفائی"


def card_texts(page: Any, scope: str) -> dict[str, str]:
    """Each visible item card's text, by item key: what a person reads on the form."""
    return page.evaluate(
        """(scope) => Object.fromEntries([...document.querySelectorAll(`${scope} .item`)]
        .filter((c) => !c.hidden).map((c) => [c.dataset.key, c.innerText]))""",
        scope,
    )


def build_from_nothing(page: Any, url: str, key: str) -> str:
    """Creates the template with the dialog and fills it in the builder; returns its id."""
    page.click("#new-template")
    page.fill('dialog [data-field="title.en"] input', "Lock-up spot check")
    page.fill('dialog [data-field="title.ur"] input', "حوالات کی اچانک جانچ")
    page.fill("#new-key", key)
    page.click("dialog .btn-primary")
    page.wait_for_selector("#builder-title")
    template_id = page.evaluate("location.hash").split("/")[3]

    # A new template opens on its first section, ready for a title.
    field(page, "title.en").fill(SECTION["en"])
    field(page, "title.ur").fill(SECTION["ur"])
    assert field(page, "key").input_value() == "lock_up"
    for item in ITEMS:
        add_item(page)
        fill_item(page, item)
    return template_id


def test_an_admin_builds_previews_and_publishes_a_template_the_inspector_then_fills(admin_server, browser, artifacts):
    context, page, errors = signed_in_laptop(admin_server, browser)
    template_id = build_from_nothing(page, admin_server.url, "lockup_check")

    # The server refuses the draft for the one blank Urdu label: the problem is listed in the summary
    # and marked on the item's row, and at the field itself once the item is open.
    wait_invalid(page)
    expect(page.locator("#builder-problems li")).to_have_count(1)
    summary = page.inner_text("#builder-problems")
    assert "Item 1.3" in summary and "Question (Urdu)" in summary and "must not be blank" in summary

    # Nothing typed is lost while the server refuses the draft: after a reload the copy kept on this
    # computer is offered back, whole.
    page.reload()
    page.click("#restore-local")
    expect(page.locator(".o-item")).to_have_count(len(ITEMS))
    wait_invalid(page)
    expect(page.locator("#builder-problems li")).to_have_count(1)
    scale_row = page.locator(".o-row", has_text="Cleanliness of the lock-up")
    assert scale_row.locator(".o-error").count() == 1
    page.locator(".o-row", has_text="Separate cell for women").click()
    assert page.locator("#builder-editor .field-error:visible").count() == 0
    page.click("#builder-problems a")
    urdu = field(page, "label.ur")
    assert urdu.evaluate("(el) => el === document.activeElement")
    assert urdu.get_attribute("aria-invalid") == "true"
    error_at_field = page.locator('#builder-editor [data-field="label.ur"] .field-error')
    assert error_at_field.is_visible() and "must not be blank" in error_at_field.inner_text()
    assert urdu.get_attribute("dir") == "rtl" and urdu.get_attribute("lang") == "ur"
    urdu.fill(SCALE_UR)
    wait_saved(page)
    assert page.locator("#builder-problems li").count() == 0
    assert not error_at_field.is_visible()

    # The live preview in Urdu: the inspector's own cards, right to left, with the live score.
    page.locator(".o-row", has_text="Detainees all in the diary?").click()
    page.click("#preview-lang")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    phone = page.locator(".phone")
    expect(phone.locator("#lbl-detainees_all_in_the_diary")).to_have_text(ITEMS[0]["label"]["ur"])
    assert phone.locator("#item-who_is_not_in_the_diary").is_hidden()
    phone.locator("#item-detainees_all_in_the_diary [data-value=no]").click()
    assert phone.locator("#item-who_is_not_in_the_diary").is_visible()
    assert page.inner_text("#preview-grade") == "ناکام"  # the critical item failed
    phone.locator("#item-separate_cell_for_women [data-value=yes]").click()
    previewed = card_texts(page, ".phone")
    assert set(previewed) == {i["key"] for i in ITEMS}
    assert previewed["cleanliness_of_the_lock_up"].startswith(SCALE_UR)

    shoot_builder(page, artifacts, "ur")
    page.click("#preview-lang")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("#preview-lang")).to_have_text("Preview in Urdu")
    shoot_builder(page, artifacts, "en")

    # Publishing shows what the version holds and asks first.
    page.click("#publish")
    page.wait_for_selector("#publish-changes")
    assert "first version" in page.inner_text("#publish-changes")
    page.click("dialog .btn-primary")
    expect(page.locator("#builder-announce")).to_contain_text("Version 1")
    assert "Version 1" in page.inner_text(".builder-head")

    admin_token = admin_server.login("admin", "admin-demo-2026")
    version = admin_server.api("GET", f"/api/v1/templates/{template_id}/versions/1", admin_token).json()
    definition = version["definition"]
    items = definition["sections"][0]["items"]
    assert [i["key"] for i in items] == [i["key"] for i in ITEMS]
    assert {i["type"] for i in items} == {
        "yes_no",
        "scale",
        "choice",
        "multi_choice",
        "number",
        "text",
        "photo",
        "date",
    }
    assert items[0]["critical"] is True and items[0]["min_photos"] == 1
    assert items[1]["visible_if"] == {"item": "detainees_all_in_the_diary", "in": ["no"]}
    assert items[2]["label"] == {"en": "Cleanliness of the lock-up", "ur": SCALE_UR}
    assert items[4]["options"] == ITEMS[4]["options"]

    # The inspector's next bundle holds the new version once it is assigned in their district.
    token = admin_server.login(INSPECTOR, INSPECTOR_PASSWORD)
    me = admin_server.api("GET", "/api/v1/me", token).json()
    bundle = admin_server.api("GET", "/api/v1/sync/bundle", token).json()
    station = sorted(
        (s for s in bundle["stations"] if s.get("kind", "police_station") == "police_station"), key=lambda s: s["code"]
    )[0]
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    assigned = admin_server.api(
        "POST",
        "/api/v1/assignments",
        admin_token,
        json={"station_id": station["id"], "template_id": template_id, "inspector_id": me["id"], "due_date": due},
    )
    assert assigned.status_code == 201, assigned.text
    bundle = admin_server.api("GET", "/api/v1/sync/bundle", token).json()
    shipped = [v for v in bundle["templates"] if v["template_id"] == template_id]
    assert [v["version"] for v in shipped] == [1] and shipped[0]["definition"] == definition

    # The inspector's phone renders the form as the preview did.
    phone_ctx = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        service_workers="block",
        geolocation={"latitude": station["lat"], "longitude": station["lon"], "accuracy": 10},
        permissions=["geolocation"],
    )
    inspector = phone_ctx.new_page()
    inspector_errors = watch_errors(inspector)
    sign_in(inspector, admin_server.url, INSPECTOR, INSPECTOR_PASSWORD, landing="#station-list li")
    inspector.goto(f"{admin_server.url}/#/start/{station['id']}?t={template_id}")
    inspector.click("#begin")
    inspector.wait_for_selector("#item-detainees_all_in_the_diary")
    inspector.click(".lang-toggle")
    expect(inspector.locator("html")).to_have_attribute("dir", "rtl")
    expect(inspector.locator("#lbl-detainees_all_in_the_diary")).to_have_text(ITEMS[0]["label"]["ur"])
    assert inspector.locator("#item-who_is_not_in_the_diary").is_hidden()
    inspector.click("#item-detainees_all_in_the_diary [data-value=no]")
    inspector.click("#item-separate_cell_for_women [data-value=yes]")
    assert card_texts(inspector, ".items") == previewed
    phone_ctx.close()

    assert errors == [] and inspector_errors == []
    context.close()


def shoot_builder(page: Any, artifacts: Any, lang: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    snapshot(page, path=str(artifacts / f"admin-builder-{lang}-1280x800.png"))
    page.set_viewport_size(PHONE)
    for pane in ("outline", "edit", "preview"):
        page.click(f".pane-tabs [data-pane={pane}]")
        # Scrolled as a person would: the header gone, the pane tabs on top.
        page.evaluate("window.scrollTo(0, document.querySelector('.builder').offsetTop - 120)")
        snapshot(page, path=str(artifacts / f"admin-builder-{lang}-360x640-{pane}.png"))
        if pane == "edit":
            # The item being edited is named by its place, "Item 1.2" (in Urdu digits in Urdu).
            heading = page.inner_text("#editor-h")
            assert re.fullmatch(r"\S+ [0-9۰-۹]+\.[0-9۰-۹]+", heading.strip()), heading
    page.set_viewport_size({"width": 1280, "height": 800})
