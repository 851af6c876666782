"""Reviewer and admin screens are not in the precached shell, yet work offline once opened.

Inspectors' phones should not download screens they never use, so only the shell and the
inspector's code are precached; the service worker keeps a role's screens once they are used.
"""

from __future__ import annotations

import pytest

from server.app import pwa_manifest
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import live_pwa_server
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
