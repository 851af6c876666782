"""A photo the link is too slow for does not hold the others back, and gets the time its size needs.

On an uplink of 40 kbit/s a 1.2 MB photo needs about four minutes; the upload had three, whatever its
size, so every attempt ran out of time, began again from the first byte, and the eleven small photos
queued behind it were never tried: the inspection reached the reviewer with none of its photos.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import (
    begin_inspection,
    fill_whole_form,
    inspection_id,
    page_only_phone,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# The page's uploads with the first photo's running out of time, as a slow link makes it: the ApiError a
# timed-out fetch becomes (api.request). No service worker here, so this page's outbox is the only one.
SLOW_FIRST_PHOTO = """async () => {
  const { api, ApiError } = await import('/js/api.js');
  const outbox = await import('/js/outbox.js');
  const first = (await outbox.allEntries()).filter((e) => e.kind === 'photo').sort((a, b) => a.seq - b.seq)[0];
  const put = api.putPhoto;
  window.restorePhotos = () => { api.putPhoto = put; };
  api.putPhoto = async (photo) => {
    if (photo.id !== first.ref) return put(photo);
    const err = new ApiError(0, { title: 'offline', detail: 'signal timed out' });
    err.timedOut = true;
    throw err;
  };
  return first.ref;
}"""

LEFT = (
    "async () => (await (await import('/js/outbox.js')).allEntries()).map((e) => [e.kind, e.ref, e.state, e.attempts])"
)


def test_a_photo_too_slow_to_send_lets_the_others_go_and_its_deadline_grows_with_its_size(pwa_server, browser):
    token, station, version, context, page, errors = page_only_phone(pwa_server, browser)

    # Three minutes for the request, and a second more for every 2 KB of photo.
    deadlines = page.evaluate(
        "async () => { const { photoDeadline } = await import('/js/api.js'); return [0, 1200000, 2097152].map(photoDeadline); }"
    )
    assert deadlines == [180000, 180000 + 586000, 180000 + 1024000]

    begin_inspection(page, station)
    iid = inspection_id(page)
    context.set_offline(True)
    photos = fill_whole_form(page, version["definition"])
    assert photos >= 3
    page.click("#submit")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length > 1)")
    slow = page.evaluate(SLOW_FIRST_PHOTO)
    context.set_offline(False)  # the page's outbox sends at once
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 1)", timeout=60)
    # Everything went but the slow photo, which waits for the next try, counted as tried once.
    assert page.evaluate(LEFT) == [["photo", slow, "pending", 1]]
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"] == [slow]
    page.evaluate("async () => { window.restorePhotos(); await (await import('/js/outbox.js')).retryNow(); }")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)", timeout=60)
    assert pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["missing_photos"] == []
    assert errors == []
    context.close()
