"""The reviewer's screens in real Chromium: both languages at laptop and phone sizes (right to left in
Urdu, nothing wider than the screen, screenshots kept in test-artifacts/), dashboard tables saved as
CSV and XLSX with the figures on screen, and a region B reviewer who sees nothing of region A.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import openpyxl
import pytest

from tests.conftest import snapshot
from tests.e2e.test_admin_support import _in_thread
from tests.e2e.test_pwa_support import PHONE, live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import (
    LAPTOP,
    REVIEWER_PASSWORD,
    inspector_setup,
    reviewer_desk,
    sign_in_reviewer,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

URDU_NAV = ["جائزے کی قطار", "دورے", "اصلاحی اقدامات", "ڈیش بورڈ"]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-screens"))


@pytest.fixture(scope="module")
def lahore(pwa_server):
    """Two Lahore submissions: a clean one, then one far from its station with a critical failure and
    a photo reused from the clean one."""
    token, stations, version = inspector_setup(pwa_server)
    critical = next(
        i["key"]
        for s in version["definition"]["sections"]
        for i in s["items"]
        if i.get("critical") and i["type"] == "yes_no" and not i.get("visible_if")
    )
    clean = submit(pwa_server, token, stations[3], version, seed=8)
    key, answer = next((k, a) for k, a in clean["answers"].items() if a["photos"])
    reused = pwa_server.api("GET", f"/api/v1/photos/{answer['photos'][0]}/original", token).content
    flagged = submit(
        pwa_server, token, stations[2], version, fail=(critical,), far=True, seed=7, photo_bytes={key: reused}
    )
    return {
        "flagged": flagged,
        "clean": clean,
        "stations": stations,
        "reused_item": key,
        "version": version["id"],
    }


SCREENS = [
    ("queue", "/review", ".rv-queue"),
    ("inspection", None, "#rv-approve"),
    ("actions", "/review/actions", ".rv-board"),
    ("dashboard", "/review/dashboard", "#rv-ranking"),
]


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_reviewer_screens_read_right_to_left_in_urdu_and_fit_the_screen(pwa_server, lahore, browser, artifacts, size):
    viewport = LAPTOP if size == "laptop" else PHONE
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    for lang in ("en", "ur"):
        if lang == "ur":
            page.click(".lang-toggle")
            page.locator("html[dir=rtl]").wait_for(state="attached")
        for name, path, ready in SCREENS:
            page.goto(pwa_server.url + "/#" + (path or f"/review/i/{lahore['flagged']['id']}"))
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
            shape = page.evaluate("""() => ({
                dir: document.documentElement.dir, lang: document.documentElement.lang,
                overflow: document.documentElement.scrollWidth - innerWidth,
                nav: [...document.querySelectorAll('.rv-nav a')].map((a) => a.textContent),
                h1: document.querySelector('.reviewer h1').textContent })""")
            assert shape["overflow"] <= 0, f"{name} in {lang} is wider than a {size} screen"
            if lang == "ur":
                assert (shape["dir"], shape["lang"]) == ("rtl", "ur")
                assert shape["nav"] == URDU_NAV
                assert any("\u0600" <= ch <= "\u06ff" for ch in shape["h1"]), shape["h1"]
            else:
                assert (shape["dir"], shape["lang"]) == ("ltr", "en")
                assert shape["nav"] == ["Review queue", "Visits", "Corrective actions", "Dashboards"]
            snapshot(page, path=str(artifacts / f"reviewer-{name}-{lang}-{viewport['width']}x{viewport['height']}.png"))
    # Every flag of the far, critical submission is an icon and a word in the queue, not a colour alone.
    page.goto(pwa_server.url + "/#/review")
    page.wait_for_selector(f".rv-queue tr[data-id='{lahore['flagged']['id']}']")
    flags = page.locator(f".rv-queue tr[data-id='{lahore['flagged']['id']}'] [data-flag]")
    # Its photos were taken where it was made, 5 km from the station: the photo evidence says so too. And
    # its phone says it was made in the same hour as the clean one, at another station (build_document
    # times every visit from an hour ago to now): the visits overlap.
    assert {f.get_attribute("data-flag") for f in flags.all()} == {
        "far",
        "critical",
        "reused",
        "photos_far",
        "overlaps",
    }
    assert all(f.locator("svg").count() == 1 and f.inner_text().strip() for f in flags.all())
    # The reused photo is marked on its item and its evidence links to the inspection it came from.
    page.goto(pwa_server.url + f"/#/review/i/{lahore['flagged']['id']}")
    page.locator(f"#rv-item-{lahore['reused_item']} .thumbs [data-flag=reused]").wait_for()
    # The photo evidence is open already, because the photos disagree with the station.
    assert page.locator(".rv-insp details").nth(1).get_attribute("open") is not None
    assert page.locator(f".rv-reuse a[href='#/review/i/{lahore['clean']['id']}']").count() >= 1
    assert errors == []
    context.close()


def test_with_urdu_digits_chosen_the_board_and_the_dashboard_count_in_them(pwa_server, lahore, browser):
    desk, page, errors = reviewer_desk(browser, pwa_server.url)
    page.evaluate("import('/js/i18n.js').then(async (m) => { await m.setLang('ur'); await m.setDigits('arabext'); })")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.goto(pwa_server.url + "/#/review/actions")
    page.wait_for_selector(".rv-board")
    heads = page.locator(".rv-col h2, .rv-col summary").all_inner_texts()
    assert heads and all(re.search(r"\([۰-۹]+\)$", h.strip()) for h in heads), heads
    # The dashboard's periods (months, quarters) in the digits chosen, on the chart and in its table.
    page.goto(pwa_server.url + "/#/review/dashboard")
    page.wait_for_selector("#rv-ranking")
    periods = page.evaluate("""() => [...document.querySelectorAll('#rv-trend th, #rv-trend text')]
        .map((n) => n.textContent).filter((s) => /[۰-۹0-9]{4}/.test(s))""")
    assert periods and not any(re.search("[0-9]", p) for p in periods), periods
    assert errors == []
    desk.close()


def test_a_dashboard_table_downloads_as_csv_and_xlsx_with_the_figures_on_screen(pwa_server, lahore, browser):
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/dashboard")
    panel = page.locator("#rv-ranking")
    panel.locator("tbody tr").first.wait_for()
    on_screen = [[c.strip() for c in r.locator("td").all_inner_texts()] for r in panel.locator("tbody tr").all()]
    with page.expect_download() as got:
        panel.locator(".rv-csv").click()
    assert got.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(got.value.path()).read_text(encoding="utf-8-sig"))))
    with page.expect_download() as got:
        panel.locator(".rv-xlsx").click()
    assert got.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes())).active
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == cells[0] and rows[0][:3] == ["Rank", "Station", "Average"]
    assert len(rows) == len(cells) == len(on_screen) + 1
    for text_row, xlsx_row, shown in zip(rows[1:], cells[1:], on_screen, strict=True):
        assert int(text_row[0]) == xlsx_row[0] == int(shown[0])
        # The average is a number in both files, printed on screen with one decimal and a % sign.
        assert float(text_row[2]) == xlsx_row[2] and shown[2] == f"{xlsx_row[2]:.1f}%"
    codes = {s["code"] for s in lahore["stations"][2:4]}
    assert {r[1].split(" ")[0] for r in rows[1:]} >= codes
    context.close()


def test_a_region_b_reviewer_sees_nothing_of_region_a(pwa_server, lahore, browser):
    token, stations, version = inspector_setup(pwa_server, "inspector.sana")
    theirs = submit(pwa_server, token, stations[0], version, seed=9)
    reviewer = pwa_server.login("rpo.rawalpindi", REVIEWER_PASSWORD)
    lahore_ids = {lahore["flagged"]["id"], lahore["clean"]["id"]}

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in_reviewer(page, pwa_server.url, "rpo.rawalpindi")
    shown = page.locator(".rv-queue tbody tr")
    shown.first.wait_for()
    ids = {r.get_attribute("data-id") for r in shown.all()}
    codes = {r.get_attribute("data-station") for r in shown.all()}
    assert theirs["id"] in ids and not ids & lahore_ids
    assert all(code.startswith("RWP-") for code in codes), codes
    # Region A's inspection, opened by its address, is not found rather than shown.
    page.goto(pwa_server.url + f"/#/review/i/{lahore['flagged']['id']}")
    page.wait_for_selector(".reviewer [role=alert]")
    assert lahore["stations"][2]["name"]["en"] not in page.inner_text("main")
    context.close()

    # The same through the API: queue, flagged list, dashboards and the export.
    queue = pwa_server.api("GET", "/api/v1/review/queue", reviewer).json()["rows"]
    flagged = pwa_server.api("GET", "/api/v1/dashboard/flagged", reviewer).json()["rows"]
    ranking = pwa_server.api("GET", "/api/v1/dashboard/rankings", reviewer).json()["rows"]
    exported = pwa_server.api("GET", "/api/v1/exports/inspections.csv", reviewer).text
    assert {r["id"] for r in queue} == {theirs["id"]}
    assert not {r["id"] for r in flagged} & lahore_ids
    assert all(r["code"].startswith("RWP-") for r in ranking)
    assert "LHR-" not in exported and stations[0]["code"] in exported


def test_photos_open_without_a_token_in_any_url_and_an_action_is_raised_moved_and_noted(pwa_server, lahore, browser):
    clean = lahore["clean"]
    station = lahore["stations"][3]
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    errors = watch_errors(page)
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{clean['id']}")

    # A photo enlarges to its display rendition from a blob URL; the original is saved, never shown.
    page.locator(".rv-item .thumbs button").first.click()
    # A locator, not wait_for_function: the page's CSP forbids the eval that polling a string needs.
    page.locator("dialog .photo-large[src^='blob:']").wait_for()
    with page.expect_download() as got:
        page.click("dialog .btn-secondary")
    assert got.value.suggested_filename.endswith(".jpg")
    token = page.evaluate("""new Promise((resolve) => { indexedDB.open('muaina').onsuccess = (e) => {
        const get = e.target.result.transaction('kv').objectStore('kv').get('token');
        get.onsuccess = () => resolve(get.result); }; })""")
    assert token and not [u for u in urls if token in u]
    assert any(u.endswith("/original") for u in urls)

    item = page.locator(".rv-item").first
    key = item.get_attribute("id").removeprefix("rv-item-")
    item.locator(".rv-btn-action").click()
    page.fill("dialog textarea", "Replace the broken token display at the front desk.")
    page.click("dialog .btn-primary")
    page.locator(f"#rv-item-{key} .callout-info").wait_for()

    page.goto(pwa_server.url + f"/#/review/actions?station={station['id']}")
    card = page.locator(".rv-col[data-status=open] .rv-action", has_text="broken token display")
    card.locator("[data-to=in_progress]").click()
    moved = page.locator(".rv-col[data-status=in_progress] .rv-action", has_text="broken token display")
    moved.locator(".rv-notes").click()
    page.fill("dialog textarea", "SHO says the part is ordered.")
    page.click("dialog .btn-primary")
    page.wait_for_selector("dialog", state="detached")

    token = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    action_id = moved.get_attribute("data-id")
    action = pwa_server.api("GET", f"/api/v1/actions/{action_id}", token).json()
    assert (action["status"], action["item_key"], action["inspection_id"]) == ("in_progress", key, clean["id"])
    assert [n["body"] for n in action["notes"] if n["body"]] == ["SHO says the part is ordered."]
    assert any(n["status_to"] == "in_progress" for n in action["notes"])
    assert errors == []
    context.close()


def test_a_late_visit_whose_inspector_left_is_marked_on_the_dashboard(pwa_server, lahore, browser):
    """Last in this module: it takes a Lahore inspector's account away."""

    async def late_visit() -> None:
        conn = await asyncpg.connect(pwa_server.database_url)
        try:
            template = await conn.fetchval("SELECT template_id FROM template_versions WHERE id = $1", lahore["version"])
            station = lahore["stations"][5]["id"]
            await conn.execute(
                "UPDATE assignments SET status = 'cancelled' WHERE station_id = $1 AND template_id = $2 AND status = 'open'",
                station,
                template,
            )
            await conn.execute(
                """INSERT INTO assignments (station_id, template_id, inspector_id, due_date)
                   SELECT $1, $2, id, current_date - 12 FROM users WHERE username = 'inspector.ali'""",
                station,
                template,
            )
            await conn.execute("UPDATE users SET active = false WHERE username = 'inspector.ali'")
        finally:
            await conn.close()

    _in_thread(late_visit())
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/dashboard")
    row = page.locator("#rv-late-insp tbody tr", has_text=lahore["stations"][5]["name"]["en"]).first
    row.wait_for()
    mark = row.locator("a[href='#/review/visits?show=needs'] .pill")
    assert mark.inner_text().strip() == "Needs an inspector"
    mark.click()
    page.wait_for_url("**/#/review/visits?show=needs")
    assert errors == []
    context.close()


def test_the_dashboard_downloads_the_inspections_of_the_days_station_state_and_checklist_chosen(
    pwa_server, lahore, browser
):
    """The dashboard's download of the inspections themselves takes the filters the export has: days
    (the last one included), station, state and checklist (which adds one column per question). It sent
    the district alone, so an officer could only download every inspection of a year of history."""
    flagged = lahore["flagged"]
    station = lahore["stations"][2]
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    template = next(
        t
        for t in pwa_server.api("GET", "/api/v1/templates", reviewer).json()
        if t["latest_version"] is not None and t["key"] == "sips_station"
    )
    day = flagged["submitted_at"][:10]  # a UTC day; the filter reads PKT days, so take a two-day window
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/dashboard")
    form = page.locator(".rv-export")
    form.locator("summary").click()
    form.locator(f"select[name=station_id] option[value='{station['id']}']").wait_for(state="attached")
    form.locator(f"select[name=template_id] option[value='{template['id']}']").wait_for(state="attached")
    # A range that ends before it begins is said at once, and nothing is asked of the server.
    form.locator("input[name=from]").fill("2026-03-02")
    form.locator("input[name=to]").fill("2026-03-01")
    form.locator(".rv-exp-csv").click()
    assert "before the first" in form.locator("[role=alert]").inner_text()
    # The day (in Pakistan) the flagged inspection was made, as the export's dates count it.
    wide = {"station_id": station["id"], "from": (datetime.fromisoformat(day) - timedelta(days=2)).date().isoformat()}
    made = next(
        r["made_at"]
        for r in csv.DictReader(
            io.StringIO(
                pwa_server.api("GET", "/api/v1/exports/inspections.csv", reviewer, params=wide).content.decode(
                    "utf-8-sig"
                )
            )
        )
        if r["inspection_id"] == flagged["id"]
    )
    made_day = (datetime.fromisoformat(made).astimezone(timezone(timedelta(hours=5)))).date()
    day, start = made_day.isoformat(), (made_day - timedelta(days=1)).isoformat()
    form.locator("select[name=station_id]").select_option(station["id"])
    form.locator("select[name=status]").select_option("submitted")
    form.locator("select[name=template_id]").select_option(template["id"])
    # The day before ends the range: the inspection made the next day is not in it (the form added a
    # day to the server's `to`, which already takes the whole of its day, and so took in one day more).
    form.locator("input[name=from]").fill(start)
    form.locator("input[name=to]").fill(start)
    with page.expect_download() as got:
        form.locator(".rv-exp-csv").click()
    before = Path(got.value.path()).read_bytes().decode("utf-8-sig")
    assert flagged["id"] not in {r["inspection_id"] for r in csv.DictReader(io.StringIO(before))}
    form.locator("input[name=to]").fill(day)
    with page.expect_download() as got:
        form.locator(".rv-exp-csv").click()
    downloaded = Path(got.value.path()).read_bytes().decode("utf-8-sig")
    # Exactly what the export gives for those filters, `to` being the last day in.
    params = {
        "station_id": station["id"],
        "status": "submitted",
        "template_id": template["id"],
        "from": start,
        "to": day,
    }
    exported = pwa_server.api("GET", "/api/v1/exports/inspections.csv", reviewer, params=params)
    assert downloaded == exported.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(downloaded)))
    assert flagged["id"] in {r["inspection_id"] for r in rows}
    assert {r["station_code"] for r in rows} == {station["code"]} and {r["status"] for r in rows} == {"submitted"}
    assert any(name.startswith("item.") for name in rows[0])
    with page.expect_download() as got:
        form.locator(".rv-exp-xlsx").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    assert len(book.sheetnames) >= 2  # the inspections and, for a chosen checklist, their answers
    assert errors == []
    context.close()
