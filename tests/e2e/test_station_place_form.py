"""A station's form refused by the server for a point outside Pakistan says so next to the field, in
the administrator's language, as the CSV import's screen does for a row."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SAID = {
    "en": ("Latitude 0 is outside Pakistan (23.5 to 37.2).", "Longitude 10 is outside Pakistan (60.8 to 77.9)."),
    "ur": ("عرض بلد 0 پاکستان سے باہر ہے (23.5 سے 37.2 تک)۔", "طول بلد 10 پاکستان سے باہر ہے (60.8 سے 77.9 تک)۔"),
}


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_a_station_put_outside_pakistan_is_refused_beside_its_fields_in_the_admins_language(
    admin_server, browser, lang
):
    context, page, errors = signed_in_laptop(admin_server, browser)
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    page.locator("#org-list li[data-code] button").first.click()
    page.fill("#station-lat", "0")
    page.fill("#station-lon", "10")
    page.click("dialog[open] .dialog-actions .btn-primary")
    lat, lon = SAID[lang]
    expect(page.locator("dialog[open] [data-field=lat] .field-error")).to_have_text(lat)
    expect(page.locator("dialog[open] [data-field=lon] .field-error")).to_have_text(lon)
    expect(page.locator("dialog[open]")).to_have_count(1)  # still open, nothing saved
    assert errors == []
    context.close()
