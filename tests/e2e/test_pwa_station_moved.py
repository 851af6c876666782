"""A station that leaves the inspector's scope leaves the phone, except as the name of work on it.

An admin moving a station to another district (or its circle, or its district to another region)
makes every phone's next bundle a full one, which no longer lists the station. A draft the phone
holds at that station must still say where it is and still open: the phone keeps the station,
retired, and never offers it for a new inspection.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_in_page
from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    inspection_id,
    phone_context,
    pick_station_and_template,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def answer_saved(page, iid: str, key: str, value: str) -> None:
    wait_in_page(
        page,
        f"import('/js/db.js').then((db) => db.get('drafts', '{iid}'))"
        f".then((d) => d?.answers?.['{key}']?.value === '{value}')",
    )


def stored_bundle(page) -> dict:
    return page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle'))")


def listed(page, station: dict):
    """The station's link in the Home station list, searched for by its code."""
    page.fill("#station-search", station["code"])
    return page.locator(f"#station-list a[href='#/start/{station['id']}']")


def test_a_draft_at_a_station_moved_out_of_scope_still_names_it_and_opens(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    data = bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD))
    moved, version = pick_station_and_template(data)
    kept = next(s for s in sorted(data["stations"], key=lambda s: s["code"]) if s["id"] != moved["id"])
    items = [
        i for i in version["definition"]["sections"][0]["items"] if i["type"] == "yes_no" and not i.get("visible_if")
    ]
    assert len(items) >= 2, "the demo form's first section has two plain yes/no items"
    first, second = items[:2]

    context = phone_context(browser, moved)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    expect(listed(page, moved)).to_have_count(1)

    # A draft begun at the station, one item answered.
    begin_inspection(page, moved)
    iid = inspection_id(page)
    page.locator(f"#item-{first['key']} [data-value=no]").click()
    answer_saved(page, iid, first["key"], "no")
    cursor = stored_bundle(page)["cursor"]

    # An admin moves the station to a district outside the inspector's scope (out of its circle too,
    # which belongs to the old district).
    me = next(
        u
        for u in pwa_server.api("GET", "/api/v1/users", admin, params={"q": INSPECTOR}).json()
        if u["username"] == INSPECTOR
    )
    other = next(
        d["id"] for d in pwa_server.api("GET", "/api/v1/districts", admin).json() if d["id"] not in me["district_ids"]
    )
    patched = pwa_server.api(
        "PATCH", f"/api/v1/stations/{moved['id']}", admin, json={"district_id": other, "circle_id": None}
    )
    assert patched.status_code == 200, patched.text
    # The phone's cursor now gets a full bundle without the station.
    token = pwa_server.login(INSPECTOR, PASSWORD)
    after = pwa_server.api("GET", "/api/v1/sync/bundle", token, params={"since": cursor})
    assert after.status_code == 200, after.text
    assert after.json()["full"] is True
    assert moved["id"] not in {s["id"] for s in after.json()["stations"]}
    assert kept["id"] in {s["id"] for s in after.json()["stations"]}

    # The app opened again takes the full bundle, which no longer lists the station.
    page.reload()
    wait_in_page(
        page,
        f"import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => !!b && b.cursor !== '{cursor}')",
    )
    page.goto(pwa_server.url + "/#/")
    page.wait_for_selector("#station-list li")
    # It is offered for no new inspection; the station still in scope is.
    expect(listed(page, moved)).to_have_count(0)
    expect(listed(page, kept)).to_have_count(1)

    # The draft on Home still names its station.
    expect(page.locator(f"#h-progress ~ ul li[data-id='{iid}'] .row-link .strong")).to_have_text(moved["name"]["en"])

    # The phone keeps the station only as the place of that work.
    stations = stored_bundle(page)["stations"]
    assert stations.get(moved["id"], {}).get("retired") is True
    assert kept["id"] in stations and not stations[kept["id"]].get("retired")

    # The draft opens with its answer, and another answer is kept.
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    page.wait_for_selector(f"#item-{first['key']} [data-value=no][aria-pressed=true]")
    expect(page.locator(".fill-head .station-line")).to_contain_text(moved["name"]["en"])
    page.locator(f"#item-{second['key']} [data-value=yes]").click()
    answer_saved(page, iid, second["key"], "yes")
    page.reload()
    page.wait_for_selector(f"#item-{second['key']} [data-value=yes][aria-pressed=true]")
    assert errors == []
    context.close()
