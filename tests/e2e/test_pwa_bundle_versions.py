"""Template versions the phone's own work is on outlive a bundle that no longer lists them.

The server lists the versions it knows a user needs: the newest of each template and those of the
user's drafts it has seen. Work begun offline on an older version, or submitted and still queued, is
unknown to it, so a full bundle (the inspector's districts changed) leaves that version out. The phone
must keep it, or the draft cannot be opened and the queued submission is never sent. Archived
templates leave the phone, except a version a draft on the phone is on; neither is offered for a
new inspection.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import wait_in_page
from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD
from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    bundle,
    fill_whole_form,
    inspection_id,
    open_station,
    phone_context,
    pick_station_and_template,
    sign_in,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def publish(server, token: str, template_id: str, definition: dict) -> dict:
    saved = server.api("PUT", f"/api/v1/templates/{template_id}/draft", token, json=definition)
    assert saved.status_code == 200, saved.text
    published = server.api("POST", f"/api/v1/templates/{template_id}/publish", token)
    assert published.status_code == 201, published.text
    return published.json()


def new_template(server, token: str, key: str, title: str, definition: dict) -> dict:
    """A template made and published through the API: `definition` under another title."""
    created = server.api("POST", "/api/v1/templates", token, json={"key": key, "title": {"en": title, "ur": title}})
    assert created.status_code in (200, 201), created.text
    return publish(server, token, created.json()["id"], retitled(definition, title))


def retitled(definition: dict, title: str) -> dict:
    changed = copy.deepcopy(definition)
    changed["title"] = {"en": title, "ur": title}
    return changed


def first_yes_no(definition: dict) -> dict:
    return next(i for i in definition["sections"][0]["items"] if i["type"] == "yes_no" and not i.get("visible_if"))


def begin(page, url: str, station: dict, title: str | None = None) -> str:
    """From the home screen: the station, the checklist (when there is a choice), Start. The new id."""
    page.goto(url + "/#/")
    page.wait_for_selector("#station-list li")
    open_station(page, station)
    if title:
        page.click(f".choice-col button:has-text('{title}')")
    page.click("#begin")
    page.wait_for_selector(".item")
    return inspection_id(page)


def answer_saved(page, iid: str, key: str, value: str) -> None:
    wait_in_page(
        page,
        f"import('/js/db.js').then((db) => db.get('drafts', '{iid}'))"
        f".then((d) => d?.answers?.['{key}']?.value === '{value}')",
    )


def offered(page, url: str, station: dict) -> list[str]:
    """The checklists the start screen offers at the station, by English title."""
    page.goto(url + "/#/")
    page.wait_for_selector("#station-list li")
    open_station(page, station)
    choices = page.locator(".start .choice-col button")
    if choices.count():
        return sorted(choices.all_inner_texts())
    return [page.locator(".start p.strong").inner_text()]


def wait_on_server(page, url: str, iid: str) -> None:
    """Waits for the inspection to be acknowledged; if it is not, says what the outbox holds."""
    page.goto(url + f"/#/i/{iid}/review")
    try:
        page.wait_for_selector("[data-sync=on_server]", timeout=60000)
    except PlaywrightTimeout:
        outbox = page.evaluate("import('/js/db.js').then((db) => db.getAll('outbox'))")
        stuck = [(e["state"], e["attempts"], e["error"]) for e in outbox if e["kind"] == "inspection"]
        raise AssertionError(f"never sent: {stuck}") from None


def bundle_has(page, expression: str, timeout: float = 30) -> None:
    """Waits until the bundle stored on the phone satisfies `expression` (of `b`)."""
    wait_in_page(
        page, f"import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => !!b && ({expression}))", timeout
    )


def test_work_on_an_older_version_survives_a_full_bundle_and_reaches_the_server(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, v1 = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    definition = v1["definition"]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)

    # Offline: one inspection filled and submitted (queued), another begun, both on version 1.
    context.set_offline(True)
    queued = begin(page, pwa_server.url, station)
    fill_whole_form(page, definition)
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    begun = begin(page, pwa_server.url, station)
    first = first_yes_no(definition)
    page.locator(f"#item-{first['key']} [data-value=no]").click()
    answer_saved(page, begun, first["key"], "no")

    # Meanwhile an admin publishes version 2 and gives the inspector a second district, so the
    # phone's cursor is of another scope: the next bundle is full, and lists version 2 only.
    v2 = publish(pwa_server, admin, v1["template_id"], retitled(definition, "SIPS inspection, 2027 revision"))
    assert v2["version"] == v1["version"] + 1
    me = next(
        u
        for u in pwa_server.api("GET", "/api/v1/users", admin, params={"q": INSPECTOR}).json()
        if u["username"] == INSPECTOR
    )
    other = next(
        d["id"] for d in pwa_server.api("GET", "/api/v1/districts", admin).json() if d["id"] not in me["district_ids"]
    )
    changed = pwa_server.api(
        "PATCH", f"/api/v1/users/{me['id']}", admin, json={"district_ids": [*me["district_ids"], other]}
    )
    assert changed.status_code == 200, changed.text
    full = bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD))
    assert [v["id"] for v in full["templates"] if v["template_id"] == v1["template_id"]] == [v2["id"]]

    # A weak network: the queued inspection's upload fails until the full bundle has come down (a
    # sending that succeeded first would hide the loss; this ordering is what a flaky upload gives).
    uploads = {"fail": True}

    def flaky(route):
        if uploads["fail"] and route.request.method == "PUT":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route(f"**/api/v1/inspections/{queued}*", flaky)

    # Back online: the scope change ended the session, so the inspector signs in again.
    context.set_offline(False)
    page.wait_for_selector("dialog[open] input[type=password]", timeout=30000)
    page.fill("dialog[open] input[type=password]", PASSWORD)
    page.click("dialog[open] .dialog-actions .btn-primary")
    page.wait_for_selector("dialog[open]", state="detached")
    # The app opened again fetches the bundle: the full one, without version 1.
    page.reload()
    bundle_has(page, f"!!b.templates['{v2['id']}']")
    time.sleep(1)  # a drain that read the bundle before it changed has tried (and failed) by now
    uploads["fail"] = False

    # The queued inspection reaches the server, on the version it was filled on.
    wait_on_server(page, pwa_server.url, queued)
    token = pwa_server.login(INSPECTOR, PASSWORD)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{queued}", token).json()
    assert (stored["status"], stored["template_version_id"]) == ("submitted", v1["id"])

    # The draft begun offline opens with its answer, is finished and reaches the server on version 1.
    page.goto(pwa_server.url + f"/#/i/{begun}/s/0")
    page.wait_for_selector(f"#item-{first['key']} [data-value=no][aria-pressed=true]")
    fill_whole_form(page, definition)
    page.click("#submit")
    wait_on_server(page, pwa_server.url, begun)
    stored = pwa_server.api("GET", f"/api/v1/inspections/{begun}", token).json()
    assert (stored["status"], stored["template_version_id"]) == ("submitted", v1["id"])

    # A new inspection is offered on the newest version only.
    assert offered(page, pwa_server.url, station) == ["SIPS inspection, 2027 revision"]
    assert errors == []
    context.close()


def test_archived_templates_are_no_longer_offered_but_a_draft_on_one_still_opens(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, sips = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    definition = sips["definition"]
    night = new_template(pwa_server, admin, "night_round", "Night round", definition)
    lockup = new_template(pwa_server, admin, "lockup_check", "Lock-up check", definition)

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    assert offered(page, pwa_server.url, station) == sorted(["Lock-up check", "Night round", definition["title"]["en"]])

    # A night round begun on the phone, then both new templates archived.
    begun = begin(page, pwa_server.url, station, "Night round")
    first = first_yes_no(definition)
    page.locator(f"#item-{first['key']} [data-value=no]").click()
    answer_saved(page, begun, first["key"], "no")
    cursor = page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.cursor)")
    for template in (night, lockup):
        archived = pwa_server.api("POST", f"/api/v1/templates/{template['template_id']}/archive", admin)
        assert archived.status_code == 200, archived.text

    # The app opened again takes the delta that names them removed.
    page.reload()
    bundle_has(page, f"b.cursor !== '{cursor}'")
    assert offered(page, pwa_server.url, station) == [definition["title"]["en"]]
    templates = page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.templates)")
    assert lockup["id"] not in templates
    assert templates[night["id"]]["retired"] is True

    # The draft on the archived template still opens, its answer kept.
    page.goto(pwa_server.url + f"/#/i/{begun}/s/0")
    page.wait_for_selector(f"#item-{first['key']} [data-value=no][aria-pressed=true]")
    assert errors == []
    context.close()


def night_round_visit(server, admin: str, station: dict, definition: dict) -> tuple[dict, str, dict]:
    """A "Night round" template published through the API with `definition`, and the inspector's open
    visit of it at `station`: (the published version, the inspector's token, the visit)."""
    night = new_template(server, admin, "night_round", "Night round", definition)
    token = server.login(INSPECTOR, PASSWORD)
    me = server.api("GET", "/api/v1/me", token).json()
    plan = {"station_id": station["id"], "template_id": night["template_id"], "inspector_id": me["id"]}
    assigned = server.api("POST", "/api/v1/assignments", admin, json=plan | {"due_date": "2030-01-31"})
    assert assigned.status_code == 201, assigned.text
    return night, token, assigned.json()


def archived_template_with_work(server, admin: str, station: dict, definition: dict) -> tuple[dict, str]:
    """A "Night round" template with the inspector's draft on its version 1, made through the API (so
    the phone holds no work on it: only the server's `retired` mark can tell the phone), and an open
    assignment of it at `station`. Returns the published version and the inspector's token."""
    night, token, _ = night_round_visit(server, admin, station, definition)
    draft = {
        "station_id": station["id"],
        "template_version_id": night["id"],
        "base_revision": 0,
        "status": "draft",
        "started_at": "2026-11-27T09:00:00Z",
        "finished_at": None,
        "location": None,
        "answers": {},
    }
    saved = server.api("PUT", f"/api/v1/inspections/{uuid.uuid4()}", token, json=draft)
    assert saved.status_code == 201, saved.text
    return night, token


def archive(server, admin: str, template_id: str) -> None:
    archived = server.api("POST", f"/api/v1/templates/{template_id}/archive", admin)
    assert archived.status_code == 200, archived.text


def stored_templates(page) -> dict:
    return page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.templates)")


def test_a_version_of_an_archived_template_stays_unoffered_through_later_deltas(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, sips = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    night, _ = archived_template_with_work(pwa_server, admin, station, sips["definition"])
    sips_title = sips["definition"]["title"]["en"]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    assert offered(page, pwa_server.url, station) == sorted(["Night round", sips_title])

    # Archived after the phone's cursor: the delta names the template removed and resends the version
    # the server-side draft is on, marked retired.
    def delta_after(change) -> None:
        cursor = page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.cursor)")
        change()
        page.reload()
        bundle_has(page, f"b.cursor !== '{cursor}'")

    delta_after(lambda: archive(pwa_server, admin, night["template_id"]))
    assert offered(page, pwa_server.url, station) == [sips_title]

    # A later delta that resends every needed version (a station changed), when `removed` no longer
    # names the template: the version must stay retired, not come back as offered.
    def rename() -> None:
        renamed = pwa_server.api(
            "PATCH", f"/api/v1/stations/{station['id']}", admin, json={"name": {"en": "PS Renamed", "ur": "تھانہ"}}
        )
        assert renamed.status_code == 200, renamed.text

    delta_after(rename)
    assert offered(page, pwa_server.url, station) == [sips_title]
    assert stored_templates(page)[night["id"]].get("retired") is True
    assert errors == []
    context.close()


def assert_withdrawn(page: Any, visit_id: str) -> None:
    """Home says the visit's checklist is withdrawn; its start screen says so and offers nothing to begin."""
    row = page.locator(f"[data-assignment='{visit_id}']")
    assert row.locator(".withdrawn").inner_text() == "Checklist withdrawn"
    row.locator("a.row-link").click()
    page.wait_for_selector(".start #begin")
    assert page.locator("#begin").is_disabled(), "a new inspection could begin on a checklist it may not"
    assert "withdrawn" in page.inner_text("#template-withdrawn")
    assert page.locator(".start .choice-col").count() == 0


def test_an_assignment_of_an_archived_template_says_it_is_withdrawn_and_starts_nothing(pwa_server, browser):
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, sips = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    night, token = archived_template_with_work(pwa_server, admin, station, sips["definition"])
    archive(pwa_server, admin, night["template_id"])
    [assignment] = [a for a in bundle(pwa_server, token)["assignments"] if a["template_id"] == night["template_id"]]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    assert night["id"] in stored_templates(page)  # on the phone, for the draft only

    assert_withdrawn(page, assignment["id"])

    # In Urdu too, from the translation table.
    page.click(".lang-toggle")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.wait_for_selector("#template-withdrawn")
    urdu = page.evaluate("import('/js/i18n.js').then((m) => m.dictionaries.ur['start.withdrawn'])")
    assert page.inner_text("#template-withdrawn") == urdu and "چیک لسٹ" in urdu
    assert page.locator("#begin").is_disabled()
    page.click(".lang-toggle")
    page.wait_for_function("document.documentElement.lang === 'en'")

    # The station itself still offers the checklists in use, and they start as before.
    begun = begin(page, pwa_server.url, station)
    draft = page.evaluate(f"import('/js/db.js').then((db) => db.get('drafts', '{begun}'))")
    assert draft["template_version_id"] == sips["id"]
    assert errors == []
    context.close()


def test_a_version_replaced_by_a_newer_one_leaves_the_phone_unless_work_is_on_it(pwa_server, browser):
    """A delta brings a newly published version and says nothing of the one it replaced."""
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, sips = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    night = new_template(pwa_server, admin, "night_round", "Night round", sips["definition"])
    sips_title = sips["definition"]["title"]["en"]

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    # A draft on the SIPS version the phone has now; none on the night round.
    iid = begin(page, pwa_server.url, station, sips_title)
    item = first_yes_no(sips["definition"])
    page.locator(f"#item-{item['key']} [data-value='yes']").click()
    answer_saved(page, iid, item["key"], "yes")

    cursor = page.evaluate("import('/js/db.js').then((db) => db.kv.get('bundle')).then((b) => b.cursor)")
    sips2 = publish(pwa_server, admin, sips["template_id"], retitled(sips["definition"], "SIPS, 2027 revision"))
    night2 = publish(pwa_server, admin, night["template_id"], retitled(sips["definition"], "Night round 2"))
    page.reload()
    bundle_has(page, f"b.cursor !== '{cursor}'")

    stored = stored_templates(page)
    assert night["id"] not in stored, "a replaced version no work is on leaves the phone"
    assert stored[sips["id"]].get("retired") is True, "the version the draft is on stays, retired"
    assert not stored[sips2["id"]].get("retired") and not stored[night2["id"]].get("retired")
    # New inspections start on the new versions; the draft still opens on its own.
    assert offered(page, pwa_server.url, station) == sorted(["Night round 2", "SIPS, 2027 revision"])
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    page.locator(f"#item-{item['key']} [data-value='yes'][aria-pressed='true']").wait_for()
    assert errors == []
    context.close()


def test_an_assignment_whose_checklist_is_now_for_other_kinds_of_station_starts_nothing(pwa_server, browser):
    """A newer version for Khidmat Markaz only, over a police station's visit: the phone offered to begin
    it on that version, and the server refused the inspection once the inspector had walked the station."""
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    station, sips = pick_station_and_template(bundle(pwa_server, pwa_server.login(INSPECTOR, PASSWORD)))
    night, _, visit = night_round_visit(pwa_server, admin, station, sips["definition"])
    narrowed = retitled(sips["definition"], "Night round") | {"kinds": ["khidmat_markaz"]}
    publish(pwa_server, admin, night["template_id"], narrowed)
    held = pwa_server.api("GET", f"/api/v1/assignments/{visit['id']}", admin).json()
    assert held["held_back"] == "template_other_kind"

    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url)
    assert_withdrawn(page, visit["id"])
    assert errors == []
    context.close()
