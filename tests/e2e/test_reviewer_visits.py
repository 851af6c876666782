"""The Visits screen, in real Chromium against the real API: who inspects what by when.

A regional officer assigns a visit and finds it on the server as entered; a visit or repeating visit
left on an inspector who can no longer make it is marked, filtered for and reassigned; the server's
problems appear beside the field they name; a visit is cancelled and a repeating visit stopped only
after a dialog says what will happen, and the server shows it done; the screen reads right to left in
Urdu and fits a phone.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import PHONE, bundle, live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import (
    INSPECTOR_PASSWORD,
    LAPTOP,
    REVIEWER_PASSWORD,
    reviewer_desk,
    sign_in_reviewer,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ALI = "DSP Ali Raza"
OVERFLOW = "document.documentElement.scrollWidth - innerWidth"


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-visits"))


@pytest.fixture(scope="module")
def tokens(pwa_server):
    return {
        "reviewer": pwa_server.login("rpo.lahore", REVIEWER_PASSWORD),
        "admin": pwa_server.login("admin", DEMO_PASSWORDS["admin"]),
    }


def get(server, token, path, **params):
    reply = server.api("GET", path, token, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def sips(server, token) -> dict:
    return next(t for t in get(server, token, "/api/v1/templates") if t["key"] == "sips_station")


def open_visits(server, token, **params) -> list[dict]:
    return get(server, token, "/api/v1/assignments", status="open", limit=5000, **params)


def inspector_id(server, token, name: str) -> str:
    return next(a["inspector_id"] for a in open_visits(server, token) if a["inspector_name"] == name)


def free_station(server, token, template_id: str) -> dict:
    """A police station in scope with no open visit for the template; a plain (unscheduled) visit due
    last is cancelled through the API to make one when every station has one."""
    stations = [
        s
        for s in get(server, token, "/api/v1/stations", active="true")
        if s.get("kind", "police_station") == "police_station"
    ]
    taken = {a["station_id"] for a in open_visits(server, token, template_id=template_id)}
    for st in sorted(stations, key=lambda s: s["code"]):
        if st["id"] not in taken:
            return st
    last = max(
        (a for a in open_visits(server, token, template_id=template_id) if a["schedule_id"] is None),
        key=lambda a: a["due_date"],
    )
    reply = server.api("PATCH", f"/api/v1/assignments/{last['id']}", token, json={"status": "cancelled"})
    assert reply.status_code == 200, reply.text
    return next(s for s in stations if s["id"] == last["station_id"])


def lahore_inspector(server, admin: str, username: str, display_name: str) -> str:
    """A new inspector of Lahore city (the demo password); returns their id."""
    lahore = next(d for d in get(server, admin, "/api/v1/districts") if d["code"] == "LHR-CITY")
    made = server.api(
        "POST",
        "/api/v1/users",
        admin,
        json={
            "username": username,
            "display_name": display_name,
            "password": DEMO_PASSWORDS["inspector"],
            "role": "inspector",
            "district_ids": [lahore["id"]],
        },
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def open_screen(page, server, query: str = "") -> None:
    page.goto(server.url + "/#/review/visits" + query)
    page.reload()
    page.wait_for_selector(".rv-visits")
    page.wait_for_load_state("networkidle")


def dialog_button(page, label: str):
    return page.locator("dialog.dialog .dialog-actions button", has_text=label)


def test_a_visit_assigned_in_the_browser_is_on_the_server_as_entered(pwa_server, browser, tokens):
    token = tokens["reviewer"]
    template = sips(pwa_server, token)
    station = free_station(pwa_server, token, template["id"])
    ali = inspector_id(pwa_server, token, ALI)
    due = (date.today() + timedelta(days=60)).isoformat()

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    # The reviewer navigation leads to the screen.
    page.click(".rv-nav a[href='#/review/visits']")
    page.wait_for_selector(".rv-visit-table")
    assert page.locator(".rv-nav a[aria-current=page]").inner_text() == "Visits"

    # Overdue first, then due within two weeks, then later; overdue rows say so in words.
    order = page.eval_on_selector_all(".rv-visit", "rows => rows.map((r) => r.querySelector('[data-due]').dataset.due)")
    rank = {"overdue": 0, "soon": 1, "later": 2}
    assert order and [rank[d] for d in order] == sorted(rank[d] for d in order), order
    assert "overdue" in order
    assert page.locator(".rv-visit.is-overdue [data-due=overdue]").first.inner_text().strip() == "Overdue"

    page.click("#rv-new-visit")
    dlg = page.locator("dialog.dialog")
    # The reviewer chooses among the inspectors who serve their area, as the server lists them.
    serving = pwa_server.api("GET", "/api/v1/users", token, params={"role": "inspector", "active": "true"}).json()
    # The dialog fills its choices as they arrive: read them once they have (CI read an empty list once).
    expect(dlg.locator("select[name=inspector_id] option:not([value=''])")).to_have_count(len(serving))
    offered = dlg.locator("select[name=inspector_id] option").evaluate_all(
        "os => os.map((o) => o.value).filter(Boolean)"
    )
    assert serving and sorted(offered) == sorted(u["id"] for u in serving)
    dlg.locator("select[name=station_id]").select_option(station["id"])
    dlg.locator("select[name=template_id]").select_option(template["id"])
    dlg.locator("select[name=inspector_id]").select_option(label=ALI)
    dlg.locator("input[name=due_date]").fill(due)
    dialog_button(page, "Assign").click()
    row = page.locator(f".rv-visit[data-station='{station['code']}']")
    row.wait_for()
    # Focus comes back to the new visit's row, not to the top of the page.
    wait_in_page(page, f"document.activeElement.closest('.rv-visit')?.dataset.station === '{station['code']}'")

    made = open_visits(pwa_server, token, station_id=station["id"], template_id=template["id"])
    assert len(made) == 1
    assert (made[0]["inspector_id"], made[0]["due_date"], made[0]["needs_inspector"]) == (ali, due, False)
    assert row.get_attribute("data-id") == made[0]["id"]
    assert ALI in row.inner_text()

    # A second open visit of the same station and checklist is refused (409); the form offers the
    # open one instead, and opens it for rescheduling.
    page.click("#rv-new-visit")
    dlg.locator("select[name=station_id]").select_option(station["id"])
    dlg.locator("select[name=template_id]").select_option(template["id"])
    dlg.locator("select[name=inspector_id]").select_option(label=ALI)
    dialog_button(page, "Assign").click()
    page.click("#rv-open-existing")
    page.wait_for_selector(f"dialog.dialog h2:has-text('{station['code']}')")
    assert page.locator("dialog.dialog input[name=due_date]").input_value() == due
    dialog_button(page, "Cancel").click()
    assert len(open_visits(pwa_server, token, station_id=station["id"])) == 1
    assert errors == []
    context.close()


def test_a_due_date_the_server_refuses_is_shown_at_the_due_date_field(pwa_server, browser, tokens):
    token = tokens["reviewer"]
    template = sips(pwa_server, token)
    before = len(open_visits(pwa_server, token))
    station = next(
        s for s in get(pwa_server, token, "/api/v1/stations", active="true") if s.get("kind") == "police_station"
    )

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    open_screen(page, pwa_server)
    page.click("#rv-new-visit")
    dlg = page.locator("dialog.dialog")
    # Nothing chosen: each missing choice is named at its own field, before anything is sent.
    dialog_button(page, "Assign").click()
    for name, words in (("station_id", "Choose a station"), ("inspector_id", "Choose an inspector")):
        assert dlg.locator(f".field[data-field={name}] .field-error").inner_text().strip() == words

    dlg.locator("select[name=station_id]").select_option(station["id"])
    dlg.locator("select[name=template_id]").select_option(template["id"])
    dlg.locator("select[name=inspector_id]").select_option(label=ALI)
    dlg.locator("input[name=due_date]").fill("2205-01-01")  # a slip of the keyboard for 2025
    dialog_button(page, "Assign").click()
    problem = dlg.locator(".field[data-field=due_date] .field-error")
    problem.wait_for()
    assert "Give a date between" in problem.inner_text()
    assert dlg.locator("input[name=due_date]").get_attribute("aria-invalid") == "true"
    assert problem.get_attribute("id") in dlg.locator("input[name=due_date]").get_attribute("aria-describedby")
    # The other fields' earlier problems are gone; the refused visit was not made.
    assert dlg.locator(".field[data-field=station_id] .field-error").is_hidden()
    assert len(open_visits(pwa_server, token)) == before
    dialog_button(page, "Cancel").click()
    assert errors == []
    context.close()


def test_an_admin_sees_the_server_refuse_an_inspector_who_does_not_cover_the_station(pwa_server, browser, tokens):
    token = tokens["admin"]
    template = sips(pwa_server, token)
    # A station of Lahore (the reviewer's scope), which Rawalpindi's inspector does not cover.
    station = free_station(pwa_server, tokens["reviewer"], template["id"])

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(pwa_server.url + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORDS["admin"])
    page.click("form.login button[type=submit]")
    page.wait_for_selector("form.login", state="detached")
    open_screen(page, pwa_server)
    page.click("#rv-new-visit")
    dlg = page.locator("dialog.dialog")
    # An admin chooses among every active inspector (GET /users), Rawalpindi's included.
    dlg.locator("select[name=station_id]").select_option(station["id"])
    dlg.locator("select[name=template_id]").select_option(template["id"])
    dlg.locator("select[name=inspector_id]").select_option(label="DSP Sana Bashir")
    dialog_button(page, "Assign").click()
    problem = dlg.locator(".field[data-field=inspector_id] .field-error")
    problem.wait_for()
    assert problem.inner_text().strip() == "This station is outside this inspector’s districts and regions."
    assert dlg.locator("select[name=inspector_id]").evaluate("el => el === document.activeElement")
    assert open_visits(pwa_server, token, station_id=station["id"], template_id=template["id"]) == []
    dialog_button(page, "Cancel").click()
    assert errors == []
    context.close()


def test_work_stranded_on_a_deactivated_inspector_is_marked_and_reassigned_on_a_phone_in_urdu(
    pwa_server, browser, tokens
):
    admin, token = tokens["admin"], tokens["reviewer"]
    leaving = lahore_inspector(pwa_server, admin, "inspector.leaving", "DSP Leaving Soon")
    ali = inspector_id(pwa_server, token, ALI)
    # An overdue visit and a repeating visit go to the inspector, who is then deactivated.
    visit = next(a for a in open_visits(pwa_server, token, overdue="true") if a["schedule_id"] is None)
    plan = get(pwa_server, token, "/api/v1/schedules", active="true")[0]
    for path in (f"/api/v1/assignments/{visit['id']}", f"/api/v1/schedules/{plan['id']}"):
        assert pwa_server.api("PATCH", path, token, json={"inspector_id": leaving}).status_code == 200
    assert pwa_server.api("PATCH", f"/api/v1/users/{leaving}", admin, json={"active": False}).status_code == 200
    # The repeating visit's open visit followed it to the inspector, so two visits are stranded.
    stranded = {a["id"] for a in open_visits(pwa_server, token, needs_inspector="true")}
    assert stranded == {visit["id"], plan["open_assignment_id"]}

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    open_screen(page, pwa_server)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ur", "rtl"]
    assert page.inner_text(".reviewer h1") == "دورے اور ان کے معائنہ کار"
    assert page.locator(".rv-nav a[aria-current=page]").inner_text() == "دورے"
    # The count of stranded visits is said in the plural form for two.
    assert page.inner_text(".rv-stranded").startswith("2 دوروں کو معائنہ کار درکار ہے")
    assert page.evaluate(OVERFLOW) <= 0
    row = page.locator(f".rv-visit[data-id='{visit['id']}']")
    assert "needs-inspector" in row.get_attribute("class")
    assert row.locator("[data-needs]").inner_text().strip() == "معائنہ کار درکار"
    # The row reads from the right: its station name's text starts at the card's right edge.
    gap = row.evaluate("""(tr) => { const range = document.createRange();
        range.selectNodeContents(tr.querySelector('.rv-name'));
        return tr.getBoundingClientRect().right - range.getBoundingClientRect().right; }""")
    assert 0 <= gap < 40, gap
    assert row.locator(".rv-name").first.get_attribute("lang") == "ur"
    plan_row = page.locator(f".rv-schedule[data-id='{plan['id']}']")
    assert plan_row.locator("[data-needs]").count() == 1

    # The filter shows only the stranded visits.
    page.locator("#rv-show").select_option("needs")
    page.wait_for_function("location.hash.includes('show=needs')")
    # The filtered screen has replaced the whole list (its banner pointing at the filter is gone).
    page.wait_for_selector(".rv-stranded", state="detached")
    page.wait_for_load_state("networkidle")
    assert set(page.eval_on_selector_all(".rv-visit", "rows => rows.map((r) => r.dataset.id)")) == stranded
    assert page.locator(".rv-visit:not(.needs-inspector)").count() == 0

    row.locator(".rv-change").click()
    dlg = page.locator("dialog.dialog")
    assert "(اب یہ دورہ نہیں کر سکتے)" in dlg.locator("select[name=inspector_id] option:checked").inner_text()
    assert page.evaluate(OVERFLOW) <= 0
    dlg.locator("select[name=inspector_id]").select_option(ali)
    dialog_button(page, "تبدیلیاں محفوظ کریں").click()
    row.wait_for(state="detached")
    fixed = get(pwa_server, token, f"/api/v1/assignments/{visit['id']}")
    assert (fixed["inspector_id"], fixed["needs_inspector"], fixed["due_date"]) == (ali, False, visit["due_date"])

    # The repeating visit, held back for want of an inspector, is given one too.
    plan_row.locator(".rv-change").click()
    dlg.locator("select[name=inspector_id]").select_option(ali)
    dialog_button(page, "تبدیلیاں محفوظ کریں").click()
    page.wait_for_selector(".rv-schedules .empty")
    again = get(pwa_server, token, f"/api/v1/schedules/{plan['id']}")
    assert (again["inspector_id"], again["needs_inspector"]) == (ali, False)
    assert open_visits(pwa_server, token, needs_inspector="true") == []
    assert errors == []
    context.close()


def test_every_visits_string_has_urdu_with_plural_forms(pwa_server, browser):
    # Planning one visit, a schedule, or many stations at once (plan.js) alike.
    context = browser.new_context()
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    page.wait_for_selector("form.login")
    got = page.evaluate("""() => import('/js/views/reviewer/strings.js').then(({default: {en, ur}}) => {
        const mine = Object.keys(en).filter((k) => /^rv\\.(nav\\.visits|vis\\.|sch\\.|freq\\.|msg\\.|plan\\.)/.test(k));
        return {
            count: mine.length,
            noUrdu: mine.filter((k) => !(k in ur)),
            notUrdu: mine.filter((k) => !/[\\u0600-\\u06ff]/.test(JSON.stringify(ur[k]))),
            plurals: mine.filter((k) => typeof en[k] === 'object' && (typeof ur[k] !== 'object' || !ur[k].one || !ur[k].other)),
        };
    })""")
    assert got["count"] > 40
    assert (got["noUrdu"], got["notUrdu"], got["plurals"]) == ([], [], [])
    context.close()


def free_stations(server, token, template_id: str, count: int) -> list[dict]:
    """`count` police stations in scope with no open visit for the template; the plain visits due last
    are cancelled through the API to make them when too few are free."""
    stations = {
        s["id"]: s
        for s in get(server, token, "/api/v1/stations", active="true")
        if s.get("kind", "police_station") == "police_station"
    }
    visits = open_visits(server, token, template_id=template_id)
    taken = {a["station_id"] for a in visits}
    free = [s for s in sorted(stations.values(), key=lambda s: s["code"]) if s["id"] not in taken]
    plain = sorted((a for a in visits if a["schedule_id"] is None), key=lambda a: a["due_date"], reverse=True)
    for a in plain[: max(0, count - len(free))]:
        reply = server.api("PATCH", f"/api/v1/assignments/{a['id']}", token, json={"status": "cancelled"})
        assert reply.status_code == 200, reply.text
        free.append(stations[a["station_id"]])
    assert len(free) >= count
    return free[:count]


def make_visit(
    server, token, station: dict, template_id: str, inspector: str, days: int, frequency: str | None = None
) -> dict:
    """A visit made through the API: once, or (with a frequency) as the first of a new schedule."""
    body = {"station_id": station["id"], "template_id": template_id, "inspector_id": inspector}
    due = (date.today() + timedelta(days=days)).isoformat()
    if frequency:
        reply = server.api("POST", "/api/v1/schedules", token, json={**body, "frequency": frequency, "next_due": due})
    else:
        reply = server.api("POST", "/api/v1/assignments", token, json={**body, "due_date": due})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_a_visit_is_cancelled_only_after_its_dialog_says_what_will_happen(pwa_server, browser, tokens):
    token = tokens["reviewer"]
    template = sips(pwa_server, token)
    ali = inspector_id(pwa_server, token, ALI)
    first, second, third = free_stations(pwa_server, token, template["id"], 3)
    once = make_visit(pwa_server, token, first, template["id"], ali, 30)
    plan = make_visit(pwa_server, token, second, template["id"], ali, 10, frequency="monthly")
    repeating = get(pwa_server, token, f"/api/v1/assignments/{plan['open_assignment_id']}")
    gone = make_visit(pwa_server, token, third, template["id"], ali, 40)

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    open_screen(page, pwa_server)
    dlg = page.locator("dialog.dialog")

    # A visit made once: the dialog names it and says it is cancelled, not moved; the safe choice has
    # the focus, and taking it changes nothing.
    row = page.locator(f".rv-visit[data-id='{once['id']}']")
    row.locator(".rv-cancel").click()
    assert dlg.locator("h2").inner_text() == f"Cancel the visit: {once['station_code']}"
    said = dlg.locator(".rv-what").inner_text()
    assert f"This visit will be cancelled: it will no longer be on {ALI}’s list of visits." in said
    assert "assign a new visit" in said and "repeating" not in said
    assert page.evaluate("document.activeElement.textContent") == "Keep the visit"
    dialog_button(page, "Keep the visit").click()
    assert get(pwa_server, token, f"/api/v1/assignments/{once['id']}")["status"] == "open"

    # While the request runs the dialog's buttons are disabled and Escape does not close it.
    held = []
    path = f"**/api/v1/assignments/{once['id']}"
    page.route(path, lambda route: held.append(route) if route.request.method == "PATCH" else route.continue_())
    row.locator(".rv-cancel").click()
    dialog_button(page, "Cancel visit").click()
    page.wait_for_selector("dialog.dialog[aria-busy]")
    assert dlg.locator(".dialog-actions button:enabled").count() == 0
    assert dlg.locator(".dialog-actions button").last.inner_text() == "Cancelling…"
    page.keyboard.press("Escape")
    assert dlg.is_visible() and len(held) == 1
    held[0].continue_()
    row.wait_for(state="detached")
    page.unroute(path)
    assert get(pwa_server, token, f"/api/v1/assignments/{once['id']}")["status"] == "cancelled"
    assert page.locator("#toasts").inner_text().strip() == f"Visit cancelled: {once['station_code']}."

    # A visit of a repeating visit: cancelling it does not stop the repeating visit, which makes the
    # next visit at once; the dialog says so.
    row = page.locator(f".rv-visit[data-id='{repeating['id']}']")
    row.locator(".rv-cancel").click()
    said = dlg.locator(".rv-what").inner_text()
    assert "It is one of a repeating visit (Every month)." in said
    assert "Cancelling it does not stop the repeating visit: its next visit will be made straight away." in said
    assert "stop the repeating visit instead" in said
    dialog_button(page, "Cancel visit").click()
    row.wait_for(state="detached")
    assert get(pwa_server, token, f"/api/v1/assignments/{repeating['id']}")["status"] == "cancelled"
    after = get(pwa_server, token, f"/api/v1/schedules/{plan['id']}")
    assert after["active"] is True
    following = get(pwa_server, token, f"/api/v1/assignments/{after['open_assignment_id']}")
    assert following["id"] != repeating["id"] and following["status"] == "open"
    assert following["due_date"] > repeating["due_date"]
    # The list is drawn again: the next visit is on it.
    page.locator(f".rv-visit[data-id='{following['id']}']").wait_for()

    # Done while the dialog was open (the inspector's inspection arrived): the server refuses (409), the
    # dialog says so in the officer's words, and the list is drawn again when it closes.
    row = page.locator(f".rv-visit[data-id='{gone['id']}']")
    row.locator(".rv-cancel").click()
    ali_token = pwa_server.login("inspector.ali", INSPECTOR_PASSWORD)
    data = bundle(pwa_server, ali_token)
    version = max((v for v in data["templates"] if v["template_id"] == template["id"]), key=lambda v: v["version"])
    submit(pwa_server, ali_token, next(s for s in data["stations"] if s["id"] == gone["station_id"]), version)
    assert get(pwa_server, token, f"/api/v1/assignments/{gone['id']}")["status"] == "done"
    dialog_button(page, "Cancel visit").click()
    refusal = dlg.locator(".callout-fail[role=alert]")
    refusal.wait_for()
    assert refusal.inner_text().strip() == "This visit is already done: its inspection was submitted."
    # Asking again cannot succeed: only Close is left, and it has the focus.
    assert dlg.locator(".dialog-actions button:enabled").all_inner_texts() == ["Close"]
    assert page.evaluate("document.activeElement.textContent") == "Close"
    dialog_button(page, "Close").click()
    row.wait_for(state="detached")
    assert get(pwa_server, token, f"/api/v1/assignments/{gone['id']}")["status"] == "done"
    assert errors == []
    context.close()


def test_a_repeating_visit_is_stopped_with_its_open_visit_on_a_phone_in_urdu(pwa_server, browser, tokens):
    token = tokens["reviewer"]
    template = sips(pwa_server, token)
    ali = inspector_id(pwa_server, token, ALI)
    (station,) = free_stations(pwa_server, token, template["id"], 1)
    plan = make_visit(pwa_server, token, station, template["id"], ali, 12, frequency="monthly")
    visit = get(pwa_server, token, f"/api/v1/assignments/{plan['open_assignment_id']}")

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    page.click(".lang-toggle")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    open_screen(page, pwa_server)
    row = page.locator(f".rv-schedule[data-id='{plan['id']}']")
    stop = row.locator(".rv-stop")
    assert stop.inner_text().strip() == "دہرانا بند کریں"
    # Both of a visit's buttons are touch targets on a phone, and the cards still fit the screen.
    for button in (stop, page.locator(f".rv-visit[data-id='{visit['id']}'] .rv-cancel")):
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    assert page.evaluate(OVERFLOW) <= 0

    stop.tap()
    dlg = page.locator("dialog.dialog")
    assert dlg.locator("h2").inner_text() == f"دہرایا جانے والا دورہ بند کریں: {plan['station_code']}"
    said = dlg.locator(".rv-what").inner_text()
    assert "اس سے مزید کوئی دورہ نہیں بنے گا۔" in said
    assert "اس کا کھلا دورہ، جس کی آخری تاریخ" in said and "بھی منسوخ ہو جائے گا۔" in said
    assert "دوبارہ شروع نہیں ہو سکتا" in said
    assert page.evaluate(OVERFLOW) <= 0
    for button in dlg.locator(".dialog-actions button").all():
        assert button.bounding_box()["height"] >= 44
    dialog_button(page, "دہرانا بند کریں").tap()
    row.wait_for(state="detached")
    page.locator(f".rv-visit[data-id='{visit['id']}']").wait_for(state="detached")

    after = get(pwa_server, token, f"/api/v1/schedules/{plan['id']}")
    assert (after["active"], after["open_assignment_id"]) == (False, None)
    assert get(pwa_server, token, f"/api/v1/assignments/{visit['id']}")["status"] == "cancelled"
    assert open_visits(pwa_server, token, station_id=plan["station_id"], template_id=template["id"]) == []

    # The visit's dialog reads in Urdu too, and says what cancelling does.
    other = open_visits(pwa_server, token, template_id=template["id"])[0]
    page.locator(f".rv-visit[data-id='{other['id']}'] .rv-cancel").tap()
    assert dlg.locator("h2").inner_text() == f"دورہ منسوخ کریں: {other['station_code']}"
    assert "یہ دورہ منسوخ ہو جائے گا" in dlg.locator(".rv-what").inner_text()
    dialog_button(page, "دورہ برقرار رکھیں").tap()
    dlg.wait_for(state="detached")
    assert get(pwa_server, token, f"/api/v1/assignments/{other['id']}")["status"] == "open"
    assert errors == []
    context.close()
