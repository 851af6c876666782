"""In a real browser, the app's content security policy keeps injected and string-made code from running.

A script element that reaches the DOM does not run, and the page cannot `eval`. The same policy is
why the browser tests wait on the page from Python (`wait_in_page`), never with a
polling `wait_for_function` string, which only works while its first check is already true.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import live_pwa_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("policy"))


def test_a_script_injected_into_the_page_does_not_run(pwa_server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    page.wait_for_selector("form.login")
    # What a stored-XSS payload would do once it reached the DOM: add an inline script.
    page.evaluate(
        """() => {
             window.__violations = [];
             document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective));
             const s = document.createElement('script');
             s.textContent = 'window.__injected = true;';
             document.head.append(s);
           }"""
    )
    wait_in_page(page, "window.__violations.length > 0", timeout=10)
    assert page.evaluate("window.__injected") is None
    assert all(d.startswith("script-src") for d in page.evaluate("window.__violations"))
    context.close()


def test_waiting_on_the_page_from_python_outlives_a_false_first_check(pwa_server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    page.wait_for_selector("form.login")
    page.evaluate("() => { setTimeout(() => { window.__later = 42; }, 400); }")
    # Playwright's own polling of a string is refused by the policy once it has to poll ...
    with pytest.raises(Exception, match="EvalError|unsafe-eval|Content Security Policy"):
        page.wait_for_function("window.__never === true", timeout=2000)
    # ... while polling from Python sees the value arrive.
    wait_in_page(page, "window.__later === 42", timeout=10)
    assert page.evaluate("window.__later") == 42
    context.close()
