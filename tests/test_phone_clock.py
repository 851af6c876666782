"""A phone whose clock was wrong: the inspection is kept as sent, and every reader is told its start and
finish are not facts (the API, the reviewer's screen, the PDF, the CSV) instead of "Started 1 May 2031"."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.structs import PHONE_CLOCK_AHEAD_MINUTES, PHONE_CLOCK_DAYS, phone_clock_off
from tests.review_fixtures import make_ctx
from tests.test_exports import normalise_urdu, pdf_text

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("started", "finished", "last", "off"),
    [
        (NOW - HOUR, NOW - HOUR / 2, NOW, False),  # as it should be
        (NOW - timedelta(days=PHONE_CLOCK_DAYS), NOW, NOW, False),  # held offline as long as allowed
        (NOW - HOUR, NOW + timedelta(minutes=PHONE_CLOCK_AHEAD_MINUTES), NOW, False),  # a clock a little fast
        (NOW - timedelta(days=2), NOW + timedelta(days=40), NOW + timedelta(days=40), False),  # corrected later
        (datetime(2031, 5, 1, 9, tzinfo=UTC), datetime(2031, 5, 1, 10, tzinfo=UTC), NOW, True),  # years fast
        (datetime(1970, 1, 1, tzinfo=UTC), None, NOW, True),  # a phone reset
        (NOW - HOUR, NOW - 2 * HOUR, NOW, True),  # finished before it started
        (None, None, NOW, False),  # told nothing
    ],
)
def test_which_phone_times_cannot_be_right(started, finished, last, off):
    assert phone_clock_off(started, finished, NOW, last) is off


async def test_every_reader_is_told_when_the_phones_clock_was_wrong(client):
    ctx = await make_ctx(client)
    ok, _ = await ctx.submit()
    wrong = uuid.uuid4()
    sent = await client.put(
        f"/api/v1/inspections/{wrong}",
        await ctx.token("inspector_a"),
        json={
            "station_id": str(ctx.world.stations["A"]),
            "template_version_id": str(ctx.version_id),
            "base_revision": 0,
            "status": "submitted",
            "started_at": "2031-05-01T09:00:00Z",
            "finished_at": "2031-04-30T08:00:00Z",
            "location": ctx.station_location("A"),
            "answers": (await ctx.get(f"/api/v1/inspections/{ok}")).json()["answers"],
        },
    )
    # Kept as sent: refusing an offline inspection for its phone's clock would strand it.
    assert sent.status_code == 201, sent.text
    assert sent.json()["phone_clock_off"] is None  # the acknowledgement says nothing of it
    read = {iid: (await ctx.get(f"/api/v1/inspections/{iid}")).json() for iid in (ok, wrong)}
    assert (read[ok]["phone_clock_off"], read[wrong]["phone_clock_off"]) == (False, True)
    assert read[wrong]["started_at"] == "2031-05-01T09:00:00Z"

    rows = list(csv.DictReader(io.StringIO((await ctx.get("/api/v1/exports/inspections.csv")).text.lstrip("\ufeff"))))
    assert {r["inspection_id"]: r["phone_clock_off"] for r in rows} == {str(ok): "false", str(wrong): "true"}

    for lang, words in (("en", "Phone clock"), ("ur", "فون کی گھڑی")):
        text, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{wrong}/report.pdf", lang=lang)).content)
        fine, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{ok}/report.pdf", lang=lang)).content)
        if lang == "en":
            assert words in text and words not in fine
        else:  # shaped Urdu is compared by its letters (tests.test_exports.normalise_urdu)
            assert normalise_urdu(words) in normalise_urdu(text) and normalise_urdu(words) not in normalise_urdu(fine)


async def test_a_reviewers_decision_does_not_take_the_warning_away(client):
    """A review moves updated_at; the window ends when the inspector last sent it, not then."""
    ctx = await make_ctx(client)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    inspection_id, revision = await ctx.submit(finished_at=yesterday.isoformat().replace("+00:00", "Z"))
    conn = await client.db()
    try:  # received five days ago, though its phone says it was finished yesterday
        await conn.execute(
            """UPDATE inspections SET created_at = created_at - interval '5 days',
                      updated_at = updated_at - interval '5 days', submitted_at = submitted_at - interval '5 days'
                WHERE id = $1""",
            inspection_id,
        )
    finally:
        await conn.close()
    assert (await ctx.get(f"/api/v1/inspections/{inspection_id}")).json()["phone_clock_off"] is True
    assert (await ctx.review(inspection_id, "approve", revision)).status_code == 200
    assert (await ctx.get(f"/api/v1/inspections/{inspection_id}")).json()["phone_clock_off"] is True
    text, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{inspection_id}/report.pdf", lang="en")).content)
    assert "Phone clock" in text
