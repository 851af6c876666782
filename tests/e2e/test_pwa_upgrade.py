"""A server upgraded while a reviewer's app is open or cached from the release before.

The reviewer's and admin's screens are not precached: each is fetched the first time it is used. After
a deploy the old app fetched the new release's module, which imports what the old modules it already
holds lack: the screen failed ("Something went wrong", and trying again failed again), or showed the
old words in the new screen, for the life of the release. Now every file says its version, the service
worker takes no other version's, and the page offers the update that mends the screen. A second tab
of the app, left on the old modules by the first one's update, is told to reload.
"""

from __future__ import annotations

import shutil

import pytest

from server.embedded import with_database
from tests.conftest import ROOT, LiveServer, clone_database, drop_database, run_async, wait_in_page
from tests.e2e.test_pwa_support import watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, sign_in_reviewer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def next_release(where) -> None:
    """This release's server and app, copied, with one of the reviewer's files changed (its words)."""
    skip = shutil.ignore_patterns("__pycache__", "node_modules")
    for part in ("server", "pwa", "schema"):
        shutil.copytree(ROOT / part, where / part, ignore=skip)
    strings = where / "pwa/js/views/reviewer/strings.js"
    text = strings.read_text(encoding="utf-8")
    assert "'rv.dash.title': 'Dashboards'" in text
    strings.write_text(
        text.replace("'rv.dash.title': 'Dashboards'", "'rv.dash.title': 'Dashboards, new'"), encoding="utf-8"
    )


def test_a_screen_first_opened_after_a_deploy_offers_the_update_and_never_mixes_versions(
    pg_admin_url, demo_template_db, browser, tmp_path
):
    name = run_async(clone_database(pg_admin_url, demo_template_db))
    url = with_database(pg_admin_url, name)
    old = LiveServer(url, tmp_path / "live").start()
    new = LiveServer(url, tmp_path / "live")
    try:
        context = browser.new_context(viewport=LAPTOP, service_workers="allow")
        page = context.new_page()
        errors = watch_errors(page)
        sign_in_reviewer(page, old.url)
        wait_in_page(page, "navigator.serviceWorker.controller !== null")
        # A second tab of the same app, which the first one's update will leave on the old modules.
        other = context.new_page()
        other.goto(old.url + "/#/review")
        other.wait_for_selector(".rv-queue")
        # The deploy: the same port and database, the next release's files.
        next_release(tmp_path / "next")
        old.stop()
        new.port, new.url, new.env["PORT"], new.tree = old.port, old.url, str(old.port), tmp_path / "next"
        new.start()
        # The dashboard, never opened on this laptop: its module is the new release's.
        page.goto(new.url + "/#/review/dashboard")
        page.locator(".route-failed .update-now").wait_for()
        assert "needs the new version" in page.inner_text(".route-failed [role=alert]")
        page.click(".route-failed .update-now")
        page.locator("h1", has_text="Dashboards, new").wait_for()
        # The other tab is told to reload rather than mix the versions in its next screen.
        told = other.locator("#toasts .toast", has_text="updated in another tab")
        told.wait_for()
        told.locator("button").click()
        other.goto(new.url + "/#/review/dashboard")
        other.locator("h1", has_text="Dashboards, new").wait_for()
        # Every screen now of the one version: the queue too, in the new worker's cache.
        page.goto(new.url + "/#/review")
        page.wait_for_selector(".rv-queue")
        assert errors == []
        context.close()
    finally:
        new.stop()
        old.stop()
        run_async(drop_database(pg_admin_url, name))
