"""A photo larger than one part goes in parts that survive a dropped connection, and resumes where the
server stopped (server/photos/resumable.py, pwa/js/outbox.js sendInParts).

Over a link that drops every minute or two, one PUT began again from the first byte at every attempt, and
a 500 KB photo at 2 KB/s might never arrive. Real Chromium against the real server: the drops are
connections cut by the browser (an aborted request, the context taken offline), never a faked reply.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import time
from typing import Any

import pytest
from PIL import Image

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_outbox_more import SyncEvents, on_server
from tests.e2e.test_pwa_support import (
    begin_inspection,
    fill_whole_form,
    inspection_id,
    page_only_phone,
    signed_in_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PART = 128 * 1024  # outbox.PART_BYTES

# The first photo queued for the inspection takes the bytes given (base64): a large camera photo, or
# bytes that are no image at all. Its entry comes first of the inspection's photos.
SWAP_FIRST_PHOTO = """async ([id, b64, type]) => {
    const db = await import('/js/db.js');
    const first = (await db.getAll('outbox')).filter((e) => e.inspection_id === id && e.kind === 'photo')
        .sort((a, b) => a.seq - b.seq)[0];
    const photo = await db.get('photos', first.ref);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    await db.put('photos', { ...photo, blob: new Blob([bytes], { type }) });
    return { id: first.ref, item_key: first.item_key };
}"""

OUTBOX_EMPTY = "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)"


def noisy_jpeg(seed: int, size: tuple[int, int] = (1000, 750)) -> bytes:
    """A real JPEG that does not compress: about 490 KB, four parts."""
    image = Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def offset_of(url: str) -> int | None:
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&")) if "?" in url else {}
    return int(query["offset"]) if "offset" in query else None


def submitted_offline(page: Any, context: Any, station: dict, definition: dict) -> str:
    context.set_offline(True)
    begin_inspection(page, station)
    iid = inspection_id(page)
    assert fill_whole_form(page, definition) >= 2
    page.click("#submit")
    page.wait_for_selector("[data-sync=queued]")
    return iid


def pump_until(page: Any, check: Any, timeout: float = 60.0) -> Any:
    """Lets Playwright deliver route callbacks (it does while the test waits in one of its calls) until
    check() is truthy; returns it, or None after the timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found := check():
            return found
        page.wait_for_timeout(100)
    return None


def test_a_dropped_part_is_sent_again_from_what_the_server_has_and_the_photo_arrives_whole(pwa_server, browser):
    token, station, version, context, page, errors = page_only_phone(pwa_server, browser)
    iid = submitted_offline(page, context, station, version["definition"])
    big = noisy_jpeg(7)
    assert len(big) > 3 * PART
    photo = page.evaluate(SWAP_FIRST_PHOTO, [iid, base64.b64encode(big).decode(), "image/jpeg"])

    # Parts 1 and 2 go through; part 3 is cut once (a dropped connection). The request that asks the
    # server what arrived after the drop is held until the screen has been looked at.
    seen: list[tuple[str, int | None]] = []
    held: list[Any] = []

    def on_upload(route: Any) -> None:
        request = route.request
        offset = offset_of(request.url)
        seen.append((request.method, offset))
        if request.method == "PATCH" and offset == 2 * PART and ("PATCH", 2 * PART) not in seen[:-1]:
            route.abort("connectionreset")
        elif request.method == "GET" and ("PATCH", 2 * PART) in seen and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/photos/*/upload*", on_upload)
    context.set_offline(False)  # the page's outbox sends at once

    assert pump_until(page, lambda: held or page.evaluate(OUTBOX_EMPTY)), "the outbox never resumed"
    assert held, f"the photo did not go in parts: {seen}"
    # Between the drop and the resume, the inspection's screen says how far the photo got.
    page.wait_for_selector(f"#photo-progress[data-received='{2 * PART}']")
    text = page.inner_text("#photo-progress")
    assert text.startswith("Photo 1 of ") and f"{2 * PART // 1024} of {round(len(big) / 1024)} KB" in text, text
    held[0].continue_()

    wait_in_page(page, OUTBOX_EMPTY, timeout=120)
    patches = [offset for method, offset in seen if method == "PATCH"]
    # Asked, declared, two parts, the cut third; asked again, then on from the third: never from 0.
    assert seen[:2] == [("GET", None), ("POST", None)], seen
    assert patches == [0, PART, 2 * PART, 2 * PART, 3 * PART], seen
    assert patches == sorted(patches)
    after_drop = seen[seen.index(("PATCH", 2 * PART)) + 1 :]
    assert after_drop[0] == ("GET", None) and ("POST", None) not in after_drop, seen

    # Stored as the phone holds it, byte for byte; the inspection waits for no photo.
    stored = pwa_server.api("GET", f"/api/v1/photos/{photo['id']}", token).json()
    assert stored["sha256"] == hashlib.sha256(big).hexdigest() and stored["size_bytes"] == len(big)
    assert pwa_server.api("GET", f"/api/v1/photos/{photo['id']}/original", token).content == big
    assert pwa_server.api("GET", f"/api/v1/photos/{photo['id']}/upload", token).json()["received"] == len(big)
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"] == []
    page.wait_for_selector("[data-sync=on_server]")
    assert page.locator("#photo-progress").count() == 0
    assert "still to send" not in page.inner_text("#inspection-status")
    assert errors == []
    context.close()


def test_the_service_worker_resumes_a_photo_cut_off_by_the_network_where_it_stopped(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, context, page = phone.token, phone.context, phone.page
    sync = SyncEvents(context, page, pwa_server.url)
    iid = submitted_offline(page, context, phone.station, phone.version["definition"])
    big = noisy_jpeg(11)
    photo = page.evaluate(SWAP_FIRST_PHOTO, [iid, base64.b64encode(big).decode(), "image/jpeg"])

    # The service worker sends (the page is gone): Chromium routes its requests through the context.
    # Its third part is held, and the phone loses its network while it is on the way.
    seen: list[tuple[str, int | None]] = []
    held: list[Any] = []

    def on_upload(route: Any) -> None:
        seen.append((route.request.method, offset_of(route.request.url)))
        if seen[-1] == ("PATCH", 2 * PART) and not held:
            held.append(route)
        else:
            route.continue_()

    context.route("**/photos/*/upload*", on_upload)
    page.goto("about:blank")
    context.set_offline(False)
    sync.fire()
    assert pump_until(page, lambda: held), f"the worker did not send the photo in parts: {seen}"
    context.set_offline(True)
    held[0].abort("internetdisconnected")
    state = pwa_server.api("GET", f"/api/v1/photos/{photo['id']}/upload", token).json()
    assert state["received"] == 2 * PART and state["photo"] is None, state

    # The network is back: the upload goes on from the bytes the server has.
    cut = len(seen)
    context.set_offline(False)
    sync.fire()
    stored = pump_until(page, lambda: on_server(pwa_server, iid, token), 120)
    assert stored, pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()
    resumed = [offset for method, offset in seen[cut:] if method == "PATCH"]
    assert resumed == [2 * PART, 3 * PART], seen
    assert [o for m, o in seen[:cut] if m == "PATCH"] == [0, PART, 2 * PART], seen
    meta = pwa_server.api("GET", f"/api/v1/photos/{photo['id']}", token).json()
    assert meta["sha256"] == hashlib.sha256(big).hexdigest()
    page.goto(pwa_server.url + f"/#/i/{iid}/review")
    wait_in_page(page, OUTBOX_EMPTY, timeout=60)
    assert phone.errors == []
    context.close()


def test_a_photo_sent_in_parts_that_the_server_refuses_is_parked_as_a_refused_put_is(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    token, context, page = phone.token, phone.context, phone.page
    iid = submitted_offline(page, context, phone.station, phone.version["definition"])
    # Bytes that are no image, larger than a part: the server sees it once they are whole, answers 415,
    # and lets the upload go.
    junk = b"%PDF-1.4 this is not a photo\n" + random.Random(3).randbytes(3 * PART)
    bad = page.evaluate(SWAP_FIRST_PHOTO, [iid, base64.b64encode(junk).decode(), "image/jpeg"])

    # Whoever sends it (the page, or the worker woken by Background Sync), the context's route sees it.
    patches: list[int | None] = []

    def on_upload(route: Any) -> None:
        if route.request.method == "PATCH":
            patches.append(offset_of(route.request.url))
        route.continue_()

    context.route(f"**/photos/{bad['id']}/upload*", on_upload)
    context.set_offline(False)
    page.wait_for_selector("[data-sync=attention]", timeout=120000)
    entries = page.evaluate(
        """(id) => import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o
            .filter((e) => e.inspection_id === id).map((e) => [e.kind, e.ref, e.state, e.error && e.error.status]))""",
        iid,
    )
    assert ["photo", bad["id"], "attention", 415] in entries, entries
    assert patches == [0, PART, 2 * PART, 3 * PART], patches
    # Nothing of it is kept on the server; the inspection lists it as missing.
    assert pwa_server.api("GET", f"/api/v1/photos/{bad['id']}/upload", token).status_code == 404
    assert bad["id"] in pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"]

    # The inspector reads why, removes it, and the rest goes.
    refused = page.locator("#refused-photos")
    refused.wait_for()
    assert "Not a photo format the server accepts" in refused.inner_text()
    refused.locator("button.remove-refused").click()
    page.click("dialog[open] .dialog-actions .btn-primary")
    page.wait_for_selector("[data-sync=on_server]", timeout=120000)
    wait_in_page(page, OUTBOX_EMPTY, timeout=60)
    assert phone.errors == []
    context.close()


def test_a_photo_whole_on_the_server_but_not_stored_is_stored_by_an_empty_last_part(pwa_server, browser):
    token, station, version, context, page, errors = page_only_phone(pwa_server, browser)
    iid = submitted_offline(page, context, station, version["definition"])
    big = noisy_jpeg(5)
    photo = page.evaluate(SWAP_FIRST_PHOTO, [iid, base64.b64encode(big).decode(), "image/jpeg"])
    last = (len(big) - 1) // PART * PART

    # The photo store fails while the last part arrives (its directory is not one: every write fails,
    # 503), and is mended before the phone tries again.
    photos_dir = pwa_server.data_dir / "photos"
    seen: list[tuple[str, int | None, int]] = []
    held: list[Any] = []

    def on_upload(route: Any) -> None:
        request = route.request
        seen.append((request.method, offset_of(request.url), len(request.post_data_buffer or b"")))
        if (request.method == "PATCH" and seen[-1][1] == last) or (request.method == "GET" and len(seen) > 2):
            if len(held) < 2:
                held.append(route)
                return
        route.continue_()

    page.route("**/photos/*/upload*", on_upload)
    context.set_offline(False)
    assert pump_until(page, lambda: held), f"the photo did not go in parts: {seen}"
    photos_dir.rename(photos_dir.with_name("photos.away"))
    photos_dir.write_bytes(b"")
    response = held[0].fetch()
    assert response.status == 503, response.text()
    held[0].fulfill(response=response)
    assert pump_until(page, lambda: len(held) == 2), seen
    photos_dir.unlink()
    photos_dir.with_name("photos.away").rename(photos_dir)
    held[1].continue_()

    wait_in_page(page, OUTBOX_EMPTY, timeout=120)
    patches = [(offset, size) for method, offset, size in seen if method == "PATCH"]
    assert patches[-2:] == [(last, len(big) - last), (len(big), 0)], seen
    stored = pwa_server.api("GET", f"/api/v1/photos/{photo['id']}", token).json()
    assert stored["sha256"] == hashlib.sha256(big).hexdigest()
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"] == []
    assert errors == []
    context.close()
