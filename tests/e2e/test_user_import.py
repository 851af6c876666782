"""Accounts in bulk in real Chromium: the admin imports a CSV of users on the Users screen (previewed
with its problems by row and column first), downloads the new passwords, and a new inspector signs in
with theirs; the list then finds them by district."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD, laptop, sign_in, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HEADER = "username,display_name,role,region_codes,district_codes\n"


def _file(name: str, rows: list[str]) -> list[dict]:
    return [{"name": name, "mimeType": "text/csv", "buffer": (HEADER + "\n".join(rows) + "\n").encode()}]


def test_an_admin_imports_three_users_downloads_their_passwords_and_one_signs_in(admin_server, browser, tmp_path):
    token = admin_server.login(ADMIN, ADMIN_PASSWORD)
    district = admin_server.api("GET", "/api/v1/districts", token).json()[0]
    region = admin_server.api("GET", "/api/v1/regions", token).json()[0]
    rows = [
        f"dsp.import.one,DSP Import One,inspector,,{district['code']}",
        f"dsp.import.two,DSP Import Two,inspector,,{district['code']}",
        f"rpo.import,RPO Import,reviewer,{region['code']},",
    ]

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/users']")
    expect(page.locator("#user-import")).to_be_hidden()
    page.click("#import-users")

    # A file with problems: each shown at its row and column, in words, and nothing is written.
    page.set_input_files("#user-import-file", files=_file("bad.csv", [rows[0], "معائنہ,Urdu,inspector,,NOPE"]))
    problem = page.locator("#user-import-problems tr[data-row='3']")
    expect(problem).to_have_count(2)
    expect(problem.first).to_contain_text("username")
    expect(problem.first).to_contain_text("Use 3 to 64 English letters, digits and . _ @ -")
    expect(problem.nth(1)).to_contain_text("No district has the code 'NOPE'.")
    assert admin_server.api("GET", "/api/v1/users", token, params={"q": "import"}).json() == []

    # The corrected file: who would be created, then the real import, and the passwords shown once.
    page.set_input_files("#user-import-file", files=_file("good.csv", rows))
    expect(page.locator("#user-import-created tbody tr")).to_have_count(3)
    assert admin_server.api("GET", "/api/v1/users", token, params={"q": "import"}).json() == []
    page.click("#user-import-confirm")
    page.click("dialog[open] .dialog-actions .btn-primary")
    expect(page.locator("#user-import-done")).to_contain_text("3 accounts created.")
    expect(page.locator("#user-import-once")).to_contain_text("shown only now")
    with page.expect_download() as got:
        page.click("#user-import-download")
    saved = tmp_path / "passwords.csv"
    got.value.save_as(saved)
    sheet = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r["username"], r["display_name"]) for r in sheet] == [
        ("dsp.import.one", "DSP Import One"),
        ("dsp.import.two", "DSP Import Two"),
        ("rpo.import", "RPO Import"),
    ]

    # The list finds the new inspectors by their district, and counts what it shows. The new inspector
    # is in the whole list too, so the filtered list is the one the server gives for the district.
    page.select_option("#district-filter", district["id"])
    in_district = admin_server.api("GET", "/api/v1/users", token, params={"district_id": district["id"]}).json()
    expect(page.locator("#user-list")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#user-list li[data-username]")).to_have_count(len(in_district))
    expect(page.locator("#user-list li[data-username='dsp.import.one']")).to_be_visible()
    expect(page.locator("#user-list li[data-username='rpo.import']")).to_have_count(
        1 if region["id"] == district["region_id"] else 0
    )
    expect(page.locator("#user-count")).to_contain_text(str(len(in_district)))
    assert errors == []
    context.close()

    # A new inspector signs in on a phone of their own with the password from the file.
    phone = laptop(browser)
    mine = phone.new_page()
    # The password came from the admin's file: the app asks its owner to choose their own first.
    sign_in(mine, admin_server.url, "dsp.import.one", sheet[0]["password"], landing="#password-must-change")
    phone.close()
