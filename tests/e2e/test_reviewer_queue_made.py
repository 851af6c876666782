"""The review queue says when each inspection was done (its `made_at`, as its own page and the dashboards
have it), not only when it reached the server: one finished on a phone that was offline for days shows
the day it was done, and the day it arrived as a hint; one sent the day it was done shows no hint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_reviewer_support import build_document, inspector_setup, reviewer_desk

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def fmt(page, fn: str, value: str) -> str:
    """`value` as the app's own formatter (Pakistan time, the screen's language) writes it."""
    return page.evaluate(f"(v) => import('/js/i18n.js').then((m) => m.{fn}(v))", value)


def test_the_queue_shows_when_an_inspection_was_done_and_a_late_arrival_as_a_hint(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    # Finished five days ago (10:00 in Pakistan) on a phone with no signal, sent only now.
    finished = (datetime.now(UTC) - timedelta(days=5)).replace(hour=5, minute=0, second=0, microsecond=0)
    document, _ = build_document(stations[0], version, seed=81)
    document["started_at"] = (finished - timedelta(minutes=50)).isoformat()
    document["finished_at"] = finished.isoformat()
    late = str(uuid.uuid4())
    reply = pwa_server.api("PUT", f"/api/v1/inspections/{late}", token, json=document)
    assert reply.status_code == 201, reply.text
    arrived = reply.json()["submitted_at"]
    # Sent the moment it was finished.
    document, _ = build_document(stations[1], version, seed=82)
    on_time = str(uuid.uuid4())
    reply = pwa_server.api("PUT", f"/api/v1/inspections/{on_time}", token, json=document)
    assert reply.status_code == 201, reply.text

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    when = page.locator(f".rv-queue tr[data-id='{late}'] .rv-when")
    when.wait_for()
    assert when.locator("div").first.inner_text() == f"Done {fmt(page, 'fmtDateTime', finished.isoformat())}"
    assert when.locator(".rv-arrived").inner_text() == f"Arrived {fmt(page, 'fmtDate', arrived)}"
    fresh = page.locator(f".rv-queue tr[data-id='{on_time}'] .rv-when")
    assert fresh.inner_text().startswith("Done ") and fresh.locator(".rv-arrived").count() == 0

    # In Urdu, with Urdu's dates (the queue is drawn again in the new language).
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.wait_for_function("document.documentElement.lang === 'ur'")
    wait_in_page(page, f"document.querySelector(\"tr[data-id='{late}'] .rv-arrived\")?.innerText.includes('موصول')")
    done = f"{fmt(page, 'fmtDateTime', finished.isoformat())} کو مکمل ہوا"
    assert when.locator("div").first.inner_text() == done
    assert when.locator(".rv-arrived").inner_text() == f"{fmt(page, 'fmtDate', arrived)} کو موصول ہوا"
    assert errors == []
    context.close()
