"""What the PWA browser tests share: a phone-sized context, signing in, and filling the demo form.

No tests live here. The helpers drive the app only the way a person does (taps, typing, file
pickers); the server is checked through its public API with the inspector's own token.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from server.demo.content import DEMO_PASSWORDS
from tests.conftest import live_server_for, wait_in_page

INSPECTOR = "inspector.ali"
OTHER_INSPECTOR = "inspector.sana"  # another district: none of inspector.ali's stations are hers
PASSWORD = DEMO_PASSWORDS["inspector"]
PHONE = {"width": 360, "height": 640}


# conftest's live_server, usable after the session browser has started (it clones the database in a
# thread of its own). tests/e2e/conftest.py makes it the `pwa_server` fixture of every test; a module
# that shares one server among its tests calls it from a module-scoped fixture of its own.
live_pwa_server = live_server_for


def phone_context(browser: Any, station: dict | None = None, **kwargs: Any) -> Any:
    """A 360×640 touch context standing at the station (GPS granted), service workers allowed."""
    geo = {"latitude": station["lat"], "longitude": station["lon"], "accuracy": 12} if station else None
    return browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        geolocation=geo,
        permissions=["geolocation"] if geo else [],
        service_workers="allow",
        **kwargs,
    )


def watch_errors(page: Any) -> list[str]:
    """Collects uncaught page errors, which a test then asserts are absent."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def sign_in(page: Any, url: str, username: str = INSPECTOR, password: str = PASSWORD) -> None:
    page.goto(url + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("#station-list li")
    # The shell is offline-ready once the worker controls the page (it claims clients on activation).
    wait_in_page(page, "navigator.serviceWorker.controller !== null")


def jpeg(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A distinct JPEG per seed, so the server stores distinct photos."""
    img = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    for x in range(0, size[0], 97):
        img.paste((255 - (seed * 7) % 256, 40, 90), (x, 0, x + 9, size[1]))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


# A draft as this phone keeps it: its answers, and the ids of the photos it holds for it.
STORED_DRAFT = """async (id) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    const photos = (await db.getAll('photos')).filter((p) => p.inspection_id === id).map((p) => p.id);
    return {answers: d.answers, photos};
}"""


def bundle(live_server: Any, token: str) -> dict:
    response = live_server.api("GET", "/api/v1/sync/bundle", token)
    assert response.status_code == 200, response.text
    return response.json()


def pick_station_and_template(data: dict) -> tuple[dict, dict]:
    """A police station in the inspector's scope and the newest template version that fits it."""
    versions: dict[str, dict] = {}
    for v in data["templates"]:
        if v["template_id"] not in versions or v["version"] > versions[v["template_id"]]["version"]:
            versions[v["template_id"]] = v
    for st in sorted(data["stations"], key=lambda s: s["code"]):
        if st.get("kind", "police_station") != "police_station":
            continue
        for v in versions.values():
            kinds = v["definition"].get("kinds")
            if not kinds or "police_station" in kinds:
                return st, v
    raise AssertionError("the demo bundle has no police station with a template")


def open_station(page: Any, station: dict) -> None:
    page.fill("#station-search", station["code"])
    page.click(f"#station-list a[href='#/start/{station['id']}']")
    page.wait_for_selector("#begin")


def begin_inspection(page: Any, station: dict) -> None:
    """Opens the station and begins an inspection there, on the first section's items."""
    open_station(page, station)
    page.click("#begin")
    page.wait_for_selector(".item")


def answer_for(item: dict) -> Any:
    """A passing answer for every scored type, a plain one for the others (what the form will hold)."""
    t = item["type"]
    if t == "yes_no":
        return "yes"
    if t == "scale":
        return int(item["max"])
    if t == "choice":
        return max(item["options"], key=lambda o: o["points"])["key"]
    if t == "multi_choice":
        return [max(item["options"], key=lambda o: o["points"])["key"]]
    if t == "number":
        lo, hi = item.get("min"), item.get("max")
        return lo if lo is not None else (hi if hi is not None else 3)
    if t == "text":
        return f"Checked: {item['key']}"
    if t == "date":
        return "2026-11-20"
    return None


def fill_item(page: Any, item: dict, photo_seed: list[int]) -> None:
    """Answers one visible card and adds its minimum photos (photo_seed counts them)."""
    card = page.locator(f"#item-{item['key']}")
    value = answer_for(item)
    t = item["type"]
    if t in ("yes_no", "scale", "choice"):
        card.locator(f"[data-value='{value}']").click()
    elif t == "multi_choice":
        for key in value:
            card.locator(f"[data-value='{key}']").click()
    elif t == "number":
        card.locator("input.input-number").fill(str(value))
    elif t == "text":
        card.locator("textarea").first.fill(value)
    elif t == "date":
        card.locator("input[type=date]").fill(value)
    for n in range(item.get("min_photos", 0) or 0):
        photo_seed[0] += 1
        # Smaller than a phone's: what these tests need is a photo per item, not a big one to resize
        # (test_pwa_limits and the photo tests give the pipeline full-size ones), and each of a form's
        # twelve costs the page, the server and the suite time for every pixel.
        picture = jpeg(photo_seed[0], (800, 600))
        card.locator("input[data-source=camera]").set_input_files(
            files=[{"name": f"p{photo_seed[0]}.jpg", "mimeType": "image/jpeg", "buffer": picture}]
        )
        card.locator(f".thumbs li:nth-child({n + 1}) img").wait_for()


def expected_answers(definition: dict) -> dict[str, Any]:
    """What fill_section leaves in the form, for items visible with those answers."""
    values: dict[str, Any] = {}
    for section in definition["sections"]:
        for item in section["items"]:
            if visible(item, values) and item["type"] != "photo":
                values[item["key"]] = answer_for(item)
    return values


def visible(item: dict, values: dict[str, Any]) -> bool:
    cond = item.get("visible_if")
    if not cond:
        return True
    given = values.get(cond["item"])
    if given is None:
        return False
    wanted = cond["in"] if cond.get("in") is not None else [cond.get("equals")]
    return any(g in wanted for g in (given if isinstance(given, list) else [given]))


def fill_section(page: Any, section: dict, photo_seed: list[int], values: dict[str, Any]) -> None:
    for item in section["items"]:
        if not visible(item, values):
            assert page.locator(f"#item-{item['key']}").is_hidden()
            continue
        fill_item(page, item, photo_seed)
        if item["type"] != "photo":
            values[item["key"]] = answer_for(item)


def next_section(page: Any, definition: dict, index: int) -> None:
    page.click(".step-buttons .btn-primary")
    if index + 1 < len(definition["sections"]):
        first = definition["sections"][index + 1]["items"][0]["key"]
        page.wait_for_selector(f"#item-{first}")
    else:
        page.wait_for_selector("#overall-percent")


def fill_whole_form(page: Any, definition: dict, *, reload_after: int | None = None, on_reload: Any = None) -> int:
    """Fills every section in order; optionally reloads after a section. Returns the photo count."""
    seed = [0]
    values: dict[str, Any] = {}
    for i, section in enumerate(definition["sections"]):
        fill_section(page, section, seed, values)
        if reload_after == i and on_reload:
            on_reload(section, values)
        next_section(page, definition, i)
    return seed[0]


def inspection_id(page: Any) -> str:
    return page.evaluate("location.hash").split("/")[2]


def server_items(response_json: Any) -> list[dict]:
    """A list endpoint's rows, whether the body is the list itself or wraps it."""
    if isinstance(response_json, list):
        return response_json
    for key in ("items", "inspections", "rows", "data"):
        if isinstance(response_json.get(key), list):
            return response_json[key]
    raise AssertionError(f"unexpected list shape: {list(response_json)}")


@dataclass
class Phone:
    """A phone signed in as the demo inspector, standing at one of their police stations."""

    token: str
    station: dict
    version: dict
    context: Any
    page: Any
    errors: list[str]


def signed_in_phone(server: Any, browser: Any) -> Phone:
    token = server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(server, token))
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, server.url)
    return Phone(token, station, version, context, page, errors)


def page_only_phone(server: Any, browser: Any) -> tuple[str, dict, dict, Any, Any, list[str]]:
    """Signed in with no service worker: this page's outbox is the only one, and page.route sees all it sends."""
    token = server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(server, token))
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": station["lat"], "longitude": station["lon"], "accuracy": 12},
        permissions=["geolocation"],
        service_workers="block",
    )
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(server.url + "/")
    page.fill("input[name=username]", INSPECTOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("#station-list li")
    return token, station, version, context, page, errors
