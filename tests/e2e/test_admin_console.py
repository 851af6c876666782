"""The rest of the admin console in real Chromium against the real server: users (create with a scope,
reset a password, deactivate, which refuses the user's very next request), the station CSV import
(previewed with row errors before anything is written), station coordinates, and the audit view with
its chain verification, intact and then broken."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import (
    ADMIN,
    ADMIN_PASSWORD,
    INSPECTOR,
    INSPECTOR_PASSWORD,
    _in_thread,
    laptop,
    signed_in_laptop,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def confirm(page) -> None:
    page.click("dialog[open] .dialog-actions .btn-primary")


def test_an_admin_manages_users_and_a_deactivated_inspector_is_refused_at_once(admin_server, browser):
    inspector_token = admin_server.login(INSPECTOR, INSPECTOR_PASSWORD)
    assert admin_server.api("GET", "/api/v1/me", inspector_token).status_code == 200
    admin_token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", admin_token).json()[0]

    context, page, errors = signed_in_laptop(admin_server, browser)

    # A new inspector: the server's problem (no area chosen) appears at the scope, then it is fixed.
    page.click("a[href='#/admin/users']")
    page.click("#new-user")
    page.fill("#user-username", "inspector.kasur")
    page.fill("#user-display", "DSP Kasur Test")
    page.fill("#user-password", "first-password-1")
    page.select_option("#user-role", "inspector")
    page.click("#user-save")
    scope_error = page.locator('[data-field="region_ids"] > .field-error')
    expect(scope_error).to_contain_text("Choose at least one region or district")
    page.check(f'[data-field="district.{district["code"]}"] input')
    page.click("#user-save")
    expect(page.locator("h1")).to_have_text("DSP Kasur Test")
    created = admin_server.api("GET", "/api/v1/users", admin_token, params={"q": "inspector.kasur"}).json()
    assert [(u["role"], u["district_ids"], u["region_ids"]) for u in created] == [("inspector", [district["id"]], [])]

    # Reset the password: the new one signs in.
    page.click("#reset-password-btn")
    page.fill("#reset-password", "second-password-2")
    page.fill("#reset-again", "second-password-2")
    confirm(page)
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert admin_server.login("inspector.kasur", "second-password-2")

    # Find the demo inspector by search, read their trail, deactivate them.
    page.click("a[href='#/admin/users']")
    page.fill("#user-search", "inspector.ali")
    expect(page.locator("#user-list li")).to_have_count(1)
    page.click("#user-list a.row-link")
    expect(page.locator("#user-trail")).to_contain_text("Signed in")
    page.click("#toggle-active")
    confirm(page)
    expect(page.locator("#user-deactivated")).to_be_visible()
    assert admin_server.api("GET", "/api/v1/me", inspector_token).status_code == 401
    expect(page.locator("#user-trail")).to_contain_text("deactivated")
    page.click("a[href='#/admin/users']")
    page.select_option("#active-filter", "false")
    expect(page.locator("#user-list li[data-username]")).to_have_count(1)
    assert errors == []
    context.close()


def _csv(rows: list[str]) -> bytes:
    return ("code,name_en,name_ur,district_code,lat,lon\n" + "\n".join(rows) + "\n").encode()


def test_a_station_csv_is_previewed_with_row_errors_before_anything_is_written(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    districts = {d["id"]: d for d in admin_server.api("GET", "/api/v1/districts", token).json()}
    existing = admin_server.api("GET", "/api/v1/stations", token, params={"limit": 1}).json()[0]
    code = districts[existing["district_id"]]["code"]
    new_row = f"TEST-NEW-1,Test Police Station,ٹیسٹ تھانہ,{code},31.51,74.35"

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/import")
    page.set_input_files(
        "#csv-file",
        files=[
            {
                "name": "bad.csv",
                "mimeType": "text/csv",
                "buffer": _csv([new_row, f"TEST-NEW-2,Second,دوسرا,{code},abc,74.3"]),
            }
        ],
    )
    problem = page.locator("#csv-problems tr[data-row='3']")
    expect(problem).to_contain_text("lat")
    assert admin_server.api("GET", "/api/v1/stations", token, params={"q": "TEST-NEW"}).json() == []

    renamed = f"{existing['code']},Renamed Station,{existing['name']['ur']},{code},{existing['lat']},{existing['lon']}"
    page.set_input_files(
        "#csv-file", files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": _csv([new_row, renamed])}]
    )
    expect(page.locator("#csv-created li")).to_have_text(["TEST-NEW-1"])
    expect(page.locator("#csv-updated")).to_contain_text("Renamed Station")
    assert admin_server.api("GET", "/api/v1/stations", token, params={"q": "TEST-NEW"}).json() == []
    page.click("#csv-confirm")
    confirm(page)
    expect(page.locator("#csv-done")).to_contain_text("1 created, 1 changed")
    made = admin_server.api("GET", "/api/v1/stations", token, params={"q": "TEST-NEW-1"}).json()
    assert [s["name"] for s in made] == [{"en": "Test Police Station", "ur": "ٹیسٹ تھانہ"}]

    # Coordinates are checked as typed, and swapped ones are pointed out before saving.
    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    page.fill("#org-search", "TEST-NEW-1")
    expect(page.locator("#org-list li[data-code]")).to_have_count(1)
    page.click("#org-list li[data-code='TEST-NEW-1'] button")
    page.fill("#station-lat", "abc")
    expect(page.locator('[data-field="lat"] .field-error')).to_contain_text("number")
    page.fill("#station-lat", "74.3587")
    page.fill("#station-lon", "31.5204")
    expect(page.locator("#coord-warn")).to_contain_text("outside Punjab")
    page.fill("#station-lat", "31.5204")
    page.fill("#station-lon", "74.3587")
    expect(page.locator("#coord-warn")).to_be_hidden()
    confirm(page)
    expect(page.locator("dialog[open]")).to_have_count(0)
    moved = admin_server.api("GET", f"/api/v1/stations/{made[0]['id']}", token).json()
    assert (moved["lat"], moved["lon"]) == (31.5204, 74.3587)
    assert errors == []
    context.close()


def test_a_csv_corrected_on_disk_is_checked_again_and_the_import_sends_what_was_previewed(
    admin_server, browser, tmp_path
):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    code = admin_server.api("GET", "/api/v1/districts", token).json()[0]["code"]
    path = tmp_path / "stations.csv"
    path.write_bytes(_csv([f"TEST-DISK-1,Disk Station,ڈسک تھانہ,{code},abc,74.35"]))
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/import")
    page.set_input_files("#csv-file", str(path))
    expect(page.locator("#csv-problems tr[data-row='2']")).to_contain_text("lat")
    # Corrected on disk and chosen again, under the same name: checked anew, not left showing old problems.
    path.write_bytes(_csv([f"TEST-DISK-1,Disk Station,ڈسک تھانہ,{code},31.51,74.35"]))
    assert page.locator("#csv-file").evaluate("i => i.value") == ""
    page.set_input_files("#csv-file", str(path))
    expect(page.locator("#csv-created li")).to_have_text(["TEST-DISK-1"])
    # Changed on disk after the preview: the import writes what the admin saw and confirmed.
    path.write_bytes(
        _csv(
            [f"TEST-DISK-1,Disk Station,ڈسک تھانہ,{code},31.51,74.35", f"TEST-DISK-2,Unseen,ان دیکھا,{code},31.5,74.3"]
        )
    )
    page.click("#csv-confirm")
    confirm(page)
    expect(page.locator("#csv-done")).to_contain_text("1 created")
    made = admin_server.api("GET", "/api/v1/stations", token, params={"q": "TEST-DISK"}).json()
    assert [s["code"] for s in made] == ["TEST-DISK-1"]
    assert errors == []
    context.close()


def test_the_audit_view_verifies_the_chain_filters_the_log_and_shows_where_it_was_altered(admin_server, browser):
    for _ in range(3):
        admin_server.login(INSPECTOR, INSPECTOR_PASSWORD)
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/audit']")
    expect(page.locator("#audit-verify")).to_have_attribute("data-ok", "true")
    expect(page.locator("#audit-verify")).to_contain_text("The trail is intact")

    page.fill('[data-field="action"] input', "auth.login")
    page.click(".audit-filters button[type=submit]")
    rows = page.locator("#audit-list li[data-action]")
    expect(rows).to_have_count(4)  # three sign-ins of the inspector and this one of the admin
    assert set(rows.evaluate_all("(els) => els.map((e) => e.dataset.action)")) == {"auth.login"}
    page.fill("#audit-find", "inspector.ali")
    expect(rows).to_have_count(3)

    # Paging goes back by `before`: older entries follow, none twice.
    page.goto(admin_server.url + "/#/admin/audit?limit=2")
    expect(rows).to_have_count(2)
    # Opened again, the page checks only what was written since the full check it made the first time.
    verify = page.locator("#audit-verify")
    expect(verify).to_have_attribute("data-ok", "true")
    expect(verify).to_contain_text("written since the last full check")
    assert int(verify.get_attribute("data-after")) > 0
    expect(page.locator("#audit-last-full")).to_contain_text("Last full check:")
    page.click("#audit-more")
    expect(rows).to_have_count(4)
    seqs = rows.evaluate_all("(els) => els.map((e) => Number(e.dataset.seq))")
    assert seqs == sorted(set(seqs), reverse=True)

    # Someone edits an entry in the database behind the application's back.
    async def tamper() -> int:
        conn = await asyncpg.connect(admin_server.database_url)
        try:
            seq = await conn.fetchval("SELECT min(seq) FROM audit_log WHERE action = 'auth.login'")
            await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            await conn.execute("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = $1", seq)
            await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
            return seq
        finally:
            await conn.close()

    seq = _in_thread(tamper())
    # The entry is older than the last full check, which the quick check goes on from: "Check every
    # entry" walks the whole chain.
    page.click("#audit-verify-again")
    expect(page.locator("#audit-verify")).to_have_attribute("data-ok", "false")
    expect(page.locator("#audit-verify")).to_have_attribute("data-after", "0")
    expect(page.locator("#audit-verify [role=alert]")).to_contain_text(f"broken at entry #{seq}")
    # From then on, opening the page says so at once: a broken trail stays broken.
    page.goto(admin_server.url + "/#/admin/audit")
    expect(page.locator("#audit-verify [role=alert]")).to_contain_text(f"broken at entry #{seq}")
    expect(page.locator("#audit-last-full")).to_be_visible()
    assert errors == []
    context.close()


def test_every_admin_string_is_written_in_english_and_urdu(admin_server, browser):
    context = laptop(browser)
    page = context.new_page()
    page.goto(admin_server.url + "/")
    page.wait_for_selector("form.login")
    found = page.evaluate("""() => import('/js/views/admin/strings.js').then(({default: {en, ur}}) => {
        const text = (v) => (typeof v === 'string' ? [v] : Object.values(v));
        return {
            noUrdu: Object.keys(en).filter((k) => !(k in ur)),
            noEnglish: Object.keys(ur).filter((k) => !(k in en)),
            // Urdu that is really English: Latin words where Urdu letters belong.
            notUrdu: Object.keys(ur).filter((k) => text(ur[k]).some((s) => !/[\u0600-\u06ff]/.test(s))),
        };
    })""")
    assert found == {"noUrdu": [], "noEnglish": [], "notUrdu": []}
    context.close()


def test_urdu_admin_screens_name_places_and_templates_in_urdu_first_and_in_urdu_digits_when_chosen(
    admin_server, browser
):
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.evaluate("import('/js/i18n.js').then(async (m) => { await m.setLang('ur'); await m.setDigits('arabext'); })")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    latin = re.compile(r"[A-Za-z]")

    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    row = page.locator(".org-row").first
    row.wait_for()
    first = row.locator(".rv-name")
    assert first.get_attribute("lang") == "ur" and not latin.search(first.inner_text()), first.inner_text()
    assert latin.search(row.locator(".rv-alt").inner_text())  # the English name follows, smaller
    edit_label = row.locator("button").get_attribute("aria-label")
    assert first.inner_text() in edit_label

    page.goto(admin_server.url + "/#/admin/templates")
    tpl = page.locator(".tpl-row").first
    tpl.wait_for()
    assert tpl.locator(".rv-name").get_attribute("lang") == "ur"
    assert page.locator(".tpl-row .rv-name").count() == page.locator(".tpl-row").count()

    page.goto(admin_server.url + "/#/admin/users/new")
    scope = page.locator(".scope-region label").first
    scope.wait_for()
    assert not latin.match(scope.inner_text().strip()), scope.inner_text()

    # Urdu digits, as chosen: the builder's outline numbers its sections and items with them.
    page.goto(admin_server.url + "/#/admin/templates")
    page.click("#template-list li[data-key=sips_station] a.row-link")
    page.wait_for_selector("#builder-title")
    numbers = page.locator(".o-num").all_inner_texts()
    assert numbers and all(re.fullmatch(r"[۰-۹]+\.([۰-۹]+)?", n) for n in numbers), numbers[:5]
    assert errors == []
    context.close()


def test_two_administrators_changing_different_things_of_one_station_both_keep_their_change(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    station = admin_server.api("GET", "/api/v1/stations", token).json()[0]
    desks = [signed_in_laptop(admin_server, browser) for _ in range(2)]
    for _, page, _ in desks:
        page.goto(admin_server.url + "/#/admin/hierarchy/stations")
        page.fill("#org-search", station["code"])
        page.click(f"#org-list li[data-code='{station['code']}'] button")
        page.locator("dialog[open] [data-field='name.en'] input").wait_for()
    (first_context, first, first_errors), (second_context, second, second_errors) = desks
    # Both dialogs opened before either saved: one renames the station, the other moves it.
    first.fill("dialog[open] [data-field='name.en'] input", "Renamed By The First Admin")
    confirm(first)
    expect(first.locator("dialog[open]")).to_have_count(0)
    second.fill("#station-lat", "31.4444")
    confirm(second)
    expect(second.locator("dialog[open]")).to_have_count(0)
    stored = admin_server.api("GET", f"/api/v1/stations/{station['id']}", token).json()
    assert stored["name"]["en"] == "Renamed By The First Admin"
    assert stored["lat"] == 31.4444 and stored["lon"] == station["lon"]
    assert first_errors == [] and second_errors == []
    first_context.close()
    second_context.close()


def test_a_station_moved_to_another_district_goes_without_the_circle_another_admin_gave_it_meanwhile(
    admin_server, browser
):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    station = next(s for s in admin_server.api("GET", "/api/v1/stations", token).json() if s["circle_id"])
    circle = station["circle_id"]
    path = f"/api/v1/stations/{station['id']}"
    assert admin_server.api("PATCH", path, token, json={"circle_id": None}).status_code == 200
    other = next(
        d for d in admin_server.api("GET", "/api/v1/districts", token).json() if d["id"] != station["district_id"]
    )
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/stations")
    page.fill("#org-search", station["code"])
    page.click(f"#org-list li[data-code='{station['code']}'] button")
    page.locator("#org-district").wait_for()
    # Meanwhile another administrator puts the station back in its circle.
    assert admin_server.api("PATCH", path, token, json={"circle_id": circle}).status_code == 200
    page.select_option("#org-district", other["id"])
    confirm(page)
    expect(page.locator("dialog[open]")).to_have_count(0)
    stored = admin_server.api("GET", path, token).json()
    assert (stored["district_id"], stored["circle_id"]) == (other["id"], None)
    assert errors == []
    context.close()
