"""Reviewer and admin screens are not in the precached shell, yet work offline once opened.

Inspectors' phones should not download screens they never use, so only the shell and the
inspector's code are precached; the service worker keeps a role's screens once they are used.
"""

from __future__ import annotations

import pytest

from server.app import pwa_manifest
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, sign_in_reviewer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("role-cache"))


def test_the_precache_holds_the_shell_but_not_the_role_screens():
    manifest = pwa_manifest()
    assert "/js/views/inspector/fill.js" in manifest.files and "/js/scoring.js" in manifest.files
    assert "/js/views/reviewer/index.js" in manifest.files, "route tables stay in the shell"
    assert "/js/views/reviewer/queue.js" in manifest.lazy and "/js/views/admin/builder.js" in manifest.lazy
    assert not set(manifest.files) & set(manifest.lazy)


def test_a_reviewer_screen_opened_once_opens_again_offline(pwa_server, browser):
    context = browser.new_context(viewport=LAPTOP, service_workers="allow")
    page = context.new_page()
    sign_in_reviewer(page, pwa_server.url)
    wait_in_page(page, "navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    # The queue was loaded before the worker took control; a reload goes through the worker.
    page.reload()
    page.wait_for_selector(".rv-queue")
    wait_in_page(
        page,
        """async () => {
             for (const name of await caches.keys()) {
               const hit = await (await caches.open(name)).match('/js/views/reviewer/queue.js');
               if (hit) return true;
             }
             return false;
           }""",
    )
    context.set_offline(True)
    page.reload()
    # The screen's code comes from the cache; its rows need the server, and it says so.
    page.get_by_role("heading", name="Waiting for review").wait_for(timeout=30000)
    page.get_by_text("No connection").wait_for(timeout=30000)
    context.close()


def test_a_reviewer_screen_never_opened_says_offline_that_it_needs_the_network_once(pwa_server, browser):
    """Not a fault, nor a new version: offline, a screen this device never fetched cannot be had yet."""
    context = browser.new_context(viewport=LAPTOP, service_workers="allow")
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, pwa_server.url)
    wait_in_page(page, "navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.goto(pwa_server.url + "/#/review/dashboard")
    failed = page.locator(".route-failed")
    failed.wait_for(timeout=30000)
    assert "needs a connection the first time it is opened" in failed.inner_text()
    assert "Something went wrong" not in failed.locator("[role=alert]").inner_text()
    # Back online, trying again opens it.
    context.set_offline(False)
    failed.get_by_role("button").click()
    page.locator(".route-failed").wait_for(state="detached", timeout=30000)
    assert errors == []
    context.close()


# The boot's fallback, shown half a second in rather than fifteen (the test waits for it, and the
# delay is all that changes): the style sheet as served, with this rule after it.
SOON = "\n.boot-stuck { animation-delay: 0.5s; }\n"


def _sooner(route) -> None:
    served = route.fetch()
    route.fulfill(response=served, body=served.text() + SOON)


def test_an_app_that_cannot_start_says_so_in_both_languages_instead_of_loading_for_ever(pwa_server, browser):
    context = browser.new_context(viewport=LAPTOP, service_workers="block")
    context.route("**/css/app.css", _sooner)
    page = context.new_page()
    page.route("**/js/i18n.js", lambda route: route.abort())  # one module of a first visit lost on the way
    page.goto(pwa_server.url + "/")
    stuck = page.locator(".boot-stuck")
    stuck.wait_for(state="visible", timeout=10000)
    assert "could not start" in stuck.inner_text() and "شروع نہیں ہو سکا" in stuck.inner_text()
    # Started normally, the first screen takes its place before it would show.
    fine = context.new_page()
    fine.goto(pwa_server.url + "/")
    fine.wait_for_selector("#login-form, form")
    fine.wait_for_timeout(800)
    assert fine.locator(".boot-stuck").count() == 0
    context.close()
