"""The station import's preview in real Chromium: stations of the file's districts that it leaves out,
a code matched in another case, and the problems of a file saved by Excel's default CSV."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _csv(rows: list[str], separator: str = ",") -> bytes:
    header = separator.join(["code", "name_en", "name_ur", "district_code", "lat", "lon"])
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def test_the_preview_shows_stations_left_out_and_excel_damage_by_row(admin_server, browser):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    districts = {d["id"]: d["code"] for d in admin_server.api("GET", "/api/v1/districts", token).json()}
    station = admin_server.api("GET", "/api/v1/stations", token, params={"limit": 1}).json()[0]
    district = districts[station["district_id"]]
    others = [
        s["code"]
        for s in admin_server.api(
            "GET", "/api/v1/stations", token, params={"district_id": station["district_id"]}
        ).json()
        if s["id"] != station["id"] and s["active"]
    ]
    assert others
    renamed = f"{station['code'].lower()},Renamed Station,{station['name']['ur']},{district},{station['lat']},{station['lon']}"

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/import")
    page.set_input_files("#csv-file", files=[{"name": "a.csv", "mimeType": "text/csv", "buffer": _csv([renamed])}])
    expect(page.locator("#csv-updated")).to_contain_text(f"{station['code']} (in the file: {station['code'].lower()})")
    left_out = page.locator("#csv-not-in-file")
    expect(left_out).to_contain_text(f"{len(others)} station")
    expect(left_out.locator("li")).to_have_text(sorted(others)[:50])

    lost = f"NEW-XL-1,Excel Station,????? ?????,{district},74.35,31.52"
    page.set_input_files("#csv-file", files=[{"name": "b.csv", "mimeType": "text/csv", "buffer": _csv([lost])}])
    expect(page.locator("#csv-problems tr[data-row='2']").first).to_contain_text("Urdu letters were lost")
    expect(page.locator("#csv-problems")).to_contain_text("Latitude and longitude look swapped")

    semi = _csv([renamed.replace(",", ";")], separator=";")
    page.set_input_files("#csv-file", files=[{"name": "c.csv", "mimeType": "text/csv", "buffer": semi}])
    expect(page.locator("#csv-problems li")).to_have_text(
        ["The file uses ';' between values: save it as CSV UTF-8 (comma delimited)."]
    )
    assert admin_server.api("GET", "/api/v1/stations", token, params={"q": "NEW-XL"}).json() == []
    assert errors == []
    context.close()


def test_the_example_opens_in_excel_and_a_file_too_large_or_too_wrong_is_said_so(admin_server, browser):
    """The example had no byte-order mark (Excel showed its Urdu name as mojibake); a file over the
    limit was said as the server's English "Request Entity Too Large", in Urdu too; a file of thousands
    of bad rows listed every problem, hundreds of thousands of rows drawn one by one."""
    context, page, errors = signed_in_laptop(admin_server, browser)
    page.goto(admin_server.url + "/#/admin/hierarchy/import")
    with page.expect_download() as got:
        page.click("details summary")
        page.locator("button", has_text="example").first.click()
    with open(got.value.path(), "rb") as f:
        example = f.read()
    assert example.startswith("\ufeff".encode()) and "پولیس".encode() in example and b"\r\n" in example

    bad = _csv([f"X{n},,,NOWHERE,a,b" for n in range(400)])
    page.set_input_files("#csv-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}])
    expect(page.locator("#csv-problems h2")).to_contain_text("problems in 400 rows")
    expect(page.locator("#csv-first-shown")).to_contain_text("The first 500 are listed here")
    assert page.locator("#csv-problems tbody tr").count() == 500

    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    big = _csv(["x"]) + b"x" * (33 * 1024 * 1024)
    page.set_input_files("#csv-file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big}])
    said = page.locator("#csv-failed")
    expect(said).to_contain_text("فائل بہت بڑی ہے", timeout=60_000)
    expect(said).not_to_contain_text("Request Entity Too Large")
    assert errors == []
    context.close()
