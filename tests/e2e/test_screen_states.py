"""A screen that is slow to come says so, and one that cannot come says why and offers to try again,
in real Chromium.

The router (pwa/js/router.js) keeps the screen on show until the next is ready. After 300 ms it
marks the main region busy and shows a progress strip; a view that throws is replaced by a screen
with the reason and a Try again button, and a fault that is not a failed request is still reported
as uncaught. The reviewer's inspection page refuses to show itself without the reviews, history and
actions a decision rests on: a failed request there was shown as "no reviews yet".
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_pwa_support import live_pwa_server, signed_in_phone
from tests.e2e.test_reviewer_support import inspector_setup, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Test-only routes, registered in the running app: one whose view waits for the test, one whose view
# fails while window.__fail says so, with a failed request or with a fault of the app's own.
ROUTES = """async () => {
    const { route } = await import('/js/router.js');
    const { ApiError } = await import('/js/api.js');
    const { h } = await import('/js/ui.js');
    route('/test/slow', { view: () => new Promise((resolve) => {
        window.__release = () => resolve(h('h1', { id: 'slow-done', text: 'Slow screen' }));
    }) });
    window.__fail = 'request';
    route('/test/fails', { view: async () => {
        if (window.__fail === 'request') throw new ApiError(0, { title: 'offline', detail: 'Failed to fetch' });
        if (window.__fail === 'fault') throw new TypeError('a fault of the app');
        return h('h1', { id: 'fails-done', text: 'Came at last' });
    } });
}"""


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("screen-states"))


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_a_slow_screen_shows_progress_and_a_failed_one_says_why_and_tries_again(pwa_server, browser, lang):
    phone = signed_in_phone(pwa_server, browser)
    context, page, errors = phone.context, phone.page, phone.errors
    page.evaluate("(l) => import('/js/i18n.js').then((m) => m.setLang(l))", lang)
    page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
    page.evaluate(ROUTES)

    # Slow: the home screen stays, then the strip and aria-busy; both go when the screen comes.
    page.evaluate("location.hash = '#/test/slow'")
    page.wait_for_selector("#route-busy[role=progressbar]")
    assert page.locator("#station-list").count() == 1  # the screen on show stays meanwhile
    assert page.get_attribute("#main", "aria-busy") == ""
    label = page.get_attribute("#route-busy", "aria-label")
    assert label == ("Loading…" if lang == "en" else "لوڈ ہو رہا ہے…")
    page.evaluate("window.__release()")
    page.wait_for_selector("#slow-done")
    assert page.locator("#route-busy").count() == 0
    assert page.get_attribute("#main", "aria-busy") is None

    # A failed request: its reason and a button that tries again, which brings the screen.
    page.evaluate("location.hash = '#/test/fails'")
    page.wait_for_selector(".route-failed [role=alert]")
    said = page.inner_text(".route-failed")
    if lang == "en":
        assert "No connection" in said and "Something went wrong" in said
    else:
        assert "رابطہ نہیں ہے" in said and not re.search(r"[A-Za-z]", said), said
    assert page.evaluate("document.title").startswith(page.inner_text(".route-failed h1"))
    retry = page.locator(".route-failed button")
    box = retry.bounding_box()
    assert box and box["height"] >= 44
    page.evaluate("window.__fail = null")
    retry.click()
    page.wait_for_selector("#fails-done")
    assert errors == []  # a failed request is not a fault of the app

    # A fault of the app's own is said the same way to the person and still reported as uncaught.
    page.evaluate("window.__fail = 'fault'")
    page.evaluate("location.hash = '#/test/slow'")
    page.evaluate("window.__release()")
    page.wait_for_selector("#slow-done")
    page.evaluate("location.hash = '#/test/fails'")
    page.wait_for_selector(".route-failed [role=alert]")
    page.wait_for_timeout(100)
    assert any("a fault of the app" in e for e in errors), errors
    context.close()


def test_the_review_page_shows_no_decision_without_the_earlier_reviews_history_and_actions(pwa_server, browser):
    token, stations, version = inspector_setup(pwa_server)
    iid = submit(pwa_server, token, stations[0], version)["id"]
    desk, page, errors = reviewer_desk(browser, pwa_server.url)
    for part in ("reviews", "history", f"actions?inspection_id={iid}"):
        pattern = re.compile(rf"/api/v1/(inspections/{iid}/{re.escape(part)}|{re.escape(part)})([?&]|$)")
        page.route(
            pattern,
            lambda route: route.fulfill(
                status=503,
                content_type="application/problem+json",
                body='{"title":"Service Unavailable","status":503,"detail":"x"}',
            ),
        )
        page.goto(pwa_server.url + f"/#/review/i/{iid}")
        page.wait_for_selector("#rv-retry")
        assert page.locator("#rv-return, #rv-approve").count() == 0, part
        assert "could not do this just now" in page.inner_text("#main"), part
        page.unroute(pattern)
        page.click("#rv-retry")
        page.wait_for_selector("#rv-return")
        page.goto(pwa_server.url + "/#/review")
        page.wait_for_selector(".rv-queue")
    assert errors == []
    desk.close()


def test_the_admin_console_says_refusals_in_the_admins_language_and_keeps_the_servers_sentence(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    context, page, errors = phone.context, phone.page, phone.errors
    said = page.evaluate("""async () => {
        const i18n = await import('/js/i18n.js');
        const { describeError } = await import('/js/views/admin/common.js');
        const cases = {
            last: { status: 409, detail: 'the last active admin cannot be deactivated' },
            conflict: { status: 409 },
            taken: { status: 422, detail: 'this username is taken' },
            busy: { status: 503, detail: 'the database is unavailable' },
            offline: { status: 0, detail: 'Failed to fetch' },
            forbidden: { status: 403, detail: 'only administrators manage users' },
        };
        const out = {};
        for (const lang of ['en', 'ur']) {
            await i18n.setLang(lang);
            out[lang] = Object.fromEntries(Object.entries(cases).map(([k, e]) => [k, describeError(e)]));
        }
        return out;
    }""")
    en, ur = said["en"], said["ur"]
    assert en["last"] == "the last active admin cannot be deactivated"
    assert en["taken"] != "this username is taken" and "username" in en["taken"].lower()
    assert ur["last"].startswith("سرور نے اسے قبول نہیں کیا") and ur["last"].endswith(
        "(the last active admin cannot be deactivated)"
    )
    for name in ("conflict", "taken", "busy", "offline", "forbidden"):
        assert ur[name] and not re.search(r"[A-Za-z]", ur[name]), (name, ur[name])
        assert ur[name] != en[name], name
    assert errors == []
    context.close()


def test_the_visits_screen_says_its_own_refusals_in_urdu(pwa_server, browser):
    """A visit already done, cancelled or stopped is refused with a 409 in English; the screen says it
    in the reviewer's words, not the generic refusal wrapped around the server's sentence."""
    phone = signed_in_phone(pwa_server, browser)
    context, page, errors = phone.context, phone.page, phone.errors
    said = page.evaluate("""async () => {
        const i18n = await import('/js/i18n.js');
        const { refusal } = await import('/js/views/reviewer/visits.js');
        await i18n.setLang('ur');
        return {
            done: refusal({ status: 409, detail: 'the assignment is done: its inspection was submitted' }),
            stopped: refusal({ status: 409, detail: 'the schedule is stopped' }),
            expected: [i18n.t('rv.msg.done'), i18n.t('rv.msg.stopped')],
        };
    }""")
    assert [said["done"], said["stopped"]] == said["expected"]
    assert not any(re.search("[A-Za-z]", s) for s in said["expected"]), said
    assert errors == []
    context.close()
