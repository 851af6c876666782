"""An administrator working in Urdu reads the regions, districts and circles of the hierarchy screens'
lists and filters in Urdu, as the rest of the screen is, not in English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_the_hierarchy_filters_and_forms_name_places_in_urdu(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    regions = admin_server.api("GET", "/api/v1/regions", token).json()
    districts = admin_server.api("GET", "/api/v1/districts", token).json()
    assert regions and districts and all(p["name_ur"] for p in regions + districts)
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    region_filter = page.locator("[data-field=region_id] select")
    expect(region_filter.locator("option")).to_have_count(len(regions) + 1)
    shown = region_filter.locator("option").all_inner_texts()[1:]
    assert sorted(shown) == sorted(r["name_ur"] for r in regions)
    district_filter = page.locator("[data-field=district_id] select")
    groups = district_filter.locator("optgroup").evaluate_all("gs => gs.map((g) => g.label)")
    assert sorted(groups) == sorted(r["name_ur"] for r in regions)
    options = district_filter.locator("option").all_inner_texts()[1:]
    assert sorted(options) == sorted(f"{d['name_ur']} ({d['code']})" for d in districts)
    assert errors == []
    context.close()
