"""The reviewer's inspection header says how long the inspection took, in English and in Urdu with Urdu
digits: 88 answers in 40 seconds is plain to see, not left to subtracting "8:00 pm" from "8:01 pm"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_pwa_support import watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, build_document, inspector_setup, sign_in_reviewer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _sent(server, seconds: float, seed: int) -> str:
    """A submitted inspection its phone says took `seconds` (a negative one finished before it began)."""
    token, stations, version = inspector_setup(server)
    document, _ = build_document(stations[0], version, seed=seed)
    finished = datetime.now(UTC) - timedelta(minutes=10)
    document["started_at"] = (finished - timedelta(seconds=seconds)).isoformat()
    document["finished_at"] = finished.isoformat()
    iid = str(uuid.uuid4())
    reply = server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert reply.status_code == 201, reply.text
    return iid


@pytest.mark.parametrize(
    ("seconds", "lang", "shown"),
    [
        (40, "en", "40 s"),
        (40, "ur", "40 سیکنڈ"),
        (3 * 60 + 5, "en", "3 min 5 s"),
        (2 * 3600 + 7 * 60, "ur", "2 گھنٹے 7 منٹ"),
        (-90, "en", "—"),  # a clock's step back: no duration rather than a negative one
    ],
)
def test_the_inspection_header_shows_how_long_it_took(pwa_server, browser, seconds, lang, shown):
    iid = _sent(pwa_server, seconds, seed=80 + abs(seconds) % 17)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    if lang == "ur":
        page.click(".lang-toggle")
        page.locator("html[dir=rtl]").wait_for(state="attached")
    page.goto(pwa_server.url + f"/#/review/i/{iid}")
    label = "Duration" if lang == "en" else "دورانیہ"
    took = page.locator(".rv-meta div", has_text=label).locator("dd")
    took.wait_for()
    assert took.inner_text() == shown
    assert errors == []
    context.close()
