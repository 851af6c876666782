"""The reviewer's presence card when the visit's GPS fix is exactly another visit's, to the centimetre: real
fixes jitter, a fake-GPS app set to one place sends the same one every time. Instead of "At the station" in
green the card says so in a sentence and links the other visit, and the queue marks both (schema 0026)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WARNING = "The same position, to the centimetre, was sent for another visit."


def test_a_fix_sent_for_two_visits_is_told_with_a_link_instead_of_at_the_station(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[3]
    # About 20 m from the station, precise: the same on both visits, as a fake-GPS app sends it.
    fix = {"lat": station["lat"] + 0.00018, "lon": station["lon"], "accuracy_m": 4}
    sent = []
    for days, seed in ((5, 81), (4, 82)):
        document, _ = build_document(station, version, seed=seed)
        document["location"] = fix
        # Hours nobody else's test inspection is at (03:00 UTC), so no other flag speaks.
        start = (datetime.now(UTC) - timedelta(days=days)).replace(hour=3, minute=0, second=0, microsecond=0)
        document["started_at"] = start.isoformat()
        document["finished_at"] = (start + timedelta(minutes=40)).isoformat()
        iid = str(uuid.uuid4())
        reply = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
        assert reply.status_code == 201, reply.text
        sent.append(iid)
    first, second = sent

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review?flag=repeated")
    for iid in sent:
        queued = page.locator(f".rv-queue [data-id='{iid}']")
        queued.wait_for()
        assert queued.locator("[data-flag=repeated]").inner_text().strip() == "Same position as another visit"

    page.goto(pwa_server.url + f"/#/review/i/{second}")
    card = page.locator("[aria-labelledby=rv-pres-h]")
    told = card.locator("#rv-ev-warnings li[data-flag=repeated]")
    told.wait_for()
    assert WARNING in told.inner_text()
    # A sign, not proof: honest fixes seldom repeat, which is not never.
    assert "A phone's GPS seldom gives exactly the same point on two different visits" in told.inner_text()
    assert card.locator(".pill-ok").count() == 0
    assert "At the station" not in card.inner_text()
    # The other visit is one click away.
    link = told.locator(f"a[data-inspection='{first}']")
    assert station["code"] in link.inner_text()
    link.click()
    page.wait_for_function(f"location.hash === '#/review/i/{first}'")
    back = page.locator(f"#rv-ev-warnings li[data-flag=repeated] a[data-inspection='{second}']")
    back.wait_for()

    # In Urdu.
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.goto(pwa_server.url + f"/#/review/i/{second}")
    page.locator("#rv-ev-warnings li[data-flag=repeated]").wait_for()
    wait_in_page(page, "document.querySelector('#rv-ev-warnings')?.innerText.includes('سینٹی میٹر')")
    urdu = page.locator("#rv-ev-warnings li[data-flag=repeated]").inner_text()
    assert "کسی اور معائنے کے لیے بھی بھیجا گیا" in urdu and WARNING not in urdu
    assert "دو الگ معائنوں میں شاذ و نادر ہی ہوبہو ایک ہی نقطہ دیتا ہے" in urdu
    assert (
        page.locator("#rv-ev-warnings li[data-flag=repeated] .pill").inner_text().strip() == "دوسرے معائنے والا ہی مقام"
    )
    assert page.locator("[aria-labelledby=rv-pres-h] .pill-ok").count() == 0
    assert errors == []
    context.close()
