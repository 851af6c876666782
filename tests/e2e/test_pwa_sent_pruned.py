"""A phone used daily for months does not keep every inspection it ever sent.

Sent inspections with nothing left to send stay for a month, and the newest twenty whatever their age;
older ones go (the server has them). Nothing unsent, returned or still holding a photo ever goes."""

from __future__ import annotations

import pytest

from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SEED = """async ([stationId, versionId]) => {
    const db = await import('/js/db.js');
    const day = 24 * 3600 * 1000;
    const at = (days) => new Date(Date.now() - days * day).toISOString();
    const draft = (id, days, extra) => ({
        id, station_id: stationId, template_version_id: versionId, base_revision: 1, status: 'submitted',
        sync: 'on_server', answers: {}, updated_at: at(days), ...extra });
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(draft(`recent-${i}`, 1 + i));
    for (let i = 0; i < 30; i++) rows.push(draft(`old-${String(i).padStart(2, '0')}`, 40 + i));
    rows.push(draft('old-returned', 90, { status: 'returned' }));
    rows.push(draft('old-local', 90, { status: 'draft', sync: 'local' }));
    rows.push(draft('old-queued', 90, { sync: 'queued' }));
    // Sent a minute ago from a phone whose clock was set a year back: the server's time is the one.
    rows.push(draft('wrong-clock', 365, { server: { revision: 1, updated_at: at(1 / 1440) } }));
    await db.tx([db.DRAFTS, db.PHOTOS], 'readwrite', async (s) => {
        for (const r of rows) s[db.DRAFTS].put(r);
        // The oldest sent one still holds a photo the phone has not sent.
        s[db.PHOTOS].put({ id: 'p-1', inspection_id: 'old-29', item_key: 'x', blob: new Blob(['x']) });
    });
}"""

PRUNE = """async () => {
    const { pruneSent } = await import('/js/state.js');
    const dropped = await pruneSent();
    const db = await import('/js/db.js');
    return { dropped, kept: (await db.getAll(db.DRAFTS)).map((d) => d.id).sort() };
}"""


def test_sent_inspections_older_than_a_month_go_beyond_the_newest_twenty(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    page.evaluate(SEED, [phone.station["id"], phone.version["id"]])
    # The app tidies up when it next fetches its bundle, here on starting again.
    page.reload()
    page.wait_for_selector("#station-list li")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll(db.DRAFTS)).then((all) => all.length === 24)")
    result = page.evaluate(PRUNE)
    old = [f"old-{i:02d}" for i in range(30)]
    kept_sent = ["wrong-clock"] + [f"recent-{i}" for i in range(5)] + old[:14]  # the newest twenty sent
    assert sorted(result["kept"]) == sorted(kept_sent + ["old-29", "old-returned", "old-local", "old-queued"])
    assert result["dropped"] == 0  # done already; nothing more goes
    assert phone.errors == []
    phone.context.close()
