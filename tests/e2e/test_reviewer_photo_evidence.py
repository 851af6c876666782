"""The reviewer's presence card when the photos contradict the visit: an inspection whose own GPS fix is
at the station, with photos taken 50 km away three weeks before it began, is not shown "At the station"
in green; the card says what is wrong, and the photo evidence is open with the offending rows marked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import snapshot, wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk, upload_photos

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_photos_taken_far_away_weeks_earlier_show_a_warning_instead_of_at_the_station(pwa_server, browser, artifacts):
    token, stations, version = inspector_setup(pwa_server)
    station = stations[1]
    document, photos = build_document(station, version, seed=31)
    assert len(photos) >= 2
    iid = str(uuid.uuid4())
    reply = pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert reply.status_code == 201, reply.text
    weeks_before = (datetime.fromisoformat(document["started_at"]) - timedelta(days=21)).isoformat()
    # The first photo agrees with the visit; every other one was taken ~50 km north, three weeks earlier.
    upload_photos(
        pwa_server,
        token,
        iid,
        photos,
        lambda n: {
            "taken_at": datetime.now(UTC).isoformat() if n == 0 else weeks_before,
            "lat": station["lat"] + (0.0001 if n == 0 else 0.45),
            "lon": station["lon"],
        },
        expect=(201,),
    )
    bad = len(photos) - 1

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    card = page.locator("[aria-labelledby=rv-pres-h]")
    warnings = card.locator("#rv-ev-warnings")
    warnings.wait_for()
    text = warnings.inner_text()
    assert f"{bad} of {len(photos)} photos" in text
    assert "km from the station" in text and "21 days before the inspection began" in text
    # No green "At the station" while the photos disagree.
    assert card.locator(".pill-ok").count() == 0
    assert "At the station" not in card.inner_text()
    # The evidence table is open, and exactly the offending rows are marked.
    assert card.locator("details").get_attribute("open") is not None
    marked = card.locator("tr.rv-ev-bad")
    marked.first.wait_for()
    assert marked.count() == bad
    assert card.locator(f"tr[data-photo='{photos[0][0]}']").get_attribute("class") in (None, "")
    assert marked.first.get_attribute("data-problems") == "far off_time"
    card.scroll_into_view_if_needed()
    snapshot(page, path=str(artifacts / "reviewer-photo-evidence-en.png"))
    # The same warning in Urdu.
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    # The page is drawn again in Urdu once its requests are answered; until then the English one stands.
    wait_in_page(page, "document.querySelector('#rv-ev-warnings')?.innerText.includes('تصاویر')")
    assert "دن" in warnings.inner_text() and "تصاویر" in warnings.inner_text()
    card.scroll_into_view_if_needed()
    snapshot(page, path=str(artifacts / "reviewer-photo-evidence-ur.png"))
    assert errors == []
    context.close()
