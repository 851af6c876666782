"""What the admin console's browser tests share: a fresh server, signing in, and driving the builder.

No tests live here. The helpers act as a person does (clicks, typing, keys); the server is checked
through its public API.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import live_server_for, run_async

ADMIN = "admin"
ADMIN_PASSWORD = DEMO_PASSWORDS["admin"]
INSPECTOR = "inspector.ali"
INSPECTOR_PASSWORD = DEMO_PASSWORDS["inspector"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 640}


# The conftest helpers under the names this module's users know them by: a coroutine run from the
# test thread while Playwright's sync API keeps its event loop there, and a live server on a fresh
# copy of the demo database (modules sharing one per module call it from their own fixture).
_in_thread = run_async
live_admin_server = live_server_for


def laptop(browser: Any, **kwargs: Any) -> Any:
    # The admin console does not depend on the service worker; leaving it out keeps the test lean.
    return browser.new_context(
        viewport=LAPTOP, device_scale_factor=1, service_workers="block", accept_downloads=True, **kwargs
    )


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def sign_in(
    page: Any, url: str, username: str = ADMIN, password: str = ADMIN_PASSWORD, landing: str = "#template-list li"
) -> None:
    page.goto(url + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector(landing)


def signed_in_laptop(server: Any, browser: Any, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> Any:
    """A laptop of its own (browser context) with `username` signed in: the context, its page, and the
    page errors seen, which a test checks before it ends."""
    context = laptop(browser)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, server.url, username, password)
    return context, page, errors


# The builder ----------------------------------------------------------------------------------------


def field(page: Any, name: str, tag: str = "input") -> Any:
    """A control of the editor pane by the server's name for it (`label.ur`, `options[0].points`)."""
    return page.locator(f'#builder-editor [data-field="{name}"] {tag}').first


def wait_saved(page: Any) -> None:
    page.wait_for_selector('#save-state[data-state="saved"]', timeout=15000)


def wait_invalid(page: Any) -> None:
    page.wait_for_selector('#save-state[data-state="invalid"]', timeout=15000)


def add_item(page: Any, section: int = 0) -> None:
    page.locator(".o-section").nth(section).locator("[data-add=item]").click()
    expect(page.locator('#builder-editor [data-field="label.en"] input')).to_be_focused()


def fill_item(page: Any, item: dict) -> None:
    """Fills the selected item's fields from a §7 item (keys follow the English label by themselves)."""
    field(page, "type", "select").select_option(item["type"])
    field(page, "label.en").fill(item["label"]["en"])
    if item["label"].get("ur"):
        field(page, "label.ur").fill(item["label"]["ur"])
    if item.get("help"):
        field(page, "help.en", "textarea").fill(item["help"]["en"])
        field(page, "help.ur", "textarea").fill(item["help"]["ur"])
    for flag in ("required", "critical"):
        if item.get(flag):
            field(page, flag).check()
    if item.get("min_photos"):
        field(page, "min_photos").fill(str(item["min_photos"]))
    for bound in ("min", "max"):
        if item.get(bound) is not None:
            field(page, bound).fill(str(item[bound]))
    if item.get("unit"):
        field(page, "unit.en").fill(item["unit"]["en"])
        field(page, "unit.ur").fill(item["unit"]["ur"])
    for o, option in enumerate(item.get("options", [])):
        if o >= page.locator("#builder-editor .option-row").count():
            page.click("#builder-editor [data-add=option]")
        field(page, f"options[{o}].label.en").fill(option["label"]["en"])
        field(page, f"options[{o}].label.ur").fill(option["label"]["ur"])
        field(page, f"options[{o}].points").fill(str(option["points"]))
    cond = item.get("visible_if")
    if cond:
        field(page, "visible_if.item", "select").select_option(cond["item"])
        for value in cond["in"]:
            field(page, f"visible_if.value.{value}").check()
